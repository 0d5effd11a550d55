"""The driver contract: what a device driver is, what it may use, and how it is found.

A driver is a :class:`Driver` subclass with a pydantic config model, an ``async run()`` that
is its whole life, and command handlers declared with :func:`command`. It reaches the rest of
the gateway only through its :class:`DriverContext`. Drivers and hardware back-ends are found
through the entry-point groups ``community_gateway.kinds`` and
``community_gateway.hardware``; the runtime never imports a driver package.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from gateway.messages import (
    SECRET_KEYS,
    MessageType,
    Priority,
    Severity,
    isoformat,
    new_ulid,
    redacted,
    render_envelope,
)
from gateway.topics import SEGMENT_PATTERN
from vision.urls import without_credentials

if TYPE_CHECKING:
    from gateway.clock import Clock
    from gateway.db import Database, DeviceStore
    from gateway.hardware import Hardware
    from gateway.history import History
    from gateway.outbox import Outbox
    from gateway.settings import GatewayConfig
    from gateway.topics import Topics

__all__ = [
    "Args",
    "CommandSpec",
    "DeviceConfig",
    "Driver",
    "DriverContext",
    "NoArgs",
    "Runtime",
    "command",
]


class DeviceConfig(BaseModel):
    """Fields every ``[[devices]]`` table has; drivers subclass it with their own."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    kind: str
    id: str = Field(pattern=SEGMENT_PATTERN)
    name: str = ""
    report_period_s: float = Field(default=60.0, gt=0, le=86_400)

    def homes(self) -> frozenset[str]:
        """The homes (residents' units) this device watches over for the welfare check
        (:mod:`gateway.welfare`); the gate watches everyone else."""
        return frozenset()

    def pins(self) -> dict[str, int | str]:
        """The GPIO lines this device is wired to, by field (``gateway doctor`` checks that
        no two devices share one): every ``*_pin`` field set."""
        return {
            name: value
            for name, value in self
            if name.endswith("_pin") and isinstance(value, int | str) and value is not None
        }

    def probes(self) -> list[str]:
        """The DS18B20 temperature probes on the 1-wire bus this device reads."""
        probe = getattr(self, "temperature_sensor", None)
        return [probe] if isinstance(probe, str) else []

    def cameras(self) -> list[str]:
        """The cameras (V4L2 devices, stream URLs) this device reads."""
        camera = getattr(self, "camera", None)
        return [camera] if isinstance(camera, str) else []


class Args(BaseModel):
    """A command's arguments: an unknown field is refused. Built when the first command
    arrives, not when its module loads (a configuration check never needs it)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class NoArgs(Args):
    """Arguments of a command that takes none."""


@dataclass(frozen=True)
class CommandSpec:
    """A command handler: its name, argument model, whether it must be signed, and how long
    a signed one may stay valid (``None``: the gateway's ``max_expiry_s``)."""

    name: str
    args: type[BaseModel]
    actuating: bool
    method: str
    max_valid_s: float | None = None


_F = TypeVar("_F", bound=Callable[..., Awaitable[Mapping[str, Any]]])


def command(
    name: str | None = None,
    *,
    args: type[BaseModel] = NoArgs,
    actuating: bool = False,
    max_valid_s: float | None = None,
) -> Callable[[_F], _F]:
    """Declare a driver method as the handler of a command.

    ``actuating`` commands (they open, close or change something) must be signed by an
    operator. ``max_valid_s`` shortens how far ahead a signed command may expire (a door's
    ``unlock`` held back and delivered later must not still work an hour on). The handler
    receives the validated ``args`` model and returns the reply's ``result``; it raises
    :class:`~gateway.errors.CommandRejected` to refuse.
    """

    def decorate(method: _F) -> _F:
        spec = CommandSpec(name or method.__name__, args, actuating, method.__name__, max_valid_s)
        method.__command_spec__ = spec  # type: ignore[attr-defined]
        return method

    return decorate


class Runtime(Protocol):
    """What the runtime tells drivers about itself (for the gateway's own device)."""

    @property
    def boot(self) -> int: ...

    def runtime_stats(self) -> dict[str, Any]: ...

    async def apply_config(self, text: str, version: str, health_s: float) -> dict[str, Any]:
        """A new configuration file, kept once healthy or rolled back (the gateway device's
        ``config_apply``)."""
        ...

    def config_get(self) -> dict[str, Any]:
        """The running configuration, its secrets masked, with its version and hash."""
        ...


class DriverContext:
    """Everything a driver may use: clock, pins, storage and the publish methods."""

    def __init__(
        self,
        *,
        config: DeviceConfig,
        clock: Clock,
        hardware: Hardware,
        outbox: Outbox,
        topics: Topics,
        store: DeviceStore,
        runtime: Runtime,
        data_dir: Path,
        database: Database,
        settings: GatewayConfig | None = None,
        history: History | None = None,
        secrets: frozenset[str] = SECRET_KEYS,
    ) -> None:
        self.config = config
        self.device_id = config.id
        self.kind = config.kind
        self.clock = clock
        self.hardware = hardware
        self.store = store
        self.runtime = runtime
        #: The gateway's state directory (for disk usage; drivers keep state in ``store``).
        self.data_dir = data_dir
        #: The gateway's database, for the complex-wide records a kind keeps beside its own
        #: ``store`` (the residents the gate knows, the audit log).
        self.database = database
        #: The whole gateway's configuration (its ``[residents]``, ``[web]``, … sections).
        self.settings = settings
        #: The console's copy of what this device publishes.
        self.history = history
        if history is not None:
            history.register(config.id, config.kind)
        #: Fields of events never logged in clear (the runtime passes every kind's).
        self.secrets = secrets
        #: The driver's last crashes (``{"at", "error"}``), newest last, for ``diagnostics``.
        self.crashes: deque[dict[str, str]] = deque(maxlen=10)
        self.log = logging.getLogger(f"gateway.device.{config.id}")
        self._outbox = outbox
        self._topics = topics
        self._state: dict[str, Any] = {}
        self._available = True

    @property
    def pins(self) -> Any:
        """The gpiozero pin factory to build this driver's devices on."""
        return self.hardware.pin_factory

    @property
    def available(self) -> bool:
        return self._available

    async def publish_telemetry(self, data: Mapping[str, Any]) -> None:
        """Readings; durable when this returns."""
        await self._publish("telemetry", dict(data), Priority.TELEMETRY)

    async def publish_event(self, event: str, severity: Severity = "info", **data: Any) -> None:
        """Something happened; durable (and on disk) when this returns."""
        priority = Priority.CRITICAL if severity == "critical" else Priority.EVENT
        self.log.log(
            logging.WARNING if severity != "info" else logging.INFO,
            "event %s %s",
            event,
            redacted(data, self.secrets),
        )
        shown = {k: without_credentials(v) if isinstance(v, str) else v for k, v in data.items()}
        await self._publish("event", {"event": event, "severity": severity, **shown}, priority)

    async def publish_state(
        self, state: Mapping[str, Any] | None = None, *, available: bool | None = None
    ) -> None:
        """Merge ``state`` into the device's retained state and publish it whole."""
        if state:
            self._state.update(state)
        if available is not None:
            self._available = available
        await self._publish(
            "state", {**self._state, "available": self._available}, Priority.STATE, retain=True
        )

    async def _publish(
        self, type_: MessageType, data: dict[str, Any], priority: Priority, retain: bool = False
    ) -> None:
        ts = isoformat(self.clock.now())
        msg_id = new_ulid()

        def render(seq: int) -> bytes:
            return render_envelope(msg_id, seq, ts, self.device_id, self.kind, type_, data)

        await self._outbox.put_envelope(
            self._topics.device(self.device_id, type_), render, priority, retain=retain
        )
        if self.history is not None:
            self.history.add(self.device_id, self.kind, type_, ts, data)


class Driver(ABC):
    """Base of every device driver."""

    #: The ``kind`` of the ``[[devices]]`` tables this driver runs.
    kind: ClassVar[str]
    #: The pydantic model of its ``[[devices]]`` table.
    config_model: ClassVar[type[DeviceConfig]]

    def __init__(self, config: DeviceConfig, ctx: DriverContext) -> None:
        self.config = config
        self.ctx = ctx

    @abstractmethod
    async def run(self) -> None:
        """The device's whole life: read, decide, publish, until cancelled."""

    def safe_state(self) -> None:  # noqa: B027 - optional hook
        """Put every output in its safe state (called on stop and after a crash)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the gpiozero devices (``run()`` acquires them again: the supervisor runs
        the same object after a crash)."""

    def crashed(self) -> None:
        """Called by the supervisor when ``run()`` raised, before it runs it again: the
        outputs' safe state, then ``close()``. A kind whose outputs must hold through a
        restart (a maglock that stays locked) keeps them here and releases the rest."""
        self.safe_state()
        self.close()

    @classmethod
    def command_specs(cls) -> dict[str, CommandSpec]:
        specs: dict[str, CommandSpec] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                spec = getattr(value, "__command_spec__", None)
                if isinstance(spec, CommandSpec):
                    specs[spec.name] = spec
        return specs
