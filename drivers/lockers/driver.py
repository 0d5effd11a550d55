"""The locker bank's driver: its board, doors and climate, its telemetry and its outputs."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from drivers.base import Reporter
from drivers.lockers.codes import CodeVault
from drivers.lockers.compartment import Compartment
from drivers.lockers.config import (
    LockerBankConfig,
)
from drivers.lockers.flow import DeliveryFlow
from drivers.lockers.records import CLOSED, COLLECTION
from drivers.sensors import read_ds18b20
from drivers.shiftbus import MatrixKeypad, ShiftRegisterBus
from drivers.thermostat import (
    CLASSES,
    ExcursionMonitor,
    TemperatureRecord,
    Thermostat,
)
from gateway.devices import DeviceConfig, Driver, DriverContext
from gateway.errors import DeviceUnavailable

__all__ = ["LockerBank"]


class LockerBank(DeliveryFlow, Driver):
    """One bank of compartments on one shift-register board."""

    kind = "locker_bank"
    config_model = LockerBankConfig
    config: LockerBankConfig

    _bus: ShiftRegisterBus | None = None
    _keypad: MatrixKeypad | None = None

    def __init__(self, config: DeviceConfig, ctx: DriverContext) -> None:
        super().__init__(config, ctx)
        cfg = self.config
        #: The bank's pickup codes, under ``codes.key`` beside the database.
        self.codes = CodeVault(ctx.database.path.with_name("codes.key"))
        self._compartments: dict[str, Compartment] = {}
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
            self._compartments[c.id] = Compartment(c, profile, thermostat, monitor)
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

    async def _door_opened(self, c: Compartment, now: float) -> None:
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

    async def _door_closed(self, c: Compartment) -> None:
        c.opened_at = None
        grant, c.grant = c.grant, None
        if grant is None:
            return
        if grant.purpose == "deposit":
            await self._deposited(c)
        else:
            await self._handed_over(c)

    async def _grant_expired(self, c: Compartment) -> None:
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

    async def _sample(self, c: Compartment, now: float, elapsed: float) -> None:
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
