"""What the command groups share: consoles, options, loading a configuration, the database."""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gateway.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from gateway.db import Database
    from gateway.settings import GatewayConfig, MqttSettings
    from vision.enrollment import Policy, Recognizer


class _Console:
    """A rich console made on first use: ``gateway --help`` never waits for rich."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def real(self) -> Console:
        """The console itself (for rich objects that hold one, such as a progress bar)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)


_err, _out = _Console(stderr=True), _Console(stderr=False)
err: Console = _err  # type: ignore[assignment]
out: Console = _out  # type: ignore[assignment]


def command_group(name: str, help: str) -> click.Group:
    """A ``gateway`` command group, its help shown when called without a command."""
    return click.Group(name, help=help, no_args_is_help=True)


#: A file or folder named on the command line, as a :class:`~pathlib.Path`.
PATH = click.Path(path_type=Path)
#: A number of seconds or hours: more than zero.
POSITIVE = click.FloatRange(min=0, min_open=True)
config_option = click.option(
    "--config", "-c", type=PATH, required=True, help="The gateway's TOML file."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
by_option = click.option("--by", help="Who does this, for the audit log (default: you).")


def _setup_logging(level: str, *, libraries: str | None = None) -> None:
    """The gateway's log (:func:`gateway.logs.setup`)."""
    from gateway.logs import setup

    setup(level, libraries=libraries)


def _load(path: Path) -> GatewayConfig:
    from gateway.config import load_config

    try:
        return load_config(path)
    except ConfigError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(2) from None


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


@contextlib.contextmanager
def _database(cfg: GatewayConfig, *, create: bool = False) -> Iterator[Database]:
    if not create and not cfg.database.exists():
        err.print(f"no gateway database at {cfg.database}: has this gateway run yet?")
        raise SystemExit(1)
    from gateway.db import Database

    db = Database(cfg.database)
    try:
        yield db
    finally:
        db.close()


def _actor(by: str | None) -> str:
    return by or f"cli:{getpass.getuser()}"


def _date(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        err.print(f"{name}: {value!r} is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
        raise SystemExit(2) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _progress() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err.real(),
        transient=True,
    )


def _broker_settings(cfg: GatewayConfig, broker: str | None) -> MqttSettings:
    from gateway.settings import broker_address

    if broker is None:
        return cfg.mqtt
    host, port = broker_address(broker)
    return cfg.mqtt.model_copy(update={"host": host, "port": port})


def load_recognizer(policy: Policy | None = None) -> Recognizer:
    """The gate's face models, loaded with a spinner (they take a few seconds)."""
    from vision.enrollment import Recognizer

    with err.status("loading the face models…"):
        return Recognizer(policy)
