"""Accounts and sessions: argon2 hashes, lockout, signed and expiring sessions."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gateway.audit import AuditLog
from gateway.db import Database
from gateway.web.auth import LoginRefused, Sessions, Signer, UserError, Users


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(tmp_path / "g.sqlite3")


@pytest.fixture
def users(db: Database) -> Users:
    return Users(db, lockout_failures=3, lockout_minutes=15)


async def test_passwords_are_stored_as_argon2id_hashes(users: Users, db: Database) -> None:
    users.add("alice", "manager", "correct horse battery")
    stored = db.conn.execute("SELECT hash FROM users WHERE name = 'alice'").fetchone()[0]
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert (await users.authenticate("alice", "correct horse battery")).role == "manager"


@pytest.mark.parametrize(
    ("name", "role", "password", "problem"),
    [
        ("alice smith", "manager", "long enough pw", "user name 'alice smith'"),
        ("alice", "owner", "long enough pw", "role 'owner': choose one of manager, installer"),
        ("alice", "manager", "short", "at least 10 characters"),
    ],
)
def test_bad_accounts_are_refused_naming_the_field(
    users: Users, name: str, role: str, password: str, problem: str
) -> None:
    with pytest.raises(UserError, match=problem):
        users.add(name, role, password)


def test_a_second_account_of_the_same_name_is_refused(users: Users) -> None:
    users.add("alice", "manager", "long enough pw")
    with pytest.raises(UserError, match="exists; `gateway users passwd alice`"):
        users.add("alice", "installer", "another long pw")


async def test_wrong_passwords_lock_the_account_and_a_new_password_unlocks_it(
    users: Users, db: Database
) -> None:
    users.add("alice", "manager", "long enough pw")
    for _ in range(2):
        with pytest.raises(LoginRefused, match="wrong name or password"):
            await users.authenticate("alice", "guess")
    with pytest.raises(LoginRefused, match="locked for 15 minutes"):
        await users.authenticate("alice", "guess")
    # Locked: even the right password is refused until the time is up.
    with pytest.raises(LoginRefused, match="locked for 15 more minutes"):
        await users.authenticate("alice", "long enough pw")
    assert users.require("alice").locked
    users.set_password("alice", "a new long password")
    assert (await users.authenticate("alice", "a new long password")).name == "alice"
    actions = [e.action for e in AuditLog(db).entries()]
    assert actions[:3] == ["password_changed", "user_locked", "user_added"]


async def test_an_unknown_name_and_a_wrong_password_get_the_same_answer(users: Users) -> None:
    users.add("alice", "manager", "long enough pw")
    with pytest.raises(LoginRefused) as unknown:
        await users.authenticate("mallory", "long enough pw")
    with pytest.raises(LoginRefused) as wrong:
        await users.authenticate("alice", "not the password")
    assert str(unknown.value) == str(wrong.value)


def test_sessions_are_signed_expire_and_end(users: Users, db: Database) -> None:
    user = users.add("alice", "manager", "long enough pw")
    sessions = Sessions(db, Signer(b"k" * 32), idle_s=60, max_s=3600)
    cookie = sessions.create(user)
    session = sessions.get(cookie)
    assert session is not None and session.user == "alice" and session.role == "manager"
    # Only a digest of the token is stored.
    token = cookie.rsplit(".", 1)[0]
    assert token not in str(db.conn.execute("SELECT * FROM sessions").fetchall())
    # Another gateway's key: refused.
    assert Sessions(db, Signer(b"x" * 32)).get(cookie) is None
    # A forged signature on a real token: refused.
    assert sessions.get(token + ".0123456789abcdef0123456789abcdef") is None
    # Idle too long: gone.
    db.conn.execute("UPDATE sessions SET seen = ?", (time.time() - 61,))
    assert sessions.get(cookie) is None
    cookie = sessions.create(user)
    sessions.end(cookie)
    assert sessions.get(cookie) is None
    # Removing the account ends its sessions.
    cookie = sessions.create(user)
    users.remove("alice")
    assert sessions.get(cookie) is None
