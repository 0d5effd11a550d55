"""Discovery configurations as Home Assistant reads them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from gateway.config import parse_config
from gateway.db import Database
from gateway.devices import DeviceConfig
from gateway.homeassistant import Entity, announce, discovery
from gateway.topics import Topics


def test_a_device_and_the_gateway_become_home_assistant_devices() -> None:
    topics = Topics("cg/v1", "sunny-park", "gw-1")
    found = discovery(
        topics,
        [
            (DeviceConfig(kind="gateway", id="gateway"), [Entity("uplink", "Uplink")]),
            (
                DeviceConfig(kind="bin", id="bin-1", name="North bin"),
                [
                    Entity(
                        "full", "Needs emptying", "binary_sensor", "state", device_class="problem"
                    )
                ],
            ),
        ],
        console_url="https://gw.local:8080/",
        version="1.2",
    )
    assert sorted(found) == [
        "homeassistant/binary_sensor/sunny_park_gw_1/bin_1_full/config",
        "homeassistant/sensor/sunny_park_gw_1/gateway_uplink/config",
    ]
    full = json.loads(found["homeassistant/binary_sensor/sunny_park_gw_1/bin_1_full/config"])
    assert full["state_topic"] == "cg/v1/sunny-park/gw-1/dev/bin-1/state"
    assert full["value_template"] == "{{ 'ON' if value_json.data.full else 'OFF' }}"
    assert full["device"] == {
        "identifiers": ["sunny_park_gw_1_bin_1"], "name": "North bin",
        "manufacturer": "community-gateway", "model": "bin", "sw_version": "1.2",
        "via_device": "sunny_park_gw_1_gateway", "configuration_url": "https://gw.local:8080/",
    }  # fmt: skip
    assert full["device_class"] == "problem" and "unit_of_measurement" not in full
    uplink = json.loads(found["homeassistant/sensor/sunny_park_gw_1/gateway_uplink/config"])
    assert "via_device" not in uplink["device"]
    assert uplink["availability"][0]["topic"] == "cg/v1/sunny-park/gw-1/status"


CONFIG = """site = "sunny-park"
gateway_id = "gw-1"
[homeassistant]
enabled = {enabled}
[web]
enabled = false
[[devices]]
kind = "gateway"
id = "gateway"
"""
BIN = '[[devices]]\nkind = "bin"\nid = "bin-1"\ntrigger_pin = 17\necho_pin = 27\n'


def test_a_device_that_leaves_the_configuration_leaves_home_assistant(tmp_path: Path) -> None:
    """Announced at every start; what was announced before and is gone is removed."""
    db = Database(tmp_path / "g.sqlite3")
    topics = Topics("cg/v1", "sunny-park", "gw-1")
    retained: dict[str, bytes] = {}

    async def retain(topic: str, payload: bytes) -> None:
        retained[topic] = payload

    def start(text: str) -> set[str]:
        """One start on ``text``: the topics it announced (not emptied)."""
        retained.clear()
        asyncio.run(announce(retain, db, topics, parse_config(text), "1.2"))
        return {t for t, p in retained.items() if p}

    with_bin = start(CONFIG.format(enabled="true") + BIN)
    bin_topics = {t for t in with_bin if "/sunny_park_gw_1/bin_1_" in t}
    assert bin_topics and with_bin - bin_topics  # the bin's entities and the gateway's
    assert not any(json.loads(retained[t])["device"].get("configuration_url") for t in with_bin)
    without_bin = start(CONFIG.format(enabled="true"))
    assert without_bin == with_bin - bin_topics
    assert all(retained[t] == b"" for t in bin_topics)  # removed from Home Assistant
    assert start(CONFIG.format(enabled="false")) == set()
    assert set(retained) == without_bin and not any(retained.values())  # all removed
    assert start(CONFIG.format(enabled="false")) == set() and retained == {}  # once
