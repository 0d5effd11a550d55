"""The demo's live view: what upstream receives, as a table (or one line per message)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from gateway.mqtt import Observer, ReceivedMessage
from gateway.topics import Topics

__all__ = ["UpstreamView"]


class UpstreamView:
    """What upstream sees: the gateway's status, each device's latest state, recent events."""

    def __init__(self, topics: Topics, console: Console) -> None:
        self.console = console
        self.topics = topics
        self.status: dict[str, Any] = {}
        self.devices: dict[str, dict[str, Any]] = {}
        self.events: list[str] = []
        self.count = 0
        self.started = time.monotonic()

    async def follow(self, observer: Observer, live: bool) -> None:
        if not live:
            async for message in observer.messages():
                line = self.record(message)
                if line:
                    print(line, flush=True)
            return
        with Live(self.render(), console=self.console, refresh_per_second=4) as screen:
            async for message in observer.messages():
                self.record(message)
                screen.update(self.render())

    def record(self, message: ReceivedMessage) -> str | None:
        self.count += 1
        try:
            body = message.json()
        except ValueError:
            return None
        clock = datetime.now().strftime("%H:%M:%S")
        if message.topic == self.topics.status:
            self.status = body
            return f"{clock} status {json.dumps(body)}"
        parsed = self.topics.parse_device(message.topic)
        if parsed is None:
            return (
                f"{clock} {message.topic.removeprefix(self.topics.root + '/')} {json.dumps(body)}"
            )
        device, kind = parsed
        entry = self.devices.setdefault(device, {"kind": body.get("kind", "?")})
        entry[kind] = body.get("data", {})
        if kind == "event":
            data = body.get("data", {})
            self.events.append(
                f"{body.get('ts', '')} {device} {data.get('event')} [{data.get('severity')}]"
            )
            self.events = self.events[-8:]
        historical = " (historical)" if body.get("historical") else ""
        return (
            f"{clock} {device} {kind} seq={body.get('seq')}{historical} "
            f"{json.dumps(body.get('data', {}))}"
        )

    def render(self) -> Group:
        online = self.status.get("online")
        head = Table.grid()
        head.add_row(
            f"[b]{self.topics.root}[/b]  status: "
            f"{'[green]online' if online else '[red]offline'}[/]  "
            f"boot {self.status.get('boot', '?')}  messages {self.count}"
        )
        table = Table(title="devices", expand=True)
        for column in ("device", "kind", "available", "latest telemetry"):
            table.add_column(column)
        for device, entry in sorted(self.devices.items()):
            available = entry.get("state", {}).get("available")
            shown = _telemetry_line(entry.get("telemetry", {}))
            table.add_row(
                device,
                entry["kind"],
                "[green]yes" if available else "[red]no" if available is False else "?",
                shown,
            )
        events = Table(title="recent events", expand=True, show_header=False)
        for line in self.events or ["(none yet)"]:
            events.add_row(line)
        return Group(head, table, events)

    def summary(self) -> str:
        """One line: how long, how much, and how the gateway left."""
        state = "online" if self.status.get("online") else "offline"
        return (
            f"demo stopped after {time.monotonic() - self.started:.0f} s: upstream received "
            f"{self.count} messages from {len(self.devices)} devices; the gateway is {state} "
            f"(boot {self.status.get('boot', '?')})"
        )


def _telemetry_line(data: dict[str, Any]) -> str:
    """A device's latest telemetry as one line; a bank of compartments as a summary."""
    shown = []
    for key, value in data.items():
        if key == "compartments" and isinstance(value, list):
            shown.append(_compartments_line(value))
        else:
            shown.append(f"{key}={value}")
    return ", ".join(shown)


def _compartments_line(compartments: list[Any]) -> str:
    """``3 of 12 held · C08 5.3 °C cooling · F11 -21.4 °C``: how many hold a parcel, then
    each temperature-held compartment's reading (``no probe`` when it has none)."""
    boxes = [c for c in compartments if isinstance(c, dict)]
    held = sum(1 for c in boxes if c.get("occupied"))
    parts = [f"{held} of {len(boxes)} held"]
    for box in boxes:
        if box.get("class") not in ("chilled", "frozen"):
            continue
        reading = box.get("temperature_c")
        shown = "no probe" if not isinstance(reading, int | float) else f"{reading:.1f} °C"
        parts.append(f"{box.get('id')} {shown}{' cooling' if box.get('cooling_on') else ''}")
    return " · ".join(parts)
