"""The gate's residents by signed command: enrollment from photos sent upstream (checked by
the door's own recognizer, the same path as the CLI's and the console's), removal,
suspension and resumption; each reloads the door's gallery."""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from drivers.entry.config import EnrollArgs, EntryConfig, ResidentArgs
from gateway.devices import DriverContext, command
from gateway.errors import CommandRejected, DeviceUnavailable
from gateway.photos import PhotoResult, assess
from gateway.residents import ResidentError, Residents
from vision.enrollment import Templates
from vision.errors import VisionError
from vision.faces import Image, decode_image
from vision.worker import RecognizerProcess

__all__ = ["ResidentCommands"]


class ResidentCommands:
    """The residents commands; mixed into :class:`~drivers.entry.driver.EntryController`."""

    ctx: DriverContext
    config: EntryConfig
    _recognizers: list[RecognizerProcess]
    _worker: concurrent.futures.ThreadPoolExecutor | None
    _last_frame: Image | None
    residents: Residents

    #: The door's gallery read again from the residents (after a change).
    _reload: Callable[[], Awaitable[None]]

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        """The door's vision threads; refused while the door is not running."""
        if self._worker is None:
            raise DeviceUnavailable(f"the door {self.config.id} is not running")
        return self._worker

    @command(args=EnrollArgs, actuating=True)
    async def enroll_resident(self, args: EnrollArgs) -> dict[str, Any]:
        """Enroll a resident from photos sent upstream (the same path as the CLI's)."""
        residents = self.residents
        photos, originals = [], []
        for n, encoded in enumerate(args.photos):
            try:
                raw = base64.b64decode(encoded, validate=True)
                photos.append((f"photo {n + 1}", decode_image(raw)))
                originals.append(raw)
            except (binascii.Error, ValueError, VisionError) as err:
                raise CommandRejected(
                    "invalid_args", f"photo {n + 1} is not a base64 JPEG or PNG: {err}", "photos"
                ) from None
        try:
            good, results = await self.assess_photos(photos)
        except DeviceUnavailable as err:
            raise CommandRejected("refused", str(err)) from None
        try:
            residents.add(
                args.resident_id,
                good,
                results,
                name=args.name,
                unit=args.unit,
                actor="upstream",
                consent_at=args.consent_at,
                valid_from=args.valid_from,
                valid_until=args.valid_until,
                welfare_check=args.welfare_check,
                welfare_h=args.welfare_h,
                originals=originals,
            )
        except ResidentError as err:
            raise CommandRejected("refused", str(err), "photos") from None
        await self._reload()
        return {
            "resident_id": args.resident_id,
            "accepted": len(good),
            "rejected": [{"photo": r.photo, "reason": r.reason} for r in results if r.reason],
        }

    async def assess_photos(
        self, photos: Sequence[tuple[str, Image]]
    ) -> tuple[list[Templates], list[PhotoResult]]:
        """Enrollment photos checked by this door's own recognizer (as the door sees faces)."""
        if not self._recognizers:
            raise DeviceUnavailable(
                f"the door {self.config.id} is still starting; try again shortly"
            )
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool(), assess, self._recognizers[0], photos)

    def snapshot(self) -> Image | None:
        """The camera's latest frame (for enrolling someone standing at the door)."""
        return self._last_frame

    async def _change(self, resident_id: str, change: str) -> dict[str, Any]:
        residents = self.residents
        try:
            if change == "removed":
                residents.remove(resident_id, actor="upstream")
            else:
                residents.set_status(resident_id, change, actor="upstream")
        except ResidentError as err:
            raise CommandRejected("refused", str(err), "resident_id") from None
        await self._reload()
        return {"resident_id": resident_id, "status": change}

    @command(args=ResidentArgs, actuating=True)
    async def remove_resident(self, args: ResidentArgs) -> dict[str, Any]:
        """Forget a resident and erase their templates."""
        return await self._change(args.resident_id, "removed")

    @command(args=ResidentArgs, actuating=True)
    async def suspend_resident(self, args: ResidentArgs) -> dict[str, Any]:
        """The door stops opening for the resident (templates kept)."""
        return await self._change(args.resident_id, "suspended")

    @command(args=ResidentArgs, actuating=True)
    async def resume_resident(self, args: ResidentArgs) -> dict[str, Any]:
        """The door opens for the resident again."""
        return await self._change(args.resident_id, "active")
