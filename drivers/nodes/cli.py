"""``gateway nodes``: a node's credentials on the LAN broker, its ACL lines and its
``config.json``, ready to copy onto it with ``mpremote``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from gateway.cli.common import PATH, _load, command_group, config_option, err, out
from gateway.topics import SEGMENT_PATTERN

nodes_app = command_group("nodes", "Sensor nodes (ESP32, MicroPython) on the LAN broker.")

#: Each role's pins on an ESP32 DevKit (GPIO numbers), as the README's wiring draws them.
PINS: dict[str, dict[str, int]] = {
    "bin": {"trigger": 5, "echo": 18, "lid": 4, "onewire": 15, "battery": 35},
    "water": {"flow": 26, "leak": 27, "valve": 25, "battery": 35},
    "care": {"call": 32, "led": 33, "smoke": 34, "presence": 39, "battery": 35},
}
PERIODS = {"bin": 600, "water": 60, "care": 60}
KINDS = {"bin": "node_bin", "water": "node_water", "care": "node_care"}


@nodes_app.command("add")
@click.argument("node")
@config_option
@click.option(
    "--role", type=click.Choice(sorted(PINS)), default="bin", show_default=True, help="Its role."
)
@click.option(
    "--out",
    "out_dir",
    type=PATH,
    default=Path("nodes"),
    show_default=True,
    help="Where its config.json is written (out/<node>/).",
)
@click.option("--wifi-ssid", default="", help="The LAN's Wi-Fi name.")
@click.option("--wifi-password", default="", help="The LAN's Wi-Fi password.")
def nodes_add(
    node: str, config: Path, role: str, out_dir: Path, wifi_ssid: str, wifi_password: str
) -> None:
    """Give NODE (letters, digits, - and _) its own login on the LAN broker (a new password
    each time: re-run it to replace a lost node's) and write the config.json to copy onto
    it."""
    from drivers.nodes.broker import acl_text, new_password, set_password, write_acl
    from drivers.nodes.ota import FIRMWARE

    if not re.fullmatch(SEGMENT_PATTERN, node):
        err.print(f"node {node!r}: use letters, digits, '-' and '_' only")
        raise SystemExit(2)
    cfg = _load(config)
    lan = cfg.nodes
    password = new_password()
    try:
        set_password(lan.password_file, f"node-{node}", password)
        if lan.username and lan.password:  # the gateway's own login on the LAN broker
            set_password(lan.password_file, lan.username, lan.password.get_secret_value())
        known = _acl_nodes(lan.acl_file) | {node}
        known |= {d.node_id for d in cfg.devices if hasattr(d, "node_id")}
        write_acl(lan.acl_file, acl_text(lan.username, sorted(known), lan.prefix))
    except OSError as error:
        err.print(f"cannot write the broker's files: {error} (run as root, or set [nodes] ")
        err.print("password_file and acl_file to files you may write)")
        raise SystemExit(1) from error
    node_config: dict[str, Any] = {
        "id": node,
        "role": role,
        "wifi": {"ssid": wifi_ssid or "set me", "password": wifi_password or "set me"},
        "broker": {
            "host": lan.lan_host or lan.host,
            "port": lan.port,
            "user": f"node-{node}",
            "password": password,
        },
        "period_s": PERIODS[role],
        "pins": PINS[role],
    }
    target = out_dir / node / "config.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(node_config, indent=2) + "\n")
    target.chmod(0o600)
    kind = KINDS[role]
    out.print(f"[green]ok[/] node-{node} in {lan.password_file} and {lan.acl_file}")
    out.print(f"[green]ok[/] {target} (holds its password: keep it off shared drives)")
    out.print("\nReload the broker:  systemctl reload mosquitto")
    out.print("Flash the node (MicroPython on it already):")
    files = " ".join(f":{p.name}" for p in sorted(FIRMWARE.glob("*.py")))
    out.print(f"  cd {FIRMWARE} && mpremote cp *.py {target.resolve()} :   # {files}")
    out.print("Add it to the gateway's configuration:")
    out.print(
        f'  [[devices]]\n  kind = "{kind}"\n  id = "{node}"\n  period_s = {PERIODS[role]}'
        + ('\n  unit = "…"   # the home, as its residents are enrolled' if role == "care" else ""),
        highlight=False,
        markup=False,
    )


def _acl_nodes(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return set(re.findall(r"^user node-(\S+)$", path.read_text(), re.MULTILINE))
