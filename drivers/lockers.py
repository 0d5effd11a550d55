"""Parcel lockers with temperature-controlled compartments (``kind = "locker_bank"``).

Couriers deposit, residents collect with a code, and food deliveries wait in chilled or
frozen compartments held at temperature, with a record that proves it.

Each compartment is a row of the ``compartments`` table: a latch relay (a pulse opens it),
a door reed switch, and for chilled and frozen ones a DS18B20 probe, a cooling relay and
optionally a heater. Relays and door switches sit on the bank's shift-register board
(:mod:`drivers.shiftbus`). Control is :mod:`drivers.thermostat`.

The flow (every command signed, every reply durable):

- ``deposit {size, class, delivery_ref}``: a free compartment of that class, of that size or
  the next larger, in its temperature band, opens; when its door has opened and closed the
  parcel is held and ``delivery_ready {compartment, delivery_ref, pickup_code}`` goes
  upstream. Only a salted hash of the code stays on the gateway.
- ``open_for_pickup {delivery_ref, code}``: the compartment opens; when its door has opened
  and closed, ``collected`` carries the delivery's temperature record. Five wrong codes in
  ten minutes lock the compartment out for a while (``compartment_locked_out``).
- ``return_delivery {delivery_ref}``: opens a held parcel's compartment for the courier to
  take it back (``returned``, with its record).
- The bank's keypad (optional, a matrix on the same board): a resident types the code and
  ``#``; the compartment holding that parcel opens. Five wrong codes lock the keypad out
  (``keypad_locked_out``); a right code for a locked-out compartment is ``pickup_refused``.

Events: ``delivery_ready``, ``collected``, ``returned``, ``deposit_cancelled``,
``uncollected`` (after each of ``reminder_hours``), ``wrong_code``,
``compartment_locked_out``, ``keypad_locked_out``, ``pickup_refused``, ``door_held_open``,
``door_forced`` (critical: opened without an unlock), ``cold_chain_excursion`` (warning
after the grace period, critical after the limit or past a hard limit),
``cold_chain_restored``, ``sensor_fault``, ``sensor_recovered``.

Telemetry: ``compartments``, a list of ``{id, class, temperature_c, setpoint_c, cooling_on,
door_open, occupied}``, on change and at the report period.

Deliveries live in the ``deliveries`` collection of the gateway's database (``gateway
deliveries list|show``); every change is committed before it is acted on, so a restart never
loses a parcel, a code or an open temperature record.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from drivers.base import Availability, Reporter
from drivers.sensors import read_ds18b20
from drivers.shiftbus import MatrixKeypad, ShiftRegisterBus
from drivers.thermostat import (
    CLASSES,
    ClassProfile,
    ExcursionMonitor,
    TemperatureRecord,
    Thermostat,
)
from gateway.devices import DeviceConfig, Driver, DriverContext, command
from gateway.errors import CommandRejected, DeviceUnavailable
from gateway.messages import isoformat
from gateway.topics import SEGMENT_PATTERN

__all__ = [
    "Attempts",
    "BusConfig",
    "CompartmentConfig",
    "KeypadConfig",
    "LockerBank",
    "LockerBankConfig",
    "hash_code",
]

Pin = int | str
Size = Literal["S", "M", "L"]
TemperatureClass = Literal["ambient", "chilled", "frozen"]
SIZES: tuple[Size, ...] = ("S", "M", "L")
COLLECTION = "deliveries"
CLOSED = ("collected", "returned", "cancelled")
_HASH_ITERATIONS = 50_000


def hash_code(code: str, salt: bytes) -> str:
    """The stored form of a pickup code (PBKDF2-SHA256)."""
    return hashlib.pbkdf2_hmac("sha256", code.encode(), salt, _HASH_ITERATIONS).hex()


def _reading(celsius: float | None) -> str:
    return "no probe reading" if celsius is None else f"{celsius:.1f} °C"


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
    code_digits: int = Field(default=6, ge=4, le=10)
    keypad: KeypadConfig | None = None
    deadband_c: float = Field(default=0.5, ge=0)

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


class DepositArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    size: Size
    temperature_class: TemperatureClass = Field(alias="class")
    delivery_ref: str = Field(pattern=SEGMENT_PATTERN)


class PickupArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delivery_ref: str = Field(pattern=SEGMENT_PATTERN)
    code: str = Field(pattern=r"^[0-9]{4,10}$")


class DeliveryArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delivery_ref: str = Field(pattern=SEGMENT_PATTERN)


@dataclass
class _Grant:
    """An unlock in progress: why, for which delivery, until when the door may open."""

    purpose: Literal["deposit", "pickup", "return"]
    delivery_ref: str
    expires: float


@dataclass
class _Compartment:
    cfg: CompartmentConfig
    profile: ClassProfile | None
    thermostat: Thermostat | None
    monitor: ExcursionMonitor | None
    probe: Availability = field(default_factory=Availability)
    temperature_c: float | None = None
    door_open: bool = False
    opened_at: float | None = None
    held_reported: bool = False
    excursion_counted: bool = False
    grant: _Grant | None = None
    #: The delivery it holds (or is reserved for); persisted.
    delivery: str | None = None

    @property
    def setpoint_c(self) -> float | None:
        if self.thermostat is None:
            return None
        return self.thermostat.setpoint_c

    def in_band(self) -> bool:
        if self.profile is None:
            return True
        t = self.temperature_c
        low, high = self.profile.band
        return self.probe.available and t is not None and low <= t <= high


class Attempts:
    """Wrong codes counted over a sliding window; too many lock out for a while.

    The state lives in the device's store under ``key``, so a restart does not reset it.
    """

    def __init__(
        self, ctx: DriverContext, key: str, *, limit: int, window_s: float, lockout_s: float
    ) -> None:
        self._ctx, self._key = ctx, key
        self._limit, self._window, self._lockout = limit, window_s, lockout_s

    def locked_until(self) -> str | None:
        until: str | None = self._ctx.store.get(self._key, {}).get("locked_out_until")
        if until and datetime.fromisoformat(until) > self._ctx.clock.now():
            return until
        return None

    def failed(self) -> tuple[int, str | None]:
        """Count a failure: how many in the window, and until when locked (if now locked)."""
        now = self._ctx.clock.now()
        window = timedelta(seconds=self._window)
        failures = [
            f
            for f in self._ctx.store.get(self._key, {}).get("failures", [])
            if now - datetime.fromisoformat(f) < window
        ]
        failures.append(isoformat(now))
        if len(failures) >= self._limit:
            until = isoformat(now + timedelta(seconds=self._lockout))
            self._ctx.store.set(self._key, {"failures": [], "locked_out_until": until})
            return len(failures), until
        self._ctx.store.set(self._key, {"failures": failures})
        return len(failures), None

    def reset(self) -> None:
        self._ctx.store.set(self._key, {})


class LockerBank(Driver):
    """One bank of compartments on one shift-register board."""

    kind = "locker_bank"
    config_model = LockerBankConfig
    config: LockerBankConfig

    _bus: ShiftRegisterBus | None = None
    _keypad: MatrixKeypad | None = None

    def __init__(self, config: DeviceConfig, ctx: DriverContext) -> None:
        super().__init__(config, ctx)
        cfg = self.config
        self._compartments: dict[str, _Compartment] = {}
        for c in cfg.compartments:
            profile = CLASSES[c.temperature_class]
            thermostat = monitor = None
            if profile is not None:
                thermostat = Thermostat(
                    c.setpoint_c if c.setpoint_c is not None else profile.setpoint_c,
                    differential_c=cfg.differential_c,
                    min_on_s=cfg.min_on_s,
                    min_off_s=cfg.min_off_s,
                    fault_duty=cfg.fault_duty,
                    heater_below_c=None if c.heater is None else profile.band[0] + 0.5,
                )
                monitor = ExcursionMonitor(
                    profile.alarm,
                    profile.hard,
                    grace_s=cfg.excursion_grace_s,
                    critical_s=cfg.excursion_critical_s,
                )
            self._compartments[c.id] = _Compartment(c, profile, thermostat, monitor)
        self._records: dict[str, TemperatureRecord] = {}

    # -- life --------------------------------------------------------------------------------

    async def run(self) -> None:
        ctx, cfg = self.ctx, self.config
        b = cfg.bus
        self._bus = ShiftRegisterBus(
            clock=b.clock,
            data_out=b.data_out,
            latch=b.latch,
            load=b.load,
            data_in=b.data_in,
            outputs=b.outputs,
            inputs=b.inputs,
            pin_factory=ctx.pins,
        )
        self._bus.write([False] * b.outputs)  # every latch shut, nothing running
        if cfg.keypad is not None:
            k = cfg.keypad
            self._keypad = MatrixKeypad(
                self._bus,
                rows=k.rows,
                columns=k.columns,
                keys=k.keys,
                entry_timeout_s=k.entry_timeout_s,
            )
        doors = self._bus.read()
        for c in self._compartments.values():
            c.door_open = doors[c.cfg.door]
            c.opened_at = ctx.clock.monotonic() if c.door_open else None
        await self._resume()
        layout = {
            c.cfg.id: {
                "size": c.cfg.size,
                "class": c.cfg.temperature_class,
                "band_c": list(c.profile.alarm) if c.profile else None,
            }
            for c in self._compartments.values()
        }
        await ctx.publish_state(
            {"name": cfg.name, "compartments": layout, "excursions": [], **self._occupancy()},
            available=True,
        )
        try:
            async with asyncio.TaskGroup() as tg:
                self._group = tg
                tg.create_task(self._watch_doors(), name=f"{cfg.id}-doors")
                tg.create_task(self._control(), name=f"{cfg.id}-control")
        finally:
            self.close()

    async def _resume(self) -> None:
        """After a start: take back every open delivery where it was."""
        store = self.ctx.store
        for record in store.open_records(COLLECTION, CLOSED):
            body = record.body
            c = self._compartments.get(body["compartment"])
            if c is None:
                self.ctx.log.error(
                    "delivery %s is in compartment %s, which the configuration no longer has",
                    record.id,
                    body["compartment"],
                )
                continue
            c.delivery = record.id
            self._records[record.id] = TemperatureRecord(
                c.profile.band if c.profile else None, body.get("record")
            )
            if body.get("pending_code"):  # killed before delivery_ready was durable
                await self._announce_ready(c, body)
            elif record.status == "reserved" and body.get("door_opened") and not c.door_open:
                await self._deposited(c)
            elif record.status == "reserved" and not c.door_open:
                await self._cancel_deposit(c, "the gateway restarted before the door opened")
            elif record.status in ("collecting", "returning"):
                if body.get("door_opened") and not c.door_open:
                    await self._handed_over(c)
                else:
                    self._set_status(c, "held")

    async def _watch_doors(self) -> None:
        """Read the door switches (real time: doors are people)."""
        assert self._bus is not None
        clock = self.ctx.clock
        while True:
            doors = self._bus.read()
            now = clock.monotonic()
            for c in self._compartments.values():
                is_open = doors[c.cfg.door]
                if is_open != c.door_open:
                    c.door_open = is_open
                    await (self._door_opened(c, now) if is_open else self._door_closed(c))
                elif (
                    is_open
                    and not c.held_reported
                    and c.opened_at is not None
                    and now - c.opened_at >= self.config.door_held_open_s
                ):
                    c.held_reported = True
                    await self.ctx.publish_event(
                        "door_held_open",
                        "warning",
                        compartment=c.cfg.id,
                        open_s=round(now - c.opened_at),
                    )
                if c.grant is not None and not c.door_open and now > c.grant.expires:
                    await self._grant_expired(c)
            entry = self._keypad.poll(doors, time.monotonic()) if self._keypad else None
            if entry is not None:
                self._group.create_task(self._keypad_entry(entry), name=f"{self.config.id}-code")
            await asyncio.sleep(self.config.door_poll_s)

    async def _door_opened(self, c: _Compartment, now: float) -> None:
        c.opened_at = now
        c.held_reported = False
        if c.grant is None:
            await self.ctx.publish_event(
                "door_forced",
                "critical",
                compartment=c.cfg.id,
                occupied=c.delivery is not None,
                delivery_ref=c.delivery,
            )
            return
        self._update(c, door_opened=True)

    async def _door_closed(self, c: _Compartment) -> None:
        c.opened_at = None
        grant, c.grant = c.grant, None
        if grant is None:
            return
        if grant.purpose == "deposit":
            await self._deposited(c)
        else:
            await self._handed_over(c)

    async def _grant_expired(self, c: _Compartment) -> None:
        grant, c.grant = c.grant, None
        assert grant is not None
        if grant.purpose == "deposit":
            await self._cancel_deposit(c, "the door was not opened in time")
        else:
            self._set_status(c, "held")
            self._update(c, door_opened=False)

    async def _control(self) -> None:
        """Probes, thermostats, excursions, records, reminders and telemetry."""
        ctx, cfg = self.ctx, self.config
        clock = ctx.clock
        reporter = Reporter(cfg.report_period_s, self._deadbands())
        last = clock.monotonic()
        while True:
            now = clock.monotonic()
            elapsed, last = now - last, now
            for c in self._compartments.values():
                await self._sample(c, now, elapsed)
            self._write_outputs()
            with ctx.store.batch():
                for c in self._compartments.values():
                    record = self._records.get(c.delivery) if c.delivery else None
                    if record is not None:
                        self._update(c, record=record.state(), temperature=record.summary())
            await self._remind(elapsed)
            values = self._telemetry()
            flat = self._flatten(values)
            if reporter.due(flat, now):
                await ctx.publish_telemetry(values)
                reporter.sent(flat, now)
            await clock.sleep(cfg.sample_period_s)

    async def _sample(self, c: _Compartment, now: float, elapsed: float) -> None:
        if c.profile is None or c.cfg.probe is None:
            return
        assert c.thermostat is not None and c.monitor is not None
        try:
            reading: float | None = await asyncio.to_thread(
                read_ds18b20, self.ctx.hardware.w1_root, c.cfg.probe
            )
            problem = None
        except DeviceUnavailable as err:
            reading, problem = None, str(err)
        changed = c.probe.record(reading is not None)
        if changed is False:
            await self.ctx.publish_event(
                "sensor_fault",
                "critical" if c.delivery else "warning",
                compartment=c.cfg.id,
                reason=problem,
                cooling="fail-safe duty",
            )
        elif changed is True:
            await self.ctx.publish_event("sensor_recovered", "info", compartment=c.cfg.id)
        if reading is None and c.probe.available:
            return  # one bad read in a row: keep the last reading and decision
        c.temperature_c = reading
        c.thermostat.update(reading, now)
        record = self._records.get(c.delivery) if c.delivery else None
        if record is not None:
            record.add(reading, elapsed)
        verdict = c.monitor.update(reading, now)
        if verdict is None:
            return
        data: dict[str, Any] = {
            "compartment": c.cfg.id,
            "class": c.cfg.temperature_class,
            "temperature_c": reading,
            "band_c": list(c.profile.alarm),
            "delivery_ref": c.delivery,
        }
        excursions = {x.cfg.id for x in self._compartments.values() if x.excursion_counted}
        if verdict == "restored":
            c.excursion_counted = False
            await self.ctx.publish_event("cold_chain_restored", "info", **data)
            await self.ctx.publish_state({"excursions": sorted(excursions - {c.cfg.id})})
            return
        if record is not None and not c.excursion_counted:
            record.excursion()
        c.excursion_counted = True
        await self.ctx.publish_event(
            "cold_chain_excursion",
            "critical" if verdict == "critical" else "warning",
            minutes_out=round(c.monitor.duration_s(now) / 60, 1),
            **data,
        )
        if c.cfg.id not in excursions:
            await self.ctx.publish_state({"excursions": sorted(excursions | {c.cfg.id})})

    def _write_outputs(self) -> None:
        if self._bus is None:
            return
        bits = self._bus.state
        for c in self._compartments.values():
            if c.thermostat is not None and c.cfg.cooling is not None:
                bits[c.cfg.cooling] = c.thermostat.cooling
            if c.thermostat is not None and c.cfg.heater is not None:
                bits[c.cfg.heater] = c.thermostat.heating
        if bits != self._bus.state:
            self._bus.write(bits)

    async def _remind(self, elapsed: float) -> None:
        """``uncollected`` reminders. A parcel's age is counted on the monotonic clock (and
        stored), so an NTP correction of the wall clock never makes a reminder early."""
        for c in self._compartments.values():
            if c.delivery is None:
                continue
            record = self.ctx.store.record(COLLECTION, c.delivery)
            if record is None or record.status != "held":
                continue
            body = record.body
            # From the first sample after the deposit (up to a sample late, never early).
            held_s = float(body["held_s"]) + elapsed if "held_s" in body else 0.0
            self._update(c, held_s=held_s)
            held_h = held_s / 3600
            sent = body.get("reminders", [])
            due = [h for h in self.config.reminder_hours if held_h >= h and h not in sent]
            if due:
                await self.ctx.publish_event(
                    "uncollected",
                    "warning" if max(due) >= max(self.config.reminder_hours) else "info",
                    compartment=c.cfg.id,
                    delivery_ref=c.delivery,
                    hours=max(due),
                )
                self._update(c, reminders=sorted({*sent, *due}))

    # -- delivery steps ----------------------------------------------------------------------

    async def _deposited(self, c: _Compartment) -> None:
        """The courier's door closed: the parcel is held; issue its code."""
        code = "".join(secrets.choice("0123456789") for _ in range(self.config.code_digits))
        salt = secrets.token_bytes(16)
        now = isoformat(self.ctx.clock.now())
        # Committed before the event: a kill between the two re-announces the same code.
        self._set_status(
            c,
            "held",
            deposited_at=now,
            code_hash=hash_code(code, salt),
            code_salt=salt.hex(),
            pending_code=code,
            door_opened=False,
        )
        record = self.ctx.store.record(COLLECTION, c.delivery or "")
        assert record is not None
        await self._announce_ready(c, record.body)
        await self._publish_occupancy()

    async def _announce_ready(self, c: _Compartment, body: dict[str, Any]) -> None:
        await self.ctx.publish_event(
            "delivery_ready",
            "info",
            compartment=c.cfg.id,
            delivery_ref=c.delivery,
            pickup_code=body["pending_code"],
            **{"class": c.cfg.temperature_class},
        )
        self._update(c, pending_code=None)  # from now on only the hash is kept

    async def _handed_over(self, c: _Compartment) -> None:
        """The resident's (or courier's) door closed: the delivery is over."""
        record = self.ctx.store.record(COLLECTION, c.delivery or "")
        assert record is not None
        returned = record.status == "returning"
        temperature = self._records.get(record.id)
        summary = temperature.summary() if temperature and c.profile else None
        now = isoformat(self.ctx.clock.now())
        await self.ctx.publish_event(
            "returned" if returned else "collected",
            "info",
            compartment=c.cfg.id,
            delivery_ref=record.id,
            deposited_at=record.body.get("deposited_at"),
            collected_at=now,
            temperature=summary,
        )
        self._set_status(
            c,
            "returned" if returned else "collected",
            collected_at=now,
            summary=summary,
            code_hash=None,
            code_salt=None,
        )
        self._release(c)
        await self._publish_occupancy()

    async def _cancel_deposit(self, c: _Compartment, reason: str) -> None:
        ref = c.delivery
        self._set_status(c, "cancelled", reason=reason)
        self._release(c)
        await self.ctx.publish_event(
            "deposit_cancelled", "info", compartment=c.cfg.id, delivery_ref=ref, reason=reason
        )
        await self._publish_occupancy()

    def _release(self, c: _Compartment) -> None:
        if c.delivery is not None:
            self._records.pop(c.delivery, None)
        c.delivery = None
        c.grant = None
        self._attempts(f"codes/{c.cfg.id}").reset()  # a lockout ends with its parcel

    async def _unlock(self, c: _Compartment, grant: _Grant) -> None:
        """Pulse the latch; the door switch tells the rest."""
        c.grant = grant
        bus = self._bus
        if bus is None:
            raise CommandRejected("refused", "the locker bank is not running")
        bus.set(c.cfg.lock, True)
        try:
            await asyncio.sleep(self.config.unlock_pulse_s)
        finally:
            bus.set(c.cfg.lock, False)

    # -- persistence -------------------------------------------------------------------------

    def _set_status(self, c: _Compartment, status: str, **changes: Any) -> None:
        self._update(c, _status=status, **changes)

    def _update(self, c: _Compartment, _status: str | None = None, **changes: Any) -> None:
        """Change the compartment's delivery record; committed when this returns."""
        if c.delivery is None:
            return
        store = self.ctx.store
        record = store.record(COLLECTION, c.delivery)
        body = dict(record.body) if record else {}
        body.update(changes)
        body = {k: v for k, v in body.items() if v is not None}  # None removes a key
        status = _status or (record.status if record else "reserved")
        body["status"] = status
        store.put_record(COLLECTION, c.delivery, status, isoformat(self.ctx.clock.now()), body)

    def _occupancy(self) -> dict[str, Any]:
        free: dict[str, dict[str, int]] = {}
        for c in self._compartments.values():
            sizes = free.setdefault(c.cfg.temperature_class, dict.fromkeys(SIZES, 0))
            if c.delivery is None:
                sizes[c.cfg.size] += 1
        return {
            "free": free,
            "held": sum(c.delivery is not None for c in self._compartments.values()),
        }

    async def _publish_occupancy(self) -> None:
        await self.ctx.publish_state(self._occupancy())

    # -- telemetry ---------------------------------------------------------------------------

    def _telemetry(self) -> dict[str, Any]:
        rows = []
        for c in self._compartments.values():
            t = c.temperature_c
            rows.append(
                {
                    "id": c.cfg.id,
                    "class": c.cfg.temperature_class,
                    "temperature_c": None if t is None else round(t, 2),
                    "setpoint_c": c.setpoint_c,
                    "cooling_on": bool(c.thermostat and c.thermostat.cooling),
                    "door_open": c.door_open,
                    "occupied": c.delivery is not None,
                }
            )
        return {"compartments": rows}

    def _deadbands(self) -> dict[str, float]:
        bands: dict[str, float] = {}
        for c in self._compartments.values():
            bands[f"{c.cfg.id}.temperature_c"] = self.config.deadband_c
            for key in ("cooling_on", "door_open", "occupied"):
                bands[f"{c.cfg.id}.{key}"] = 0
        return bands

    @staticmethod
    def _flatten(values: dict[str, Any]) -> dict[str, Any]:
        return {
            f"{row['id']}.{key}": value
            for row in values["compartments"]
            for key, value in row.items()
            if key not in ("id", "class", "setpoint_c")
        }

    # -- outputs -----------------------------------------------------------------------------

    def safe_state(self) -> None:
        """Latches shut and heaters off; cooling keeps running while the driver restarts."""
        bus = self._bus
        if bus is None:
            return
        bits = bus.state
        for c in self._compartments.values():
            bits[c.cfg.lock] = False
            if c.cfg.heater is not None:
                bits[c.cfg.heater] = False
            if c.cfg.cooling is not None:
                bits[c.cfg.cooling] = True
        bus.write(bits)

    def close(self) -> None:
        if self._bus is not None:
            self._bus.write([False] * self._bus.outputs)
            self._bus.close()
            self._bus = None

    # -- commands ----------------------------------------------------------------------------

    @command(args=DepositArgs, actuating=True)
    async def deposit(self, args: BaseModel) -> dict[str, Any]:
        """Open a free compartment of that size (or larger) and class for a courier."""
        assert isinstance(args, DepositArgs)
        existing = self.ctx.store.record(COLLECTION, args.delivery_ref)
        if existing is not None:
            raise CommandRejected(
                "refused",
                f"delivery {args.delivery_ref} already exists ({existing.status}); "
                "use a new delivery_ref",
                "delivery_ref",
            )
        c = self._choose(args.size, args.temperature_class)
        c.delivery = args.delivery_ref
        self._records[args.delivery_ref] = TemperatureRecord(c.profile.band if c.profile else None)
        self._set_status(
            c,
            "reserved",
            delivery_ref=args.delivery_ref,
            compartment=c.cfg.id,
            size=c.cfg.size,
            requested_size=args.size,
            **{"class": c.cfg.temperature_class},
            requested_at=isoformat(self.ctx.clock.now()),
            door_opened=False,
        )
        await self._publish_occupancy()
        grant = _Grant("deposit", args.delivery_ref, self._window())
        await self._unlock(c, grant)
        return {"compartment": c.cfg.id, "delivery_ref": args.delivery_ref, "size": c.cfg.size}

    def _choose(self, size: Size, klass: TemperatureClass) -> _Compartment:
        fits = [
            c
            for c in self._compartments.values()
            if c.cfg.temperature_class == klass and SIZES.index(c.cfg.size) >= SIZES.index(size)
        ]
        if not fits:
            raise CommandRejected(
                "refused",
                f"this bank has no {klass} compartment of size {size} or larger",
                "size",
            )
        free = [c for c in fits if c.delivery is None and c.grant is None and not c.door_open]
        if not free:
            raise CommandRejected(
                "refused",
                f"every {klass} compartment of size {size} or larger is occupied; "
                "try again after a collection",
                "size",
            )
        ready = [c for c in free if c.in_band()]
        if not ready:
            profile = CLASSES[klass]
            assert profile is not None
            low, high = profile.band
            temps = ", ".join(f"{c.cfg.id} {_reading(c.temperature_c)}" for c in free)
            raise CommandRejected(
                "refused",
                f"no free {klass} compartment is in its band {low:g}…{high:g} °C yet ({temps}); "
                "they are cooling down: try again in a few minutes",
                "class",
            )
        return min(ready, key=lambda c: (SIZES.index(c.cfg.size), c.cfg.id))

    def _window(self) -> float:
        return self.ctx.clock.monotonic() + self.config.open_window_s

    def _held(self, ref: str) -> _Compartment:
        for c in self._compartments.values():
            if c.delivery == ref:
                record = self.ctx.store.record(COLLECTION, ref)
                if record is not None and record.status == "held":
                    return c
                raise CommandRejected(
                    "refused",
                    f"delivery {ref} is {record.status if record else 'unknown'}, not held",
                    "delivery_ref",
                )
        raise CommandRejected(
            "refused", f"no parcel with delivery_ref {ref} is held here", "delivery_ref"
        )

    @command(args=PickupArgs, actuating=True)
    async def open_for_pickup(self, args: BaseModel) -> dict[str, Any]:
        """Open a held parcel's compartment for the resident with its code."""
        assert isinstance(args, PickupArgs)
        c = self._held(args.delivery_ref)
        attempts = self._attempts(f"codes/{c.cfg.id}")
        until = attempts.locked_until()
        if until:
            raise CommandRejected(
                "refused",
                f"compartment {c.cfg.id} is locked out after too many wrong codes until "
                f"{until}; the property manager can help",
                "code",
            )
        if not await self._matches(args.delivery_ref, args.code):
            failures, locked = attempts.failed()
            await self.ctx.publish_event(
                "wrong_code",
                "info",
                compartment=c.cfg.id,
                delivery_ref=c.delivery,
                failures=failures,
                source="command",
            )
            if locked:
                await self.ctx.publish_event(
                    "compartment_locked_out",
                    "warning",
                    compartment=c.cfg.id,
                    delivery_ref=c.delivery,
                    until=locked,
                )
            raise CommandRejected("refused", "wrong pickup code", "code")
        await self._start_pickup(c)
        return {"compartment": c.cfg.id, "delivery_ref": args.delivery_ref}

    async def _matches(self, ref: str, code: str) -> bool:
        record = self.ctx.store.record(COLLECTION, ref)
        if record is None or "code_hash" not in record.body:
            return False
        salt = bytes.fromhex(record.body["code_salt"])
        given = await asyncio.to_thread(hash_code, code, salt)
        return hmac.compare_digest(record.body["code_hash"], given)

    async def _start_pickup(self, c: _Compartment) -> None:
        assert c.delivery is not None
        self._attempts(f"codes/{c.cfg.id}").reset()
        self._set_status(c, "collecting", door_opened=False)
        await self._unlock(c, _Grant("pickup", c.delivery, self._window()))

    def _attempts(self, key: str) -> Attempts:
        cfg = self.config
        return Attempts(
            self.ctx,
            key,
            limit=cfg.max_wrong_codes,
            window_s=cfg.wrong_code_window_s,
            lockout_s=cfg.lockout_s,
        )

    # -- keypad ------------------------------------------------------------------------------

    async def _keypad_entry(self, code: str) -> None:
        """A code typed on the bank's keypad and confirmed with ``#``."""
        attempts = self._attempts("codes/keypad")
        if attempts.locked_until():
            return  # a locked keypad ignores codes (the event said until when)
        for c in self._compartments.values():
            if c.delivery is None or c.grant is not None:
                continue
            record = self.ctx.store.record(COLLECTION, c.delivery)
            if record is None or record.status != "held":
                continue
            if await self._matches(c.delivery, code):
                if self._attempts(f"codes/{c.cfg.id}").locked_until():
                    await self.ctx.publish_event(
                        "pickup_refused", "info", compartment=c.cfg.id, reason="locked out"
                    )
                    return
                await self._start_pickup(c)
                return
        failures, locked = attempts.failed()
        await self.ctx.publish_event("wrong_code", "info", failures=failures, source="keypad")
        if locked:
            await self.ctx.publish_event("keypad_locked_out", "warning", until=locked)

    @command(args=DeliveryArgs, actuating=True)
    async def return_delivery(self, args: BaseModel) -> dict[str, Any]:
        """Open a held parcel's compartment for the courier to take it back."""
        assert isinstance(args, DeliveryArgs)
        c = self._held(args.delivery_ref)
        self._set_status(c, "returning", door_opened=False)
        await self._unlock(c, _Grant("return", args.delivery_ref, self._window()))
        return {"compartment": c.cfg.id, "delivery_ref": args.delivery_ref}
