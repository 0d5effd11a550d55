"""``gateway demo``: the simulated complex with an embedded broker and a live view."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gateway.cli.common import PATH, POSITIVE, _load, _setup_logging, err
from gateway.errors import GatewayError

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "demo.toml"


@click.command()
@click.option("--duration", type=POSITIVE, help="Stop after this many seconds.")
@click.option("--broker", help="Use this broker (mqtt://host:port) instead of an embedded one.")
@click.option("--config", "-c", type=PATH, help="Default: config/demo.toml")
@click.option("--verbose", "-v", is_flag=True, help="Also the broker's and web server's logs.")
def demo(duration: float | None, broker: str | None, config: Path | None, verbose: bool) -> None:
    """Run the simulated complex with an embedded broker and show what upstream receives."""
    import asyncio  # imported here: the CLI's other commands start without them
    import tempfile

    from gateway.demo.run import prepare, run_demo

    path = config or DEMO_CONFIG
    cfg = _load(path)
    live = sys.stdout.isatty()
    level = "warning" if live and not verbose else cfg.log_level
    _setup_logging(level, libraries=level if verbose else "warning")
    with tempfile.TemporaryDirectory(prefix="cg-demo-") as scratch:
        # Always a scratch directory: the demo's accounts and residents must never reach a
        # real gateway's database, whatever the configuration names.
        cfg.data_dir = Path(scratch)
        try:
            prepare(cfg)
            asyncio.run(run_demo(cfg, broker, duration, live))
        except GatewayError as error:
            err.print(f"demo: {error}", markup=False, soft_wrap=True)
            raise SystemExit(1) from None
