"""Deliveries as the bank records them, and as people may see them (the CLI and the console:
never the code or its hash)."""

from __future__ import annotations

import hashlib

__all__ = ["CLOSED", "COLLECTION", "hash_code"]

COLLECTION = "deliveries"
CLOSED = ("collected", "returned", "cancelled")
_HASH_ITERATIONS = 50_000


def hash_code(code: str, salt: bytes) -> str:
    """The stored form of a pickup code (PBKDF2-SHA256)."""
    return hashlib.pbkdf2_hmac("sha256", code.encode(), salt, _HASH_ITERATIONS).hex()
