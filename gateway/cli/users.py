"""Accounts of the web console."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gateway.cli.common import (
    _actor,
    _database,
    _load,
    by_option,
    command_group,
    config_option,
    err,
    json_option,
    out,
)

if TYPE_CHECKING:
    from gateway.web.auth import Users

users_app = command_group("users", "Accounts of the web console.")


password_stdin_option = click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input."
)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@contextlib.contextmanager
def _users(config: Path) -> Iterator[Users]:
    from gateway.web.auth import UserError, Users

    cfg = _load(config)
    with _database(cfg, create=True) as db:
        users = Users(db)
        try:
            yield users
        except UserError as refused:
            err.print(str(refused), markup=False)
            raise SystemExit(1) from None


@users_app.command("add")
@click.argument("name")
@config_option
@click.option(
    "--role",
    default="manager",
    show_default=True,
    help="manager (residents, everything) or installer (+ config).",
)
@password_stdin_option
@by_option
def users_add(name: str, config: Path, role: str, password_stdin: bool, by: str | None) -> None:
    """Add a console account (the password is asked twice, or read with --password-stdin)."""
    with _users(config) as users:
        user = users.add(name, role, _password(password_stdin), actor=_actor(by))
    out.print(f"added {user.name} ({user.role}); they log in at the console", highlight=False)


@users_app.command("passwd")
@click.argument("name")
@config_option
@password_stdin_option
@by_option
def users_passwd(name: str, config: Path, password_stdin: bool, by: str | None) -> None:
    """Set a new password (also unlocks the account and logs it out everywhere)."""
    with _users(config) as users:
        users.set_password(name, _password(password_stdin), actor=_actor(by))
    out.print(f"new password for {name}; their sessions have ended", highlight=False)


@users_app.command("remove")
@click.argument("name")
@config_option
@by_option
def users_remove(name: str, config: Path, by: str | None) -> None:
    """Remove a console account (its sessions end at once)."""
    with _users(config) as users:
        users.remove(name, actor=_actor(by))
    out.print(f"removed {name}", highlight=False)


@users_app.command("list")
@config_option
@json_option
def users_list(config: Path, as_json: bool) -> None:
    """The console's accounts."""
    from rich.table import Table

    with _users(config) as users:
        found = users.all()
    if as_json:
        out.print_json(data=[u.__dict__ for u in found])
        return
    table = Table(title="console accounts")
    for column in ("name", "role", "created", "last login", "locked"):
        table.add_column(column)
    for u in found:
        table.add_row(u.name, u.role, u.created, u.last_login or "-", "yes" if u.locked else "")
    out.print(table if found else "no accounts: `gateway users add NAME --role manager`")
