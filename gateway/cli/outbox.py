"""The store-and-forward queue."""

from __future__ import annotations

from typing import Annotated

import typer

from gateway.cli.common import ConfigOption, _load, command_group, out

outbox_app = command_group("Inspect the store-and-forward queue.")


@outbox_app.command("stats")
def outbox_stats(
    config: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """How many messages wait for the broker, and how many were dropped."""
    from rich.table import Table

    from gateway.db import Database
    from gateway.outbox import Outbox

    cfg = _load(config)
    db = Database(cfg.database)
    try:
        outbox = Outbox(db, cfg.outbox)
        stats = outbox.stats()
        outbox.close()
        stats["boot"] = int(db.get_meta("boot", "0") or 0)
    finally:
        db.close()
    if as_json:
        out.print_json(data=stats)
        return
    table = Table(title=f"outbox of {cfg.site}/{cfg.gateway_id}", show_header=False)
    for key, value in stats.items():
        table.add_row(key, f"{value:,}")
    out.print(table)
