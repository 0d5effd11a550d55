"""The residents' pages of the console: enrollment (every form error, each photo checked, the
upload limits), suspension, resumption and removal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from gateway.app import Gateway
from tests import TEST_PHOTOS, png_bomb
from tests.gateway.web.conftest import (
    enroll,
    log_in,
    photo,
)
from vision.faces import encode_jpeg, load_image

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
