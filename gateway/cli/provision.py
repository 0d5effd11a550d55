"""``gateway provision``: bundles for new gateways, made on the provisioning machine."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.cli.common import PATH, err, out


@click.command()
@click.option("--out", "out_dir", type=PATH, required=True, help="Where the bundles go.")
@click.option(
    "--ca-dir",
    type=PATH,
    required=True,
    help="The site CA's folder (made when empty; its key stays there).",
)
@click.option("--csv", "csv_file", type=PATH, help="Gateways, one per row: site,gateway_id,broker.")
@click.option("--site", help="One gateway's site.")
@click.option("--gateway-id", help="One gateway's id.")
@click.option("--broker", help="Its broker, host:port.")
@click.option(
    "--template",
    type=PATH,
    help="A gateway.toml with $site, $gateway_id, $host, $port, $operators (default: a "
    "minimal one).",
)
@click.option("--operator", multiple=True, help="NAME=PUBLIC_KEY of an operator (repeatable).")
@click.option(
    "--server-cert",
    multiple=True,
    help="Also make the broker's certificate for these host names or IPs (repeatable).",
)
def provision(
    out_dir: Path,
    ca_dir: Path,
    csv_file: Path | None,
    site: str | None,
    gateway_id: str | None,
    broker: str | None,
    template: Path | None,
    operator: tuple[str, ...],
    server_cert: tuple[str, ...],
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
            raise SystemExit(2)
        bundles = run(
            rows, ca_dir=ca_dir, out=out_dir,
            template=template.read_text() if template else TEMPLATE,
            operators=list(operator), server_hosts=list(server_cert),
        )  # fmt: skip
    except ProvisionError as error:
        err.print(str(error))
        raise SystemExit(1) from None
    for bundle in bundles:
        out.print(f"{bundle}: copy this folder onto the card's boot partition", highlight=False)
    out.print(f"{out_dir / 'mosquitto.acl'}: add these lines to the broker's acl_file")
