"""Finding the installed plugins by entry point; the runtime never imports a driver package.

- ``community_gateway.kinds``: one :class:`DeviceKind` per device kind, a light object that
  names where the kind's parts are (config model, driver, CLI command groups, secret fields)
  and loads each only when it is asked for: checking a configuration loads the config
  models, never a driver's libraries (OpenCV for the gate).
- ``community_gateway.hardware``: the hardware back-ends (``simulated``).

The entry points are read from the installed distributions' ``entry_points.txt`` as
:func:`importlib.metadata.entry_points` finds them (the first distribution of a name on
``sys.path``), without importing :mod:`importlib.metadata`: it and the e-mail parser it
brings are 10-20 ms of a configuration check.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from gateway.errors import DriverNotFound

if TYPE_CHECKING:
    from gateway.devices import DeviceConfig, Driver
    from gateway.hardware import Hardware
    from gateway.records import RecordSet
    from gateway.views import ConsoleView

__all__ = [
    "DeviceKind",
    "config_class",
    "console_view",
    "device_kind",
    "device_kinds",
    "driver_class",
    "hardware_class",
    "load_target",
    "record_sets",
    "secret_fields",
]


def load_target(target: str) -> Any:
    """``"package.module:attribute"`` → the attribute (imported now); as an entry point may
    also say, the attribute may be dotted (``module:Class.attribute``) or absent (the
    module)."""
    module, _, attribute = target.partition(":")
    found: Any = importlib.import_module(module.strip())
    for part in filter(None, attribute.strip().split(".")):
        found = getattr(found, part)
    return found


@dataclass(frozen=True)
class DeviceKind:
    """What a device kind brings to the runtime, each part named as ``"module:attribute"``
    and imported only when asked for."""

    #: The ``kind`` of its ``[[devices]]`` tables.
    name: str
    #: Its :class:`~gateway.devices.DeviceConfig` subclass (light: pydantic only).
    config: str
    #: Its :class:`~gateway.devices.Driver` subclass.
    driver: str
    #: How the console shows it: a :class:`~gateway.views.ConsoleView`.
    console: str | None = None
    #: Command groups it adds to the ``gateway`` CLI: name → a :class:`click.Group`.
    cli: Mapping[str, str] = field(default_factory=dict)
    #: Fields of its events and commands that are secrets: never shown, never logged.
    secrets: frozenset[str] = frozenset()
    #: Records it keeps, as the console and the CLI show them.
    records: tuple[RecordSet, ...] = ()
    #: Its Home Assistant entities: a function of a device's configuration returning
    #: :class:`gateway.homeassistant.Entity` items (see :mod:`gateway.homeassistant`).
    homeassistant: str | None = None

    def config_model(self) -> type[DeviceConfig]:
        from gateway.devices import DeviceConfig

        model = load_target(self.config)
        if not (isinstance(model, type) and issubclass(model, DeviceConfig)):
            raise DriverNotFound(f"kind {self.name!r}: {self.config} is not a DeviceConfig")
        return model

    def driver_class(self) -> type[Driver]:
        from gateway.devices import Driver

        cls = load_target(self.driver)
        if not (isinstance(cls, type) and issubclass(cls, Driver)):
            raise DriverNotFound(f"kind {self.name!r}: {self.driver} is not a Driver subclass")
        return cls


_INFO = (".dist-info", ".egg-info")


@cache
def _group(group: str) -> Mapping[str, str]:
    """The entry points of ``group`` in every installed distribution: name → target."""
    found: dict[str, str] = {}
    for text in _entry_point_files():
        section = None
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1].strip()
            elif section == group and "=" in line and not line.startswith("#"):
                name, _, target = line.partition("=")
                # ``module:attribute [extras]``: the extras name optional dependencies.
                found.setdefault(name.strip(), target.partition("[")[0].strip())
    return found


def _entry_point_files() -> list[str]:
    """Each installed distribution's ``entry_points.txt``, once per distribution name."""
    seen: set[str] = set()
    texts = []
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:  # a missing directory, a zip file
            continue
        for name in names:
            stem, ext = os.path.splitext(name)
            if ext not in _INFO:
                continue
            distribution = re.sub(r"[-_.]+", "_", stem.partition("-")[0]).lower()
            if distribution in seen:
                continue
            seen.add(distribution)
            try:
                with open(os.path.join(entry, name, "entry_points.txt"), encoding="utf-8") as f:
                    texts.append(f.read())
            except OSError:  # a distribution without entry points
                continue
    return texts


def device_kinds() -> dict[str, DeviceKind]:
    """Every installed device kind, by name."""
    found = {}
    for name, target in sorted(_group("community_gateway.kinds").items()):
        kind = load_target(target)
        if not isinstance(kind, DeviceKind) or kind.name != name:
            raise DriverNotFound(f"entry point {name!r} is not the DeviceKind {name!r}")
        found[name] = kind
    return found


def device_kind(name: str) -> DeviceKind:
    """The device kind ``name`` (entry-point group ``community_gateway.kinds``)."""
    found = _group("community_gateway.kinds")
    if name not in found:
        allowed = ", ".join(sorted(found)) or "none installed"
        raise DriverNotFound(f"unknown device kind {name!r} (allowed: {allowed})")
    kind = load_target(found[name])
    if not isinstance(kind, DeviceKind):
        raise DriverNotFound(f"entry point {name!r} is not a DeviceKind")
    return kind


def config_class(kind: str) -> type[DeviceConfig]:
    """The config model of ``kind``, without importing its driver."""
    return device_kind(kind).config_model()


def driver_class(kind: str) -> type[Driver]:
    """The driver of ``kind``."""
    return device_kind(kind).driver_class()


@cache
def console_view(kind: str) -> ConsoleView | None:
    """How the console shows ``kind`` (``None``: an unknown kind, or one that says nothing)."""
    try:
        target = device_kind(kind).console
    except DriverNotFound:
        return None
    return None if target is None else cast("ConsoleView", load_target(target))


@cache
def secret_fields() -> frozenset[str]:
    """Every installed kind's secret fields, with the gateway's own (passwords, keys)."""
    from gateway.messages import SECRET_KEYS

    found = set(SECRET_KEYS)
    for kind in device_kinds().values():
        found |= kind.secrets
    return frozenset(found)


def record_sets() -> list[RecordSet]:
    """Every installed kind's records."""
    return [r for kind in device_kinds().values() for r in kind.records]


def hardware_class(name: str) -> Callable[..., Hardware]:
    """The hardware back-end registered as ``name`` (group ``community_gateway.hardware``)."""
    found = _group("community_gateway.hardware")
    if name not in found:
        allowed = ", ".join(sorted(found)) or "none installed"
        raise DriverNotFound(f"unknown hardware {name!r} (allowed: {allowed})")
    factory: Callable[..., Hardware] = load_target(found[name])
    return factory
