"""Secret keys kept in files beside the database (mode 0600, created at first use)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from gateway.errors import StorageError

__all__ = ["read_or_create_key"]


def read_or_create_key(path: Path, size: int = 32) -> bytes:
    """The key in ``path``: read, or made (random, ``size`` bytes, mode 0600) at first use."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = secrets.token_bytes(size)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return read_or_create_key(path, size)
        with os.fdopen(fd, "wb") as out:
            out.write(key)
            out.flush()
            os.fsync(out.fileno())
        return key
    if len(key) != size:
        raise StorageError(f"{path} is not a {size}-byte key; restore it from the backup")
    return key
