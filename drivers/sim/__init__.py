"""The simulated complex: gpiozero mock pins and sysfs files driven by physical models.

Registered as the ``simulated`` hardware (entry-point group ``community_gateway.hardware``).
Its control channel listens on ``{data_dir}/sim.sock`` (see :mod:`drivers.sim.control`).
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from drivers.bins.config import BinConfig
from drivers.care.config import CareConfig
from drivers.entry.config import EntryConfig
from drivers.lockers.config import LockerBankConfig
from drivers.sim.bins import BinModel
from drivers.sim.care import HomeModel
from drivers.sim.control import ControlServer
from drivers.sim.gate import PHOTOGRAPHS, GateModel, SimulatedCamera
from drivers.sim.host import HostModel
from drivers.sim.lockers import BankModel
from drivers.sim.water import MockMCP3008, StationModel
from drivers.sim.world import World
from drivers.water.config import WaterStationConfig
from gateway.clock import Clock
from gateway.errors import DeviceUnavailable, GatewayError

__all__ = ["SimulatedHardware", "control_socket"]


def control_socket(data_dir: Path) -> Path:
    """Where a simulated gateway's control channel listens."""
    return data_dir / "sim.sock"


class SimulatedHardware:
    """Mock pins, simulated sysfs, the world's models and its control channel."""

    def __init__(self, *, config: Any, clock: Clock) -> None:
        self.root = Path(config.data_dir) / "sim"
        self.clock = clock
        self.pin_factory = MockFactory()
        self.cpu_temperature_file = self.root / "thermal_zone0" / "temp"
        self.w1_root = self.root / "w1"
        self.w1_root.mkdir(parents=True, exist_ok=True)
        self.world = World(clock, config.simulation.seed, config.simulation.script)
        self.host = HostModel(self.cpu_temperature_file)
        self.world.add(self.host)
        stations = [d for d in config.devices if isinstance(d, WaterStationConfig)]
        adc = None
        if any(station.tds_channel is not None for station in stations):
            # gpiozero's software SPI asks for the global default pin factory.
            Device.pin_factory = self.pin_factory
            adc = MockMCP3008(self.pin_factory)
        rng = self.world.random
        self.cameras: dict[str, SimulatedCamera] = {}
        for device in config.devices:
            if isinstance(device, BinConfig):
                self.world.add(BinModel(device, self.pin_factory, self.w1_root, clock, rng))
            elif isinstance(device, EntryConfig):
                gate = GateModel(device, self.pin_factory, clock, rng, self.photographs(config))
                self.world.add(gate)
                self.cameras[device.camera] = gate.camera
            elif isinstance(device, CareConfig):
                self.world.add(HomeModel(device, self.pin_factory, clock, rng))
            elif isinstance(device, LockerBankConfig):
                self.world.add(BankModel(device, self.pin_factory, self.w1_root, clock, rng))
            elif isinstance(device, WaterStationConfig):
                self.world.add(
                    StationModel(device, self.pin_factory, adc, self.w1_root, clock, rng)
                )
        self.control = ControlServer(control_socket(Path(config.data_dir)), self.world.handle)

    @staticmethod
    def photographs(config: Any) -> Path:
        """Where the simulated gates find photographs: ``[simulation] photos_dir`` when set,
        else the simulator's own (:data:`drivers.sim.gate.PHOTOGRAPHS`)."""
        return Path(config.simulation.photos_dir or PHOTOGRAPHS)

    def camera(self, source: str) -> SimulatedCamera:
        if source not in self.cameras:
            raise DeviceUnavailable(
                f"no simulated camera {source!r} (allowed: {sorted(self.cameras)})"
            )
        return self.cameras[source].open()

    def disk_usage(self, path: Path) -> tuple[int, int]:
        usage = shutil.disk_usage(path)
        if self.host.disk_used_percent is None:
            return usage.total, usage.free
        return usage.total, int(usage.total * (100 - self.host.disk_used_percent) / 100)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            pace = getattr(self.clock, "pace", None)
            if pace is not None:  # simulated time keeps to the process's progress
                tg.create_task(pace(), name="sim-pace")
            tg.create_task(self.world.run(), name="sim-world")
            tg.create_task(self.control.serve(), name="sim-control")

    async def simulate(self, request: dict[str, Any]) -> Any:
        """One control-channel request, from inside the process (the console's)."""
        try:
            return await self.world.handle(request)
        except (KeyError, TypeError, ValueError) as err:
            raise GatewayError(str(err).strip("'\"")) from err

    def close(self) -> None:
        for camera in self.cameras.values():
            camera.close()
        self.pin_factory.reset()
        self.pin_factory.close()
