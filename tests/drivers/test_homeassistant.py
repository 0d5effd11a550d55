"""Each kind's Home Assistant entities read its own messages (rendered with Jinja, as Home
Assistant renders them)."""

from __future__ import annotations

import json
from pathlib import Path

import jinja2

from drivers.lockers.homeassistant import entities as locker_entities
from gateway.config import load_config
from gateway.homeassistant import discovery
from gateway.topics import Topics

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.toml"


def test_every_compartment_is_read_from_the_banks_telemetry() -> None:
    bank = next(d for d in load_config(DEMO).devices if d.kind == "locker_bank")
    found = discovery(Topics("cg/v1", "s", "g"), [(bank, locker_entities(bank))])
    rows = [
        {"id": c.id, "temperature_c": -20.5 if c.id == "F12" else None, "door_open": c.id == "A02",
         "occupied": c.id == "C09"}
        for c in bank.compartments  # type: ignore[attr-defined]
    ]  # fmt: skip
    envelope = {"data": {"compartments": rows, "excursions": ["C08"]}}
    values = {
        topic.split("/")[-2]: jinja2.Environment()
        .from_string(json.loads(payload)["value_template"])
        .render(value_json=envelope)
        for topic, payload in found.items()
    }
    assert values["lockers_a_a02_door"] == "ON" and values["lockers_a_a01_door"] == "OFF"
    assert values["lockers_a_c09_occupied"] == "ON"
    assert values["lockers_a_f12_temperature"] == "-20.5"
    assert values["lockers_a_excursions"] == "ON"
    assert values["lockers_a_c08_excursion"] == "ON" and values["lockers_a_c07_excursion"] == "OFF"


def test_the_gates_events_reach_home_assistant_as_their_names_only() -> None:
    from drivers.entry.config import EntryConfig
    from drivers.entry.homeassistant import entities as gate_entities

    gate = EntryConfig(kind="entry", id="gate", camera="0", strike_pin=5, door_pin=6)
    found = discovery(Topics("cg/v1", "s", "g"), [(gate, gate_entities(gate))])
    access = json.loads(found["homeassistant/event/s_g/gate_access/config"])
    assert access["state_topic"] == "cg/v1/s/g/dev/gate/event"
    assert "access_granted" in access["event_types"] and "door_forced" in access["event_types"]
    envelope = {"data": {"event": "access_granted", "resident_id": "R-101", "distance": 0.2}}
    shown = jinja2.Environment().from_string(access["value_template"]).render(value_json=envelope)
    assert json.loads(shown) == {"event_type": "access_granted"}  # nobody's id goes out
