"""``gateway provision``: bundles for new gateways, made on the provisioning machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import err, out


def provision(
    out_dir: Annotated[Path, typer.Option("--out", help="Where the bundles go.")],
    ca_dir: Annotated[
        Path, typer.Option(help="The site CA's folder (made when empty; its key stays there).")
    ],
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Gateways, one per row: site,gateway_id,broker.")
    ] = None,
    site: Annotated[str | None, typer.Option(help="One gateway's site.")] = None,
    gateway_id: Annotated[str | None, typer.Option(help="One gateway's id.")] = None,
    broker: Annotated[str | None, typer.Option(help="Its broker, host:port.")] = None,
    template: Annotated[
        Path | None,
        typer.Option(
            help="A gateway.toml with $site, $gateway_id, $host, $port, "
            "$operators (default: a minimal one)."
        ),
    ] = None,
    operator: Annotated[
        list[str] | None, typer.Option(help="NAME=PUBLIC_KEY of an operator (repeatable).")
    ] = None,
    server_cert: Annotated[
        list[str] | None,
        typer.Option(help="Also make the broker's certificate for these host names or IPs."),
    ] = None,
) -> None:
    """Make each gateway's first-boot bundle: configuration, client certificate signed by
    the site CA, CA certificate, first-boot script; and the broker's ACL lines."""
    from gateway.provision import TEMPLATE, Gateway, ProvisionError, read_rows
    from gateway.provision import provision as run

    try:
        if csv_file is not None:
            rows = read_rows(csv_file)
        elif site and gateway_id and broker:
            rows = [Gateway(site, gateway_id, broker)]
        else:
            err.print("give --csv FILE, or --site, --gateway-id and --broker for one gateway")
            raise typer.Exit(2)
        bundles = run(
            rows, ca_dir=ca_dir, out=out_dir,
            template=template.read_text() if template else TEMPLATE,
            operators=operator or [], server_hosts=server_cert or [],
        )  # fmt: skip
    except ProvisionError as error:
        err.print(str(error))
        raise typer.Exit(1) from None
    for bundle in bundles:
        out.print(f"{bundle}: copy this folder onto the card's boot partition", highlight=False)
    out.print(f"{out_dir / 'mosquitto.acl'}: add these lines to the broker's acl_file")
