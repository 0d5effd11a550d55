"""Checking configuration files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import out
from gateway.config import load_config
from gateway.errors import ConfigError

config_app = typer.Typer(help="Check configuration files.", no_args_is_help=True)


@config_app.command("check")
def config_check(
    file: Path,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check a configuration file: exit 0, or exit 2 with each problem on a line."""
    try:
        cfg = load_config(file)
    except ConfigError as error:
        if as_json:
            out.print_json(
                data={
                    "ok": False,
                    "problems": [
                        {"file": p.file, "path": p.path, "message": p.message, "line": p.line}
                        for p in error.problems
                    ],
                }
            )
        else:
            for problem in error.problems:
                typer.echo(str(problem), err=True)
        raise typer.Exit(2) from None
    summary = {
        "ok": True,
        "site": cfg.site,
        "gateway": cfg.gateway_id,
        "devices": [{"id": d.id, "kind": d.kind} for d in cfg.devices],
    }
    if as_json:
        out.print_json(data=summary)
    else:
        out.print(f"{file}: OK, {cfg.site}/{cfg.gateway_id}, {len(cfg.devices)} devices")
