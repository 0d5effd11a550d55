"""What an installer does on the box: keys, a signed command from the CLI, systemd, the demo."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from gateway.app import VERSION
from gateway.demo.broker import MosquittoBroker
from hil_tests.harness import GatewayProcess, Upstream, gateway_config

GATEWAY = [sys.executable, "-m", "gateway"]


def cli(
    *args: str, timeout: float = 60, input_: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GATEWAY, *args], capture_output=True, text=True, timeout=timeout, input=input_
    )


async def test_keys_new_then_a_signed_command_from_the_cli(
    tmp_path: Path, broker: MosquittoBroker, upstream: Upstream
) -> None:
    made = cli("keys", "new", "--out", str(tmp_path / "ops.pem"), "--name", "installer")
    assert made.returncode == 0
    operators = made.stdout[made.stdout.index("[[commands.operators]]") :]
    config = tmp_path / "gateway.toml"
    config.write_text(gateway_config(tmp_path / "data", broker.port) + operators)
    gateway = GatewayProcess(config)
    gateway.start()
    try:
        await upstream.wait_for(lambda: upstream.envelopes("telemetry"))
        args = ("command", "send", "gateway", "set_report_period", "--config", str(config))
        unsigned = await asyncio.to_thread(cli, *args, "--args", '{"period_s": 30}')
        assert unsigned.returncode == 1
        assert '"code": "unauthenticated"' in unsigned.stdout
        signed = await asyncio.to_thread(
            cli, *args, "--args", '{"period_s": 30}', "--sign", str(tmp_path / "ops.pem")
        )
        assert signed.returncode == 0, signed.stdout + signed.stderr
        assert '"report_period_s": 30' in signed.stdout
        bad_args = await asyncio.to_thread(
            cli, *args, "--args", '{"period_s": -1}', "--sign", str(tmp_path / "ops.pem")
        )
        assert bad_args.returncode == 1
        assert '"field": "args.period_s"' in bad_args.stdout
    finally:
        gateway.close()


def test_tells_systemd_it_is_ready_feeds_the_watchdog_and_says_stopping(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    notify = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify))
    sock.settimeout(15)
    config = tmp_path / "gateway.toml"
    config.write_text(gateway_config(tmp_path / "data", broker.port))
    env = {**os.environ, "NOTIFY_SOCKET": str(notify), "WATCHDOG_USEC": "400000"}
    process = subprocess.Popen(
        [*GATEWAY, "run", "--config", str(config)], env=env, stderr=subprocess.DEVNULL
    )
    try:
        received = [sock.recv(100).decode() for _ in range(4)]
        assert received[0] == "READY=1"
        assert received[1:] == ["WATCHDOG=1"] * 3
        process.terminate()
        while (message := sock.recv(100).decode()) == "WATCHDOG=1":
            pass
        assert message == "STOPPING=1"
        assert process.wait(20) == 0
    finally:
        process.kill()
        sock.close()


def test_the_demo_without_a_terminal_prints_lines_and_stops_cleanly() -> None:
    # Long enough for the scripted visit at the gate (3 s of simulated time at 60x) on a
    # busy machine, where the simulation runs slower.
    result = cli("demo", "--duration", "25", timeout=180)
    assert result.returncode == 0, result.stderr
    statuses = [
        json.loads(line.split(" status ", 1)[1])
        for line in result.stdout.splitlines()
        if " status {" in line
    ]
    assert statuses[0]["online"] is True and statuses[0]["version"] == VERSION
    kinds = [d["kind"] for d in statuses[0]["devices"]]
    assert kinds.count("gateway") == 1 and kinds.count("bin") == 3
    assert kinds.count("care_point") == 1
    assert kinds.count("locker_bank") == 1 and kinds.count("water_station") == 2
    assert statuses[-1] == {"online": False, "boot": 1}
    assert " gateway telemetry seq=" in result.stdout
    assert " bin-north-1 telemetry seq=" in result.stdout
    lockers = [
        json.loads(line.split(" telemetry seq=", 1)[1].split(" ", 1)[1])
        for line in result.stdout.splitlines()
        if " lockers-a telemetry seq=" in line
    ]
    assert len(lockers[0]["compartments"]) == 12
    # The demo's platform sent a signed deposit; the bank opened, the courier closed the door.
    assert '"event": "delivery_ready"' in result.stdout
    assert "demo: 2 residents enrolled at the gate" in result.stdout
    assert '"event": "access_granted", "severity": "info", "resident_id": "R-101"' in (
        result.stdout
    )
    assert re.search(
        r"^demo: console at http://127\.0\.0\.1:\d+/ — log in as manager", result.stdout, re.M
    )
    summary = [line for line in result.stdout.splitlines() if "upstream received" in line]
    assert summary and summary[0].endswith("the gateway is offline (boot 1)")
    # A newcomer reads the demo's own lines: no library's INFO chatter in between.
    assert not re.search(r" INFO +(amqtt|transitions|uvicorn)", result.stderr), result.stderr


def test_the_demo_on_a_real_configuration_leaves_its_database_untouched(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'site = "s"\ngateway_id = "g"\ndata_dir = "{data}"\nhardware = "simulated"\n\n'
        '[web]\nenabled = true\nhost = "127.0.0.1"\nport = 8080\n\n'  # or another port
        '[[devices]]\nkind = "gateway"\nid = "gateway"\n'
    )
    added = cli(
        "users", "add", "owner", "--role", "manager", "--password-stdin", "--config", str(config),
        input_="a-long-real-password\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    before = cli("users", "list", "--config", str(config))
    result = cli("demo", "--duration", "3", "--config", str(config), timeout=120)
    assert result.returncode == 0, result.stderr
    assert "manager / demo-manager" in result.stdout  # the demo had its accounts ...
    after = cli("users", "list", "--config", str(config))
    assert after.stdout == before.stdout  # ... in its scratch directory, not here
    assert "owner" in after.stdout and "demo" not in after.stdout


def test_the_shipped_service_is_locked_down() -> None:
    unit = Path(__file__).resolve().parents[1] / "config" / "systemd" / "community-gateway.service"
    rated = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", rated.stdout)
    assert found, rated.stdout + rated.stderr
    assert float(found.group(1)) <= 2.5, rated.stdout
    text = unit.read_text()
    for needed in ("LimitCORE=0", "UMask=0077", "CapabilityBoundingSet=\n", "DevicePolicy=closed"):
        assert needed in text


def test_gateway_install_into_a_root_twice_writes_everything_then_changes_nothing(
    tmp_path: Path,
) -> None:
    """The whole installation into a temporary root (what it does on a Pi's /, but apt and
    systemctl): the user and its groups, a venv that sees the system's packages with the
    gateway in it, the configuration, the state directory and its key, the unit."""
    root = tmp_path / "root"
    first = cli("install", "--root", str(root), "--no-apt", "--no-start", timeout=600)
    assert first.returncode == 0, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [
        "skipped", "changed", "changed", "changed", "changed", "changed", "skipped"
    ], first.stdout  # fmt: skip
    again = cli("install", "--root", str(root), "--no-apt", "--no-start", timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert [line.split()[0] for line in again.stdout.splitlines()] == [
        "skipped", "ok", "ok", "ok", "ok", "ok", "skipped"
    ], again.stdout  # fmt: skip

    passwd = (root / "etc/passwd").read_text()
    user = next(line for line in passwd.splitlines() if line.startswith("community-gateway:"))
    assert user.endswith(":/var/lib/community-gateway:/usr/sbin/nologin")
    groups = (root / "etc/group").read_text().splitlines()
    for group in ("gpio", "video", "spi"):
        assert any(g.startswith(f"{group}:") and "community-gateway" in g for g in groups)
    venv = root / "opt/community-gateway/.venv"
    assert "include-system-site-packages = true" in (venv / "pyvenv.cfg").read_text()
    config = root / "etc/community-gateway/gateway.toml"
    checked = subprocess.run(
        [str(venv / "bin/gateway"), "config", "check", str(config)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    config_dir = root / "etc/community-gateway"
    assert oct(config_dir.stat().st_mode & 0o777) == "0o750"
    assert oct((config_dir / "gateway.toml").stat().st_mode & 0o777) == "0o640"
    data = root / "var/lib/community-gateway"
    assert oct(data.stat().st_mode & 0o777) == "0o700"
    assert oct((data / "gateway.key").stat().st_mode & 0o777) == "0o600"
    if os.geteuid() == 0:  # owned by the service user (its uid in the root's passwd)
        assert data.stat().st_uid == int(user.split(":")[2])
    unit = (root / "etc/systemd/system/community-gateway.service").read_text()
    assert (
        unit
        == (
            Path(__file__).resolve().parents[1] / "config/systemd/community-gateway.service"
        ).read_text()
    )
    # systemd checks it as it would load it (the venv's path as it is under this root).
    checkable = tmp_path / "community-gateway.service"
    checkable.write_text(
        unit.replace("/opt/community-gateway", str(root / "opt/community-gateway"))
    )
    verified = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(checkable)], capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
