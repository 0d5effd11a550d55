"""Discovery configurations as Home Assistant reads them."""

from __future__ import annotations

import json

from gateway.devices import DeviceConfig
from gateway.homeassistant import Entity, discovery
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
