"""``gateway deliveries``: parcels in the lockers, as an installer reads them on the box."""

from __future__ import annotations

from pathlib import Path

import click

from drivers.lockers.records import DELIVERIES
from gateway.cli.common import (
    _database,
    _load,
    _number,
    command_group,
    config_option,
    err,
    json_option,
    out,
)
from gateway.records import find, listed

deliveries_app = command_group("deliveries", "Parcels in the lockers, held and past.")


@deliveries_app.command("list")
@config_option
@click.option("--status", help="Only these: reserved, held, collected, returned, …")
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=100,
    show_default=True,
    help="At most this many, newest first.",
)
@json_option
def deliveries_list(config: Path, status: str | None, limit: int, as_json: bool) -> None:
    """Deliveries, newest first."""
    from rich.table import Table

    cfg = _load(config)
    with _database(cfg) as db:
        found = listed(db, DELIVERIES, status=status, limit=limit)
    if as_json:
        out.print_json(data=found)
        return
    table = Table(title=f"deliveries at {cfg.site}/{cfg.gateway_id}")
    for column in ("id", "status", "compartment", "class", "deposited", "min °C", "max °C"):
        table.add_column(column)
    for d in found:
        t = d.get("temperature") or {}
        table.add_row(
            d["id"],
            d["status"],
            f"{d['device']}/{d.get('compartment', '?')}",
            d.get("class", ""),
            d.get("deposited_at", "-"),
            _number(t.get("min_c")),
            _number(t.get("max_c")),
        )
    out.print(table if found else "no deliveries")


@deliveries_app.command("show")
@click.argument("ref", metavar="ID")
@config_option
@json_option
def deliveries_show(ref: str, config: Path, as_json: bool) -> None:
    """One delivery (ID: its delivery_ref) with its temperature record."""
    from rich.table import Table

    cfg = _load(config)
    with _database(cfg) as db:
        found = find(db, DELIVERIES, ref)
    if found is None:
        err.print(f"no delivery {ref!r}: `gateway deliveries list` shows those there are")
        raise SystemExit(1)
    if as_json:
        out.print_json(data=found)
        return
    table = Table(title=f"delivery {ref}", show_header=False)
    temperature = found.pop("temperature", None) or {}
    for key, value in found.items():
        table.add_row(key, str(value))
    for key, value in temperature.items():
        table.add_row(f"temperature: {key}", str(value))
    out.print(table)
