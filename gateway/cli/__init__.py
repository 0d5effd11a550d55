"""The ``gateway`` command: one module per command group, and those the device kinds bring.

Typer turns every command it knows into a parsed command line at start, so ``gateway config
check`` builds only the command it runs (``gateway --help`` builds them all), and each
module imports its heavy libraries (OpenCV, the face models, the MQTT client) only when it
runs: ``gateway --help`` and ``gateway config check`` start at once."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

from gateway.plugins import device_kinds, load_target

__all__ = ["COMMANDS", "GROUPS", "build", "main"]

#: The gateway's own commands, by name → ``"module:function"``.
COMMANDS = {
    "run": "gateway.cli.run:run",
    "demo": "gateway.cli.demo:demo",
    "install": "gateway.cli.install:install",
    "doctor": "gateway.cli.doctor:doctor",
    "provision": "gateway.cli.provision:provision",
}
#: The gateway's own command groups, by name → ``"module:typer_app"``; each device kind
#: brings its own (the lockers' ``deliveries``, the gate's ``residents``).
GROUPS = {
    "config": "gateway.cli.config:config_app",
    "outbox": "gateway.cli.outbox:outbox_app",
    "keys": "gateway.cli.keys:keys_app",
    "command": "gateway.cli.command:command_app",
    "audit": "gateway.cli.audit:audit_app",
    "users": "gateway.cli.users:users_app",
}


def _root() -> None:
    """Edge gateway of a residential complex."""


def _brought() -> dict[str, str]:
    """The command groups the installed device kinds bring (loads every kind's entry point)."""
    return {name: target for kind in device_kinds().values() for name, target in kind.cli.items()}


def build(only: str | None = None) -> typer.Typer:
    """The ``gateway`` command with every command, or with only the one named ``only``."""
    app = typer.Typer(
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        # Plain help: rich's help formatter (markdown, pygments) would double the start time.
        rich_markup_mode=None,
    )
    # A callback keeps a one-command app a group: ``gateway config check``, not ``check``.
    app.callback()(_root)
    for name, target in COMMANDS.items():
        if only in (None, name):
            app.command(name=name)(load_target(target))
    groups = GROUPS if only in COMMANDS or only in GROUPS else GROUPS | _brought()
    for name, target in groups.items():
        if only in (None, name):
            app.add_typer(load_target(target), name=name)
    return app


def _named(argv: list[str]) -> str | None:
    """The command or group ``argv`` runs, if the gateway knows it; else ``None`` (help)."""
    if not argv or argv[0].startswith("-"):
        return None
    if argv[0] in COMMANDS or argv[0] in GROUPS or argv[0] in _brought():
        return argv[0]
    return None


def main() -> None:
    # The gateway uses no pydantic plugin; looking for them reads every installed
    # distribution's metadata at the first validator.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    build(_named(sys.argv[1:]))()


def __getattr__(name: str) -> Any:
    """``gateway.cli.app``: the whole command, for tests driving it with ``CliRunner``."""
    if name == "app":
        return build()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
