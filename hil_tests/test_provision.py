"""Provisioning: two gateways from their bundles, a broker with the site CA and the ACL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gateway.demo.broker import MosquittoBroker, free_port
from gateway.mqtt import Observer
from gateway.pki import SiteAuthority
from gateway.settings import MqttSettings, TlsSettings
from hil_tests.harness import GatewayProcess, Upstream, operator_key

SITE = "sunny-park"


def provision(tmp_path: Path, port: int, operator: str) -> subprocess.CompletedProcess[str]:
    rows = tmp_path / "gateways.csv"
    rows.write_text(f"site,gateway_id,broker\n{SITE},gw-a,127.0.0.1:{port}\n"
                    f"{SITE},gw-b,127.0.0.1:{port}\n")  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "gateway", "provision", "--csv", str(rows),
         "--ca-dir", str(tmp_path / "ca"), "--out", str(tmp_path / "out"),
         "--server-cert", "127.0.0.1", "--operator", f"ops={operator}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def shell_syntax_ok(script: Path) -> bool:
    return subprocess.run(["sh", "-n", str(script)]).returncode == 0


async def test_two_provisioned_gateways_run_from_their_bundles_each_in_its_own_topics(
    tmp_path: Path,
) -> None:
    port = free_port()
    done = provision(tmp_path, port, operator_key()[1])
    assert done.returncode == 0, done.stdout + done.stderr
    out = tmp_path / "out"
    bundles = {g: out / g / "community-gateway" for g in ("gw-a", "gw-b")}
    for bundle in bundles.values():
        names = sorted(p.name for p in bundle.iterdir())
        assert names == ["ca.pem", "client.crt", "client.key", "firstrun.sh", "gateway.toml"]
        assert oct((bundle / "client.key").stat().st_mode & 0o777) == "0o600"
        assert shell_syntax_ok(bundle / "firstrun.sh")
    assert not any(p.name.endswith(".key") and "ca" in p.name for p in out.rglob("*"))
    first_cert = (bundles["gw-a"] / "client.crt").read_bytes()
    again = provision(tmp_path, port, operator_key()[1])
    assert again.returncode == 0
    assert (bundles["gw-a"] / "client.crt").read_bytes() == first_cert  # kept, not reissued
    authority = SiteAuthority(tmp_path / "ca")  # the same CA, read back
    platform = authority.issue("platform", folder=tmp_path / "platform")
    acl = tmp_path / "acl"
    acl.write_text("user platform\ntopic readwrite #\n\n" + (out / "mosquitto.acl").read_text())
    server = out / "broker"
    broker = MosquittoBroker(
        port,
        listener_config=(
            f"cafile {authority.ca_file}\ncertfile {server / 'server.crt'}\n"
            f"keyfile {server / 'server.key'}\nrequire_certificate true\n"
            "use_identity_as_username true\n"
        ),
        extra_config=f"acl_file {acl}\n",
        allow_anonymous=False,
    )
    processes = []
    with broker:
        settings = MqttSettings(
            host="127.0.0.1", port=port,
            tls=TlsSettings(ca_file=authority.ca_file, cert_file=platform.cert_file,
                            key_file=platform.key_file),
        )  # fmt: skip
        async with Upstream(port, settings, f"cg/v1/{SITE}/#").running() as upstream:
            for gateway, bundle in bundles.items():
                # The bundle's files as they are; only the state directory is the test's.
                config = bundle / "gateway.toml"
                text = config.read_text().replace(
                    'data_dir = "/var/lib/community-gateway"', f'data_dir = "{tmp_path / gateway}"'
                )
                config.write_text(text.replace('hardware = "auto"', 'hardware = "simulated"'))
                process = GatewayProcess(config)
                processes.append(process)
                process.start()
            try:
                for gateway in bundles:
                    await upstream.wait_for(
                        lambda g=gateway: any(  # type: ignore[misc]
                            m.topic == f"cg/v1/{SITE}/{g}/dev/gateway/telemetry"
                            for m in upstream.messages
                        ),
                        timeout=60,
                    )
                # With gw-a's own certificate: its root goes through, gw-b's does not.
                bundle = bundles["gw-a"]
                as_a = MqttSettings(
                    host="127.0.0.1", port=port,
                    tls=TlsSettings(ca_file=bundle / "ca.pem", cert_file=bundle / "client.crt",
                                    key_file=bundle / "client.key"),
                )  # fmt: skip
                async with Observer(as_a, identifier="gw-a-intruder") as intruder:
                    await intruder.publish(f"cg/v1/{SITE}/gw-b/dev/gateway/event", b"forged")
                    await intruder.publish(f"cg/v1/{SITE}/gw-a/probe", b"own")
                await upstream.wait_for(
                    lambda: any(m.topic == f"cg/v1/{SITE}/gw-a/probe" for m in upstream.messages)
                )
                assert not [m for m in upstream.messages if m.payload == b"forged"]
            finally:
                for process in processes:
                    process.close()
            logs = "".join(p.log() for p in processes)
            assert "MQTT without TLS" not in logs
