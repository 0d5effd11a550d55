"""A real Home Assistant Core reads the simulated complex through MQTT discovery."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from drivers.sim import control_socket
from drivers.sim.control import request
from gateway.config import load_config
from gateway.demo.broker import MosquittoBroker
from gateway.homeassistant import discovery
from gateway.plugins import device_kinds, load_target
from gateway.topics import Topics
from hil_tests.harness import BIN_WITH_PROBE, WATER_STATION, GatewayProcess, gateway_config
from hil_tests.homeassistant import HomeAssistant, running_home_assistant
from hil_tests.test_lockers import BANK, bank

BIN = BIN_WITH_PROBE
GATE = """
[[devices]]
kind = "entry"
id = "gate"
camera = "gate-camera"
strike_pin = 5
door_pin = 6
liveness = "off"
"""
PREFIX = "hil_site_gw_hil"


def expected(config: Path) -> dict[str, dict[str, Any]]:
    """Every entity the configuration announces, by its Home Assistant entity id."""
    cfg = load_config(config)
    kinds = device_kinds()
    devices = []
    for device in cfg.devices:
        target = kinds[device.kind].homeassistant
        if target is not None:
            devices.append((device, load_target(target)(device)))
    found = discovery(Topics(cfg.mqtt.prefix, cfg.site, cfg.gateway_id), devices)
    return {
        f"{topic.split('/')[1]}.{json.loads(body)['object_id']}": json.loads(body)
        for topic, body in found.items()
    }


def number(state: str) -> float:
    """A sensor's state as a number (``unknown`` before its first value: 0)."""
    try:
        return float(state)
    except ValueError:
        return 0.0


async def until(home: HomeAssistant, check: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        states = await asyncio.to_thread(home.states)
        if check(states):
            return states
        if asyncio.get_running_loop().time() > deadline:
            shown = {k: v["state"] for k, v in states.items() if PREFIX in k}
            raise AssertionError(f"Home Assistant never showed it; it shows {shown}")
        await asyncio.sleep(1)


async def test_home_assistant_shows_the_complex_follows_it_and_sees_it_go(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    config = tmp_path / "gateway.toml"
    text = gateway_config(tmp_path / "data", broker.port, report_period_s=5)
    devices = bank(time_scale=10, sample_period_s=10) + WATER_STATION + BIN + GATE
    config.write_text(
        text.replace("[mqtt]", "[homeassistant]\nenabled = true\n\n[mqtt]", 1) + devices
    )
    with running_home_assistant(tmp_path, broker.port) as home:
        process = GatewayProcess(config)
        try:
            process.start()
            leak = f"binary_sensor.{PREFIX}_water_1_leak"
            fill = f"sensor.{PREFIX}_bin_1_fill_percent"
            states = await until(
                home, lambda s: number(s.get(fill, {}).get("state", "")) > 0
                and s.get(leak, {}).get("state") == "off",
            )  # fmt: skip
            # Every entity the gateway announces exists, with its unit and device class.
            for entity_id, announced in expected(config).items():
                assert entity_id in states, entity_id
                attributes = states[entity_id]["attributes"]
                for field in ("unit_of_measurement", "device_class", "state_class"):
                    assert attributes.get(field) == announced.get(field), (entity_id, field)
            litres = states[f"sensor.{PREFIX}_water_1_litres_total"]["attributes"]
            assert litres["device_class"] == "water" and litres["unit_of_measurement"] == "L"
            assert litres["state_class"] == "total_increasing"
            temperature = states[f"sensor.{PREFIX}_bin_1_temperature_c"]["attributes"]
            assert temperature["device_class"] == "temperature"
            assert states[leak]["attributes"]["device_class"] == "moisture"
            # States follow the simulation: a bin fills, a leak is reported.
            sock = control_socket(tmp_path / "data")
            await request(sock, {"model": "bin-1", "action": "set", "args": {"fill_percent": 85}})
            await request(sock, {"model": "water-1", "action": "set", "args": {"leak": True}})
            warmer = {"compartment": "C03", "temperature_c": 12.0}
            await request(sock, {"model": BANK, "action": "set", "args": warmer})
            warm = f"sensor.{PREFIX}_lockers_1_c03_temperature"
            await until(home, lambda s: number(s[fill]["state"]) > 80 and s[leak]["state"] == "on"
                        and number(s[warm]["state"]) > 10)  # fmt: skip
            # A fire in the bin; the gate's door forced: an event, and only its name.
            fire = f"binary_sensor.{PREFIX}_bin_1_fire"
            await request(sock, {"model": "bin-1", "action": "set", "args": {"temperature_c": 90}})
            await until(home, lambda s: s[fire]["state"] == "on")
            access = f"event.{PREFIX}_gate_access"
            await until(home, lambda s: s.get(access, {}).get("state", "unavailable")
                        != "unavailable", timeout=120)  # fmt: skip
            await request(sock, {"model": "gate", "action": "force", "args": {}})
            seen = await until(
                home, lambda s: s[access]["attributes"].get("event_type") == "door_forced"
            )
            assert set(seen[access]["attributes"]) >= {"event_type", "event_types"}
            assert "resident_id" not in seen[access]["attributes"]
        finally:
            if process.alive:
                process.kill()
        # The gateway dies: its last will makes every entity unavailable.
        await until(home, lambda s: s[fill]["state"] == "unavailable"
                    and s[leak]["state"] == "unavailable")  # fmt: skip
