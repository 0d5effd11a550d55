"""Running the gateway (what systemd starts)."""

from __future__ import annotations

import typer

from gateway.cli.common import ConfigOption, _load, _setup_logging, err
from gateway.errors import GatewayError


def run(config: ConfigOption) -> None:
    """Run the gateway until SIGTERM (what systemd starts)."""
    import asyncio  # imported here: the CLI's other commands start without it

    from gateway.app import Gateway, run_until_signalled

    cfg = _load(config)
    _setup_logging(cfg.log_level)
    try:
        gateway = Gateway(cfg)
    except GatewayError as error:
        err.print(f"cannot start: {error}", markup=False)
        raise typer.Exit(1) from None
    asyncio.run(run_until_signalled(gateway))
