"""The console's pages through the ASGI client: the overview and what needs a visit, a device's
history, events, deliveries, the audit log, accounts made with the CLI."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from starlette.testclient import TestClient

from gateway.app import Gateway
from gateway.messages import isoformat
from gateway.web import Console
from gateway.web.auth import Users
from tests.gateway.web.conftest import (
    log_in,
    publish,
)


def test_a_home_that_needs_a_visit_comes_first_and_shows_no_movement_log(
    client: TestClient, gateway: Gateway
) -> None:
    log_in(client, "alice")
    assert "Needs a visit" not in client.get("/").text
    publish(gateway, "care-101", "care_point", "state", 0, available=True, unit="101", call="none")
    publish(
        gateway, "care-101", "care_point", "telemetry", 0,
        last_activity="2026-12-01T09:30:00+00:00", call="none", smoke=False, connected=True,
    )  # fmt: skip
    assert "Needs a visit" not in client.get("/").text
    publish(
        gateway, "care-101", "care_point", "state", 0, available=True, unit="101", call="calling"
    )
    page = client.get("/").text
    visits = page.split('aria-label="Needs a visit"')[1].split("</section>")[0]
    assert "emergency call from 101, not yet answered" in visits
    assert page.index("Needs a visit") < page.index('class="cards"')
    publish(
        gateway, "care-101", "care_point", "state", 0,
        available=True, unit="101", call="none", welfare_due=True,
        welfare_since="2026-11-29T09:30:00+00:00",
    )  # fmt: skip
    assert "no sign of life at 101 since" in client.get("/").text
    publish(gateway, "care-101", "care_point", "state", 0, available=False, unit="101")
    assert "the care point of 101 is not reporting" in client.get("/").text
    device = client.get("/devices/care-101").text
    assert "Last activity:" in device and "<svg" not in device


# -- overview, devices, events, deliveries -------------------------------------------------


def test_the_overview_shows_each_device_and_what_needs_attention(
    client: TestClient, gateway: Gateway
) -> None:
    publish(gateway, "bin-north-1", "bin", "state", 0, available=True, name="North", full=True)
    publish(gateway, "bin-north-1", "bin", "telemetry", 0, fill_percent=91.5, full_at=None)
    publish(gateway, "bin-south-1", "bin", "state", 0, available=False, name="South")
    publish(gateway, "water-1", "water_station", "state", 0, available=True)
    publish(gateway, "water-1", "water_station", "telemetry", 0, filter_remaining_percent=7.0)
    layout = {"C08": {"size": "M", "class": "chilled", "band_c": [0, 6]}}
    publish(
        gateway, "lockers-a", "locker_bank", "state", 0,
        available=True, compartments=layout, excursions=["C08"], held=1,
    )  # fmt: skip
    row = {"id": "C08", "class": "chilled", "temperature_c": 9.4, "occupied": True}
    publish(gateway, "lockers-a", "locker_bank", "telemetry", 0, compartments=[row])
    publish(gateway, "gate-main", "entry", "state", 0, available=True)
    publish(gateway, "gate-main", "entry", "event", 0, event="door_forced", severity="critical")
    log_in(client, "alice")
    page = client.get("/").text

    def card(device: str) -> str:
        return page.split(f'data-device="{device}"')[1].split("</article>")[0]

    assert "91 %" in card("bin-north-1") or "92 %" in card("bin-north-1")
    assert "full: needs emptying" in card("bin-north-1")
    assert "unavailable" in page.split('data-device="bin-south-1"')[0].rsplit("<article", 1)[1]
    assert "filter needs changing" in card("water-1")
    assert "cold-chain excursion in C08" in card("lockers-a") and "9.4" in card("lockers-a")
    assert "door forced (critical)" in card("gate-main")
    attention = page.split("<h2>Needs attention</h2>")[1].split("</section>")[0]
    for device in ("bin-north-1", "water-1", "lockers-a", "gate-main"):
        assert device in attention
    # bin-north-2 has said nothing yet: listed, and not available.
    assert 'data-device="bin-north-2"' in page


def test_a_device_page_draws_its_history(client: TestClient, gateway: Gateway) -> None:
    layout = {"C08": {"size": "M", "class": "chilled", "band_c": [0, 6]}}
    publish(gateway, "lockers-a", "locker_bank", "state", 0, available=True, compartments=layout)
    for minutes in range(120, -1, -10):
        row = {"id": "C08", "class": "chilled", "temperature_c": 3 + minutes / 60}
        publish(gateway, "lockers-a", "locker_bank", "telemetry", minutes, compartments=[row])
    full_at = isoformat(gateway.clock.now() + timedelta(hours=3))
    publish(gateway, "bin-north-1", "bin", "state", 0, available=True, full_threshold_percent=80)
    for minutes in range(120, -1, -10):
        fill = 60 - minutes / 10
        publish(
            gateway, "bin-north-1", "bin", "telemetry", minutes, fill_percent=fill, full_at=full_at
        )
    for day in range(3):
        publish(
            gateway, "water-1", "water_station", "telemetry", day * 1440,
            litres_total=1000.0 - day * 100, filter_remaining_percent=50,
        )  # fmt: skip
    log_in(client, "alice")
    lockers = client.get("/devices/lockers-a?compartment=C08&hours=6").text
    assert '<rect class="band"' in lockers and "band 0 to 6" in lockers
    assert lockers.count("<polyline") == 1
    bin_page = client.get("/devices/bin-north-1").text
    assert 'class="projection"' in bin_page and "predicted 80" in bin_page
    water = client.get("/devices/water-1?hours=168").text
    assert water.count('class="bar"') == 3 and "100 L" in water
    assert client.get("/devices/no-such-device").status_code == 404


def test_events_are_filtered_by_device_and_severity_and_never_show_secrets(
    client: TestClient, gateway: Gateway
) -> None:
    publish(gateway, "lockers-a", "locker_bank", "event", 3, event="delivery_ready",
            severity="info", pickup_code="482913", compartment="C01")  # fmt: skip
    publish(gateway, "lockers-a", "locker_bank", "event", 2, event="cold_chain_excursion",
            severity="critical", compartment="C08")  # fmt: skip
    publish(gateway, "bin-north-1", "bin", "event", 1, event="bin_full", severity="warning")
    log_in(client, "alice")
    everything = client.get("/events").text
    assert "delivery ready" in everything and "bin full" in everything
    assert "482913" not in everything and "pickup_code: ***" in everything
    critical = client.get("/events?severity=critical").text
    assert "cold chain excursion" in critical and "bin full" not in critical
    bins = client.get("/events?device=bin-north-1").text
    assert "bin full" in bins and "delivery ready" not in bins


def test_deliveries_show_their_temperature_record_but_never_the_code(
    client: TestClient, gateway: Gateway
) -> None:
    store = gateway.db.device_store("lockers-a")
    body = {
        "compartment": "C08", "class": "chilled", "code_hash": "abc123hash",
        "code_salt": "salt99", "deposited_at": isoformat(gateway.clock.now()),
        "temperature": {"min_c": 2.1, "max_c": 8.7, "minutes_out_of_band": 32.0, "excursions": 1},
    }  # fmt: skip
    store.put_record("deliveries", "D-1004", "collected", isoformat(gateway.clock.now()), body)
    log_in(client, "alice")
    listing = client.get("/deliveries").text
    assert "D-1004" in listing and "8.7" in listing and 'class="excursion"' in listing
    assert "D-1004" not in client.get("/deliveries?status=held").text
    detail = client.get("/deliveries/D-1004").text
    assert "minutes out of band" in detail and "32.0" in detail
    assert "abc123hash" not in detail and "salt99" not in detail
    assert client.get("/deliveries/D-9999").status_code == 404


def test_the_simulated_gate_takes_a_walk_up_from_the_console(
    client: TestClient, gateway: Gateway
) -> None:
    csrf = log_in(client, "alice")
    page = client.get("/devices/gate-main").text
    assert "Someone walks up to the gate" in page and "John Schneider" in page
    response = client.post(
        "/devices/gate-main/simulate",
        data={"csrf": csrf, "person": "people/John_Schneider"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "John_Schneider walks up" in client.get(response.headers["location"]).text
    refused = client.post("/devices/gate-main/simulate", data={"csrf": csrf, "person": "../../etc"})
    assert refused.status_code == 400 and "Choose a person" in refused.text


def test_the_audit_page_shows_the_verification(client: TestClient, gateway: Gateway) -> None:
    log_in(client, "alice")
    page = client.get("/audit").text
    assert "Verified: all" in page and "console:alice" in page
    gateway.db.conn.execute("UPDATE audit SET actor = 'nobody' WHERE seq = 1")
    tampered = client.get("/audit").text
    assert "does NOT verify: entry 1 was altered" in tampered


def test_cli_accounts_log_in_to_the_console(tmp_path: Path, gateway: Gateway) -> None:
    users = Users(gateway.db)
    users.add("carol", "manager", "carol-manager-pw", actor="cli:root")
    console = Console(gateway, gateway.config.web, users=users)
    with TestClient(console.app) as client:
        log_in(client, "carol", "carol-manager-pw")
        assert "carol (manager)" in client.get("/").text
