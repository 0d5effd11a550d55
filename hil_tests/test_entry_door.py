"""The gate's door fails safe: the strike after a crash, a restarted door that works again,
a maglock held or released while its driver restarts, the fire panel, bad input skipped."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from gateway.commands import sign_command
from hil_tests.gate import (
    DOOR,
    configure,
    crash_and_restart,
    enroll,
    events,
    gateway_cli,
    started,
    walk_up,
    walked_through,
    world,
)
from hil_tests.harness import TOPICS, GatewayProcess, Upstream


async def test_the_strike_returns_to_its_safe_state_when_the_driver_crashes(
    gate: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    await started(gate, upstream)
    topic = TOPICS.command(DOOR, "unlock")
    await upstream.send(DOOR, "unlock", sign_command(key_pair[0], topic, "u1", {"seconds": 60}))
    reply = await upstream.wait_for(lambda: upstream.replies().get("u1"))
    assert reply["ok"], reply
    assert (await world(gate, "get"))["strike_energised"]  # fail-secure: energised = open
    await world(gate, "camera_fault")
    crashed = await upstream.wait_for(
        lambda: [e for e in upstream.envelopes("event") if e["data"]["event"] == "driver_crashed"]
    )
    assert crashed[0]["device"] == DOOR
    state = await world(gate, "get")
    assert not state["strike_energised"] and not state["released"]


async def test_after_a_crash_the_restarted_door_works_again(
    gate: GatewayProcess, upstream: Upstream, faces: Path, key_pair: tuple[Any, str]
) -> None:
    """The supervisor runs the same driver again: ``run()`` acquires what ``close()`` released
    (the strike relay, the vision threads, the recognizers), so the door lets a resident in
    and obeys a signed unlock after the camera failed and came back."""
    enroll(gate, faces, "R1", "John_Salley")
    await started(gate, upstream)
    # The supervisor's restart delay and the recognizers loading their models (a while on a
    # busy machine): the door says when it runs again.
    await crash_and_restart(gate, upstream)
    await walk_up(gate, faces, "John_Salley", 7, 8)
    try:
        granted = await upstream.wait_for(lambda: events(upstream, "access_granted"), timeout=60)
    except TimeoutError:
        raise AssertionError(gate.log()[-4000:]) from None
    assert granted[0]["resident_id"] == "R1"
    topic = TOPICS.command(DOOR, "unlock")
    await upstream.send(DOOR, "unlock", sign_command(key_pair[0], topic, "u9", {"seconds": 5}))
    reply = await upstream.wait_for(lambda: upstream.replies().get("u9"))
    assert reply["ok"], reply
    crashes = events(upstream, "driver_crashed")
    assert len(crashes) == 1, crashes  # one crash, then a door that runs


async def test_a_maglock_stays_locked_through_a_restart_and_the_fire_panel_releases_it(
    gate: GatewayProcess, upstream: Upstream, key_pair: tuple[Any, str]
) -> None:
    configure(gate, extra='lock_type = "fail_safe"\nfire_release_pin = 23')
    await started(gate, upstream)
    state = await world(gate, "get")
    assert state["strike_energised"] and not state["released"]  # the maglock holds
    topic = TOPICS.command(DOOR, "unlock")
    await upstream.send(DOOR, "unlock", sign_command(key_pair[0], topic, "u1", {"seconds": 2}))
    await upstream.wait_for(lambda: upstream.replies().get("u1"))
    assert (await world(gate, "get"))["released"]
    await asyncio.sleep(2.5)
    assert not (await world(gate, "get"))["released"]  # locked again after 2 s
    # ``while_restarting = "hold"`` (the default): locked while the driver restarts.
    down = await crash_and_restart(gate, upstream)
    assert down["strike_energised"] and not down["released"]
    assert not (await world(gate, "get"))["released"]

    await world(gate, "fire_alarm", active=True)
    fire = (await upstream.wait_for(lambda: events(upstream, "fire_release")))[0]
    assert fire["severity"] == "critical"
    assert (await world(gate, "get"))["released"]
    await world(gate, "force")  # everyone leaves: not a forced door
    await asyncio.sleep(1)
    assert (await world(gate, "get"))["released"] and not events(upstream, "door_forced")
    await world(gate, "close")
    await world(gate, "fire_alarm", active=False)
    await upstream.wait_for(lambda: events(upstream, "fire_release_cleared"))
    assert not (await world(gate, "get"))["released"]
    assert "intact" in gateway_cli(gate, "audit", "verify")


async def test_a_maglock_set_to_release_opens_while_its_driver_restarts(
    gate: GatewayProcess, upstream: Upstream
) -> None:
    configure(gate, extra='lock_type = "fail_safe"\nwhile_restarting = "release"')
    await started(gate, upstream)
    assert not (await world(gate, "get"))["released"]
    await world(gate, "camera_fault")
    await upstream.wait_for(lambda: events(upstream, "driver_crashed"))
    assert (await world(gate, "get"))["released"]  # de-energised: a maglock opens


async def test_bad_frames_an_unreadable_template_and_a_failed_audit_write_are_skipped(
    gate: GatewayProcess, upstream: Upstream, faces: Path
) -> None:
    import sqlite3

    enroll(gate, faces, "R1", "John_Salley")
    enroll(gate, faces, "R2", "John_Savage")
    data = gate.config_file.parent / "data"
    with sqlite3.connect(data / "gateway.sqlite3") as db:  # a template gone bad on disk
        db.execute("UPDATE templates SET blob = zeroblob(2060) WHERE resident = 'R2'")
    await started(gate, upstream)
    unreadable = (await upstream.wait_for(lambda: events(upstream, "template_unreadable")))[0]
    assert unreadable["resident_id"] == "R2" and "enroll" in unreadable["fix"]

    await world(gate, "garbage_frames", count=25)
    bad = (await upstream.wait_for(lambda: events(upstream, "bad_frame")))[0]
    assert bad["severity"] == "warning" and bad["problem"]

    blocker = data / "audit.tmp"  # the audit head cannot be written
    blocker.mkdir()
    await walk_up(gate, faces, "John_Salley", 7, 8)
    granted = (await upstream.wait_for(lambda: events(upstream, "access_granted")))[0]
    assert granted["resident_id"] == "R1"
    failed = (await upstream.wait_for(lambda: events(upstream, "audit_write_failed")))[0]
    assert failed["severity"] == "critical"
    assert failed["entry"] == failed["entry"] | {"action": "access_granted", "subject": "R1"}
    blocker.rmdir()
    await walked_through(gate, 1)
    assert not events(upstream, "driver_crashed")
