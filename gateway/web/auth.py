"""The console's accounts and sessions (the one module that uses argon2).

- :class:`Users`: names, roles and argon2id password hashes in the ``users`` table; a run of
  wrong passwords locks the account for a while.
- :class:`Sessions`: a random token per login; the cookie carries the token and an HMAC
  under this gateway's ``console.key`` (a cookie from another gateway fails it), the table
  keeps only the token's SHA-256, its user, its CSRF token and its times.
- :class:`Signer`: the login form's CSRF token, bound to a pre-login cookie.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.audit import AuditLog
from gateway.db import Database
from gateway.errors import GatewayError
from gateway.messages import isoformat

__all__ = [
    "ROLES",
    "LoginRefused",
    "Session",
    "Sessions",
    "Signer",
    "User",
    "UserError",
    "Users",
]

ROLES = ("manager", "installer")
MIN_PASSWORD = 10
#: Password verifications at once (each takes 64 MiB and a few hundred ms of a core).
HASHING_THREADS = 2
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


class UserError(GatewayError):
    """An account could not be added or changed (the message says which field and why)."""


class LoginRefused(GatewayError):
    """A login failed; the message is safe to show (it does not say whether the name exists)."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    created: str
    last_login: str | None
    locked: bool


class Users:
    """The console's accounts."""

    def __init__(
        self,
        db: Database,
        *,
        audit: AuditLog | None = None,
        lockout_failures: int = 5,
        lockout_minutes: float = 15.0,
    ) -> None:
        self._db = db
        self.audit = audit or AuditLog(db)
        self.lockout_failures = lockout_failures
        self.lockout_s = lockout_minutes * 60
        self._hasher = PasswordHasher()
        self._dummy = self._hasher.hash(secrets.token_hex(8))
        #: argon2 (64 MiB, a few hundred ms) runs here, never on the event loop, two at a time:
        #: a storm of logins queues instead of stalling the door or taking the memory.
        self._hashing = ThreadPoolExecutor(HASHING_THREADS, thread_name_prefix="argon2")

    def add(self, name: str, role: str, password: str, *, actor: str = "cli") -> User:
        if not _NAME.match(name):
            raise UserError(
                f"user name {name!r}: letters, digits, '.', '_', '@' and '-', 1-64 characters"
            )
        if role not in ROLES:
            raise UserError(f"role {role!r}: choose one of {', '.join(ROLES)}")
        _check_password(password)
        if self.get(name) is not None:
            raise UserError(f"user {name!r} exists; `gateway users passwd {name}` changes it")
        self._db.conn.execute(
            "INSERT INTO users (name, role, hash, created) VALUES (?, ?, ?, ?)",
            (name, role, self._hasher.hash(password), isoformat(datetime.now(UTC))),
        )
        self.audit.append(actor, "user_added", name, role=role)
        return self.require(name)

    def set_password(self, name: str, password: str, *, actor: str = "cli") -> None:
        """A new password; the account is unlocked and its sessions end."""
        self.require(name)
        _check_password(password)
        self._db.conn.execute(
            "UPDATE users SET hash = ?, failures = 0, locked_until = 0 WHERE name = ?",
            (self._hasher.hash(password), name),
        )
        self._db.conn.execute("DELETE FROM sessions WHERE user = ?", (name,))
        self.audit.append(actor, "password_changed", name)

    def unlock(self, name: str, *, actor: str = "cli") -> None:
        """Lift a lockout (the password stays)."""
        self.require(name)
        self._db.conn.execute(
            "UPDATE users SET failures = 0, locked_until = 0 WHERE name = ?", (name,)
        )
        self.audit.append(actor, "user_unlocked", name)

    def remove(self, name: str, *, actor: str = "cli") -> None:
        self.require(name)
        self._db.conn.execute("DELETE FROM sessions WHERE user = ?", (name,))
        self._db.conn.execute("DELETE FROM users WHERE name = ?", (name,))
        self.audit.append(actor, "user_removed", name)

    def get(self, name: str) -> User | None:
        row = self._db.conn.execute(
            "SELECT name, role, created, last_login, locked_until FROM users WHERE name = ?",
            (name,),
        ).fetchone()
        return None if row is None else _user(row)

    def require(self, name: str) -> User:
        user = self.get(name)
        if user is None:
            raise UserError(f"no user {name!r} (`gateway users list` shows them)")
        return user

    def all(self) -> list[User]:
        rows = self._db.conn.execute(
            "SELECT name, role, created, last_login, locked_until FROM users ORDER BY name"
        )
        return [_user(r) for r in rows]

    async def authenticate(self, name: str, password: str, *, client: str = "") -> User:
        """The user, if ``password`` is theirs and the account is not locked (every refusal
        costs one argon2 verification, so its timing tells nothing)."""
        row = self._db.conn.execute(
            "SELECT hash, failures, locked_until FROM users WHERE name = ?", (name,)
        ).fetchone()
        now = time.time()
        if row is None:
            await self._verify(self._dummy, password)  # the same time as for a real account
            raise LoginRefused("wrong name or password")
        stored, failures, locked_until = row
        if locked_until > now:
            await self._verify(self._dummy, password)
            minutes = max(1, round((locked_until - now) / 60))
            raise LoginRefused(
                f"too many wrong passwords: this account is locked for {minutes} more "
                "minutes (an installer can reset it with `gateway users passwd`)"
            )
        if not await self._verify(stored, password):
            row = self._db.conn.execute(  # others may have failed while this one waited
                "SELECT failures FROM users WHERE name = ?", (name,)
            ).fetchone()
            failures = (row[0] if row else failures) + 1
            locked = failures >= self.lockout_failures
            self._db.conn.execute(
                "UPDATE users SET failures = ?, locked_until = ? WHERE name = ?",
                (0 if locked else failures, now + self.lockout_s if locked else 0, name),
            )
            if locked:
                self.audit.append("console", "user_locked", name, client=client)
                raise LoginRefused(
                    f"too many wrong passwords: this account is locked for "
                    f"{round(self.lockout_s / 60)} minutes"
                )
            raise LoginRefused("wrong name or password")
        if self._hasher.check_needs_rehash(stored):
            rehashed = await asyncio.get_running_loop().run_in_executor(
                self._hashing, self._hasher.hash, password
            )
            self._db.conn.execute("UPDATE users SET hash = ? WHERE name = ?", (rehashed, name))
        self._db.conn.execute(
            "UPDATE users SET failures = 0, last_login = ? WHERE name = ?",
            (isoformat(datetime.now(UTC)), name),
        )
        return self.require(name)

    async def _verify(self, stored: str, password: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._hashing, self._verify_now, stored, password)

    def _verify_now(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password needs at least {MIN_PASSWORD} characters")


def _user(row: tuple[str, str, str, str | None, float]) -> User:
    return User(row[0], row[1], row[2], row[3], row[4] > time.time())


@dataclass(frozen=True)
class Session:
    user: str
    role: str
    csrf: str


class Signer:
    """HMAC-SHA256 under this gateway's console key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def sign(self, purpose: str, value: str) -> str:
        mac = hmac.new(self._key, f"{purpose}:{value}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32]

    def check(self, purpose: str, value: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(purpose, value), signature)

    def token(self, purpose: str) -> str:
        """A fresh random value with its signature: ``value.signature``."""
        value = secrets.token_urlsafe(24)
        return f"{value}.{self.sign(purpose, value)}"

    def unwrap(self, purpose: str, token: str | None) -> str | None:
        """The value of a token :meth:`token` made for ``purpose``, or ``None``."""
        if not token or "." not in token:
            return None
        value, signature = token.rsplit(".", 1)
        return value if self.check(purpose, value, signature) else None


class Sessions:
    """Logged-in browsers."""

    def __init__(
        self, db: Database, signer: Signer, *, idle_s: float = 1800, max_s: float = 43200
    ) -> None:
        self._db = db
        self._signer = signer
        self.idle_s = idle_s
        self.max_s = max_s

    def create(self, user: User) -> str:
        """A new session for ``user``: the cookie's value."""
        cookie = self._signer.token("session")
        value = cookie.rsplit(".", 1)[0]
        now = time.time()
        self._db.conn.execute("DELETE FROM sessions WHERE seen < ?", (now - self.idle_s,))
        self._db.conn.execute(
            "INSERT INTO sessions (digest, user, csrf, created, seen) VALUES (?, ?, ?, ?, ?)",
            (_digest(value), user.name, secrets.token_urlsafe(24), now, now),
        )
        return cookie

    def get(self, cookie: str | None) -> Session | None:
        """The session of a cookie, if it is this gateway's, live and its user still exists."""
        value = self._signer.unwrap("session", cookie)
        if value is None:
            return None
        row = self._db.conn.execute(
            "SELECT s.user, u.role, s.csrf, s.created, s.seen FROM sessions s "
            "JOIN users u ON u.name = s.user WHERE s.digest = ?",
            (_digest(value),),
        ).fetchone()
        if row is None:
            return None
        user, role, csrf, created, seen = row
        now = time.time()
        if now - seen > self.idle_s or now - created > self.max_s:
            self._db.conn.execute("DELETE FROM sessions WHERE digest = ?", (_digest(value),))
            return None
        if now - seen > 30:  # keep writes rare: a page view every 30 s at most
            self._db.conn.execute(
                "UPDATE sessions SET seen = ? WHERE digest = ?", (now, _digest(value))
            )
        return Session(user, role, csrf)

    def end(self, cookie: str | None) -> None:
        value = self._signer.unwrap("session", cookie)
        if value is not None:
            self._db.conn.execute("DELETE FROM sessions WHERE digest = ?", (_digest(value),))


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
