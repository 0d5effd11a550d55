"""Loading the gateway's configuration: one TOML file checked against :mod:`gateway.settings`.

Each device table is checked against the config model of the driver registered for its
``kind``. :func:`load_config` collects every problem and raises one
:class:`~gateway.errors.ConfigError` whose lines read
``file:key.path: what is wrong (allowed: …) (line N)``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from gateway.devices import DeviceConfig
from gateway.errors import ConfigError, ConfigProblem, DriverNotFound
from gateway.plugins import config_class
from gateway.settings import GatewayConfig

__all__ = ["load_config", "parse_config"]


def load_config(path: Path | str) -> GatewayConfig:
    """Read and check a TOML configuration file; raises :class:`ConfigError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError([ConfigProblem(str(path), "", f"cannot read: {err.strerror}")]) from err
    return parse_config(text, str(path), base_dir=path.parent)


def parse_config(
    text: str, source: str = "<config>", base_dir: Path | None = None
) -> GatewayConfig:
    """Check a configuration given as TOML text."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        line = _toml_error_line(str(err))
        raise ConfigError([ConfigProblem(source, "", f"not valid TOML: {err}", line)]) from err
    lines = _key_lines(text)
    problems: list[ConfigProblem] = []

    def problem(path: tuple[str | int, ...], message: str) -> None:
        dotted = ".".join(str(p) for p in path) or "(top level)"
        problems.append(ConfigProblem(source, dotted, message, _line_of(lines, path)))

    devices_raw = raw.pop("devices", [])
    devices: list[DeviceConfig] = []
    if not isinstance(devices_raw, list):
        problem(("devices",), "must be a list of [[devices]] tables")
        devices_raw = []
    seen_ids: set[str] = set()
    lines_used: dict[str, str] = {}  # GPIO line → the device field wired to it
    for index, item in enumerate(devices_raw):
        where: tuple[str | int, ...] = ("devices", index)
        if not isinstance(item, dict):
            problem(where, "must be a [[devices]] table")
            continue
        kind = item.get("kind")
        try:
            model = config_class(str(kind)) if kind is not None else None
        except DriverNotFound as err:
            problem((*where, "kind"), str(err))
            continue
        if model is None:
            problem((*where, "kind"), "missing; every device needs a kind")
            continue
        try:
            device = model.model_validate(item)
        except ValidationError as err:
            for e in err.errors():
                problem((*where, *e["loc"]), _describe(e, model))
            continue
        if device.id in seen_ids:
            problem((*where, "id"), f"duplicate device id {device.id!r}; ids must be unique")
        seen_ids.add(device.id)
        for field, pin in device.pins().items():
            owner = lines_used.get(str(pin))
            if owner is not None:
                problem(
                    (*where, *field.split(".")),
                    f"GPIO{pin} is already {owner}: give each device its own line",
                )
            lines_used[str(pin)] = f"{device.id}.{field}"
        devices.append(device)
    try:
        config = GatewayConfig.model_validate(raw)
    except ValidationError as err:
        for e in err.errors():
            problem(tuple(e["loc"]), _describe(e, GatewayConfig))
        config = None
    if problems or config is None:
        raise ConfigError(problems)
    if base_dir is not None and not config.data_dir.is_absolute():
        config.data_dir = (base_dir / config.data_dir).resolve()
    photos = config.simulation.photos_dir
    if base_dir is not None and photos is not None and not photos.is_absolute():
        config.simulation.photos_dir = (base_dir / photos).resolve()
    # Files named relative to the configuration are beside it (a provisioned bundle).
    files: list[tuple[Any, str]] = [(config.web, name) for name in ("tls_cert", "tls_key")]
    if config.mqtt.tls is not None:
        files += [(config.mqtt.tls, name) for name in ("ca_file", "cert_file", "key_file")]
    for section, name in files:
        value = getattr(section, name)
        if base_dir is not None and value is not None and not value.is_absolute():
            setattr(section, name, (base_dir / value).resolve())
    config.devices = devices
    return config


def _describe(error: Any, model: type[BaseModel]) -> str:
    """Pydantic's message, with what is allowed where pydantic does not say."""
    if error["type"] == "extra_forbidden":
        owner = _model_at(model, error["loc"][:-1])
        allowed = ", ".join(sorted(owner.model_fields)) if owner else "see gateway.example.toml"
        return f"unknown key (allowed: {allowed})"
    if error["type"] == "missing":
        return "missing; this key is required"
    return str(error["msg"])


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        if field is None:
            return None
        annotation = field.annotation
        args = [a for a in getattr(annotation, "__args__", ()) if isinstance(a, type)]
        candidates = [annotation, *args]
        current = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if current is None:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Where each key path is written: ``("devices", "2", "id") → 14``."""
    found: dict[tuple[str, ...], int] = {}
    arrays: dict[tuple[str, ...], int] = {}
    current: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            name = tuple(header.group(2).replace('"', "").split("."))
            if header.group(1) == "[[":
                arrays[name] = arrays.get(name, -1) + 1
                current = (*name, str(arrays[name]))
            else:
                current = name
            found.setdefault(current, number)
            continue
        key = _KEY.match(line)
        if key:
            found.setdefault((*current, key.group(1)), number)
    return found


def _line_of(lines: dict[tuple[str, ...], int], path: tuple[str | int, ...]) -> int | None:
    parts = tuple(str(p) for p in path)
    while parts:
        if parts in lines:
            return lines[parts]
        parts = parts[:-1]
    return None


def _toml_error_line(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None
