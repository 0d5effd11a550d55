"""Firmware updates over the LAN broker: the files this gateway carries, offered to a node
as retained ``nodes/<id>/ota/<file>`` messages it checks by hash before replacing a file."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

__all__ = ["FIRMWARE", "firmware_files", "offer"]

#: The node firmware this gateway serves (MicroPython sources).
FIRMWARE = Path(__file__).resolve().parent / "firmware"


def firmware_files() -> list[str]:
    return sorted(p.name for p in FIRMWARE.glob("*.py"))


def offer(name: str) -> tuple[str, bytes] | None:
    """``(sha256, payload)`` of one firmware file; ``None`` when there is no such file."""
    if "/" in name or not name.endswith(".py") or name not in firmware_files():
        return None
    data = (FIRMWARE / name).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    body = {"sha256": digest, "data": base64.b64encode(data).decode()}
    return digest, json.dumps(body).encode()
