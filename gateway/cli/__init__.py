"""The ``gateway`` command: one module per command group, and those the device kinds bring.
Each imports its heavy libraries (OpenCV, the face models, the MQTT client) only when it
runs, so ``gateway --help`` and ``gateway config check`` start at once."""

from __future__ import annotations

import typer

from gateway.cli import audit, command, config, keys, outbox, users
from gateway.cli.demo import demo
from gateway.cli.doctor import doctor
from gateway.cli.install import install
from gateway.cli.provision import provision
from gateway.cli.run import run
from gateway.plugins import device_kinds, load_target

__all__ = ["app", "main"]

app = typer.Typer(
    help="Edge gateway of a residential complex.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help: rich's help formatter (markdown, pygments) would double the start time.
    rich_markup_mode=None,
)
app.command()(run)
app.command()(demo)
app.command()(install)
app.command()(doctor)
app.command()(provision)
app.add_typer(config.config_app, name="config")
app.add_typer(outbox.outbox_app, name="outbox")
app.add_typer(keys.keys_app, name="keys")
app.add_typer(command.command_app, name="command")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(users.users_app, name="users")
# Each device kind brings its own command groups (the lockers' deliveries, the gate's residents).
for _kind in device_kinds().values():
    for _name, _target in _kind.cli.items():
        app.add_typer(load_target(_target), name=_name)


def main() -> None:
    app()
