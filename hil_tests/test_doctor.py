"""``gateway doctor`` on the simulated complex and a real Mosquitto, healthy and with faults."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from gateway.clock import RealClock
from gateway.config import load_config
from gateway.demo.broker import MosquittoBroker, free_port
from gateway.doctor import Check, diagnose
from gateway.hardware import open_hardware
from hil_tests.harness import WATER_STATION, gateway_config

DEVICES = (
    WATER_STATION
    + """temperature_sensor = "28-00000b1c2d01"

[[devices]]
kind = "entry"
id = "gate"
camera = "gate-camera"
strike_pin = 17
door_pin = 27
"""
)


def fake_timedatectl(folder: Path, synchronised: bool) -> str:
    """A ``timedatectl`` that answers as systemd's does (this machine may have no systemd)."""
    script = folder / ("timedatectl-synced" if synchronised else "timedatectl-unsynced")
    answer = "yes" if synchronised else "no"
    script.write_text(
        "#!/bin/sh\n"
        f'case "$1" in show) echo NTPSynchronized={answer};;\n'
        '  timesync-status) echo "       Offset: +1.204ms";; esac\n'
    )
    script.chmod(0o755)
    return str(script)


def config(tmp_path: Path, port: int, mqtt: str = "", devices: str = DEVICES) -> Path:
    path = tmp_path / "gateway.toml"
    text = gateway_config(tmp_path / "data", port) + devices
    if mqtt:
        text = text.replace("[mqtt]\n", f"[mqtt]\n{mqtt}\n", 1)
    path.write_text(text)
    return path


def doctor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "doctor", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def make_password_file(path: Path, user: str, password: str) -> None:
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(path), user, password], check=True)


async def run(path: Path, **faults: bool) -> dict[str, Check]:
    cfg = load_config(path)
    hardware = open_hardware(cfg, RealClock())
    try:
        if faults.get("missing_probe"):
            shutil.rmtree(hardware.w1_root / "28-00000b1c2d01")
        if faults.get("dead_camera"):
            hardware.cameras["gate-camera"].failed = True  # type: ignore[attr-defined]
        clock = fake_timedatectl(path.parent, synchronised=not faults.get("unsynced"))
        checks = await diagnose(cfg, hardware, timedatectl=clock)
    finally:
        hardware.close()
    return {c.name.split(" (")[0]: c for c in checks}


async def test_a_healthy_simulated_box_passes_every_check(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    checks = await run(config(tmp_path, broker.port))
    assert {c.status for c in checks.values()} <= {"ok", "skip"}, checks
    assert "round trip" in checks["broker"].detail
    assert checks["DS18B20 28-00000b1c2d01"].detail.endswith("°C")
    assert checks["camera gate-camera"].detail.startswith("640x480")
    assert checks["clock"].status == "ok" and checks["clock"].detail.endswith("offset +1.204ms")
    done = doctor("--json", "--config", str(tmp_path / "gateway.toml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["ok"] is True


async def test_each_fault_is_a_failed_check_with_its_fix(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    checks = await run(
        config(tmp_path, broker.port), missing_probe=True, dead_camera=True, unsynced=True
    )
    probe = checks["DS18B20 28-00000b1c2d01"]
    assert probe.status == "fail" and "not on the 1-wire bus" in probe.detail
    assert "pull-up" in probe.fix
    camera = checks["camera gate-camera"]
    assert camera.status == "fail" and "cable" in camera.detail and camera.fix
    assert checks["clock"].status == "fail" and "timesyncd" in checks["clock"].fix
    assert checks["broker"].status == "ok"

    checks = await run(config(tmp_path, free_port()))
    unreachable = checks["broker"]
    assert unreachable.status == "fail" and "cannot reach" in unreachable.detail
    assert "firewall" in unreachable.fix
    done = doctor("--config", str(tmp_path / "gateway.toml"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "fail  broker: cannot reach" in done.stdout

    shared = DEVICES.replace("door_pin = 27", "door_pin = 24")  # the leak sensor's line
    config(tmp_path, free_port(), devices=shared)
    refused = doctor("--config", str(tmp_path / "gateway.toml"))
    assert refused.returncode == 2  # the configuration's own check names the line
    assert "devices.2.door_pin: GPIO24 is already water-1.leak_pin" in refused.stderr


async def test_a_wrong_password_is_named(tmp_path: Path) -> None:
    passwords = tmp_path / "passwords"
    make_password_file(passwords, "gateway", "right")
    with MosquittoBroker(
        allow_anonymous=False, extra_config=f"password_file {passwords}\n"
    ) as secured:
        right = config(tmp_path, secured.port, mqtt='username = "gateway"\npassword = "right"')
        assert (await run(right))["broker"].status == "ok"
        wrong = config(tmp_path, secured.port, mqtt='username = "gateway"\npassword = "wrong"')
        check = (await run(wrong))["broker"]
    assert check.status == "fail" and "refused" in check.detail
    assert "username and password" in check.fix
