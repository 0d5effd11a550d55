"""Who the gate lets in: a recognised resident's status and dates checked, a second factor
asked upstream when the door is not confident enough (answered by the signed ``approve``),
the grant; the refusals (an unknown face, a presentation attack) reported at most so often.
Every decision is audited; an audit write that fails is sent upstream whole."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any

from drivers.base import Sparse
from drivers.entry.config import ApproveArgs, EntryConfig
from gateway.devices import DriverContext, command
from gateway.errors import CommandRejected, StorageError
from gateway.messages import new_ulid
from gateway.residents import Residents
from vision.enrollment import Decision

__all__ = ["ATTACK_INTERVAL_S", "Access"]

#: ``presentation_attack`` is reported at most once in this many seconds (with the count since).
ATTACK_INTERVAL_S = 60.0


class Access:
    """The door's decisions; mixed into :class:`~drivers.entry.driver.EntryController`."""

    ctx: DriverContext
    config: EntryConfig
    residents: Residents
    #: Open approval requests: id → (resident, distance, expiry in ``time.monotonic()``).
    _approvals: dict[str, tuple[str, float | None, float]]
    _unknowns: Sparse
    _attacks: Sparse
    #: The door's (:class:`~drivers.entry.door.DoorHardware`): open for ``seconds``, for whom.
    _unlock: Callable[[float, str], None]
    #: The welfare check of the residents the door watches.
    _welfare: Callable[[], Awaitable[None]]

    async def _recognised(self, resident_id: str, decision: Decision) -> None:
        ctx = self.ctx
        residents = self.residents
        resident = residents.get(resident_id)
        now = ctx.clock.now()
        if resident is None or not resident.allowed_at(now):
            reason = (
                "removed"
                if resident is None
                else ("suspended" if resident.status != "active" else "outside validity dates")
            )
            await ctx.publish_event(
                "access_denied",
                "warning",
                reason=reason,
                resident_id=resident_id,
                door=self.config.id,
            )
            await self._audit(f"door:{self.config.id}", "access_denied", resident_id, reason=reason)
            return
        distance = None if decision.distance is None else round(decision.distance, 4)
        cfg = self.config
        unconfident = distance is None or distance > cfg.confident_distance
        if cfg.second_factor == "always" or (cfg.second_factor == "unconfident" and unconfident):
            await self._ask_approval(resident_id, distance)
            return
        await self._grant(resident_id, distance, approved_by=None)

    async def _ask_approval(self, resident_id: str, distance: float | None) -> None:
        """Not confident enough to open alone: upstream approves with a signed command."""
        request = new_ulid()
        now = time.monotonic()
        self._approvals = {r: a for r, a in self._approvals.items() if a[2] > now}
        self._approvals[request] = (resident_id, distance, now + self.config.approval_timeout_s)
        await self.ctx.publish_event(
            "approval_requested",
            "info",
            request_id=request,
            resident_id=resident_id,
            door=self.config.id,
            distance=distance,
            expires_in_s=self.config.approval_timeout_s,
        )

    async def _grant(
        self, resident_id: str, distance: float | None, approved_by: str | None
    ) -> None:
        ctx = self.ctx
        residents = self.residents
        now = ctx.clock.now()
        self._unlock(self.config.strike_seconds, resident_id)
        extra: dict[str, Any] = {} if approved_by is None else {"approved_by": approved_by}
        await ctx.publish_event(
            "access_granted",
            "info",
            resident_id=resident_id,
            door=self.config.id,
            distance=distance,
            **extra,
        )
        await self._audit(
            f"door:{self.config.id}", "access_granted", resident_id, distance=distance, **extra
        )
        residents.seen(resident_id, now)
        if resident_id in ctx.store.get("welfare_due", []):
            await self._welfare()

    async def _unknown(self, decision: Decision) -> None:
        if self._unknowns.happened(time.monotonic()) is None:
            return
        distance = None if decision.distance is None else round(decision.distance, 4)
        await self.ctx.publish_event(
            "unknown_face",
            "warning",
            door=self.config.id,
            reason=decision.reason,
            distance=distance,
        )
        await self._audit(f"door:{self.config.id}", "access_denied", "", reason="unknown_face")

    async def _audit(self, actor: str, action: str, subject: str = "", **data: Any) -> None:
        """An audit entry; a failed write (a full disk) is reported upstream with the whole
        entry, so nothing is lost, and the door carries on."""
        try:
            self.residents.audit.append(actor, action, subject, **data)
        except (StorageError, sqlite3.Error, OSError) as err:
            self.ctx.log.error("audit write failed: %s", err)
            await self.ctx.publish_event(
                "audit_write_failed",
                "critical",
                door=self.config.id,
                error=str(err)[:300],
                entry={"actor": actor, "action": action, "subject": subject, **data},
            )

    async def _presentation_attack(self, decision: Decision) -> None:
        """A face the liveness models judge a photograph or a screen: reported at most once
        every :data:`ATTACK_INTERVAL_S`, audited, and never let in."""
        frames = self._attacks.happened(time.monotonic())
        if frames is None:
            return
        score = None if decision.liveness is None else round(decision.liveness, 3)
        await self.ctx.publish_event(
            "presentation_attack", "warning", door=self.config.id, liveness=score, frames=frames
        )
        await self._audit(f"door:{self.config.id}", "access_denied", "", reason="not_live")

    # -- commands ----------------------------------------------------------------------------

    @command(args=ApproveArgs, actuating=True, max_valid_s=60)
    async def approve(self, args: ApproveArgs) -> dict[str, Any]:
        """Let in the resident of an ``approval_requested`` (the second factor)."""
        pending = self._approvals.pop(args.request_id, None)
        if pending is None or pending[2] < time.monotonic():
            raise CommandRejected(
                "refused",
                f"no open approval request {args.request_id} (it was answered or expired)",
                "request_id",
            )
        resident_id, distance, _ = pending
        resident = self.residents.get(resident_id)
        if resident is None or not resident.allowed_at(self.ctx.clock.now()):
            why = "removed" if resident is None else "suspended or outside their dates"
            raise CommandRejected(
                "refused", f"resident {resident_id} is {why} since the request", "request_id"
            )
        await self._grant(resident_id, distance, approved_by="upstream")
        return {"door": self.config.id, "resident_id": resident_id}
