"""The care node, at the door of a home out of the gateway's wires: the emergency call
button (or pull cord) and its LED, the smoke detector's alarm contact, the presence sensor at
the entrance and optionally the door's contact. Mains powered, always awake.

A press is sent at once and the LED starts blinking here, before any answer; the gateway then
sets the LED (``led {"mode": "blink" | "on" | "off"}``: steady once help is coming). Smoke
is sent on each change. Activity (presence, the door) is sent at most once a minute and
carries nothing but its time: no movement log leaves the node.
"""

import time

import machine
from node import Node

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

BLINK_MS = 250
ACTIVITY_EVERY_MS = 60000


class Home:
    def __init__(self, node: Node) -> None:
        pins = node.config["pins"]
        self.node = node
        self.call = machine.Pin(pins["call"], machine.Pin.IN, machine.Pin.PULL_UP)
        self.led = machine.Pin(pins["led"], machine.Pin.OUT, value=0)
        self.smoke = machine.Pin(pins["smoke"], machine.Pin.IN) if "smoke" in pins else None
        self.presence = (
            machine.Pin(pins["presence"], machine.Pin.IN) if "presence" in pins else None
        )
        self.door = (
            machine.Pin(pins["door"], machine.Pin.IN, machine.Pin.PULL_UP)
            if "door" in pins
            else None
        )
        self.pressed = False
        self.moved = False
        self.smoke_changed = False
        self.mode = "off"
        self.lit = False
        self.blink_at = time.ticks_ms()
        self.activity_at = time.ticks_add(time.ticks_ms(), -ACTIVITY_EVERY_MS)
        self.call.irq(self.press, machine.Pin.IRQ_FALLING)
        if self.smoke is not None:
            self.smoke.irq(self.alarm, machine.Pin.IRQ_RISING | machine.Pin.IRQ_FALLING)
        if self.presence is not None:
            self.presence.irq(self.move, machine.Pin.IRQ_RISING)
        if self.door is not None:
            self.door.irq(self.move, machine.Pin.IRQ_RISING | machine.Pin.IRQ_FALLING)
        node.handlers["led"] = self.set_led
        node.idle = self.show

    def press(self, pin: machine.Pin) -> None:
        self.pressed = True
        self.mode = "blink"  # at once: the resident sees the call is going out

    def alarm(self, pin: machine.Pin) -> None:
        self.smoke_changed = True

    def move(self, pin: machine.Pin) -> None:
        self.moved = True

    def set_led(self, args: dict[str, Any]) -> None:
        mode = args.get("mode")
        if mode in ("blink", "on", "off"):
            self.mode = str(mode)

    def show(self) -> None:
        now = time.ticks_ms()
        if self.mode == "blink":
            if time.ticks_diff(now, self.blink_at) >= BLINK_MS:
                self.blink_at = now
                self.lit = not self.lit
                self.led.value(1 if self.lit else 0)
        elif self.lit != (self.mode == "on"):
            self.lit = self.mode == "on"
            self.led.value(1 if self.lit else 0)

    def reading(self) -> dict[str, Any]:
        return {
            "smoke": bool(self.smoke.value()) if self.smoke is not None else None,
            "led": self.mode,
        }


def run(node: Node) -> None:
    home = Home(node)
    last_report = time.ticks_ms()
    node.report("reading", home.reading())
    while True:
        node.wdt.feed()
        now = time.ticks_ms()
        if home.pressed:
            home.pressed = False
            node.report("event", {"event": "call"})
        if home.smoke_changed and home.smoke is not None:
            home.smoke_changed = False
            node.report("event", {"event": "smoke", "active": bool(home.smoke.value())})
        if home.moved and time.ticks_diff(now, home.activity_at) >= ACTIVITY_EVERY_MS:
            home.moved = False
            home.activity_at = now
            node.report("event", {"event": "activity"})
        if time.ticks_diff(now, last_report) >= node.period_s * 1000:
            last_report = now
            node.report("reading", home.reading())
        if node.journal.entries:
            node.sync()
        node.poll()
        home.show()
        time.sleep_ms(50)
