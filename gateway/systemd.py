"""Telling systemd (a ``Type=notify`` unit with ``WatchdogSec=``) how the gateway is: ready,
stopping, alive. Nothing happens when the gateway does not run under systemd."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket

__all__ = ["notify", "watchdog"]


def notify(state: str) -> None:
    """Tell systemd (``Type=notify``) about our state; nothing when not under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(state.encode(), address)


async def watchdog() -> None:
    """Feed systemd's watchdog at half its period while the event loop is alive."""
    usec = int(os.environ.get("WATCHDOG_USEC", "0") or 0)
    if not usec:
        await asyncio.Event().wait()
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(usec / 2e6)
