"""Topics are built and parsed in one place; no input makes parsing crash."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import CommandRejected
from gateway.topics import Topics

T = Topics("cg/v1", "park", "gw-1")


def test_contract_topics() -> None:
    assert T.status == "cg/v1/park/gw-1/status"
    assert T.device("bin-3", "telemetry") == "cg/v1/park/gw-1/dev/bin-3/telemetry"
    assert T.reply("abc") == "cg/v1/park/gw-1/reply/abc"
    assert T.command_filter == "cg/v1/park/gw-1/cmd/+/+"
    assert T.parse_command(T.command("locker-1", "deposit")) == ("locker-1", "deposit")
    assert T.parse_device(T.device("bin-3", "event")) == ("bin-3", "event")
    assert T.parse_device(T.status) is None


@pytest.mark.parametrize(
    "topic",
    [
        "cg/v1/park/gw-1/cmd/bin",
        "cg/v1/park/gw-1/cmd/a/b/c",
        "cg/v1/other/gw-1/cmd/a/b",
        "cg/v1/park/gw-1/cmd/+/b",
        "cg/v1/park/gw-1/cmd//b",
    ],
)
def test_bad_command_topics_are_rejected(topic: str) -> None:
    with pytest.raises(CommandRejected) as info:
        T.parse_command(topic)
    assert info.value.field == "topic"


@settings(max_examples=2000)
@given(st.text())
def test_parsing_any_string_either_works_or_rejects(topic: str) -> None:
    try:
        device, command = T.parse_command(T.root + "/cmd/" + topic)
    except CommandRejected:
        return
    assert Topics.valid_segment(device) and Topics.valid_segment(command)
