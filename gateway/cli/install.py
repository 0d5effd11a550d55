"""``gateway install``: the gateway onto this Raspberry Pi OS box (see :mod:`gateway.install`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import err, out


def install(
    root: Annotated[
        Path, typer.Option(help="Install under this directory instead of / (nothing is started).")
    ] = Path("/"),
    source: Annotated[
        str | None,
        typer.Option(
            help="What to pip-install (default: this checkout with its locked versions, "
            "or community-gateway from PyPI)."
        ),
    ] = None,
    python: Annotated[
        str, typer.Option(help="The system's Python the venv is made from (it has apt's lgpio).")
    ] = "/usr/bin/python3",
    apt: Annotated[bool, typer.Option(help="Install the Debian packages it needs.")] = True,
    start: Annotated[bool, typer.Option(help="Enable the service, and start it.")] = True,
) -> None:
    """Install everything on this box: Debian packages, the service user (groups gpio, video,
    spi), the venv, /etc/community-gateway, the state directory and its key, the systemd
    unit. Run it again at any time: it changes only what differs."""
    from gateway.install import InstallError
    from gateway.install import install as run_install

    if root == Path("/") and os.geteuid() != 0:
        err.print("gateway install changes the system: run it as root (sudo gateway install)")
        raise typer.Exit(1)
    try:
        steps = run_install(
            root.resolve(), source=source, python=python, apt_get=apt, systemctl=start,
            report=lambda step: out.print(str(step), highlight=False, soft_wrap=True),
        )  # fmt: skip
    except InstallError as error:
        err.print(f"failed   {error}")
        raise typer.Exit(1) from None
    if any(step.status == "failed" for step in steps):
        raise typer.Exit(1)
