"""A locker bank's configuration and its commands' arguments."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from drivers.base import Pin
from drivers.thermostat import (
    CLASSES,
)
from gateway.devices import Args, DeviceConfig
from gateway.topics import SEGMENT_PATTERN

__all__ = [
    "SIZES",
    "BusConfig",
    "CompartmentConfig",
    "DeliveryArgs",
    "DepositArgs",
    "KeypadConfig",
    "LockerBankConfig",
    "PickupArgs",
    "Size",
    "TemperatureClass",
]

Size = Literal["S", "M", "L"]
TemperatureClass = Literal["ambient", "chilled", "frozen"]
SIZES: tuple[Size, ...] = ("S", "M", "L")


class BusConfig(BaseModel):
    """The shift-register board: five GPIO lines and the chain's length in bits."""

    model_config = ConfigDict(extra="forbid")

    clock: Pin
    data_out: Pin
    latch: Pin
    load: Pin
    data_in: Pin
    outputs: int = Field(default=40, ge=8, le=256, multiple_of=8)
    inputs: int = Field(default=16, ge=8, le=256, multiple_of=8)


class CompartmentConfig(BaseModel):
    """One row of ``[[devices.compartments]]``: bits on the board, probe, class, size."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(pattern=SEGMENT_PATTERN)
    size: Size
    temperature_class: TemperatureClass = Field(default="ambient", alias="class")
    #: Output bit of the latch relay.
    lock: int = Field(ge=0)
    #: Input bit of the door's reed switch (high: open).
    door: int = Field(ge=0)
    #: Output bit of the cooling relay (compressor or Peltier); chilled and frozen only.
    cooling: int | None = Field(default=None, ge=0)
    #: Output bit of a heater that keeps a chilled compartment above 0 °C in a cold room.
    heater: int | None = Field(default=None, ge=0)
    probe: str | None = Field(default=None, pattern=r"^28-[0-9a-f]{12}$")
    #: Overrides the class's setpoint; must lie inside its band.
    setpoint_c: float | None = None

    @model_validator(mode="after")
    def _class_needs(self) -> CompartmentConfig:
        profile = CLASSES[self.temperature_class]
        if profile is None:
            if self.cooling is not None or self.heater is not None:
                raise ValueError("an ambient compartment has no cooling or heater")
            return self
        if self.cooling is None or self.probe is None:
            raise ValueError(
                f"a {self.temperature_class} compartment needs a cooling bit and a probe"
            )
        low, high = profile.band
        if self.setpoint_c is not None and not low <= self.setpoint_c <= high:
            raise ValueError(
                f"setpoint_c {self.setpoint_c} is outside the {self.temperature_class} band "
                f"{low}…{high} °C"
            )
        return self


class KeypadConfig(BaseModel):
    """A matrix keypad wired to the board: rows on outputs (driven low to scan), columns on
    inputs (pulled up; a pressed key pulls its column low)."""

    model_config = ConfigDict(extra="forbid")

    rows: list[int] = Field(min_length=1, max_length=8)
    columns: list[int] = Field(min_length=1, max_length=8)
    #: The keys row by row; ``*`` clears the entry and ``#`` confirms it.
    keys: str = "123456789*0#"
    #: Real seconds after the last key press before a half-typed entry is forgotten.
    entry_timeout_s: float = Field(default=15.0, gt=0)

    @model_validator(mode="after")
    def _layout(self) -> KeypadConfig:
        if len(self.keys) != len(self.rows) * len(self.columns):
            raise ValueError(
                f"keys has {len(self.keys)} keys for {len(self.rows)} rows and "
                f"{len(self.columns)} columns"
            )
        if "#" not in self.keys:
            raise ValueError("keys needs a '#' to confirm a code")
        return self


class LockerBankConfig(DeviceConfig):
    """``[[devices]] kind = "locker_bank"``."""

    model_config = ConfigDict(extra="forbid")

    kind: str = "locker_bank"
    report_period_s: float = Field(default=300, gt=0, le=86_400)
    #: How often probes are read and the thermostats decide.
    sample_period_s: float = Field(default=30.0, gt=0, le=600)
    bus: BusConfig
    compartments: list[CompartmentConfig] = Field(min_length=1, max_length=128)
    #: Real seconds between reads of the door switches.
    door_poll_s: float = Field(default=0.05, gt=0, le=1)
    #: Real seconds the latch relay is energised.
    unlock_pulse_s: float = Field(default=0.5, gt=0, le=5)
    #: How long an opened compartment waits for its door to open before it gives up.
    open_window_s: float = Field(default=120.0, gt=0)
    door_held_open_s: float = Field(default=180.0, gt=0)
    differential_c: float = Field(default=2.0, gt=0, le=10)
    #: Compressor anti-short-cycle: at most 3600 / (min_on_s + min_off_s) starts an hour.
    min_on_s: float = Field(default=300.0, ge=0)
    min_off_s: float = Field(default=300.0, ge=0)
    #: Cooling duty while a probe is faulty (fail safe: some cooling rather than none).
    fault_duty: float = Field(default=0.5, ge=0, le=1)
    excursion_grace_s: float = Field(default=900.0, ge=0)
    excursion_critical_s: float = Field(default=3600.0, gt=0)
    reminder_hours: list[float] = Field(default=[24.0, 72.0])
    max_wrong_codes: int = Field(default=5, ge=1)
    wrong_code_window_s: float = Field(default=600.0, gt=0)
    lockout_s: float = Field(default=1800.0, gt=0)
    #: Eight digits: a keypad guess hits one of 50 held parcels once in two million.
    code_digits: int = Field(default=8, ge=6, le=10)
    keypad: KeypadConfig | None = None
    deadband_c: float = Field(default=0.5, ge=0)

    def pins(self) -> dict[str, int | str]:
        """The shift bus's five lines (the locks, doors, cooling and keypad are its bits)."""
        bus = self.bus
        lines = ("clock", "data_out", "latch", "load", "data_in")
        return {f"bus.{line}": getattr(bus, line) for line in lines}

    def probes(self) -> list[str]:
        return [c.probe for c in self.compartments if c.probe is not None]

    @model_validator(mode="after")
    def _bits(self) -> LockerBankConfig:
        ids = [c.id for c in self.compartments]
        if len(set(ids)) != len(ids):
            raise ValueError("compartment ids must be unique")
        outputs: dict[int, str] = {}
        inputs: dict[int, str] = {}
        for c in self.compartments:
            for name in ("lock", "cooling", "heater"):
                bit = getattr(c, name)
                if bit is None:
                    continue
                if bit >= self.bus.outputs:
                    raise ValueError(
                        f"compartment {c.id}: {name} bit {bit} is beyond the board's "
                        f"{self.bus.outputs} outputs (raise bus.outputs)"
                    )
                if bit in outputs:
                    raise ValueError(
                        f"compartment {c.id}: {name} bit {bit} is already {outputs[bit]}"
                    )
                outputs[bit] = f"{c.id}.{name}"
            if c.door >= self.bus.inputs:
                raise ValueError(
                    f"compartment {c.id}: door bit {c.door} is beyond the board's "
                    f"{self.bus.inputs} inputs (raise bus.inputs)"
                )
            if c.door in inputs:
                raise ValueError(
                    f"compartment {c.id}: door bit {c.door} is already {inputs[c.door]}"
                )
            inputs[c.door] = f"{c.id}.door"
        if self.keypad is not None:
            for kind, bits, used, size in (
                ("row", self.keypad.rows, outputs, self.bus.outputs),
                ("column", self.keypad.columns, inputs, self.bus.inputs),
            ):
                for bit in bits:
                    if bit >= size:
                        raise ValueError(f"keypad {kind} bit {bit} is beyond the board's {size}")
                    if bit in used:
                        raise ValueError(f"keypad {kind} bit {bit} is already {used[bit]}")
                    used[bit] = f"keypad.{kind}"
        return self


class DepositArgs(Args):
    model_config = ConfigDict(populate_by_name=True)

    size: Size
    temperature_class: TemperatureClass = Field(alias="class")
    delivery_ref: str = Field(pattern=SEGMENT_PATTERN)


class PickupArgs(Args):
    delivery_ref: str = Field(pattern=SEGMENT_PATTERN)
    code: str = Field(pattern=r"^[0-9]{4,10}$")


class DeliveryArgs(Args):
    delivery_ref: str = Field(pattern=SEGMENT_PATTERN)
