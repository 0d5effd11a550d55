"""Every page and form of the console, through the ASGI client: what each shows, every form
error, and the security rules (login everywhere, roles, CSRF, foreign cookies, uploads)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from gateway.app import Gateway
from gateway.messages import isoformat
from gateway.web import Console
from gateway.web.auth import Users
from tests import TEST_PHOTOS, png_bomb
from tests.gateway.web.conftest import PASSWORDS, csrf_of, log_in, make_gateway
from vision.faces import encode_jpeg, load_image

PAGES = [
    "/",
    "/devices/bin-north-1",
    "/events",
    "/deliveries",
    "/deliveries/D-1",
    "/residents",
    "/residents/new",
    "/residents/r-1",
    "/residents/r-1/remove",
    "/audit",
    "/installer/config",
    "/installer/diagnostics",
]
FORMS = [
    "/logout",
    "/devices/gate-main/simulate",
    "/residents/new",
    "/residents/photo-check",
    "/residents/r-1/status",
    "/residents/r-1/remove",
]


def publish(
    gateway: Gateway, device: str, kind: str, type_: str, minutes_ago: float, **data: object
) -> None:
    ts = isoformat(gateway.clock.now() - timedelta(minutes=minutes_ago))
    gateway.history.add(device, kind, type_, ts, dict(data))


def photo(faces: Path, person: str, n: int) -> bytes:
    return (faces / "people" / person / f"{n:02d}.jpg").read_bytes()


def enroll(client: TestClient, csrf: str, files: list[tuple[str, bytes]], **fields: str) -> Any:
    data = {"csrf": csrf, "resident_id": "A-12-kim", "name": "Kim", "unit": "A-12"}
    data |= {"consent": "on"} | fields
    upload = [("photos", (name, body, "image/jpeg")) for name, body in files]
    return client.post("/residents/new", data=data, files=upload or None)


# -- login everywhere, roles --------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_a_stranger_to_the_login(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


@pytest.mark.parametrize("path", FORMS)
def test_every_form_refuses_a_stranger(client: TestClient, gateway: Gateway, path: str) -> None:
    response = client.post(path, data={"csrf": "x", "status": "suspended", "confirm": "r-1"})
    assert response.status_code == 401
    assert "Please log in again" in response.text


def test_static_files_need_no_login(client: TestClient) -> None:
    assert client.get("/static/console.css").status_code == 200


@pytest.mark.parametrize("path", ["/installer/config", "/installer/diagnostics"])
def test_a_manager_cannot_reach_installer_pages(client: TestClient, path: str) -> None:
    log_in(client, "alice")
    response = client.get(path)
    assert response.status_code == 403
    assert "for the installer account" in response.text


def test_an_installer_sees_configuration_without_secrets_and_diagnostics(
    client: TestClient, gateway: Gateway
) -> None:
    secret = SecretStr("broker-secret-pw")
    gateway.config.mqtt = gateway.config.mqtt.model_copy(update={"password": secret})
    gate = next(d for d in gateway.config.devices if d.kind == "entry")
    gate.camera = "rtsp://admin:hunter2@10.0.0.5/stream1"  # type: ignore[attr-defined]
    log_in(client, "ivan")
    config = client.get("/installer/config")
    assert config.status_code == 200
    assert "demo-park" in config.text and "broker-secret-pw" not in config.text
    assert "rtsp://***@10.0.0.5/stream1" in config.text and "hunter2" not in config.text
    assert "strike_pin" in config.text  # each device with its own fields
    diagnostics = client.get("/installer/diagnostics")
    assert diagnostics.status_code == 200
    assert "bin-north-1" in diagnostics.text and "alice" in diagnostics.text
    assert 'href="/installer/config"' in client.get("/").text


def test_an_installer_cannot_change_residents(client: TestClient) -> None:
    csrf = log_in(client, "ivan")
    assert client.get("/residents/new").status_code == 403
    response = client.post("/residents/r-1/status", data={"csrf": csrf, "status": "suspended"})
    assert response.status_code == 403


# -- login, lockout, logout, cookies -------------------------------------------------------


def test_login_sets_a_strict_httponly_cookie_and_logout_ends_the_session(
    client: TestClient, gateway: Gateway
) -> None:
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"csrf": csrf_of(form.text), "name": "alice", "password": PASSWORDS["alice"]},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"]
    assert "cg_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain HTTP here; see the TLS test
    old = client.cookies.get("cg_session")
    csrf = csrf_of(client.get("/").text)
    assert client.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    client.cookies.set("cg_session", old or "")
    assert client.get("/", follow_redirects=False).status_code == 303
    actions = [e.action for e in gateway.residents.audit.entries(limit=5)]
    assert actions[:2] == ["logout", "login"]


def test_behind_tls_the_cookies_are_secure(gateway: Gateway, console: Console) -> None:
    console.settings.behind_tls_proxy = True
    with TestClient(console.app, base_url="https://console.test") as client:
        form = client.get("/login")
        assert "Secure" in form.headers["set-cookie"]
        response = client.post(
            "/login",
            data={"csrf": csrf_of(form.text), "name": "alice", "password": PASSWORDS["alice"]},
            follow_redirects=False,
        )
        assert "Secure" in response.headers["set-cookie"]


def test_every_refused_login_gets_one_answer_and_an_installer_unlocks_a_locked_manager(
    client: TestClient, gateway: Gateway
) -> None:
    answers = set()
    for name, password in [("alice", "guess")] * 5 + [("mallory", "guess")]:
        form = client.get("/login")
        refused = client.post(
            "/login", data={"csrf": csrf_of(form.text), "name": name, "password": password}
        )
        assert refused.status_code == 401
        answers.add(refused.text.split('class="error"')[1].split("</p>")[0])
    # Locked now: even the right password gets the same answer as a wrong one, or a wrong name.
    form = client.get("/login")
    right = client.post(
        "/login",
        data={"csrf": csrf_of(form.text), "name": "alice", "password": PASSWORDS["alice"]},
    )
    assert right.status_code == 401
    answers.add(right.text.split('class="error"')[1].split("</p>")[0])
    assert len(answers) == 1 and "Wrong name or password, or the account is locked" in answers.pop()
    actions = [e.action for e in gateway.residents.audit.entries()]
    assert "user_locked" in actions  # the audit keeps the reason
    # An installer unlocks her from the console.
    csrf = log_in(client, "ivan")
    assert "Unlock" in client.get("/installer/diagnostics").text
    unlocked = client.post("/installer/users/alice/unlock", data={"csrf": csrf})
    assert unlocked.status_code == 200 and "Unlock" not in unlocked.text
    client.post("/logout", data={"csrf": csrf})
    log_in(client, "alice")
    assert "user_unlocked" in [e.action for e in gateway.residents.audit.entries()]


def test_the_login_form_has_a_small_body_limit(client: TestClient) -> None:
    form = client.get("/login")
    data = {"csrf": csrf_of(form.text), "name": "alice", "password": "x" * 10_000}
    assert client.post("/login", data=data).status_code == 413


def test_many_failed_logins_from_one_computer_must_wait(client: TestClient) -> None:
    for n in range(20):  # guessing names: no single account is locked
        form = client.get("/login")
        data = {"csrf": csrf_of(form.text), "name": f"guess{n}", "password": "guess"}
        assert client.post("/login", data=data).status_code == 401
    form = client.get("/login")
    data = {"csrf": csrf_of(form.text), "name": "alice", "password": PASSWORDS["alice"]}
    waited = client.post("/login", data=data)
    assert waited.status_code == 429 and "wait 15 minutes" in waited.text


def test_the_login_form_without_its_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"name": "alice", "password": PASSWORDS["alice"]})
    assert response.status_code == 403
    assert "login form expired" in response.text
    assert "cg_session" not in client.cookies


def test_a_login_token_without_its_cookie_is_refused(client: TestClient) -> None:
    token = csrf_of(client.get("/login").text)
    client.cookies.clear()
    response = client.post(
        "/login", data={"csrf": token, "name": "alice", "password": PASSWORDS["alice"]}
    )
    assert response.status_code == 403


def test_after_login_only_a_path_on_this_console_is_followed(client: TestClient) -> None:
    for target, expected in (("/events", "/events"), ("//evil.example", "/"), ("http://x", "/")):
        client.cookies.clear()
        form = client.get("/login")
        response = client.post(
            "/login",
            data={
                "csrf": csrf_of(form.text),
                "name": "alice",
                "password": PASSWORDS["alice"],
                "next": target,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == expected


def test_a_session_cookie_from_another_gateway_is_refused(
    client: TestClient, tmp_path: Path
) -> None:
    other = make_gateway(tmp_path / "other")
    try:
        foreign = Console(other, other.config.web)
        foreign.users.add("alice", "manager", PASSWORDS["alice"])
        with TestClient(foreign.app, base_url="http://other.test") as elsewhere:
            log_in(elsewhere, "alice")
            cookie = elsewhere.cookies.get("cg_session")
        client.cookies.set("cg_session", cookie or "")
        response = client.get("/", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    finally:
        other.close()


def test_forms_without_the_sessions_csrf_token_or_from_another_site_are_refused(
    client: TestClient, gateway: Gateway, faces: Path, recognizer: object
) -> None:
    csrf = log_in(client, "alice")
    assert enroll(client, csrf, [("1.jpg", photo(faces, "John_Salley", 1))]).status_code == 200
    missing = client.post("/residents/A-12-kim/status", data={"status": "suspended"})
    assert missing.status_code == 403 and "has expired" in missing.text
    forged = client.post(
        "/residents/A-12-kim/status", data={"csrf": "forged", "status": "suspended"}
    )
    assert forged.status_code == 403
    foreign = client.post(
        "/residents/A-12-kim/status",
        data={"csrf": csrf, "status": "suspended"},
        headers={"origin": "http://evil.example"},
    )
    assert foreign.status_code == 403
    assert gateway.residents.require("A-12-kim").status == "active"
    check = client.post("/residents/photo-check", files={"photo": ("1.jpg", b"x", "image/jpeg")})
    assert check.status_code == 403


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


def test_pages_are_not_framed_sniffed_or_cached(client: TestClient) -> None:
    log_in(client, "alice")
    headers = client.get("/").headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"


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


# -- residents ----------------------------------------------------------------------------


def test_enrolling_keeps_good_photos_names_the_bad_and_is_audited(
    client: TestClient, gateway: Gateway, faces: Path
) -> None:
    csrf = log_in(client, "alice")
    rocket = (faces / "objects" / "rocket.jpg").read_bytes()
    two = (TEST_PHOTOS / "two_people.jpg").read_bytes()
    small = encode_jpeg(load_image(faces / "people/John_Schneider/01.jpg")[::2, ::2])
    files = [
        ("good-1.jpg", photo(faces, "John_Schneider", 1)),
        ("good-2.jpg", photo(faces, "John_Schneider", 2)),
        ("rocket.jpg", rocket),
        ("two.jpg", two),
        ("small.jpg", small),
        ("notes.txt", b"not a photo at all"),
    ]
    response = enroll(client, csrf, files)
    assert response.status_code == 200
    text = response.text
    assert "with 2 of 6 photos" in text
    results = dict(re.findall(r'<li class="(?:accepted|refused)">([^:]+): ([^<]+)</li>', text))
    assert results["good-1.jpg"] == "good" and results["good-2.jpg"] == "good"
    assert results["rocket.jpg"] == "no face found"
    assert results["two.jpg"].startswith("2 faces")
    assert results["small.jpg"].startswith("the face is too small")
    assert results["notes.txt"] == "not a photo (a JPEG or PNG is needed)"
    resident = gateway.residents.require("A-12-kim")
    assert resident.templates == 2 and resident.name == "Kim"
    entry = gateway.residents.audit.entries(subject="A-12-kim")[0]
    assert entry.actor == "console:alice" and entry.action == "enrolled"
    listing = client.get("/residents?q=kim").text
    assert "A-12-kim" in listing
    assert "A-12-kim" not in client.get("/residents?q=nobody").text


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"resident_id": "A 12/kim"}, "resident_id", "letters, digits"),
        ({"name": ""}, "name", "name is missing"),
        ({"unit": ""}, "unit", "unit is missing"),
        ({"consent": ""}, "consent", "consent"),
        ({"valid_until": "next week"}, "valid_until", "A date like 2027-06-30"),
    ],
)
def test_enrollment_form_errors_name_the_field_and_store_nothing(
    client: TestClient,
    gateway: Gateway,
    faces: Path,
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    csrf = log_in(client, "alice")
    response = enroll(client, csrf, [("1.jpg", photo(faces, "John_Schneider", 1))], **fields)
    assert response.status_code == 400
    error = re.search(rf'data-field="{field}">([^<]+)<', response.text)
    assert error and message in error.group(1)
    assert gateway.residents.all() == []


def test_enrollment_without_photos_or_with_none_usable_is_refused(
    client: TestClient, gateway: Gateway, faces: Path
) -> None:
    csrf = log_in(client, "alice")
    none = enroll(client, csrf, [])
    assert none.status_code == 400 and "Add at least one photo" in none.text
    rocket = (faces / "objects" / "rocket.jpg").read_bytes()
    useless = enroll(client, csrf, [("rocket.jpg", rocket)])
    assert useless.status_code == 400
    assert "No photo could be used" in useless.text and "no face found" in useless.text
    assert gateway.residents.all() == []


def test_a_photo_over_the_limit_is_refused_and_a_huge_upload_stopped(
    client: TestClient, gateway: Gateway, faces: Path
) -> None:
    csrf = log_in(client, "alice")
    big = photo(faces, "John_Schneider", 1) + b"\0" * 1_100_000  # over max_upload_mb = 1
    response = enroll(
        client, csrf, [("big.jpg", big), ("1.jpg", photo(faces, "John_Schneider", 1))]
    )
    assert "big.jpg: too large: at most 1 MB per photo" in response.text
    huge = client.post(
        "/residents/new",
        data={"csrf": csrf},
        files=[("photos", ("huge.jpg", b"\0" * 12_000_000, "image/jpeg"))],
    )
    assert huge.status_code == 413 and "too large" in huge.text
    checked = client.post(
        "/residents/photo-check",
        files={"photo": ("big.jpg", big, "image/jpeg")},
        headers={"x-csrf-token": csrf},
    )
    assert checked.json()["reason"] == "too large: at most 1 MB per photo"


def test_an_image_bomb_upload_is_refused_with_its_size(client: TestClient, faces: Path) -> None:
    csrf = log_in(client, "alice")
    response = enroll(
        client, csrf, [("bomb.png", png_bomb()), ("1.jpg", photo(faces, "John_Schneider", 1))]
    )
    assert "bomb.png: a PNG of 30000 x 30000 pixels; at most 40 megapixels" in response.text
    checked = client.post(
        "/residents/photo-check",
        files={"photo": ("bomb.png", png_bomb(), "image/png")},
        headers={"x-csrf-token": csrf},
    )
    assert "30000 x 30000" in checked.json()["reason"]


def test_each_photo_is_checked_at_once(client: TestClient, faces: Path) -> None:
    csrf = log_in(client, "alice")

    def check(name: str, body: bytes) -> dict[str, object]:
        response = client.post(
            "/residents/photo-check",
            files={"photo": (name, body, "image/jpeg")},
            headers={"x-csrf-token": csrf},
        )
        assert response.status_code == 200
        result: dict[str, object] = response.json()
        return result

    assert check("1.jpg", photo(faces, "John_Schneider", 1)) == {
        "photo": "1.jpg", "accepted": True, "reason": None,
    }  # fmt: skip
    rocket = (faces / "objects" / "rocket.jpg").read_bytes()
    assert check("rocket.jpg", rocket)["reason"] == "no face found"
    assert check("x.txt", b"text")["reason"] == "not a photo (a JPEG or PNG is needed)"
    missing = client.post("/residents/photo-check", data={}, headers={"x-csrf-token": csrf})
    assert missing.status_code == 400 and "field 'photo'" in missing.json()["error"]


def test_a_door_camera_without_a_picture_is_named_as_the_photos_problem(
    client: TestClient, gateway: Gateway
) -> None:
    csrf = log_in(client, "alice")
    assert "Or take a photo now with a door camera" in client.get("/residents/new").text
    response = enroll(client, csrf, [], camera="gate-main")
    assert response.status_code == 400
    assert "camera gate-main: the camera of gate-main has no picture yet" in response.text
    unknown = enroll(client, csrf, [], camera="bin-north-1")
    assert "&#39;bin-north-1&#39; is not a door with a camera" in unknown.text


def test_what_residents_typed_is_shown_as_text_never_as_markup(
    client: TestClient, gateway: Gateway, faces: Path
) -> None:
    csrf = log_in(client, "alice")
    name = '<script>alert("x")</script>'
    enroll(client, csrf, [("1.jpg", photo(faces, "John_Schneider", 1))], name=name)
    page = client.get("/residents/A-12-kim").text
    assert name not in page and "&lt;script&gt;" in page


def test_suspend_resume_and_remove_with_confirmation(
    client: TestClient, gateway: Gateway, faces: Path
) -> None:
    csrf = log_in(client, "alice")
    enroll(client, csrf, [("1.jpg", photo(faces, "John_Schneider", 1))])
    status = "/residents/A-12-kim/status"
    client.post(status, data={"csrf": csrf, "status": "suspended"})
    assert gateway.residents.require("A-12-kim").status == "suspended"
    assert "Resume access" in client.get("/residents/A-12-kim").text
    client.post(status, data={"csrf": csrf, "status": "active"})
    assert gateway.residents.require("A-12-kim").status == "active"
    bad = client.post(status, data={"csrf": csrf, "status": "banished"})
    assert bad.status_code == 400
    assert "cannot be brought back" in client.get("/residents/A-12-kim/remove").text
    unconfirmed = client.post("/residents/A-12-kim/remove", data={"csrf": csrf, "confirm": "yes"})
    assert unconfirmed.status_code == 400 and "to confirm the removal" in unconfirmed.text
    assert gateway.residents.get("A-12-kim") is not None
    removed = client.post("/residents/A-12-kim/remove", data={"csrf": csrf, "confirm": "A-12-kim"})
    assert removed.status_code == 200 and "templates are erased" in removed.text
    assert gateway.residents.get("A-12-kim") is None
    actions = [(e.actor, e.action) for e in gateway.residents.audit.entries(subject="A-12-kim")]
    assert actions[:3] == [
        ("console:alice", "removed"),
        ("console:alice", "resumed"),
        ("console:alice", "suspended"),
    ]
    assert client.get("/residents/A-12-kim").status_code == 404


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
