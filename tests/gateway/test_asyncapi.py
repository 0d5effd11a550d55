"""The AsyncAPI document says what topics.py and messages.py do."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from gateway.errors import CommandRejected
from gateway.messages import Command, Envelope
from gateway.topics import Topics

DOC = (Path(__file__).resolve().parents[2] / "config" / "asyncapi.yaml").read_text()


def address(channel: str) -> str:
    match = re.search(rf"^  {channel}:\n    address: \"(.+)\"", DOC, re.MULTILINE)
    assert match, channel
    return match.group(1)


def test_channel_addresses_match_topics() -> None:
    t = Topics("{prefix}", "{site}", "{gateway}")
    assert address("status") == t.status
    for kind in ("state", "telemetry", "event"):
        assert address(kind) == t.device("{device}", kind)
    assert address("command") == t.command("{device}", "{command}")
    assert address("reply") == t.reply("{id}")


def test_envelope_and_command_fields_match_the_models() -> None:
    envelope = re.search(r"required: \[(v, msg_id.*)\]", DOC)
    assert envelope
    assert envelope.group(1).split(", ") == list(Envelope.model_fields)
    for field in Command.model_fields:
        assert f"          {field}: " in DOC
    codes = re.search(r"code:\n\s+enum: \[(.*?)\]", DOC, re.DOTALL)
    assert codes
    documented = {c.strip() for c in codes.group(1).split(",")}
    assert CommandRejected.__doc__ is not None
    in_code = set(re.findall(r"``(\w+)``", CommandRejected.__doc__)) - {"code", "error"}
    assert documented == in_code
    assert typing.get_args(Envelope.model_fields["type"].annotation) == (
        "telemetry",
        "event",
        "state",
    )
