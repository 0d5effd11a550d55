"""The console's security rules, through the ASGI client: login everywhere, roles, the login's
lockout and cookies, CSRF, foreign cookies and origins, the headers of every page."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from gateway.app import Gateway
from gateway.web import Console
from tests.gateway.web.conftest import (
    PASSWORDS,
    csrf_of,
    enroll,
    log_in,
    make_gateway,
    photo,
)

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


def test_pages_are_not_framed_sniffed_or_cached(client: TestClient) -> None:
    log_in(client, "alice")
    headers = client.get("/").headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"
