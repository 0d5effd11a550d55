"""Parcel lockers on the simulated complex: cold chain, codes, faults and restarts."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from drivers.sim import control_socket
from drivers.sim.control import request
from gateway.demo.broker import MosquittoBroker
from hil_tests.harness import (
    GatewayProcess,
    Operator,
    Upstream,
    crash_and_recover,
    gateway_config,
)

BANK = "lockers-1"


def bank(time_scale: float, sample_period_s: float = 30, extra: str = "") -> str:
    return f"""
[simulation]
time_scale = {time_scale}

[[devices]]
kind = "locker_bank"
id = "{BANK}"
sample_period_s = {sample_period_s}
report_period_s = 600
{extra}
bus = {{ clock = 14, data_out = 15, latch = 7, load = 0, data_in = 1, outputs = 16, inputs = 8 }}
keypad = {{ rows = [12, 13, 14, 15], columns = [5, 6, 7] }}

[[devices.compartments]]
id = "A01"
size = "S"
class = "ambient"
lock = 0
door = 0

[[devices.compartments]]
id = "A02"
size = "M"
class = "ambient"
lock = 1
door = 1

[[devices.compartments]]
id = "C03"
size = "M"
class = "chilled"
lock = 2
door = 2
cooling = 8
probe = "28-00000c0c0c03"

[[devices.compartments]]
id = "C04"
size = "M"
class = "chilled"
lock = 3
door = 3
cooling = 9
heater = 10
probe = "28-00000c0c0c04"

[[devices.compartments]]
id = "F05"
size = "M"
class = "frozen"
lock = 4
door = 4
cooling = 11
probe = "28-00000f0f0f05"
"""


@pytest.fixture
def lockers(
    tmp_path: Path, broker: MosquittoBroker, key_pair: tuple[Any, str]
) -> Iterator[GatewayProcess]:
    """A gateway with one bank; each test writes its bank with :func:`configure`."""
    process = GatewayProcess(tmp_path / "gateway.toml")
    process.port = broker.port  # type: ignore[attr-defined]
    process.public_key = key_pair[1]  # type: ignore[attr-defined]
    yield process
    process.close()


def configure(process: GatewayProcess, text: str) -> None:
    process.config_file.write_text(
        gateway_config(
            process.config_file.parent / "data",
            process.port,  # type: ignore[attr-defined]
            public_key=process.public_key,  # type: ignore[attr-defined]
            report_period_s=60,
            extra=text,
        )
    )


def events(upstream: Upstream, name: str) -> list[dict[str, Any]]:
    return [
        e["data"] | {"ts": e["ts"]}
        for e in upstream.envelopes("event")
        if e["device"] == BANK and e["data"]["event"] == name
    ]


async def wait_event(upstream: Upstream, name: str, timeout: float = 20, **match: Any) -> Any:
    def found() -> list[dict[str, Any]]:
        return [e for e in events(upstream, name) if match.items() <= e.items()]

    return (await upstream.wait_for(found, timeout))[0]


def compartments(upstream: Upstream) -> list[tuple[str, dict[str, Any]]]:
    """Each telemetry row with its timestamp."""
    return [
        (t["ts"], row)
        for t in upstream.envelopes("telemetry")
        if t["device"] == BANK
        for row in t["data"]["compartments"]
    ]


async def world(process: GatewayProcess, action: str, **args: Any) -> Any:
    sock = control_socket(process.config_file.parent / "data")
    return await request(sock, {"model": BANK, "action": action, "args": args})


def minutes(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 60


async def started(process: GatewayProcess, upstream: Upstream) -> None:
    """Start (or restart) the gateway; return once this boot is online and reporting."""
    boot, seen = upstream.boot(), len(compartments(upstream))
    process.start()
    await upstream.born(after=boot)
    await upstream.wait_for(lambda: len(compartments(upstream)) > seen, timeout=30)


async def test_a_chilled_parcel_is_held_in_band_for_a_day_and_collected_with_its_record(
    lockers: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    configure(lockers, bank(time_scale=1200, sample_period_s=60))
    await started(lockers, upstream)
    send = Operator(upstream, key_pair[0], BANK)
    reply = await send("deposit", size="M", **{"class": "chilled"}, delivery_ref="D-day")
    assert reply["ok"], reply
    ready = await wait_event(upstream, "delivery_ready", delivery_ref="D-day")
    compartment = ready["compartment"]
    before = (await world(lockers, "get"))["compartments"][compartment]
    assert before["parcel"]
    await upstream.wait_for(
        lambda: [ts for ts, _ in compartments(upstream) if minutes(ready["ts"], ts) >= 24 * 60],
        timeout=150,
    )
    after = (await world(lockers, "get"))["compartments"][compartment]
    reminder = await wait_event(upstream, "uncollected", delivery_ref="D-day")
    assert reminder["hours"] == 24
    reply = await send("open_for_pickup", delivery_ref="D-day", code=ready["pickup_code"])
    assert reply["ok"], reply
    collected = await wait_event(upstream, "collected", delivery_ref="D-day")
    # Never early; late by at most the sample that starts the count and the one that checks
    # it, plus the loop's own time (at 1200x a few milliseconds are seconds).
    assert 24 * 60 <= minutes(collected["deposited_at"], reminder["ts"]) <= 24 * 60 + 3
    record = collected["temperature"]
    assert 0.0 <= record["min_c"] <= record["mean_c"] <= record["max_c"] <= 5.0
    assert record["minutes_out_of_band"] == 0 and record["excursions"] == 0
    assert not (await world(lockers, "get"))["compartments"][compartment]["parcel"]

    held_h = minutes(ready["ts"], collected["ts"]) / 60
    starts = after["cooling_starts"] - before["cooling_starts"]
    assert held_h >= 24 and 1 <= starts / held_h <= 6, f"{starts} starts in {held_h:.1f} h"
    # Upstream saw the compressor cycle in the telemetry, sent on each change.
    cycles = [row["cooling_on"] for _, row in compartments(upstream) if row["id"] == compartment]
    assert sum(1 for a, b in itertools.pairwise(cycles) if b and not a) >= starts - 2


async def test_a_dead_compressor_is_an_excursion_after_the_grace_period_then_critical(
    lockers: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    # Every 0.1 °C reported, so the telemetry shows when the band was left, to a minute.
    configure(lockers, bank(time_scale=240, extra="deadband_c = 0.1"))
    await started(lockers, upstream)
    send = Operator(upstream, key_pair[0], BANK)
    reply = await send("deposit", size="M", **{"class": "chilled"}, delivery_ref="D-warm")
    compartment = reply["result"]["compartment"]
    ready = await wait_event(upstream, "delivery_ready", delivery_ref="D-warm")
    await world(lockers, "set", compartment=compartment, compressor_dead=True)

    warning = await wait_event(upstream, "cold_chain_excursion", timeout=60, severity="warning")
    assert warning["compartment"] == compartment and warning["delivery_ref"] == "D-warm"
    crossed = [
        ts
        for ts, row in compartments(upstream)
        if row["id"] == compartment and (row["temperature_c"] or 0) > 5.0
    ]
    assert crossed, "warned before the compartment left its band"
    out_for = minutes(crossed[0], warning["ts"])
    assert 14 <= out_for <= 17, f"warned {out_for:.1f} min after leaving the band"
    critical = await wait_event(upstream, "cold_chain_excursion", timeout=60, severity="critical")
    assert critical["temperature_c"] > 8.0 or critical["minutes_out"] >= 60
    # The others keep their band and keep reporting.
    latest = {row["id"]: row for _, row in compartments(upstream)}
    assert 0 <= latest["C04" if compartment == "C03" else "C03"]["temperature_c"] <= 5

    reply = await send("open_for_pickup", delivery_ref="D-warm", code=ready["pickup_code"])
    collected = await wait_event(upstream, "collected", delivery_ref="D-warm")
    assert collected["temperature"]["excursions"] == 1
    assert collected["temperature"]["max_c"] > 8.0
    assert collected["temperature"]["minutes_out_of_band"] >= 15


async def test_a_probe_fault_is_a_sensor_fault_and_cooling_fails_safe(
    lockers: GatewayProcess, upstream: Upstream
) -> None:
    configure(lockers, bank(time_scale=240))
    await started(lockers, upstream)
    await world(lockers, "set", compartment="F05", probe_fault="disconnected")
    fault = await wait_event(upstream, "sensor_fault", compartment="F05")
    assert "1-wire" in fault["reason"]
    await upstream.wait_for(
        lambda: any(
            row["id"] == "F05" and row["temperature_c"] is None for _, row in compartments(upstream)
        )
    )
    starts = (await world(lockers, "get"))["compartments"]["F05"]["cooling_starts"]
    await asyncio.sleep(30 * 60 / 240 * 2)  # an hour: two fault-duty periods of 20 min
    now = (await world(lockers, "get"))["compartments"]["F05"]
    assert now["cooling_starts"] - starts >= 2  # not stuck off: it cycles at the fault duty
    assert now["temperature_c"] < -15  # and the freezer stayed frozen meanwhile
    assert not events(upstream, "cold_chain_excursion")  # a fault is not a temperature
    await world(lockers, "set", compartment="F05", probe_fault=None)
    await wait_event(upstream, "sensor_recovered", compartment="F05")


async def test_codes_open_doors_wrong_codes_lock_out_and_warm_compartments_refuse(
    lockers: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    configure(lockers, bank(time_scale=10, extra="door_held_open_s = 60"))
    await started(lockers, upstream)
    send = Operator(upstream, key_pair[0], BANK)

    # A compartment that is not cold yet refuses a chilled parcel, and says why.
    await world(lockers, "set", compartment="C03", temperature_c=12.0)
    await world(lockers, "set", compartment="C04", temperature_c=11.0)
    await upstream.wait_for(
        lambda: any(
            row["id"] == "C04" and (row["temperature_c"] or 0) > 10
            for _, row in compartments(upstream)
        )
    )
    refused = await send("deposit", size="M", **{"class": "chilled"}, delivery_ref="D-cold")
    assert refused["ok"] is False and refused["error"]["field"] == "class"
    assert re.search(
        r"no free chilled compartment is in its band 0…5 °C yet \(C03 1\d\.\d °C, C04 1\d\.\d °C\)",
        refused["error"]["message"],
    ), refused
    assert not events(upstream, "delivery_ready")
    unknown = await send("deposit", size="L", **{"class": "frozen"}, delivery_ref="D-big")
    assert unknown["error"]["field"] == "size"

    # Right code: the door opens, the resident takes the parcel, the compartment is free.
    assert (await send("deposit", size="S", **{"class": "ambient"}, delivery_ref="D-1"))["ok"]
    first = await wait_event(upstream, "delivery_ready", delivery_ref="D-1")
    assert (await send("deposit", size="S", **{"class": "ambient"}, delivery_ref="D-2"))["ok"]
    second = await wait_event(upstream, "delivery_ready", delivery_ref="D-2")
    assert second["compartment"] == "A02"  # the next larger one when the size is taken
    again = await send("deposit", size="S", **{"class": "ambient"}, delivery_ref="D-1")
    assert again["error"]["field"] == "delivery_ref"
    assert (await send("open_for_pickup", delivery_ref="D-1", code=first["pickup_code"]))["ok"]
    collected = await wait_event(upstream, "collected", delivery_ref="D-1")
    assert collected["compartment"] == "A01"

    # Five wrong codes in ten minutes lock that compartment out, even for the right code.
    wrong = "0" * 6 if second["pickup_code"] != "0" * 6 else "1" * 6
    for attempt in range(5):
        reply = await send("open_for_pickup", delivery_ref="D-2", code=wrong)
        assert reply["error"] == {
            "code": "refused",
            "message": "wrong pickup code",
            "field": "code",
        }, attempt
    locked = await wait_event(upstream, "compartment_locked_out", compartment="A02")
    assert locked["delivery_ref"] == "D-2"
    reply = await send("open_for_pickup", delivery_ref="D-2", code=second["pickup_code"])
    assert reply["ok"] is False and "locked out" in reply["error"]["message"]
    assert (await world(lockers, "get"))["compartments"]["A02"]["unlocks"] == 1  # the deposit

    # Opened without an unlock: door_forced, critical.
    await world(lockers, "force", compartment="A02")
    forced = await wait_event(upstream, "door_forced", compartment="A02")
    assert forced["severity"] == "critical" and forced["occupied"] is True
    await world(lockers, "close", compartment="A02")

    # A courier who leaves the door ajar: door_held_open, and no code until it is closed.
    await world(lockers, "set", compartment="A01", door_ajar=True)
    assert (await send("deposit", size="S", **{"class": "ambient"}, delivery_ref="D-3"))["ok"]
    held = await wait_event(upstream, "door_held_open", compartment="A01")
    assert held["open_s"] >= 60
    assert not [e for e in events(upstream, "delivery_ready") if e["delivery_ref"] == "D-3"]
    await world(lockers, "close", compartment="A01")
    third = await wait_event(upstream, "delivery_ready", delivery_ref="D-3")

    # The keypad: the right code opens its compartment; five wrong ones lock the keypad.
    await world(lockers, "type", keys=third["pickup_code"] + "#")
    by_keypad = await wait_event(upstream, "collected", delivery_ref="D-3")
    assert by_keypad["compartment"] == "A01"
    await world(lockers, "type", keys="1#2#3#4#5#")
    locked = await wait_event(upstream, "keypad_locked_out")
    assert [e["failures"] for e in events(upstream, "wrong_code") if e["source"] == "keypad"] == [
        1,
        2,
        3,
        4,
        5,
    ]
    await world(lockers, "type", keys=second["pickup_code"] + "#")  # ignored while locked
    await asyncio.sleep(3)
    assert not [e for e in events(upstream, "collected") if e["delivery_ref"] == "D-2"]
    # The code is never in the gateway's log.
    assert second["pickup_code"] not in lockers.log()


async def test_kill_9_mid_delivery_keeps_the_parcel_its_code_and_its_record(
    lockers: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    configure(lockers, bank(time_scale=120))
    await started(lockers, upstream)
    send = Operator(upstream, key_pair[0], BANK)
    assert (await send("deposit", size="M", **{"class": "frozen"}, delivery_ref="D-k"))["ok"]
    ready = await wait_event(upstream, "delivery_ready", delivery_ref="D-k")
    await asyncio.sleep(5)  # ten simulated minutes of record
    lockers.kill()
    shown = show(lockers, "D-k")
    assert shown["status"] == "held" and shown["compartment"] == ready["compartment"]
    assert shown["temperature"]["max_c"] is not None
    assert "code_hash" not in shown and ready["pickup_code"] not in json.dumps(shown)
    before_minutes = shown["temperature"]

    await started(lockers, upstream)
    await asyncio.sleep(5)
    reply = await send("open_for_pickup", delivery_ref="D-k", code=ready["pickup_code"])
    assert reply["ok"], reply
    collected = await wait_event(upstream, "collected", delivery_ref="D-k")
    assert collected["deposited_at"] == shown["deposited_at"]
    record = collected["temperature"]
    assert record["min_c"] <= before_minutes["min_c"] and record["max_c"] >= before_minutes["max_c"]
    assert record["max_c"] <= -18 and record["excursions"] == 0
    assert len(events(upstream, "delivery_ready")) == 1  # one code, announced once
    assert show(lockers, "D-k")["status"] == "collected"


def show(process: GatewayProcess, delivery: str) -> dict[str, Any]:
    """``gateway deliveries show ID --json``, as an installer would run it."""
    command = ["deliveries", "show", delivery, "--json", "-c", str(process.config_file)]
    done = subprocess.run(
        [sys.executable, "-m", "gateway", *command],
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, Any] = json.loads(done.stdout)
    return found


async def test_a_crashed_bank_is_restarted_and_a_parcel_is_deposited_and_collected(
    lockers: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    configure(lockers, bank(time_scale=10))
    await started(lockers, upstream)
    send = Operator(upstream, key_pair[0], BANK)
    assert (await send("deposit", size="S", **{"class": "ambient"}, delivery_ref="D-1"))["ok"]
    first = await wait_event(upstream, "delivery_ready", delivery_ref="D-1")
    lines = await crash_and_recover(lockers, upstream, BANK)
    assert "GPIO15" in lines, lines  # the shift bus's data line
    # The parcel held through the crash opens with its code; a new one goes in and out.
    assert (await send("open_for_pickup", delivery_ref="D-1", code=first["pickup_code"]))["ok"]
    await wait_event(upstream, "collected", delivery_ref="D-1")
    assert (await send("deposit", size="S", **{"class": "ambient"}, delivery_ref="D-2"))["ok"]
    second = await wait_event(upstream, "delivery_ready", delivery_ref="D-2")
    await world(lockers, "type", keys=second["pickup_code"] + "#")
    await wait_event(upstream, "collected", delivery_ref="D-2")
