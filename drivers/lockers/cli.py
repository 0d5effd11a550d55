"""``gateway deliveries``: parcels in the lockers, as an installer reads them on the box."""

from __future__ import annotations

from typing import Annotated

import typer

from drivers.lockers.records import DELIVERIES
from gateway.cli.common import ConfigOption, _database, _load, _number, command_group, err, out
from gateway.records import find, listed

deliveries_app = command_group("Parcels in the lockers, held and past.")


@deliveries_app.command("list")
def deliveries_list(
    config: ConfigOption,
    status: Annotated[
        str | None, typer.Option(help="Only these: reserved, held, collected, returned, …")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
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
def deliveries_show(
    ref: Annotated[str, typer.Argument(metavar="ID", help="The delivery_ref.")],
    config: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """One delivery with its temperature record."""
    from rich.table import Table

    cfg = _load(config)
    with _database(cfg) as db:
        found = find(db, DELIVERIES, ref)
    if found is None:
        err.print(f"no delivery {ref!r}: `gateway deliveries list` shows those there are")
        raise typer.Exit(1)
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
