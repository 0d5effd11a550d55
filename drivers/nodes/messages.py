"""What a node sends, checked: every field typed and bounded, so a node that sends garbage is
reported and the rest of the gateway never sees it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BinReading", "CareReading", "Entry", "NodeEvent", "NodeStatus", "WaterReading"]


class _Checked(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NodeStatus(_Checked):
    """``nodes/<id>/status`` (retained; ``offline`` is the node's last will)."""

    state: Literal["online", "asleep", "offline"]
    fw: str = Field(default="", max_length=32)
    role: str = Field(default="", max_length=16)


class Entry(_Checked):
    """What every entry of ``nodes/<id>/up`` has: its place in the node's journal."""

    seq: int = Field(ge=1, lt=2**53)
    #: Names the flash the sequence is counted on (new after the flash is erased).
    epoch: str = Field(pattern=r"^[0-9a-f]{1,16}$")
    #: When it was measured, on the node's clock (Unix seconds).
    t: int = Field(ge=0, lt=2**40)
    #: How long before it was sent it was measured (the node's clock may not be set).
    age_s: int = Field(default=0, ge=0, lt=10**9)
    type: Literal["reading", "event"]
    battery_v: float | None = Field(default=None, ge=0, le=12)
    rssi: int | None = Field(default=None, ge=-127, le=0)


class NodeEvent(Entry):
    type: Literal["event"]
    event: str = Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")
    file: str | None = Field(default=None, max_length=64)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    reason: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=64)
    lost: int | None = Field(default=None, ge=0)
    valve_open: bool | None = None
    active: bool | None = None


class BinReading(Entry):
    type: Literal["reading"]
    distance_m: float | None = Field(ge=0, le=10)
    temperature_c: float | None = Field(default=None, ge=-55, le=125)
    lid_open: bool | None = None
    wake: Literal["timer", "lid"] | None = None


class WaterReading(Entry):
    type: Literal["reading"]
    pulses: int = Field(ge=0, lt=2**53)
    leak: bool
    valve_open: bool
    locked: str | None = Field(default=None, max_length=32)


class CareReading(Entry):
    type: Literal["reading"]
    smoke: bool | None = None
    led: Literal["blink", "on", "off"]
