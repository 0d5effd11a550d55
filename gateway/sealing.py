"""Data sealed at rest: AES-GCM under a key file beside the database (mode 0600, made at
first use), each blob bound to a label naming whose it is, so that a blob copied to another
row does not open."""

from __future__ import annotations

import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import StorageError
from gateway.keyfile import read_or_create_key

__all__ = ["Sealer"]

NONCE = 12


class Sealer:
    """Seals and opens blobs with the key in ``key_file`` (read when first needed)."""

    def __init__(self, key_file: Path) -> None:
        self.key_file = key_file
        self._key: bytes | None = None
        self._aead: AESGCM | None = None

    def key(self) -> bytes:
        """The key itself (for a keyed hash under the same file)."""
        if self._key is None:
            self._key = read_or_create_key(self.key_file)
        return self._key

    def _cipher(self) -> AESGCM:
        if self._aead is None:
            self._aead = AESGCM(self.key())
        return self._aead

    def seal(self, label: str, plain: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE)
        return nonce + self._cipher().encrypt(nonce, plain, label.encode())

    def open(self, label: str, blob: bytes) -> bytes:
        """The plain bytes; a :class:`StorageError` when the key or the blob was changed."""
        try:
            return self._cipher().decrypt(blob[:NONCE], blob[NONCE:], label.encode())
        except InvalidTag:
            raise StorageError(
                f"{label} does not decrypt with {self.key_file}: "
                "the key file was replaced or the data was tampered with"
            ) from None
