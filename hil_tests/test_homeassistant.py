"""Home Assistant discovery on a real Mosquitto: every device announced, each entity's
template read against what the gateway really publishes, a removed device withdrawn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

from gateway.demo.broker import MosquittoBroker
from hil_tests.harness import (
    BIN_WITH_PROBE,
    WATER_STATION,
    GatewayProcess,
    Upstream,
    gateway_config,
)

DEVICES = (
    WATER_STATION
    + BIN_WITH_PROBE
    + """
[[devices]]
kind = "care_point"
id = "care-1a"
unit = "1A"
call_pin = 20
led_pin = 21
smoke_pin = 5
presence_pin = 26
"""
)
HA = "\n[homeassistant]\nenabled = true\n"


def render(template: str, envelope: dict[str, Any]) -> str:
    return jinja2.Environment().from_string(template).render(value_json=envelope).strip()


async def test_every_device_is_announced_read_from_its_topics_and_withdrawn_when_removed(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    config = tmp_path / "gateway.toml"
    base = gateway_config(tmp_path / "data", broker.port, report_period_s=5)
    config.write_text(base.replace("[mqtt]", HA + "\n[mqtt]", 1) + DEVICES)
    process = GatewayProcess(config)
    async with Upstream(broker.port, topic_filter="#").running() as upstream:
        try:
            process.start()

            def announced() -> dict[str, dict[str, Any]]:
                return {
                    m.topic: json.loads(m.payload)
                    for m in upstream.messages
                    if m.topic.startswith("homeassistant/") and m.payload
                }

            def latest(topic: str) -> dict[str, Any] | None:
                found = [m.json() for m in upstream.messages if m.topic == topic]
                return found[-1] if found else None

            # The station 5, the bin 5, the care point 4, the gateway itself 4.
            configs = await upstream.wait_for(
                lambda: announced() if len(announced()) >= 18 else None, timeout=30
            )
            assert len(configs) == 18, sorted(configs)
            by_id = {c["unique_id"].removeprefix("hil_site_gw_hil_"): c for c in configs.values()}
            water = by_id["water_1_litres_total"]
            assert water["device_class"] == "water" and water["state_class"] == "total_increasing"
            assert water["unit_of_measurement"] == "L"
            assert water["device"]["via_device"].endswith("_gateway")
            assert water["device"]["manufacturer"] == "community-gateway"
            assert by_id["bin_1_temperature_c"]["unit_of_measurement"] == "°C"
            assert by_id["care_1a_smoke"]["device_class"] == "smoke"
            assert by_id["water_1_leak"]["device_class"] == "moisture"
            assert all("command_topic" not in c for c in configs.values())  # nothing acts
            assert all(
                c["availability_mode"] == "all" and len(c["availability"]) == 2
                for c in configs.values()
            )
            # Each template reads what the gateway publishes on its state topic.
            await upstream.wait_for(
                lambda: all(latest(c["state_topic"]) for c in configs.values()), timeout=60
            )
            for unique, entity in by_id.items():
                value = render(entity["value_template"], latest(entity["state_topic"]) or {})
                if entity["value_template"].startswith("{{ 'ON'"):
                    assert value in ("ON", "OFF"), (unique, value)
                elif unique.endswith(("_fill_percent", "_litres_total", "_temperature_c")):
                    float(value)  # a number, not an empty string or a template error
            valve = by_id["water_1_valve_open"]
            assert render(valve["value_template"], latest(valve["state_topic"]) or {}) == "ON"
            for entity in configs.values():
                status = latest(entity["availability"][0]["topic"]) or {}
                assert render(entity["availability"][0]["value_template"], status) == "online"
        finally:
            process.close()
        # The care point leaves the configuration: its entities are withdrawn.
        text = config.read_text()
        config.write_text(text[: text.index('[[devices]]\nkind = "care_point"')])
        process = GatewayProcess(config)
        try:
            process.start()
            await upstream.wait_for(
                lambda: [
                    m for m in upstream.messages
                    if m.topic.startswith("homeassistant/") and "care_1a" in m.topic
                    and m.payload == b""
                ],
                timeout=30,
            )  # fmt: skip
        finally:
            process.close()
