"""TLS with client certificates (mTLS) and an ACL, against a real Mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.demo.broker import MosquittoBroker, find_mosquitto
from gateway.mqtt import Observer
from gateway.pki import Issued, SiteAuthority
from gateway.settings import MqttSettings, TlsSettings
from hil_tests.harness import GATEWAY, SITE, TOPICS, GatewayProcess, Upstream, gateway_config


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Any]:
    ca = SiteAuthority(tmp_path / "pki", "test-ca")
    rogue = SiteAuthority(tmp_path / "rogue", "rogue-ca")
    return {
        "ca": ca,
        "rogue": rogue,
        "server": ca.issue("broker", server=True),
        "gateway": ca.issue(GATEWAY),
        "platform": ca.issue("platform"),
        "expired": ca.issue(f"{GATEWAY}-old", expired=True),
        "forged": rogue.issue(GATEWAY),
    }


@pytest.fixture
def tls_broker(tmp_path: Path, pki: dict[str, Any]) -> Iterator[MosquittoBroker]:
    if find_mosquitto() is None:
        pytest.fail("mosquitto is not installed: the README's test command installs it")
    acl = tmp_path / "acl"
    acl.write_text(
        "user platform\ntopic readwrite #\n\n"
        # Each gateway (its certificate's name) writes only under its own root and reads
        # only its own commands.
        f"pattern write cg/v1/{SITE}/%u/#\n"
        f"pattern read cg/v1/{SITE}/%u/cmd/#\n"
    )
    server: Issued = pki["server"]
    with MosquittoBroker(
        listener_config=(
            f"cafile {pki['ca'].ca_file}\ncertfile {server.cert_file}\n"
            f"keyfile {server.key_file}\nrequire_certificate true\n"
            "use_identity_as_username true\n"
        ),
        extra_config=f"acl_file {acl}\n",
        allow_anonymous=False,
    ) as broker:
        yield broker


def tls(pki: dict[str, Any], who: str, ca: str = "ca") -> TlsSettings:
    issued: Issued = pki[who]
    return TlsSettings(
        ca_file=pki[ca].ca_file, cert_file=issued.cert_file, key_file=issued.key_file
    )


def gateway_with(tmp_path: Path, port: int, settings: TlsSettings) -> GatewayProcess:
    files = (
        f'[mqtt.tls]\nca_file = "{settings.ca_file}"\ncert_file = "{settings.cert_file}"\n'
        f'key_file = "{settings.key_file}"\n'
    )
    config = tmp_path / "gateway.toml"
    config.write_text(
        gateway_config(tmp_path / "data", port, report_period_s=0.5, mqtt_extra=files)
    )
    return GatewayProcess(config)


@contextlib.asynccontextmanager
async def platform(port: int, pki: dict[str, Any]) -> Any:
    settings = MqttSettings(host="127.0.0.1", port=port, tls=tls(pki, "platform"))
    async with Upstream(port, settings).running() as observer:
        yield observer


async def test_the_right_certificate_connects_and_stays_in_its_own_root(
    tmp_path: Path, tls_broker: MosquittoBroker, pki: dict[str, Any]
) -> None:
    process = gateway_with(tmp_path, tls_broker.port, tls(pki, "gateway"))
    try:
        async with platform(tls_broker.port, pki) as upstream:
            process.start()
            await upstream.wait_for(lambda: len(upstream.envelopes("telemetry")) >= 2, timeout=20)
            assert "MQTT without TLS" not in process.log()

            # With the gateway's own certificate, nothing outside its root goes through.
            settings = MqttSettings(host="127.0.0.1", port=tls_broker.port, tls=tls(pki, "gateway"))
            async with Observer(settings, identifier="intruder") as intruder:
                await intruder.publish(f"cg/v1/{SITE}/gw-other/status", b'{"online": true}')
                await intruder.subscribe(f"cg/v1/{SITE}/gw-other/cmd/#")
                async with Observer(
                    MqttSettings(host="127.0.0.1", port=tls_broker.port, tls=tls(pki, "platform")),
                    identifier="platform-sender",
                ) as sender:
                    await sender.publish(f"cg/v1/{SITE}/gw-other/cmd/x/ping", b'{"id": "p"}')
                received = []
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.5):
                        async for message in intruder.messages():
                            received.append(message)
                assert received == []  # another gateway's commands are not readable
            await asyncio.sleep(0.5)
            assert not [m for m in upstream.messages if "gw-other" in m.topic]
            assert any(m.topic == TOPICS.status for m in upstream.messages)
    finally:
        process.close()


@pytest.mark.parametrize(
    ("who", "ca", "expect"),
    [
        ("forged", "ca", "rogue"),  # a certificate from another CA: the broker refuses it
        ("expired", "ca", "expired"),  # an expired one: the broker refuses it
        ("gateway", "rogue", "certificate verify failed"),  # the gateway distrusts the broker
    ],
)
async def test_wrong_certificates_are_refused_and_retried_with_backoff(
    tmp_path: Path, tls_broker: MosquittoBroker, pki: dict[str, Any], who: str, ca: str, expect: str
) -> None:
    process = gateway_with(tmp_path, tls_broker.port, tls(pki, who, ca))
    try:
        async with platform(tls_broker.port, pki) as upstream:
            process.start()
            # The first refusal comes once the process has started (a while on a busy
            # machine); then 6 s of retrying are watched.
            deadline = time.monotonic() + 60
            while "WARNING gateway.uplink: uplink to" not in process.log():
                assert process.alive and time.monotonic() < deadline, process.log()[-2000:]
                await asyncio.sleep(0.2)
            await asyncio.sleep(6)
            assert process.alive
            assert not upstream.envelopes()  # nothing got through
        log = process.log()
        refusals = [
            line for line in log.splitlines() if "WARNING gateway.uplink: uplink to" in line
        ]
        assert refusals, log[-2000:]
        assert any(
            word in line.lower()
            for line in refusals
            for word in ("certificate", "ssl", "tls", "handshake", "alert", "eof")
        ), refusals
        broker_log = (tls_broker.config_file.parent / "mosquitto.log").read_text(errors="replace")
        attempts = broker_log.count("New connection from 127.0.0.1")
        # Jittered exponential backoff: a handful of attempts in 6 s and a little more, not a
        # busy loop.
        assert 1 <= attempts <= 15, attempts
        if expect == "certificate verify failed":
            assert any("certificate verify failed" in line for line in refusals), refusals
    finally:
        process.close()
