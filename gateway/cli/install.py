"""``gateway install``: the gateway onto this Raspberry Pi OS box (see :mod:`gateway.install`)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from gateway.cli.common import PATH, err, out


@click.command()
@click.option(
    "--root",
    type=PATH,
    default=Path("/"),
    show_default=True,
    help="Install under this directory instead of / (nothing is started).",
)
@click.option(
    "--source",
    help="What to pip-install (default: this checkout with its locked versions, "
    "or community-gateway from PyPI).",
)
@click.option(
    "--python",
    default="/usr/bin/python3",
    show_default=True,
    help="The system's Python the venv is made from (it has apt's lgpio).",
)
@click.option("--apt/--no-apt", default=True, help="Install the Debian packages it needs.")
@click.option("--start/--no-start", default=True, help="Enable the service, and start it.")
def install(root: Path, source: str | None, python: str, apt: bool, start: bool) -> None:
    """Install everything on this box: Debian packages, the service user (groups gpio, video,
    spi), the venv, /etc/community-gateway, the state directory and its key, the systemd
    unit. Run it again at any time: it changes only what differs."""
    from gateway.install import InstallError
    from gateway.install import install as run_install

    if root == Path("/") and os.geteuid() != 0:
        err.print("gateway install changes the system: run it as root (sudo gateway install)")
        raise SystemExit(1)
    try:
        steps = run_install(
            root.resolve(), source=source, python=python, apt_get=apt, systemctl=start,
            report=lambda step: out.print(str(step), highlight=False, soft_wrap=True),
        )  # fmt: skip
    except InstallError as error:
        err.print(f"failed   {error}")
        raise SystemExit(1) from None
    if any(step.status == "failed" for step in steps):
        raise SystemExit(1)
