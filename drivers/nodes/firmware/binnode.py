"""The bin node: an HC-SR04 over the contents, a DS18B20 for fire, the lid switch; deep sleep
between readings, woken early by the lid.

Every wake: measure, journal the reading (and ``lid_opened`` when the lid woke it), send the
journal if the broker answers, take any update, then sleep ``period_s`` again.
"""

import time

import machine
from node import Node

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Speed of sound in air at 20 °C, metres per microsecond, there and back.
SOUND_M_PER_US = 343.2 / 1000000 / 2
ECHO_TIMEOUT_US = 30000


def distance_m(trigger: machine.Pin, echo: machine.Pin, pings: int) -> float | None:
    """The median of ``pings`` echoes; None when fewer than half came back."""
    found = []
    for _ in range(pings):
        trigger.value(0)
        time.sleep_us(5)
        trigger.value(1)
        time.sleep_us(10)
        trigger.value(0)
        width = machine.time_pulse_us(echo, 1, ECHO_TIMEOUT_US)
        if width > 0:
            found.append(width * SOUND_M_PER_US)
        time.sleep_ms(60)  # the HC-SR04 asks for 60 ms between pings
    if len(found) * 2 < pings:
        return None
    found.sort()
    return round(found[len(found) // 2], 3)


def temperature_c(pin: machine.Pin) -> float | None:
    import ds18x20
    import onewire

    sensor = ds18x20.DS18X20(onewire.OneWire(pin))
    roms = sensor.scan()
    if not roms:
        return None
    sensor.convert_temp()
    time.sleep_ms(750)
    value = sensor.read_temp(roms[0])
    return None if value == 85.0 else round(value, 2)  # 85 °C: the power-on value


def run(node: Node) -> None:
    pins = node.config["pins"]
    trigger = machine.Pin(pins["trigger"], machine.Pin.OUT, value=0)
    echo = machine.Pin(pins["echo"], machine.Pin.IN)
    lid = machine.Pin(pins["lid"], machine.Pin.IN) if pins.get("lid") is not None else None
    reading: dict[str, Any] = {"distance_m": distance_m(trigger, echo, node.config.get("pings", 5))}
    if pins.get("onewire") is not None:
        reading["temperature_c"] = temperature_c(machine.Pin(pins["onewire"]))
    if lid is not None:
        reading["lid_open"] = bool(lid.value())  # the switch closes to 3V3 when the lid opens
    woke_by_lid = machine.wake_reason() == machine.EXT0_WAKE
    reading["wake"] = "lid" if woke_by_lid else "timer"
    node.report("reading", reading)
    node.sync()
    node.poll()  # commands and updates waiting on the broker
    # A lid held open would wake the node at once again: wake on it only while shut.
    wake = lid if lid is not None and not lid.value() else None
    node.deepsleep(node.period_s * 1000, wake)
