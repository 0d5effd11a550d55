"""A care point's configuration and its commands' arguments."""

from __future__ import annotations

from pydantic import ConfigDict, Field, model_validator

from drivers.base import Pin
from gateway.devices import Args, DeviceConfig

__all__ = ["AcknowledgeArgs", "CareConfig", "CareSettings"]


class CareSettings(DeviceConfig):
    """What any care point has, wired to the gateway or on a care node: its home, its call's
    timing, its welfare check."""

    model_config = ConfigDict(extra="forbid")

    #: The home's unit, as the residents are enrolled with it (``gateway residents list``).
    unit: str = Field(min_length=1, max_length=50)
    #: Telemetry and supervision period; missing two is ``care_point_offline``.
    report_period_s: float = Field(default=300.0, gt=0, le=3_600)
    #: An unacknowledged call is sent again this often.
    call_repeat_s: float = Field(default=60.0, ge=5, le=3_600)
    #: After ``acknowledge_call`` the LED stays steady this long, then the call is closed.
    acknowledged_led_s: float = Field(default=1_800.0, gt=0, le=86_400)
    #: Watch the home for the welfare check (residents of ``unit`` may set their own period).
    welfare_check: bool = True
    #: Hours without activity (home or gate) before ``welfare_check_due``.
    welfare_check_h: float = Field(default=48.0, ge=1, le=720)
    #: An offline care point becomes critical after this long.
    offline_critical_s: float = Field(default=3_600.0, gt=0)

    def homes(self) -> frozenset[str]:
        return frozenset({self.unit}) if self.welfare_check else frozenset()

    @property
    def has_call(self) -> bool:
        """Whether the home has an emergency call button."""
        return True

    @property
    def has_smoke(self) -> bool:
        """Whether the home's smoke detector is connected."""
        return True


class CareConfig(CareSettings):
    """``[[devices]] kind = "care_point"``: one home's emergency call, smoke and activity,
    wired to the gateway."""

    kind: str = "care_point"
    sample_period_s: float = Field(default=1.0, gt=0, le=10)
    #: The call button or pull cord (closes to ground: pull-up, pressed reads low).
    call_pin: Pin | None = None
    #: The button's LED: blinks while a call waits, steady once help is coming.
    led_pin: Pin | None = None
    #: The smoke detector's alarm contact or interconnect output (active high).
    smoke_pin: Pin | None = None
    #: The infrared presence sensor at the home's entrance (active high while it sees
    #: movement).
    presence_pin: Pin | None = None
    #: The home's door contact (closes to ground when the door is shut): opening or closing
    #: is activity too.
    door_pin: Pin | None = None
    #: The supervision loop through the care point's devices (closes to ground while they
    #: are connected and powered); open for two report periods: ``care_point_offline``.
    supervision_pin: Pin | None = None

    @model_validator(mode="after")
    def _has_an_input(self) -> CareConfig:
        if all(
            p is None for p in (self.call_pin, self.smoke_pin, self.presence_pin, self.door_pin)
        ):
            raise ValueError(
                "a care point needs at least one of call_pin, smoke_pin, presence_pin, door_pin"
            )
        pins = [
            p
            for p in (
                self.call_pin,
                self.led_pin,
                self.smoke_pin,
                self.presence_pin,
                self.door_pin,
                self.supervision_pin,
            )
            if p is not None
        ]
        if len(set(map(str, pins))) != len(pins):
            raise ValueError("each of the care point's pins must be a different pin")
        return self

    @property
    def has_call(self) -> bool:
        return self.call_pin is not None

    @property
    def has_smoke(self) -> bool:
        return self.smoke_pin is not None


class AcknowledgeArgs(Args):
    """``acknowledge_call``: help is on its way."""

    #: The call being answered (default: the one waiting).
    call_id: str | None = Field(default=None, max_length=64)
    #: Who is coming (shown to nobody at the home; kept in the event).
    responder: str | None = Field(default=None, min_length=1, max_length=100)
