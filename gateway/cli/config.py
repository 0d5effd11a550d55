"""Checking configuration files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import command_group
from gateway.errors import ConfigError

config_app = command_group("Check configuration files.")


@config_app.command("check")
def config_check(
    file: Path,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check a configuration file: exit 0, or exit 2 with each problem on a line."""
    from gateway.config import load_config

    try:
        cfg = load_config(file)
    except ConfigError as error:
        if as_json:
            problems = [
                {"file": p.file, "path": p.path, "message": p.message, "line": p.line}
                for p in error.problems
            ]
            typer.echo(json.dumps({"ok": False, "problems": problems}, indent=2))
        else:
            for problem in error.problems:
                typer.echo(str(problem), err=True)
        raise typer.Exit(2) from None
    summary = {
        "ok": True,
        "site": cfg.site,
        "gateway": cfg.gateway_id,
        "devices": [{"id": d.id, "kind": d.kind} for d in cfg.devices],
        "warnings": cfg.warnings(),
    }
    # Plain output: an installer's check should not wait for rich.
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        typer.echo(f"{file}: OK, {cfg.site}/{cfg.gateway_id}, {len(cfg.devices)} devices")
    for warning in cfg.warnings():
        typer.echo(f"{file}: warning: {warning}", err=True)
