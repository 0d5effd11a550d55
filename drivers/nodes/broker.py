"""The LAN broker's files for the nodes: Mosquitto's password file (its PBKDF2-SHA512
``$7$`` lines, as ``mosquitto_passwd`` writes them) and ACL, each node allowed only its own
topics and the gateway all of them."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

__all__ = ["acl_text", "new_password", "password_line", "set_password"]

_ITERATIONS = 101  # mosquitto_passwd's own count


def new_password() -> str:
    return secrets.token_urlsafe(18)


def password_line(user: str, password: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, _ITERATIONS)
    b64 = base64.b64encode
    return f"{user}:$7${_ITERATIONS}${b64(salt).decode()}${b64(digest).decode()}"


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    tmp.replace(path)


def set_password(path: Path, user: str, password: str) -> None:
    """Add ``user`` to the password file, or replace its line."""
    lines = path.read_text().splitlines() if path.exists() else []
    kept = [line for line in lines if line.split(":", 1)[0] != user]
    _write(path, "\n".join([*kept, password_line(user, password)]) + "\n", 0o640)


def acl_text(gateway_user: str | None, nodes: list[str], prefix: str = "nodes") -> str:
    """The whole ACL: each node writes its own ``up`` and ``status`` and reads its ``cmd``
    and ``ota``; the gateway reads every node's and writes their ``cmd`` and ``ota``."""
    lines = ["# Written by `gateway nodes add`: every node and the gateway's own user."]
    if gateway_user:
        lines += [
            f"user {gateway_user}",
            f"topic read {prefix}/+/up",
            f"topic readwrite {prefix}/+/status",
            f"topic readwrite {prefix}/+/cmd",
            f"topic readwrite {prefix}/+/ota/#",
            "",
        ]
    for node in sorted(set(nodes)):
        user = f"node-{node}"
        lines += [
            f"user {user}",
            f"topic write {prefix}/{node}/up",
            f"topic readwrite {prefix}/{node}/status",
            f"topic read {prefix}/{node}/cmd",
            f"topic read {prefix}/{node}/ota/#",
            "",
        ]
    return "\n".join(lines)


def write_acl(path: Path, text: str) -> None:
    _write(path, text, 0o644)
