"""The hardware a gateway runs on: pins, sysfs paths, and the bridge from gpiozero's threads.

``hardware = "gpio"`` uses the board's own pins (lgpio on a Raspberry Pi). ``"simulated"``
loads the simulated complex registered in the ``community_gateway.hardware`` entry-point
group; ``"auto"`` picks gpio on a Raspberry Pi and the simulation elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from gateway.errors import DeviceUnavailable, GatewayError
from gateway.plugins import hardware_class
from vision.camera import FrameSource, VideoCapture
from vision.errors import VisionError

if TYPE_CHECKING:
    from gateway.clock import Clock
    from gateway.settings import GatewayConfig

__all__ = ["GpioHardware", "Hardware", "is_raspberry_pi", "open_hardware", "read_ds18b20"]

_MODEL_FILE = Path("/proc/device-tree/model")

log = logging.getLogger(__name__)


@runtime_checkable
class Hardware(Protocol):
    """What drivers get from the hardware back-end (``ctx.hardware``)."""

    #: The gpiozero pin factory every device is built on.
    pin_factory: Any
    #: The kernel's CPU temperature file (millidegrees Celsius).
    cpu_temperature_file: Path
    #: The 1-wire bus root holding ``28-*/w1_slave`` files.
    w1_root: Path

    def disk_usage(self, path: Path) -> tuple[int, int]:
        """``(total, free)`` bytes of the filesystem holding ``path``."""
        ...

    def camera(self, source: str) -> FrameSource:
        """The camera ``source`` names (a V4L2 device, an RTSP URL, …)."""
        ...

    async def run(self) -> None:
        """Whatever the hardware needs to do while the gateway runs (the simulation lives)."""
        ...

    async def simulate(self, request: dict[str, Any]) -> Any:
        """Act on the simulated complex (``{"model", "action", "args"}``, as its control
        channel takes); raises :class:`GatewayError` on real hardware."""
        ...

    def close(self) -> None:
        """Release the pins."""
        ...


class GpioHardware:
    """The board's real pins and sysfs."""

    cpu_temperature_file = Path("/sys/class/thermal/thermal_zone0/temp")
    w1_root = Path("/sys/bus/w1/devices")

    def __init__(self) -> None:
        try:
            from gpiozero.pins.lgpio import LGPIOFactory
        except ImportError as err:
            raise DeviceUnavailable(_no_lgpio()) from err
        self.pin_factory = LGPIOFactory()

    def disk_usage(self, path: Path) -> tuple[int, int]:
        usage = shutil.disk_usage(path)
        return usage.total, usage.free

    def camera(self, source: str) -> FrameSource:
        try:
            return VideoCapture(source)
        except VisionError as err:
            raise DeviceUnavailable(str(err)) from err

    async def run(self) -> None:
        await asyncio.Event().wait()

    async def simulate(self, request: dict[str, Any]) -> Any:
        raise GatewayError("this gateway drives real hardware: there is nothing to simulate")

    def close(self) -> None:
        self.pin_factory.close()


def is_raspberry_pi() -> bool:
    try:
        return "Raspberry Pi" in _MODEL_FILE.read_text(errors="replace")
    except OSError:
        return False


def open_hardware(config: GatewayConfig, clock: Clock) -> Hardware:
    """The hardware back-end the configuration asks for."""
    choice = config.hardware
    if choice == "auto":
        choice = "gpio" if is_raspberry_pi() else "simulated"
        if choice == "simulated":
            log.warning(
                "hardware = 'auto' and this is no Raspberry Pi: running the simulated "
                "complex (set hardware = 'gpio' or 'simulated' to say so)"
            )
    if choice == "gpio":
        return GpioHardware()
    factory = hardware_class(choice)
    return factory(config=config, clock=clock)


def read_ds18b20(w1_root: Path, sensor_id: str) -> float:
    """Degrees Celsius from ``{w1_root}/{sensor_id}/w1_slave``.

    Raises :class:`DeviceUnavailable` for a missing probe, a CRC failure (``NO``) and the
    85.000 °C value a probe reports after a power glitch before its first conversion.
    """
    path = w1_root / sensor_id / "w1_slave"
    try:
        # The kernel writes ASCII; a garbled read is a failed read, not a crash.
        lines = path.read_bytes().decode("ascii", errors="replace").splitlines()
    except OSError as err:
        raise DeviceUnavailable(f"DS18B20 {sensor_id}: not on the 1-wire bus ({path})") from err
    if len(lines) < 2 or not lines[0].rstrip().endswith("YES"):
        raise DeviceUnavailable(f"DS18B20 {sensor_id}: CRC check failed")
    _, sep, raw = lines[1].partition("t=")
    try:
        millidegrees = int(raw.strip())
    except ValueError:
        raise DeviceUnavailable(f"DS18B20 {sensor_id}: unreadable value {lines[1]!r}") from None
    if not sep:
        raise DeviceUnavailable(f"DS18B20 {sensor_id}: no temperature in {lines[1]!r}")
    if millidegrees == 85_000:
        raise DeviceUnavailable(f"DS18B20 {sensor_id}: power-on value 85 °C (not a reading)")
    return millidegrees / 1000.0


def _no_lgpio() -> str:
    """Why lgpio cannot be imported, and the fix: apt installs it into the system's Python,
    which a virtual environment sees only when made with ``--system-site-packages``."""
    import sys

    fix = "sudo apt install python3-lgpio"
    if sys.prefix != sys.base_prefix:
        config = Path(sys.prefix) / "pyvenv.cfg"
        sees = config.exists() and "include-system-site-packages = true" in config.read_text()
        if not sees:
            return (
                f"hardware = 'gpio' needs the lgpio library, which apt installs into the "
                f"system's Python; this virtual environment ({sys.prefix}) cannot see the "
                f"system's packages. Fix: {fix}, then `sudo gateway install` (it makes the venv "
                "with --system-site-packages), or recreate the venv with "
                "`python3 -m venv --system-site-packages`"
            )
    return f"hardware = 'gpio' needs the lgpio library: {fix}"
