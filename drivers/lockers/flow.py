"""The bank's deliveries, from deposit to collection or return."""

from __future__ import annotations

import asyncio
from typing import Any

from drivers.lockers.attempts import Attempts
from drivers.lockers.codes import CodeVault
from drivers.lockers.compartment import Compartment, Grant, reading
from drivers.lockers.config import (
    SIZES,
    DeliveryArgs,
    DepositArgs,
    LockerBankConfig,
    PickupArgs,
    Size,
    TemperatureClass,
)
from drivers.lockers.records import CLOSED, COLLECTION
from drivers.shiftbus import MatrixKeypad, ShiftRegisterBus
from drivers.thermostat import (
    CLASSES,
    TemperatureRecord,
)
from gateway.devices import DriverContext, command
from gateway.errors import CommandRejected
from gateway.messages import isoformat

__all__ = ["DeliveryFlow"]


class DeliveryFlow:
    """The bank's deliveries: deposits, pickups, returns, the keypad, reminders; every change
    committed before it is acted on (mixed into :class:`~drivers.lockers.driver.LockerBank`)."""

    ctx: DriverContext
    config: LockerBankConfig
    _compartments: dict[str, Compartment]
    _records: dict[str, TemperatureRecord]
    _keypad: MatrixKeypad | None
    _bus: ShiftRegisterBus | None
    codes: CodeVault

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

    async def _deposited(self, c: Compartment) -> None:
        """The courier's door closed: the parcel is held; issue its code."""
        held = [
            r.body for r in self.ctx.store.open_records(COLLECTION, CLOSED) if r.status == "held"
        ]
        code = self.codes.issue(self.config.code_digits, held)
        now = isoformat(self.ctx.clock.now())
        # Committed before the event: a kill between the two re-announces the same code
        # (kept sealed until then).
        self._set_status(
            c,
            "held",
            deposited_at=now,
            code_hash=self.codes.digest(code),
            pending_code=self.codes.seal(c.delivery or "", code),
            door_opened=False,
        )
        record = self.ctx.store.record(COLLECTION, c.delivery or "")
        assert record is not None
        await self._announce_ready(c, record.body)
        await self._publish_occupancy()

    async def _announce_ready(self, c: Compartment, body: dict[str, Any]) -> None:
        await self.ctx.publish_event(
            "delivery_ready",
            "info",
            compartment=c.cfg.id,
            delivery_ref=c.delivery,
            pickup_code=self.codes.open(c.delivery or "", body["pending_code"]),
            **{"class": c.cfg.temperature_class},
        )
        self._update(c, pending_code=None)  # from now on only the hash is kept

    async def _handed_over(self, c: Compartment) -> None:
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
            pending_code=None,
        )
        self._release(c)
        await self._publish_occupancy()

    async def _cancel_deposit(self, c: Compartment, reason: str) -> None:
        ref = c.delivery
        self._set_status(c, "cancelled", reason=reason)
        self._release(c)
        await self.ctx.publish_event(
            "deposit_cancelled", "info", compartment=c.cfg.id, delivery_ref=ref, reason=reason
        )
        await self._publish_occupancy()

    def _release(self, c: Compartment) -> None:
        if c.delivery is not None:
            self._records.pop(c.delivery, None)
        c.delivery = None
        c.grant = None
        self._attempts(f"codes/{c.cfg.id}").reset()  # a lockout ends with its parcel

    async def _unlock(self, c: Compartment, grant: Grant) -> None:
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

    def _set_status(self, c: Compartment, status: str, **changes: Any) -> None:
        self._update(c, _status=status, **changes)

    def _update(self, c: Compartment, _status: str | None = None, **changes: Any) -> None:
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

    # -- commands ----------------------------------------------------------------------------

    @command(args=DepositArgs, actuating=True)
    async def deposit(self, args: DepositArgs) -> dict[str, Any]:
        """Open a free compartment of that size (or larger) and class for a courier."""
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
        grant = Grant("deposit", args.delivery_ref, self._window())
        await self._unlock(c, grant)
        return {"compartment": c.cfg.id, "delivery_ref": args.delivery_ref, "size": c.cfg.size}

    def _choose(self, size: Size, klass: TemperatureClass) -> Compartment:
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
            temps = ", ".join(f"{c.cfg.id} {reading(c.temperature_c)}" for c in free)
            raise CommandRejected(
                "refused",
                f"no free {klass} compartment is in its band {low:g}…{high:g} °C yet ({temps}); "
                "they are cooling down: try again in a few minutes",
                "class",
            )
        return min(ready, key=lambda c: (SIZES.index(c.cfg.size), c.cfg.id))

    def _window(self) -> float:
        return self.ctx.clock.monotonic() + self.config.open_window_s

    def _held(self, ref: str) -> Compartment:
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

    @command(args=PickupArgs, actuating=True, max_valid_s=60)
    async def open_for_pickup(self, args: PickupArgs) -> dict[str, Any]:
        """Open a held parcel's compartment for the resident with its code."""
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
        if not self._matches(args.delivery_ref, args.code):
            failures, locked, lockouts = attempts.failed()
            await self.ctx.publish_event(
                "wrong_code",
                "info",
                compartment=c.cfg.id,
                delivery_ref=c.delivery,
                failures=failures,
                source="command",
            )
            await self._attack(lockouts, compartment=c.cfg.id, source="command")
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

    def _matches(self, ref: str, code: str) -> bool:
        """Checked at once (an HMAC): nothing runs between the lockout check and the count."""
        record = self.ctx.store.record(COLLECTION, ref)
        return record is not None and self.codes.matches(record.body, code)

    async def _start_pickup(self, c: Compartment) -> None:
        assert c.delivery is not None
        self._attempts(f"codes/{c.cfg.id}").reset()
        self._set_status(c, "collecting", door_opened=False)
        await self._unlock(c, Grant("pickup", c.delivery, self._window()))

    def _attempts(self, key: str) -> Attempts:
        return Attempts(self.ctx, key, self.config)

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
            if self._matches(c.delivery, code):
                if self._attempts(f"codes/{c.cfg.id}").locked_until():
                    await self.ctx.publish_event(
                        "pickup_refused", "info", compartment=c.cfg.id, reason="locked out"
                    )
                    return
                await self._start_pickup(c)
                return
        failures, locked, lockouts = attempts.failed()
        await self.ctx.publish_event("wrong_code", "info", failures=failures, source="keypad")
        await self._attack(lockouts, source="keypad")
        if locked:
            await self.ctx.publish_event("keypad_locked_out", "warning", until=locked)

    async def _attack(self, lockouts: int, **where: Any) -> None:
        """Repeated lockouts within a day: someone is guessing codes (critical)."""
        if lockouts >= Attempts.ATTACK_AFTER:
            await self.ctx.publish_event(
                "pickup_code_attack", "critical", lockouts_today=lockouts, **where
            )

    @command(args=DeliveryArgs, actuating=True)
    async def return_delivery(self, args: DeliveryArgs) -> dict[str, Any]:
        """Open a held parcel's compartment for the courier to take it back."""
        c = self._held(args.delivery_ref)
        self._set_status(c, "returning", door_opened=False)
        await self._unlock(c, Grant("return", args.delivery_ref, self._window()))
        return {"compartment": c.cfg.id, "delivery_ref": args.delivery_ref}
