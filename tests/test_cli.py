"""The ``gateway`` command as installers use it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from gateway.cli import app
from gateway.db import Database

ROOT = Path(__file__).resolve().parents[1]
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
    ]


def test_config_check_errors_exit_2_with_the_key_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('site = "s"\ngateway_id = "g"\nlog_levle = "debug"\n')
    result = runner.invoke(app, ["config", "check", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:log_levle: unknown key (allowed: commands, data_dir, devices" in result.output
    assert "(line 3)" in result.output


def test_keys_new_writes_a_private_key_and_prints_the_config(tmp_path: Path) -> None:
    key = tmp_path / "ops.pem"
    result = runner.invoke(app, ["keys", "new", "--out", str(key), "--name", "office"])
    assert result.exit_code == 0
    assert key.stat().st_mode & 0o777 == 0o600
    assert '[[commands.operators]]\nname = "office"\npublic_key = "' in result.output
    assert runner.invoke(app, ["keys", "new", "--out", str(key)]).exit_code == 1


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
