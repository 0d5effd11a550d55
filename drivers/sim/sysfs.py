"""The kernel files the simulated world writes: thermal zones and 1-wire probes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["apply_settings", "w1_slave_text", "write_atomically", "write_ds18b20"]


#: What each file was last written with (a file that still holds it is not written again).
_written: dict[Path, str] = {}


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` whole, so a reader never sees half a file (as sysfs guarantees);
    nothing is written when it already holds ``text`` (the world steps ten times a second,
    in the gateway's event loop)."""
    if _written.get(path) == text and path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    _written[path] = text


def w1_slave_text(celsius: float, crc_ok: bool = True) -> str:
    """What the kernel's ``w1_slave`` file holds for a DS18B20 reading."""
    sixteenths = round(max(-55.0, min(125.0, celsius)) * 16)  # 12-bit, -55…125 °C
    raw = sixteenths & 0xFFFF
    data = f"{raw & 0xFF:02x} {raw >> 8:02x} 4b 46 7f ff 0c 10 1c"
    millidegrees = sixteenths * 1000 // 16
    return f"{data} : crc=1c {'YES' if crc_ok else 'NO'}\n{data} t={millidegrees}\n"


def write_ds18b20(path: Path, celsius: float) -> None:
    write_atomically(path, w1_slave_text(celsius))


def apply_settings(model: Any, what: str, args: dict[str, Any], allowed: set[str]) -> None:
    """A control-channel ``set``: only the settings a model allows, each named on refusal."""
    unknown = set(args) - allowed
    if unknown:
        raise KeyError(f"unknown {what} settings {sorted(unknown)} (allowed: {sorted(allowed)})")
    for key, value in args.items():
        setattr(model, key, value)
