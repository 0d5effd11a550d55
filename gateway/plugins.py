"""Finding the installed plugins: drivers (entry-point group ``community_gateway.drivers``)
and hardware back-ends (``community_gateway.hardware``). The runtime never imports a driver
package; it asks here by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from gateway.devices import Driver
from gateway.errors import DriverNotFound

if TYPE_CHECKING:
    from gateway.hardware import Hardware

__all__ = ["driver_class", "hardware_class"]


@cache
def _group(group: str) -> Mapping[str, Any]:
    return {ep.name: ep for ep in entry_points(group=group)}


def driver_class(kind: str) -> type[Driver]:
    """The driver registered for ``kind`` (entry-point group ``community_gateway.drivers``)."""
    found = _group("community_gateway.drivers")
    if kind not in found:
        allowed = ", ".join(sorted(found)) or "none installed"
        raise DriverNotFound(f"unknown device kind {kind!r} (allowed: {allowed})")
    cls = found[kind].load()
    if not (isinstance(cls, type) and issubclass(cls, Driver)):
        raise DriverNotFound(f"entry point {kind!r} is not a Driver subclass")
    return cls


def hardware_class(name: str) -> Callable[..., Hardware]:
    """The hardware back-end registered as ``name`` (group ``community_gateway.hardware``)."""
    found = _group("community_gateway.hardware")
    if name not in found:
        allowed = ", ".join(sorted(found)) or "none installed"
        raise DriverNotFound(f"unknown hardware {name!r} (allowed: {allowed})")
    factory: Callable[..., Hardware] = found[name].load()
    return factory
