"""Pickup codes as a bank keeps them: an HMAC-SHA-256 under a key file beside the database
(``codes.key``, mode 0600; a copy of the database alone gives no way to try codes
offline), unique among the parcels it holds (so a code opens one compartment, on the keypad
too), and the code itself only sealed (AES-GCM under the same key) until its
``delivery_ready`` is durable upstream.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.keyfile import read_or_create_key

__all__ = ["CodeVault"]

#: How a sealed code starts (a code from before the vault is plain digits).
_SEALED = "sealed:"
#: Codes kept before this vault: PBKDF2 with a salt (still checked, never issued).
_LEGACY_ITERATIONS = 50_000


class CodeVault:
    """Issues, seals and checks one bank's pickup codes."""

    def __init__(self, key_file: Path) -> None:
        self.key_file = key_file
        self._key: bytes | None = None

    def _secret(self) -> bytes:
        if self._key is None:
            self._key = read_or_create_key(self.key_file)
        return self._key

    def digest(self, code: str) -> str:
        return hmac.new(self._secret(), code.encode(), hashlib.sha256).hexdigest()

    def issue(self, digits: int, held: Iterable[Mapping[str, Any]]) -> str:
        """A fresh code that no held parcel's code equals."""
        taken = {body.get("code_hash") for body in held}
        while True:
            code = "".join(secrets.choice("0123456789") for _ in range(digits))
            if self.digest(code) not in taken:
                return code

    def matches(self, body: Mapping[str, Any], code: str) -> bool:
        """Whether ``code`` is the one a delivery record keeps (constant time)."""
        stored = body.get("code_hash")
        if not isinstance(stored, str):
            return False
        if "code_salt" in body:  # a parcel deposited before the vault
            salt = bytes.fromhex(str(body["code_salt"]))
            given = hashlib.pbkdf2_hmac("sha256", code.encode(), salt, _LEGACY_ITERATIONS).hex()
        else:
            given = self.digest(code)
        return hmac.compare_digest(stored, given)

    def seal(self, ref: str, code: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = nonce + AESGCM(self._secret()).encrypt(nonce, code.encode(), ref.encode())
        return _SEALED + sealed.hex()

    def open(self, ref: str, sealed: str) -> str:
        """The code sealed for ``ref`` (a plain code from before the vault is returned)."""
        if not sealed.startswith(_SEALED):
            return sealed
        blob = bytes.fromhex(sealed.removeprefix(_SEALED))
        try:
            return AESGCM(self._secret()).decrypt(blob[:12], blob[12:], ref.encode()).decode()
        except InvalidTag:
            raise ValueError(f"the code of {ref} does not decrypt with {self.key_file}") from None
