"""The water node: flow pulses counted in an interrupt and kept across resets, the leak input,
and the inlet valve, closed here on a leak without waiting for the gateway.

Mains powered, always awake: reports every ``period_s`` and at once on a leak; the count is
saved to flash every ``save_s`` and on every report.
"""

import time

import machine
from node import Node, load_json, save_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COUNT = "count.json"


class Station:
    def __init__(self, node: Node) -> None:
        pins = node.config["pins"]
        self.node = node
        self.pulses = int(load_json(COUNT, {}).get("pulses", 0))
        self.saved = self.pulses
        self.valve = machine.Pin(pins["valve"], machine.Pin.OUT, value=0)
        self.leak = machine.Pin(pins["leak"], machine.Pin.IN)
        self.flow = machine.Pin(pins["flow"], machine.Pin.IN)
        self.locked = load_json(COUNT, {}).get("locked")
        self.leak_seen = False
        self.flow.irq(self.pulse, machine.Pin.IRQ_RISING)
        self.leak.irq(self.wet, machine.Pin.IRQ_RISING)
        node.handlers["valve_open"] = self.open_cmd
        node.handlers["valve_close"] = self.close_cmd
        if self.leak.value():
            self.wet(self.leak)
        elif self.locked is None:
            self.valve.value(1)

    def pulse(self, pin: machine.Pin) -> None:
        self.pulses += 1

    def wet(self, pin: machine.Pin) -> None:
        """The leak input rose: shut the valve first, report after."""
        self.valve.value(0)
        self.leak_seen = True

    def save(self) -> None:
        save_json(COUNT, {"pulses": self.pulses, "locked": self.locked})
        self.saved = self.pulses

    def reading(self) -> dict[str, Any]:
        if self.leak.value() and self.valve.value():
            # Wet, and the interrupt (a scheduled soft IRQ) has not run yet: shut first, as
            # it would, so that no reading says the valve is open on a leak.
            self.wet(self.leak)
        return {
            "pulses": self.pulses,
            "leak": bool(self.leak.value()),
            "valve_open": bool(self.valve.value()),
            "locked": self.locked,
        }

    def open_cmd(self, args: dict[str, Any]) -> None:
        if self.leak.value():
            self.node.report("event", {"event": "valve_refused", "reason": "leak"})
        else:
            self.locked = None
            self.valve.value(1)
            self.save()
            self.node.report("reading", self.reading())

    def close_cmd(self, args: dict[str, Any]) -> None:
        self.valve.value(0)
        self.locked = str(args.get("reason", "command"))
        self.save()
        self.node.report("reading", self.reading())


def run(node: Node) -> None:
    station = Station(node)
    save_s = int(node.config.get("save_s", 10))
    last_report = last_save = time.ticks_ms()
    node.report("reading", station.reading())
    while True:
        node.wdt.feed()
        if station.leak_seen:
            station.leak_seen = False
            station.locked = "leak"
            station.save()
            node.report("event", {"event": "leak_detected", "valve_open": False})
            node.report("reading", station.reading())
        now = time.ticks_ms()
        if time.ticks_diff(now, last_report) >= node.period_s * 1000:
            last_report = now
            station.save()
            node.report("reading", station.reading())
        elif station.pulses != station.saved and time.ticks_diff(now, last_save) >= save_s * 1000:
            last_save = now
            station.save()
        if node.journal.entries:
            node.sync()
        node.poll()
        time.sleep_ms(200)
