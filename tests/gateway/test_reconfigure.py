"""The configuration file's apply, kept or rolled back, at every point a kill can hit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.errors import CommandRejected
from gateway.reconfigure import Reconfigure, masked

OLD = 'site = "s"\ngateway_id = "g"\n\n[mqtt]\npassword = "hunter2"\n'
NEW = OLD + '\n[[devices]]\nkind = "gateway"\nid = "gateway"\n'


@pytest.fixture
def reconfigure(tmp_path: Path) -> Reconfigure:
    (tmp_path / "gateway.toml").write_text(OLD)
    return Reconfigure(tmp_path / "gateway.toml", tmp_path)


def test_a_wrong_file_or_another_gateways_is_refused(reconfigure: Reconfigure) -> None:
    with pytest.raises(CommandRejected) as wrong:
        reconfigure.check('site = "s"\ngateway_id = "g"\nlog_levle = "info"\n', "s", "g")
    assert wrong.value.field == "toml" and "log_levle: unknown key" in str(wrong.value)
    with pytest.raises(CommandRejected, match="provision a new gateway"):
        reconfigure.check(NEW.replace('"g"', '"other"'), "s", "g")


def test_staged_then_kept(reconfigure: Reconfigure) -> None:
    reconfigure.check(NEW, "s", "g")
    reconfigure.stage(NEW, "v2", 30)
    pending = reconfigure.pending()
    assert pending is not None and reconfigure.in_place(pending)
    assert reconfigure.previous.read_text() == OLD and reconfigure.text() == NEW
    reconfigure.keep(pending)
    assert reconfigure.pending() is None and reconfigure.version == "v2"


def test_rolled_back_puts_the_previous_file_back(reconfigure: Reconfigure) -> None:
    reconfigure.stage(NEW, "v2", 30)
    pending = reconfigure.pending()
    assert pending is not None
    reconfigure.roll_back(pending, "the uplink did not come back within 30 s")
    assert reconfigure.text() == OLD
    after = reconfigure.pending()
    assert after is not None and after.state == "rolled_back" and "uplink" in after.reason


def test_killed_before_the_new_file_was_renamed_in_place(reconfigure: Reconfigure) -> None:
    reconfigure.stage(NEW, "v2", 30)
    reconfigure.file.write_text(OLD)  # as if the kill came between the marker and the rename
    pending = reconfigure.pending()
    assert pending is not None and not reconfigure.in_place(pending)


def test_a_garbled_marker_is_dropped(reconfigure: Reconfigure) -> None:
    reconfigure.marker.write_text("{not json")
    assert reconfigure.pending() is None and not reconfigure.marker.exists()
    reconfigure.marker.write_text(json.dumps({"unknown": 1}))
    assert reconfigure.pending() is None


def test_secrets_are_masked_for_config_get() -> None:
    assert masked(OLD) == 'site = "s"\ngateway_id = "g"\n\n[mqtt]\npassword = "***"\n'
