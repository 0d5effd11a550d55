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

from gateway.sealing import Sealer

__all__ = ["CodeVault"]

#: How a sealed code starts (a code from before the vault is plain digits).
_SEALED = "sealed:"
#: Codes kept before this vault: PBKDF2 with a salt (still checked, never issued).
_LEGACY_ITERATIONS = 50_000


class CodeVault:
    """Issues, seals and checks one bank's pickup codes."""

    def __init__(self, key_file: Path) -> None:
        self.key_file = key_file
        self._sealer = Sealer(key_file)

    def digest(self, code: str) -> str:
        return hmac.new(self._sealer.key(), code.encode(), hashlib.sha256).hexdigest()

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
        return _SEALED + self._sealer.seal(ref, code.encode()).hex()

    def open(self, ref: str, sealed: str) -> str:
        """The code sealed for ``ref`` (a plain code from before the vault is returned); a
        :class:`~gateway.errors.StorageError` when the key file or the record was changed."""
        if not sealed.startswith(_SEALED):
            return sealed
        return self._sealer.open(ref, bytes.fromhex(sealed.removeprefix(_SEALED))).decode()
