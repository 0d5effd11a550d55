"""The ``gateway`` command: one module per command group, and those the device kinds bring.

A command's module is imported only when that command runs (``gateway --help`` imports them
all to show their help), and each imports its heavy libraries (OpenCV, the face models, the
MQTT client) only in the function that uses them: ``gateway --help`` and ``gateway config
check`` start at once."""

from __future__ import annotations

import os
import sys
import types

import click

from gateway.plugins import device_kinds, load_target

__all__ = ["COMMANDS", "app", "main"]

#: The gateway's own commands, by name → ``"module:command"`` (a :class:`click.Command`).
COMMANDS = {
    "run": "gateway.cli.run:run",
    "demo": "gateway.cli.demo:demo",
    "install": "gateway.cli.install:install",
    "doctor": "gateway.cli.doctor:doctor",
    "provision": "gateway.cli.provision:provision",
    "config": "gateway.cli.config:config_app",
    "outbox": "gateway.cli.outbox:outbox_app",
    "keys": "gateway.cli.keys:keys_app",
    "command": "gateway.cli.command:command_app",
    "audit": "gateway.cli.audit:audit_app",
    "users": "gateway.cli.users:users_app",
}


def _brought() -> dict[str, str]:
    """The command groups the installed device kinds bring (loads every kind's entry point)."""
    return {name: target for kind in device_kinds().values() for name, target in kind.cli.items()}


class _Gateway(click.Group):
    """The root group: each command imported when it is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS | _brought())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name) or _brought().get(cmd_name)
        if target is None:
            return None
        command = load_target(target)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


app = _Gateway(name="gateway", help="Edge gateway of a residential complex.", no_args_is_help=True)


#: The module of pydantic's that looks for its plugins, and what pydantic imports from it.
PYDANTIC_PLUGIN_LOADER = ("pydantic.plugin._loader", ("get_plugins",))


def without_pydantic_plugins() -> None:
    """Tell pydantic, before it builds its first model, that there are no plugins to find.

    The gateway uses none. ``PYDANTIC_DISABLE_PLUGINS`` stops pydantic reading every installed
    distribution's metadata, not its importing :mod:`importlib.metadata` (and the e-mail
    parser) at the first model: a loader that finds none stops both. A value of
    ``PYDANTIC_DISABLE_PLUGINS`` set otherwise leaves pydantic's own loader to read it."""
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if os.environ["PYDANTIC_DISABLE_PLUGINS"] != "__all__":
        return
    name, _ = PYDANTIC_PLUGIN_LOADER
    loader = types.ModuleType(name, "No pydantic plugins: see gateway.cli.")
    loader.get_plugins = lambda: ()  # type: ignore[attr-defined]
    sys.modules.setdefault(name, loader)


def main() -> None:
    without_pydantic_plugins()
    app()
