"""The store-and-forward queue."""

from __future__ import annotations

from pathlib import Path

from gateway.cli.common import _load, command_group, config_option, json_option, out

outbox_app = command_group("outbox", "Inspect the store-and-forward queue.")


@outbox_app.command("stats")
@config_option
@json_option
def outbox_stats(config: Path, as_json: bool) -> None:
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
