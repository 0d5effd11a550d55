"""Checking configuration files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gateway.cli.common import PATH, command_group, json_option
from gateway.errors import ConfigError

config_app = command_group("config", "Check configuration files.")


@config_app.command("check")
@click.argument("file", type=PATH)
@json_option
def config_check(file: Path, as_json: bool) -> None:
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
            click.echo(json.dumps({"ok": False, "problems": problems}, indent=2))
        else:
            for problem in error.problems:
                click.echo(str(problem), err=True)
        raise SystemExit(2) from None
    summary = {
        "ok": True,
        "site": cfg.site,
        "gateway": cfg.gateway_id,
        "devices": [{"id": d.id, "kind": d.kind} for d in cfg.devices],
        "warnings": cfg.warnings(),
    }
    # Plain output: an installer's check should not wait for rich.
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(f"{file}: OK, {cfg.site}/{cfg.gateway_id}, {len(cfg.devices)} devices")
    for warning in cfg.warnings():
        click.echo(f"{file}: warning: {warning}", err=True)
