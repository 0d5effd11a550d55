"""``gateway doctor``: every check an installer needs, ok or fail with the fix."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.cli.common import _load, config_option, json_option, out


@click.command()
@config_option
@json_option
def doctor(config: Path, as_json: bool) -> None:
    """Check this box for the gateway: packages, pins, 1-wire probes, SPI, cameras, the
    broker, the clock, the disk and database, the service. Exit 1 when any check fails."""
    import asyncio

    from gateway.clock import RealClock
    from gateway.doctor import diagnose, report
    from gateway.errors import GatewayError
    from gateway.hardware import open_hardware

    cfg = _load(config)
    try:
        hardware = open_hardware(cfg, RealClock())
    except GatewayError as err:
        out.print(f"fail  hardware: {err}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    try:
        checks = asyncio.run(diagnose(cfg, hardware))
    finally:
        close = getattr(hardware, "close", None)
        if close is not None:
            close()
    result = report(checks)
    if as_json:
        out.print_json(data=result)
    else:
        for check in checks:
            out.print(str(check), highlight=False, soft_wrap=True)
    raise SystemExit(0 if result["ok"] else 1)
