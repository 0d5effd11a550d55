"""``time`` for the simulated node board: the Unix port's own, with the wall clock set to the
world's (a simulated complex may live in another day than the machine's)."""

import os

import utime
from utime import *  # noqa: F403 (ticks_ms, sleep_ms, gmtime, …: the port's own)

_OFFSET = float(os.getenv("NODE_TIME_OFFSET") or 0)


def time():
    return int(utime.time() + _OFFSET)
