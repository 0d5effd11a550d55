"""The ``gateway`` command as installers use it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.audit import AuditLog
from gateway.cli import app
from gateway.db import Database

ROOT = Path(__file__).resolve().parents[3]
runner = CliRunner()


def test_config_check_ok_and_json() -> None:
    result = runner.invoke(app, ["config", "check", str(ROOT / "config/demo.toml")])
    assert result.exit_code == 0 and "OK" in result.output
    result = runner.invoke(
        app, ["config", "check", "--json", str(ROOT / "config/gateway.example.toml")]
    )
    assert json.loads(result.output)["devices"] == [
        {"id": "gateway", "kind": "gateway"},
        {"id": "bin-north-1", "kind": "bin"},
        {"id": "water-1", "kind": "water_station"},
        {"id": "lockers-a", "kind": "locker_bank"},
        {"id": "gate-main", "kind": "entry"},
    ]


def test_config_check_errors_exit_2_with_the_key_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('site = "s"\ngateway_id = "g"\nlog_levle = "debug"\n')
    result = runner.invoke(app, ["config", "check", str(bad)])
    assert result.exit_code == 2
    assert (
        f"{bad}:log_levle: unknown key (allowed: audit, commands, data_dir, devices"
        in result.output
    )
    assert "(line 3)" in result.output


def test_keys_new_writes_a_private_key_and_prints_the_config(tmp_path: Path) -> None:
    key = tmp_path / "ops.pem"
    result = runner.invoke(app, ["keys", "new", "--out", str(key), "--name", "office"])
    assert result.exit_code == 0
    assert key.stat().st_mode & 0o777 == 0o600
    assert '[[commands.operators]]\nname = "office"\npublic_key = "' in result.output
    assert runner.invoke(app, ["keys", "new", "--out", str(key)]).exit_code == 1


def test_a_key_can_be_kept_under_a_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.cli.keys import load_operator_key

    key = tmp_path / "ops.pem"
    args = ["keys", "new", "--out", str(key), "--passphrase-stdin"]
    short = runner.invoke(app, args, input="short\n")
    assert short.exit_code == 2 and "at least 12 characters" in short.output
    made = runner.invoke(app, args, input="correct horse battery\n")
    assert made.exit_code == 0, made.output
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes() and "encrypted" in made.output
    monkeypatch.setattr("sys.stdin", io.StringIO("wrong phrase here\n"))
    with pytest.raises(SystemExit):
        load_operator_key(key, passphrase_stdin=True)
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert load_operator_key(key, passphrase_stdin=True).public_key() is not None


def test_outbox_stats_json(tmp_path: Path) -> None:
    config = tmp_path / "g.toml"
    config.write_text(f'site = "s"\ngateway_id = "g"\ndata_dir = "{tmp_path}/data"\n')
    result = runner.invoke(app, ["outbox", "stats", "--config", str(config), "--json"])
    assert result.exit_code == 0
    stats = json.loads(result.output)
    assert stats["depth"] == 0 and stats["dropped"] == 0 and stats["max_rows"] == 500_000


def test_deliveries_list_and_show_hide_the_code(tmp_path: Path) -> None:
    config = tmp_path / "g.toml"
    config.write_text(f'site = "s"\ngateway_id = "g"\ndata_dir = "{tmp_path}/data"\n')
    result = runner.invoke(app, ["deliveries", "list", "--config", str(config)])
    assert result.exit_code == 1 and "has this gateway run yet" in result.output
    result = runner.invoke(app, ["deliveries", "list", "--limit", "0", "--config", str(config)])
    assert result.exit_code == 2 and "Invalid value for '--limit'" in result.output

    db = Database(tmp_path / "data" / "gateway.sqlite3")
    store = db.device_store("lockers-a")
    temperature = {"min_c": 2.1, "max_c": 4.4, "mean_c": 3.0, "minutes_out_of_band": 0.0}
    with store.batch():
        store.put_record(
            "deliveries",
            "D-1",
            "held",
            "2026-11-23T10:00:00.000Z",
            {
                "compartment": "C02",
                "class": "chilled",
                "deposited_at": "2026-11-23T09:00:00.000Z",
                "code_hash": "ab" * 32,
                "code_salt": "cd" * 16,
                "record": {"weighted_c_s": 1.0},
                "temperature": temperature,
            },
        )
        store.put_record("deliveries", "D-0", "collected", "2026-11-22T10:00:00.000Z", {})
    db.close()

    result = runner.invoke(app, ["deliveries", "list", "--config", str(config), "--json"])
    assert result.exit_code == 0
    assert [d["id"] for d in json.loads(result.output)] == ["D-1", "D-0"]  # newest first
    result = runner.invoke(app, ["deliveries", "list", "--status", "held", "--config", str(config)])
    assert "D-1" in result.output and "D-0" not in result.output and "4.4" in result.output

    result = runner.invoke(app, ["deliveries", "show", "D-1", "--config", str(config), "--json"])
    shown = json.loads(result.output)
    assert shown["status"] == "held" and shown["temperature"] == temperature
    assert not {"code_hash", "code_salt", "record"} & set(shown)
    result = runner.invoke(app, ["deliveries", "show", "D-9", "--config", str(config)])
    assert result.exit_code == 1 and "gateway deliveries list" in result.output


def test_residents_enroll_identify_import_remove_and_audit(tmp_path: Path, faces: Path) -> None:
    config = tmp_path / "g.toml"
    config.write_text(f'site = "s"\ngateway_id = "g"\ndata_dir = "{tmp_path}/data"\n')
    people = faces / "people"
    c = ["--config", str(config)]
    result = runner.invoke(
        app,
        ["residents", "enroll", *c, "--id", "R1", "--name", "John Salley", "--unit", "3C"]
        + [str(people / "John_Salley" / f"0{n}.jpg") for n in (2, 3)]
        + [str(faces / "objects" / "moon.png"), str(tmp_path / "nope.jpg")],
    )
    assert result.exit_code == 0, result.output
    assert "moon.png: rejected: no face found" in result.output
    assert "nope.jpg: rejected: no such file" in result.output
    assert "enrolled R1 (John Salley, 3C) with 2 of 4 photos" in result.output

    (tmp_path / "photos").mkdir()
    for person, n in (("John_Savage", 1), ("John_Savage", 2), ("John_Schneider", 2)):
        (tmp_path / "photos" / f"{person}_{n}.jpg").write_bytes(
            (people / person / f"{n:02d}.jpg").read_bytes()
        )
    (tmp_path / "complex.csv").write_text(
        "id,name,unit,photos\n"
        "R2,John Savage,4A,photos/John_Savage_1.jpg;photos/John_Savage_2.jpg\n"
        "R3,Nobody,5A,photos/missing.jpg\n"
        "R4,John Schneider,6A,photos/John_Schneider_2.jpg\n"
    )
    result = runner.invoke(
        app, ["residents", "import", str(tmp_path / "complex.csv"), *c, "--json"]
    )
    assert result.exit_code == 1  # one row failed
    rows = {r["id"]: r for r in json.loads(result.output)}
    assert rows["R2"]["enrolled"] and rows["R2"]["accepted"] == 2
    assert not rows["R3"]["enrolled"] and "no such file" in rows["R3"]["error"]
    assert rows["R4"]["enrolled"] and rows["R3"]["line"] == 3

    probes = [
        people / "John_Salley" / "07.jpg",
        people / "John_Simm" / "01.jpg",
        faces / "objects" / "rocket.jpg",
        tmp_path / "no-such-photo.jpg",
    ]
    result = runner.invoke(app, ["residents", "identify", *c, "--json", *map(str, probes)])
    decided = json.loads(result.output)
    assert [d["resident"] for d in decided] == ["R1", None, None, None]
    assert [d["faces"] for d in decided] == [1, 1, 0, 0]
    assert decided[3]["reason"] == "no such file"
    assert set(decided[0]) >= {"photo", "faces", "resident", "distance", "margin"}
    assert decided[0]["distance"] < 0.5

    assert runner.invoke(app, ["residents", "suspend", "R1", *c]).exit_code == 0
    result = runner.invoke(app, ["residents", "identify", *c, "--json", str(probes[0])])
    assert json.loads(result.output)[0]["resident"] is None  # a suspended resident is nobody
    assert runner.invoke(app, ["residents", "remove", "R4", *c], input="n\n").exit_code == 1
    assert runner.invoke(app, ["residents", "remove", "R4", *c, "--yes"]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["residents", "list", *c, "--json"]).output)
    assert {r["id"]: r["status"] for r in listed} == {"R1": "suspended", "R2": "active"}

    result = runner.invoke(app, ["audit", "verify", *c])
    assert result.exit_code == 0 and "intact: 5 entries" in result.output
    db = Database(tmp_path / "data" / "gateway.sqlite3")
    db.conn.execute("UPDATE audit SET actor = 'someone else' WHERE seq = 2")
    db.close()
    result = runner.invoke(app, ["audit", "verify", *c])
    assert result.exit_code == 1 and "entry 2" in result.output


def test_secrets_never_appear_in_config_check_output(tmp_path: Path) -> None:
    config = tmp_path / "g.toml"
    config.write_text(
        'site = "s"\ngateway_id = "g"\n[mqtt]\nusername = "gw"\npassword = "hunter2-secret"\n'
    )
    for extra in ([], ["--json"]):
        result = runner.invoke(app, ["config", "check", str(config), *extra])
        assert result.exit_code == 0, result.output
        assert "hunter2-secret" not in result.output
    config.write_text(config.read_text() + "port = 0\n")  # an error names the key, not the secret
    result = runner.invoke(app, ["config", "check", str(config)])
    assert result.exit_code == 2 and "hunter2-secret" not in result.output


def test_users_add_list_passwd_and_remove(tmp_path: Path) -> None:
    config = tmp_path / "g.toml"
    config.write_text(f'site = "s"\ngateway_id = "g"\ndata_dir = "{tmp_path}/data"\n')
    c = ["--config", str(config)]
    added = runner.invoke(
        app, ["users", "add", "alice", *c, "--role", "manager", "--password-stdin"],
        input="alice-manager-pw\n",
    )  # fmt: skip
    assert added.exit_code == 0 and "added alice (manager)" in added.output
    # Typed twice at the prompt, hidden.
    prompted = runner.invoke(
        app, ["users", "add", "ivan", *c, "--role", "installer"],
        input="ivan-installer-pw\nivan-installer-pw\n",
    )  # fmt: skip
    assert prompted.exit_code == 0 and "ivan-installer-pw" not in prompted.output
    listed = json.loads(runner.invoke(app, ["users", "list", *c, "--json"]).output)
    assert [(u["name"], u["role"]) for u in listed] == [("alice", "manager"), ("ivan", "installer")]
    bad_role = runner.invoke(
        app,
        ["users", "add", "bob", *c, "--role", "admin", "--password-stdin"],
        input="long-enough-pw\n",
    )
    assert (
        bad_role.exit_code == 1
        and "role 'admin': choose one of manager, installer" in bad_role.output
    )
    short = runner.invoke(app, ["users", "add", "bob", *c, "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    changed = runner.invoke(
        app, ["users", "passwd", "alice", *c, "--password-stdin"], input="a-new-password\n"
    )
    assert changed.exit_code == 0 and "sessions have ended" in changed.output
    removed = runner.invoke(app, ["users", "remove", "ivan", *c])
    assert removed.exit_code == 0
    missing = runner.invoke(app, ["users", "remove", "ivan", *c])
    assert missing.exit_code == 1 and "no user 'ivan'" in missing.output
    db = Database(tmp_path / "data" / "gateway.sqlite3")
    actions = [(e.action, e.subject) for e in AuditLog(db).entries()]
    db.close()
    assert actions == [
        ("user_removed", "ivan"),
        ("password_changed", "alice"),
        ("user_added", "ivan"),
        ("user_added", "alice"),
    ]


def test_the_demo_keeps_third_party_info_lines_out_unless_verbose(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from gateway.cli.common import _setup_logging

    _setup_logging("info", libraries="warning")
    try:
        with caplog.at_level(logging.INFO, logger="gateway"):
            logging.getLogger("transitions.core").info("Finished processing state")
            logging.getLogger("amqtt.broker").info("Listener started")
            logging.getLogger("gateway.app").info("gateway started")
        assert [r.name for r in caplog.records] == ["gateway.app"]
        _setup_logging("info", libraries="info")  # --verbose
        assert logging.getLogger("transitions").getEffectiveLevel() == logging.INFO
    finally:
        _setup_logging("info", libraries="notset")
