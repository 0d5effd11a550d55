"""``gateway doctor``: what an installer checks on the box, each line ``ok`` or ``fail`` with
the fix.

Python and the packages; the pin factory (lgpio, ``/dev/gpiochip*`` read-write); no GPIO line
wired to two devices; the 1-wire bus and each configured DS18B20 (present, a plausible
reading); SPI for the MCP3008; each camera (frames, a face detector's score on the last);
the broker (reached, TLS and credentials accepted, a message's round trip); the clock
(synchronised); the disk and the database's integrity; the service (state, restarts, why it
last stopped). Checks that do not apply (no camera configured, no systemd) say ``skip``.
"""

from __future__ import annotations

import asyncio
import os
import platform
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from gateway.errors import DeviceUnavailable, UplinkError
from gateway.hardware import Hardware, read_ds18b20
from gateway.settings import GatewayConfig

__all__ = ["Check", "diagnose"]

PACKAGES = ("aiomqtt", "gpiozero", "opencv-python-headless", "dlib-bin", "pydantic", "click")
SERVICE = "community-gateway"


@dataclass(frozen=True)
class Check:
    """One line: ``ok``, ``fail`` (with the fix) or ``skip`` (does not apply here)."""

    name: str
    status: str
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def __str__(self) -> str:
        line = f"{self.status:4}  {self.name}: {self.detail}"
        return f"{line}\n      fix: {self.fix}" if self.fix else line


def python_and_packages() -> Check:
    found = [f"python {platform.python_version()}"]
    missing = []
    for package in ("community-gateway", *PACKAGES):
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            missing.append(package)
    if sys.version_info < (3, 11) or missing:
        return Check(
            "python and packages", "fail", ", ".join(found) + f"; missing {missing}",
            "install the gateway again: sudo gateway install",
        )  # fmt: skip
    return Check("python and packages", "ok", ", ".join(found))


def free_lines(cfg: GatewayConfig, choice: str, service_active: bool) -> Check:
    """On the board: each configured line can be claimed (no other program holds it)."""
    if choice != "gpio":
        return Check("pins free", "skip", "simulated pins")
    if service_active:
        return Check("pins free", "skip", "the running gateway holds its lines")
    try:
        import lgpio  # type: ignore[import-not-found]
    except ImportError:
        return Check("pins free", "skip", "no lgpio (see the pin factory line)")
    chip = lgpio.gpiochip_open(0)
    busy = []
    try:
        for device in cfg.devices:
            for field, pin in device.pins().items():
                if not isinstance(pin, int):
                    continue
                if lgpio.gpio_claim_input(chip, pin) < 0:
                    busy.append(f"GPIO{pin} ({device.id}.{field})")
                else:
                    lgpio.gpio_free(chip, pin)
    finally:
        lgpio.gpiochip_close(chip)
    if busy:
        return Check(
            "pins free", "fail", f"held by another program: {', '.join(busy)}",
            "`gpioinfo` names the holder; stop it, or wire the device to a free line",
        )  # fmt: skip
    return Check("pins free", "ok", "every configured line can be claimed")


def pin_factory(hardware: Hardware, choice: str) -> Check:
    if choice != "gpio":
        return Check("pin factory", "ok", f"{type(hardware).__name__} (hardware = {choice!r})")
    chips = sorted(Path("/dev").glob("gpiochip*"))
    if not chips:
        return Check("pin factory", "fail", "no /dev/gpiochip*", "is this a Raspberry Pi?")
    denied = [str(c) for c in chips if not os.access(c, os.R_OK | os.W_OK)]
    if denied:
        return Check(
            "pin factory", "fail", f"{', '.join(denied)} not readable and writable",
            f"add the service user to the gpio group: usermod -aG gpio {SERVICE}",
        )  # fmt: skip
    return Check("pin factory", "ok", f"lgpio, {len(chips)} GPIO chips")


def pins(cfg: GatewayConfig) -> Check:
    """The configuration has been loaded: its own check already refused a line wired to two
    devices (naming both), so this line only counts them."""
    used = {str(pin) for device in cfg.devices for pin in device.pins().values()}
    return Check("pins", "ok", f"{len(used)} GPIO lines, none shared")


def one_wire(cfg: GatewayConfig, hardware: Hardware) -> list[Check]:
    probes = [(device.id, probe) for device in cfg.devices for probe in device.probes()]
    if not probes:
        return [Check("1-wire", "skip", "no DS18B20 configured")]
    if not hardware.w1_root.is_dir():
        return [Check(
            "1-wire", "fail", f"{hardware.w1_root} does not exist: the bus is not enabled",
            "add dtoverlay=w1-gpio to /boot/firmware/config.txt and reboot",
        )]  # fmt: skip
    checks = []
    for device, probe in probes:
        name = f"DS18B20 {probe} ({device})"
        try:
            celsius = read_ds18b20(hardware.w1_root, probe)
        except DeviceUnavailable as err:
            checks.append(Check(
                name, "fail", str(err),
                "check its wiring and the 4.7 kΩ pull-up; `ls /sys/bus/w1/devices` lists "
                "the probes the bus sees (the id is on the config's line)",
            ))  # fmt: skip
            continue
        plausible = -40.0 <= celsius <= 85.0
        checks.append(Check(
            name, "ok" if plausible else "fail", f"{celsius:.1f} °C",
            "" if plausible else "a reading out of -40…85 °C: a probe damaged or in a fault",
        ))  # fmt: skip
    return checks


def spi(cfg: GatewayConfig, choice: str) -> Check:
    channels = [d.id for d in cfg.devices if getattr(d, "tds_channel", None) is not None]
    if not channels:
        return Check("SPI (MCP3008)", "skip", "no analogue sensor configured")
    if choice != "gpio":
        return Check("SPI (MCP3008)", "ok", f"simulated, for {', '.join(channels)}")
    if not Path("/dev/spidev0.0").exists():
        return Check(
            "SPI (MCP3008)", "fail", "/dev/spidev0.0 does not exist: SPI is not enabled",
            "raspi-config nonint do_spi 0, then reboot",
        )  # fmt: skip
    try:
        from gpiozero import MCP3008

        with MCP3008(channel=0) as adc:
            value = float(adc.value)
    except Exception as err:  # the chip, the wiring: whatever SPI says
        return Check("SPI (MCP3008)", "fail", f"no answer: {err}", "check the MCP3008's wiring")
    return Check("SPI (MCP3008)", "ok", f"channel 0 reads {value:.3f}")


def cameras(cfg: GatewayConfig, hardware: Hardware, frames: int = 5) -> list[Check]:
    sources = [(d.id, source) for d in cfg.devices for source in d.cameras()]
    if not sources:
        return [Check("camera", "skip", "no camera configured")]
    from vision.camera import frame_problem
    from vision.faces import SFace
    from vision.urls import without_credentials

    checks = []
    for device, source in sources:
        name = f"camera {without_credentials(source)} ({device})"
        fix = (
            "check the cable or the stream's URL and credentials (`v4l2-ctl --list-devices`); "
            "a camera the running gateway holds cannot be opened twice: stop the service first"
        )
        try:
            camera = hardware.camera(source)
        except DeviceUnavailable as err:
            checks.append(Check(name, "fail", str(err), fix))
            continue
        try:
            got = [camera.read() for _ in range(frames)]
        except OSError as err:
            checks.append(Check(name, "fail", f"opened, but reading failed: {err}", fix))
            continue
        finally:
            camera.close()
        last = got[-1] if got else None
        problem = "no frame" if last is None else frame_problem(last)
        if last is None or problem is not None:
            checks.append(Check(name, "fail", f"opened, but {problem}", fix))
            continue
        faces = SFace().detect(last)
        score = f"a face scored {faces[0].score:.2f}" if faces else "no face in view"
        height, width = last.shape[:2]
        checks.append(Check(name, "ok", f"{width}x{height}, {frames} frames; {score}"))
    return checks


async def broker(cfg: GatewayConfig, timeout: float = 10.0) -> Check:
    from gateway.mqtt import Observer, is_refusal

    address = f"{cfg.mqtt.host}:{cfg.mqtt.port}"
    topic = f"{cfg.mqtt.prefix}/{cfg.site}/{cfg.gateway_id}/doctor/{secrets.token_hex(4)}"
    mode = "TLS" if cfg.mqtt.tls is not None else "plain MQTT"
    try:
        async with asyncio.timeout(timeout):
            async with Observer(cfg.mqtt) as client:
                await client.subscribe(topic)
                started = time.perf_counter()
                await client.publish(topic, b"doctor")
                async for _ in client.messages():
                    break
                rtt = (time.perf_counter() - started) * 1000
    except TimeoutError:
        return Check("broker", "fail", f"{address}: no answer within {timeout:.0f} s",
                     "is the broker running, the address right, the firewall open?")  # fmt: skip
    except UplinkError as err:
        cause = err.__cause__ if isinstance(err.__cause__, Exception) else err
        if is_refusal(cause):
            return Check(
                "broker", "fail", f"{address} refused the gateway: {err}",
                "check [mqtt] username and password, or the TLS certificate and CA files",
            )  # fmt: skip
        return Check("broker", "fail", f"cannot reach {address}: {err}",
                     "is the broker running, the address right, the firewall open?")  # fmt: skip
    return Check(
        "broker", "ok", f"{address} ({mode}), credentials accepted, round trip {rtt:.0f} ms"
    )


def clock(timedatectl: str = "timedatectl") -> Check:
    if shutil.which(timedatectl) is None:
        return Check("clock", "skip", f"no {timedatectl} here")
    done = subprocess.run(
        [timedatectl, "show", "-p", "NTPSynchronized"], capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    answer = done.stdout.strip().rpartition("=")[2]
    if done.returncode != 0 or answer not in ("yes", "no"):
        return Check("clock", "skip", f"timedatectl says nothing ({done.stderr.strip()[:80]})")
    if answer == "no":
        return Check(
            "clock", "fail", "not synchronised: signed commands are judged by the clock",
            "systemctl enable --now systemd-timesyncd, and let it reach an NTP server",
        )  # fmt: skip
    # The skew against the time server (Mosquitto puts no time of its own on the wire).
    status = subprocess.run(
        [timedatectl, "timesync-status"], capture_output=True, text=True, check=False
    )
    offset = next(
        (line.split(":", 1)[1].strip() for line in status.stdout.splitlines()
         if line.strip().startswith("Offset:")),
        None,
    )  # fmt: skip
    return Check("clock", "ok", "synchronised (NTP)" + (f", offset {offset}" if offset else ""))


def storage(cfg: GatewayConfig, hardware: Hardware) -> list[Check]:
    checks = []
    where = cfg.data_dir if cfg.data_dir.exists() else cfg.data_dir.parent
    total, free = hardware.disk_usage(where if where.exists() else Path("/"))
    share = 100 * free / total if total else 0.0
    checks.append(Check(
        "disk", "ok" if share >= 5 else "fail",
        f"{free / 2**30:.1f} GB free ({share:.0f} %) for {cfg.data_dir}",
        "" if share >= 5 else "free some space: the outbox needs room through an outage",
    ))  # fmt: skip
    if not cfg.database.exists():
        checks.append(
            Check("database", "ok", f"none yet at {cfg.database} (the first start makes it)")
        )
        return checks
    try:
        with sqlite3.connect(f"file:{cfg.database}?mode=ro", uri=True, timeout=5) as db:
            result = db.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.Error as err:
        result = str(err)
    if result != "ok":
        checks.append(Check(
            "database", "fail", f"{cfg.database}: {result}",
            "stop the service: the gateway moves a damaged database aside at its next start",
        ))  # fmt: skip
    else:
        checks.append(Check("database", "ok", f"{cfg.database} intact"))
    return checks


def service(systemctl: Sequence[str] = ("systemctl",)) -> Check:
    if shutil.which(systemctl[0]) is None or not Path("/run/systemd/system").exists():
        return Check("service", "skip", "not under systemd here")
    props = "ActiveState,SubState,Result,NRestarts,ExecMainStatus,LoadState"
    done = subprocess.run(
        [*systemctl, "show", SERVICE, f"--property={props}"], capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    values = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    if values.get("LoadState") != "loaded":
        return Check("service", "fail", f"{SERVICE} is not installed", "sudo gateway install")
    state = f"{values.get('ActiveState')} ({values.get('SubState')})"
    last = f"restarts {values.get('NRestarts', '?')}, last result {values.get('Result')}"
    if values.get("ActiveState") != "active":
        return Check(
            "service", "fail", f"{state}; {last}, exit status {values.get('ExecMainStatus')}",
            f"journalctl -u {SERVICE} -n 50 says why",
        )  # fmt: skip
    return Check("service", "ok", f"{state}; {last}")


async def diagnose(
    cfg: GatewayConfig,
    hardware: Hardware,
    *,
    timedatectl: str = "timedatectl",
    systemctl: Sequence[str] = ("systemctl",),
) -> list[Check]:
    """Every check, in the order an installer would go through them."""
    choice = "gpio" if type(hardware).__name__ == "GpioHardware" else cfg.hardware
    unit = service(systemctl)
    checks: list[Check] = [python_and_packages(), pin_factory(hardware, choice), pins(cfg)]
    checks.append(free_lines(cfg, choice, unit.status == "ok"))
    checks += one_wire(cfg, hardware)
    checks.append(spi(cfg, choice))
    checks += await asyncio.to_thread(cameras, cfg, hardware)
    checks.append(await broker(cfg))
    checks.append(clock(timedatectl))
    checks += storage(cfg, hardware)
    checks.append(unit)
    return checks


def report(checks: Sequence[Check]) -> dict[str, Any]:
    return {"ok": all(c.status != "fail" for c in checks), "checks": [c.as_dict() for c in checks]}
