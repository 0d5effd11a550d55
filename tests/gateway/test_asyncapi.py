"""The AsyncAPI document says what topics.py and messages.py do."""

from __future__ import annotations

import re
import sys
import typing
from pathlib import Path

import yaml

from gateway.errors import CommandRejected
from gateway.messages import Command, Envelope
from gateway.plugins import device_kinds
from gateway.topics import Topics

DOC = (Path(__file__).resolve().parents[2] / "config" / "asyncapi.yaml").read_text()


def address(channel: str) -> str:
    match = re.search(rf"^  {channel}:\n    address: \"(.+)\"", DOC, re.MULTILINE)
    assert match, channel
    return match.group(1)


def test_channel_addresses_match_topics() -> None:
    t = Topics("{prefix}", "{site}", "{gateway}")
    assert address("status") == t.status
    assert address("audit") == t.audit
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


def test_every_device_kind_and_command_is_documented() -> None:
    kinds = yaml.safe_load(DOC)["x-device-kinds"]
    registered = {name: k.driver_class() for name, k in device_kinds().items()}
    assert set(kinds) == set(registered)
    for kind, driver in registered.items():
        documented = kinds[kind]["commands"]
        specs = driver.command_specs()
        assert set(documented) == set(specs), kind
        for name, spec in specs.items():
            assert documented[name]["signed"] == spec.actuating, (kind, name)
            fields = [f.alias or n for n, f in spec.args.model_fields.items()]
            assert documented[name]["args"] == fields, (kind, name)
        # Every documented event is one the kind's package names in its docstring.
        module = sys.modules[driver.__module__.rpartition(".")[0]].__doc__ or ""
        for event in kinds[kind]["events"]:
            runtime = {
                "driver_crashed",
                "storage_recovered",
                "audit_checkpoint",
                "config_applied",
                "config_rolled_back",
            }  # the runtime's
            assert f"``{event}``" in module or event in runtime, (kind, event)
