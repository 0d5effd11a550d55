"""What the command groups share: consoles, options, loading a configuration, the database."""

from __future__ import annotations

import contextlib
import getpass
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gateway.config import load_config
from gateway.db import Database
from gateway.errors import ConfigError
from gateway.settings import GatewayConfig, MqttSettings, broker_address

if TYPE_CHECKING:
    from vision.enrollment import Recognizer

err = Console(stderr=True)
out = Console()

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The gateway's TOML file.")]


#: Libraries whose INFO lines say nothing a newcomer to the demo needs (the embedded broker's
#: state machine, the web server's requests); shown with ``gateway demo --verbose``.
_CHATTY_LIBRARIES = ("amqtt", "transitions", "uvicorn", "uvicorn.access", "uvicorn.error")


def _setup_logging(level: str, *, libraries: str | None = None) -> None:
    """The gateway's log on stderr at ``level``; third-party loggers at ``libraries`` when
    given."""
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    if libraries is not None:
        for name in _CHATTY_LIBRARIES:
            logging.getLogger(name).setLevel(libraries.upper())


def _load(path: Path) -> GatewayConfig:
    try:
        return load_config(path)
    except ConfigError as error:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(2) from None


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


@contextlib.contextmanager
def _database(cfg: GatewayConfig, *, create: bool = False) -> Iterator[Database]:
    if not create and not cfg.database.exists():
        err.print(f"no gateway database at {cfg.database}: has this gateway run yet?")
        raise typer.Exit(1)
    db = Database(cfg.database)
    try:
        yield db
    finally:
        db.close()


JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who does this, for the audit log (default: you).")
]


def _actor(by: str | None) -> str:
    return by or f"cli:{getpass.getuser()}"


def _date(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        err.print(f"{name}: {value!r} is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
        raise typer.Exit(2) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


def _broker_settings(cfg: GatewayConfig, broker: str | None) -> MqttSettings:
    if broker is None:
        return cfg.mqtt
    host, port = broker_address(broker)
    return cfg.mqtt.model_copy(update={"host": host, "port": port})


def load_recognizer() -> Recognizer:
    """The gate's face models, loaded with a spinner (they take a few seconds)."""
    from vision.enrollment import Recognizer

    with err.status("loading the face models…"):
        return Recognizer()
