"""Care points: the driver on gpiozero's mock pins driven by the simulated home."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from drivers.care.config import CareConfig
from drivers.care.driver import CarePoint
from drivers.sim.care import HomeModel
from gateway.clock import ScaledClock
from gateway.db import Database
from gateway.devices import DriverContext
from gateway.outbox import Outbox
from gateway.topics import Topics
from tests.gateway.helpers import MockHardware, StubRuntime

PINS: dict[str, Any] = {
    "call_pin": 20, "led_pin": 21, "smoke_pin": 5, "presence_pin": 26, "door_pin": 6,
    "supervision_pin": 13,
}  # fmt: skip


@dataclass
class Rig:
    driver: CarePoint
    home: HomeModel
    outbox: Outbox
    clock: ScaledClock

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        found = []
        for row in self.outbox.fetch(0, 100_000):
            body = json.loads(row.payload)
            if body["type"] == "event" and name in (None, body["data"]["event"]):
                found.append(body["data"])
        return found

    async def until(self, check: Callable[[], Any], timeout: float = 5.0) -> Any:
        async with asyncio.timeout(timeout):
            while not (found := check()):
                self.home.step(0.0)
                await asyncio.sleep(0.01)
        return found


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    db = Database(tmp_path / "g.sqlite3")
    outbox = Outbox(db)
    hardware = MockHardware(tmp_path)
    clock = ScaledClock(3600)
    config = CareConfig(id="care", unit="1A", welfare_check_h=2, **PINS)
    ctx = DriverContext(
        config=config, clock=clock, hardware=hardware, outbox=outbox,
        topics=Topics("cg/v1", "s", "g"), store=db.device_store("care"), runtime=StubRuntime(),
        data_dir=tmp_path, database=db,
    )  # fmt: skip
    home = HomeModel(config, hardware.pin_factory, clock, random.Random(0))
    home.active = False
    driver = CarePoint(config, ctx)
    task = asyncio.create_task(driver.run())
    yield Rig(driver, home, outbox, clock)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    outbox.close()
    hardware.close()


async def test_a_press_is_a_critical_call_and_a_second_press_is_the_same_call(rig: Rig) -> None:
    await rig.until(lambda: rig.driver._parts)
    rig.home.press()
    calls = await rig.until(lambda: rig.events("emergency_call"))
    assert calls[0]["severity"] == "critical" and calls[0]["unit"] == "1A"
    rig.home.step(1.0)
    rig.home.press()
    await asyncio.sleep(0.1)
    # It repeats (every simulated minute) as the same call.
    assert {c["call_id"] for c in rig.events("emergency_call")} == {calls[0]["call_id"]}


async def test_no_activity_for_the_period_is_due_and_one_movement_clears_it(rig: Rig) -> None:
    await rig.until(lambda: rig.driver._parts)
    rig.clock.jump(3 * 3600)
    due = await rig.until(lambda: rig.events("welfare_check_due"))
    assert due[0]["unit"] == "1A" and due[0]["unseen_h"] >= 2
    rig.home.move()
    cleared = await rig.until(lambda: rig.events("welfare_check_cleared"))
    assert cleared[0]["unit"] == "1A"


async def test_the_door_opening_is_activity_too(rig: Rig) -> None:
    await rig.until(lambda: rig.driver._parts)
    rig.clock.jump(3 * 3600)
    await rig.until(lambda: rig.events("welfare_check_due"))
    rig.home.act("set", {"door_open": True})
    await rig.until(lambda: rig.events("welfare_check_cleared"))


def test_a_care_point_needs_an_input_and_distinct_pins() -> None:
    with pytest.raises(ValidationError, match="at least one of call_pin"):
        CareConfig(id="c", unit="1A", led_pin=21)
    with pytest.raises(ValidationError, match="different pin"):
        CareConfig(id="c", unit="1A", call_pin=20, presence_pin=20)
    with pytest.raises(ValidationError, match="unit"):
        CareConfig(id="c", call_pin=20)  # type: ignore[call-arg]
