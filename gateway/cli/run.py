"""Running the gateway (what systemd starts)."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.cli.common import _load, _setup_logging, config_option, err
from gateway.errors import GatewayError


@click.command()
@config_option
def run(config: Path) -> None:
    """Run the gateway until SIGTERM (what systemd starts)."""
    import asyncio  # imported here: the CLI's other commands start without it

    from gateway.app import Gateway, run_until_signalled

    cfg = _load(config)
    _setup_logging(cfg.log_level)
    try:
        gateway = Gateway(cfg, config_file=config)
    except GatewayError as error:
        err.print(f"cannot start: {error}", markup=False)
        if _roll_back(config, cfg.data_dir, f"cannot start: {error}"):
            _start_again(config)
        raise SystemExit(1) from None
    asyncio.run(run_until_signalled(gateway))
    if gateway.restart_requested:  # a new configuration, or the previous one back
        _start_again(config)


def _roll_back(config: Path, data_dir: Path, reason: str) -> bool:
    """A configuration just applied that cannot even start: the previous one back."""
    from gateway.reconfigure import Reconfigure

    r = Reconfigure(config, data_dir)
    pending = r.pending()
    if pending is None or pending.state != "applying":
        return False
    r.roll_back(pending, reason)
    return True


def _start_again(config: Path) -> None:
    """The same process (its pid, its systemd unit) runs ``gateway run`` anew."""
    import os
    import sys

    os.execv(sys.executable, [sys.executable, "-m", "gateway", "run", "--config", str(config)])
