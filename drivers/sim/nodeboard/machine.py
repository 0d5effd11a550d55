"""``machine`` for the simulated node board (MicroPython, Unix port): the ESP32 port's API,
the levels and timings coming from the simulated world."""

import os

import _world
import utime

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5
EXT0_WAKE = 2
TIMER_WAKE = 4


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 2
    PULL_DOWN = 1
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.mode = mode
        if value is not None:
            self.value(value)

    def value(self, v=None):
        if v is None:
            return _world.call("pin_read", pin=self.id)
        _world.call("pin_write", pin=self.id, value=1 if v else 0)
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=IRQ_RISING):
        _world.irq(self, handler, trigger)


class ADC:
    ATTN_0DB = 0
    ATTN_11DB = 3

    def __init__(self, pin, atten=None):
        self.pin = pin

    def atten(self, value):
        pass

    def read_uv(self):
        return _world.call("adc_uv", pin=self.pin.id)


class WDT:
    """The world restarts the board when it is not fed within ``timeout`` ms."""

    def __init__(self, id=0, timeout=5000):
        _world.call("watchdog", timeout_ms=timeout)

    def feed(self):
        _world.call("feed")


def time_pulse_us(pin, pulse_level, timeout_us=1000000):
    width = _world.call("pulse_us", pin=pin.id, level=pulse_level, timeout_us=timeout_us)
    utime.sleep_us(max(0, width) or timeout_us)  # the wait is the echo's (awake time)
    return width


def deepsleep(time_ms=0):
    _world.call("deepsleep", ms=time_ms)  # the world powers the board down
    while True:
        utime.sleep(1)


def reset():
    _world.call("reset")
    while True:
        utime.sleep(1)


def reset_cause():
    return int(os.getenv("NODE_RESET_CAUSE") or PWRON_RESET)


def wake_reason():
    return int(os.getenv("NODE_WAKE_REASON") or 0)


def unique_id():
    return _world.NODE.encode()


def idle():
    utime.sleep_ms(1)
