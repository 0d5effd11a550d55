"""``gateway provision``: everything one gateway, or every row of a CSV, needs before its
first boot, made on the provisioning machine.

For each gateway, in ``{out}/{gateway_id}/community-gateway/`` (the folder to copy onto the SD
card's boot partition): ``gateway.toml`` from the template (checked like ``gateway config
check``), ``client.crt`` and ``client.key`` signed by the site's CA (its MQTT identity is the
gateway id), ``ca.pem``, and ``firstrun.sh``, which on first boot installs the package from
PyPI, places the configuration and keys with their owners and modes, enables the service and
removes the key from the boot partition. Beside them, ``{out}/mosquitto.acl`` holds the lines
the upstream broker needs (each gateway writes under its own root and reads its own commands
only) and ``--server-cert`` makes the broker's certificate from the same CA. The CA key stays
in ``ca_dir``. Run again, it keeps each gateway's key and certificate and rewrites the rest.
"""

from __future__ import annotations

import csv
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from gateway.errors import ConfigError, GatewayError
from gateway.pki import SiteAuthority
from gateway.topics import Topics

__all__ = ["Gateway", "provision", "read_rows"]

#: ``$site``, ``$gateway_id``, ``$host``, ``$port`` and ``$operators`` are filled in.
TEMPLATE = """\
# Made by `gateway provision` for $gateway_id at $site.
site = "$site"
gateway_id = "$gateway_id"
data_dir = "/var/lib/community-gateway"
hardware = "auto"

[mqtt]
host = "$host"
port = $port

[mqtt.tls]                          # mTLS: files beside this one
ca_file = "ca.pem"
cert_file = "client.crt"
key_file = "client.key"

$operators
[[devices]]
kind = "gateway"
id = "gateway"
"""

FIRSTRUN = """\
#!/bin/sh
# community-gateway, first boot of a provisioned Raspberry Pi OS (64-bit) image. Raspberry Pi
# OS runs it when cmdline.txt ends with:
#   systemd.run=/boot/firmware/community-gateway/firstrun.sh systemd.run_success_action=reboot
set -eu
here=$$(dirname "$$(readlink -f "$$0")")
apt-get update
apt-get install -y python3-venv python3-lgpio
python3 -m venv --system-site-packages /opt/community-gateway/.venv
/opt/community-gateway/.venv/bin/pip install --upgrade community-gateway
install -d -m 0750 /etc/community-gateway
install -m 0640 "$$here/gateway.toml" "$$here/ca.pem" "$$here/client.crt" "$$here/client.key" \\
    /etc/community-gateway/
/opt/community-gateway/.venv/bin/gateway install --source community-gateway --no-start
chgrp -R community-gateway /etc/community-gateway
# The key leaves the boot partition (FAT: anyone with the card reads it).
rm -f "$$here/client.key"
sed -i 's| systemd.run=[^ ]*firstrun.sh[^ ]*||; s| systemd.run_success_action=reboot||' \\
    /boot/firmware/cmdline.txt
systemctl enable community-gateway
"""


@dataclass(frozen=True)
class Gateway:
    """One row: where it is, who it is, its broker."""

    site: str
    gateway_id: str
    broker: str


class ProvisionError(GatewayError):
    """A row or an option that cannot be provisioned; names the line and the fix."""


def read_rows(path: Path) -> list[Gateway]:
    """The CSV's rows (a header ``site,gateway_id,broker``), each checked."""
    rows = []
    with path.open(newline="") as file:
        reader = csv.DictReader(file)
        missing = {"site", "gateway_id", "broker"} - set(reader.fieldnames or [])
        if missing:
            raise ProvisionError(f"{path}: the header lacks {sorted(missing)}")
        for number, row in enumerate(reader, start=2):
            rows.append(_checked(row["site"], row["gateway_id"], row["broker"], f"{path}:{number}"))
    ids = [r.gateway_id for r in rows]
    if len(set(ids)) != len(ids):
        raise ProvisionError(f"{path}: a gateway id appears twice")
    return rows


def _checked(site: str, gateway_id: str, broker: str, where: str) -> Gateway:
    for field, value in (("site", site), ("gateway_id", gateway_id)):
        if not Topics.valid_segment(value or ""):
            raise ProvisionError(
                f"{where}: {field} {value!r}: letters, digits, '.', '_' and '-' only"
            )
    try:
        _address(broker)
    except ValueError as err:
        raise ProvisionError(f"{where}: broker {broker!r}: {err} (host:port)") from None
    return Gateway(site, gateway_id, broker)


def _address(broker: str) -> tuple[str, int]:
    """``host:port`` (or a ``mqtts://`` URL); without a port, 8883 (MQTT over TLS)."""
    parsed = urlparse(broker if "://" in broker else f"mqtts://{broker}")
    if not parsed.hostname:
        raise ValueError("no host")
    return parsed.hostname, parsed.port or 8883


def _operators(keys: Sequence[str]) -> str:
    blocks = []
    for entry in keys:
        name, sep, key = entry.partition("=")
        if not sep:
            raise ProvisionError(f"operator {entry!r}: NAME=PUBLIC_KEY (from `gateway keys new`)")
        blocks.append(f'[[commands.operators]]\nname = "{name}"\npublic_key = "{key}"\n')
    return "\n".join(blocks)


def acl_lines(gateway: Gateway, prefix: str = "cg/v1") -> str:
    root = Topics(prefix, gateway.site, gateway.gateway_id).root
    return f"user {gateway.gateway_id}\ntopic write {root}/#\ntopic read {root}/cmd/#\n"


def provision(
    gateways: Sequence[Gateway],
    *,
    ca_dir: Path,
    out: Path,
    template: str = TEMPLATE,
    operators: Sequence[str] = (),
    server_hosts: Sequence[str] = (),
) -> list[Path]:
    """Each gateway's bundle, the broker's ACL (and certificate); the bundles' folders."""
    from gateway.config import parse_config

    authority = SiteAuthority(ca_dir)
    operator_blocks = _operators(operators)
    bundles = []
    for gateway in gateways:
        folder = out / gateway.gateway_id / "community-gateway"
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / "client.crt").exists() or not (folder / "client.key").exists():
            authority.issue(gateway.gateway_id, folder=folder, stem="client")
        (folder / "ca.pem").write_bytes(authority.ca_file.read_bytes())
        host, port = _address(gateway.broker)
        try:
            text = string.Template(template).substitute(
                site=gateway.site, gateway_id=gateway.gateway_id, host=host, port=port,
                operators=operator_blocks,
            )  # fmt: skip
        except (KeyError, ValueError) as err:
            raise ProvisionError(f"the template has an unknown placeholder: {err}") from None
        try:
            parse_config(text, str(folder / "gateway.toml"), base_dir=folder)
        except ConfigError as err:
            raise ProvisionError(
                f"{gateway.gateway_id}: the configuration is refused: {err}"
            ) from None
        (folder / "gateway.toml").write_text(text)
        script = folder / "firstrun.sh"
        script.write_text(string.Template(FIRSTRUN).substitute())
        script.chmod(0o755)
        bundles.append(folder)
    (out / "mosquitto.acl").write_text("\n".join(acl_lines(g) for g in gateways))
    if server_hosts:
        authority.issue(server_hosts[0], server=True, hosts=server_hosts, folder=out / "broker",
                        stem="server")  # fmt: skip
    return bundles
