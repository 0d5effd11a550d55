"""The gateway's one exception tree.

Every error the gateway raises on purpose is a :class:`GatewayError`; third-party errors are
translated at the module that owns the library (``raise ... from err``)::

    GatewayError
    ├── ConfigError             the configuration is wrong (each problem names file, key, fix)
    ├── StorageError            the SQLite file cannot be used
    ├── DeviceError             a device misbehaves
    │   ├── DeviceUnavailable   it cannot be read or driven at all
    │   └── DeviceTimeout       it did not answer in time
    ├── UplinkError             the broker cannot be reached or refused us
    ├── CommandRejected         a command is malformed, unauthenticated or refused
    ├── DriverNotFound          no driver or hardware is registered under a name
    └── VisionError             a camera or face model failed
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CommandRejected",
    "ConfigError",
    "ConfigProblem",
    "DeviceError",
    "DeviceTimeout",
    "DeviceUnavailable",
    "DriverNotFound",
    "GatewayError",
    "StorageError",
    "UplinkError",
    "VisionError",
]


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a configuration file."""

    file: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        at = f"{self.file}:{self.path}" if self.path else self.file
        return f"{at}: {self.message}{where}"


class ConfigError(GatewayError):
    """The configuration cannot be used; :attr:`problems` lists every reason."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class StorageError(GatewayError):
    """The gateway's database cannot be opened or written."""


class DeviceError(GatewayError):
    """A device misbehaves."""


class DeviceUnavailable(DeviceError):
    """A device cannot be read or driven at all."""


class DeviceTimeout(DeviceError):
    """A device did not answer in time."""


class UplinkError(GatewayError):
    """The broker cannot be reached, or refused the connection."""


class DriverNotFound(GatewayError):
    """No driver or hardware is registered under the requested name."""


class CommandRejected(GatewayError):
    """A command was refused; becomes the ``error`` of its reply.

    ``code`` is one of ``malformed``, ``unauthenticated``, ``forbidden`` (signed by a key
    whose scope does not cover it), ``expired``, ``replayed``, ``unknown_device``,
    ``unknown_command``, ``invalid_args``, ``refused``, ``internal``, ``rate_limited``.
    """

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        self.code = code
        self.message = message
        self.field = field
        super().__init__(f"{code}: {message}" + (f" (field {field})" if field else ""))


class VisionError(GatewayError):
    """A camera or a face model failed."""
