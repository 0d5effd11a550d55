"""The console's residents pages: search, a resident's page, enrollment from photos or a
door's camera with per-photo feedback, status changes and removal (managers only)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from gateway.errors import GatewayError
from gateway.photos import PhotoResult
from gateway.residents import ResidentError
from gateway.topics import Topics
from gateway.web.base import CAMERA_INTERVAL_S, CAMERA_TRIES, ConsoleBase
from vision.enrollment import Templates
from vision.errors import ImageTooLarge, VisionError
from vision.faces import Image, decode_image, encode_jpeg

__all__ = ["ResidentPages"]


class ResidentPages(ConsoleBase):
    """The residents pages; mixed into :class:`~gateway.web.app.Console`."""

    # -- residents ---------------------------------------------------------------------------

    async def residents(self, request: Request) -> Response:
        search = request.query_params.get("q", "").strip()
        return self._page(
            request,
            "residents.html",
            residents=self.site.residents.all(search or None),
            q=search,
        )

    async def resident(self, request: Request) -> Response:
        found = self.site.residents.get(request.path_params["resident"])
        if found is None:
            raise HTTPException(404)
        return self._page(
            request,
            "resident.html",
            resident=found,
            history=self.site.residents.audit.entries(subject=found.id, limit=50),
        )

    async def enroll_form(self, request: Request) -> Response:
        return self._enroll_page(request, 200, {}, {})

    def _enroll_page(
        self,
        request: Request,
        status: int,
        values: dict[str, Any],
        errors: dict[str, str],
        results: list[PhotoResult] | None = None,
    ) -> Response:
        return self._page(
            request,
            "enroll.html",
            status,
            values=values,
            errors=errors,
            results=results or [],
            cameras=self.site.cameras(),
            max_mb=self.settings.max_upload_mb,
        )

    async def enroll(self, request: Request) -> Response:
        form = await self._form(request)
        values: dict[str, Any] = {
            k: str(form.get(k, "")).strip() for k in ("resident_id", "name", "unit")
        }
        values |= {k: str(form.get(k, "")) for k in ("valid_until", "camera", "welfare_h")}
        values["welfare_check"] = form.get("welfare_check") == "on"
        values["consent"] = form.get("consent") == "on"
        errors: dict[str, str] = {}
        if not Topics.valid_segment(values["resident_id"]):
            errors["resident_id"] = (
                "Give the resident an id: letters, digits, '.', '_' and '-' only, "
                "at most 64 characters (their unit and name, say A-12-kim)."
            )
        if not values["name"]:
            errors["name"] = "The resident's name is missing."
        if not values["unit"]:
            errors["unit"] = "The resident's flat or unit is missing."
        if not values["consent"]:
            errors["consent"] = "Enroll only with the resident's consent: tick the box."
        valid_until = None
        if values["valid_until"]:
            try:
                valid_until = datetime.fromisoformat(values["valid_until"]).astimezone()
            except ValueError:
                errors["valid_until"] = "A date like 2027-06-30, or leave it empty."
        welfare_h = None
        if values["welfare_h"].strip():
            try:
                welfare_h = float(values["welfare_h"])
            except ValueError:
                welfare_h = 0.0
            if not 1 <= welfare_h <= 720:
                errors["welfare_h"] = (
                    "Hours between 1 and 720 (48 is two days), or leave it empty for the "
                    "usual period."
                )
        uploads = [f for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]
        if not uploads and not values["camera"]:
            errors["photos"] = "Add at least one photo, or take one with a door camera."
        if errors:
            return self._enroll_page(request, 400, values, errors)
        photos, originals, refused = await self._read_photos(uploads)
        good, results = await self.site.assess_photos(photos) if photos else ([], [])
        results, originals = refused + results, [b""] * len(refused) + originals
        if values["camera"]:
            templates, result, original = await self._from_camera(values["camera"])
            good += templates
            results.append(result)
            originals.append(original)
        try:
            report = self.site.residents.add(
                values["resident_id"],
                good,
                results,
                name=values["name"],
                unit=values["unit"],
                actor=self._actor(request),
                valid_until=valid_until,
                welfare_check=values["welfare_check"],
                welfare_h=welfare_h,
                originals=originals,
            )
        except ResidentError as err:
            field = "photos" if not good else "resident_id"
            message = "No photo could be used; see each photo's reason." if not good else str(err)
            return self._enroll_page(request, 400, values, {field: message}, results)
        resident = self.site.residents.require(report.resident)
        return self._page(
            request,
            "resident.html",
            resident=resident,
            results=results,
            history=self.site.residents.audit.entries(subject=resident.id, limit=50),
        )

    async def _from_camera(self, door: str) -> tuple[list[Templates], PhotoResult, bytes]:
        """The first good frame of a few from a door's camera (the resident stands in front
        of it; one frame may catch them turning or blurred): its templates, its result and
        its JPEG (kept only with ``keep_photos``)."""
        label = f"camera {door}"
        result = PhotoResult(label, False, "no frame")
        for attempt in range(CAMERA_TRIES):
            if attempt:
                await asyncio.sleep(CAMERA_INTERVAL_S)
            try:
                frame = await self.site.capture(door)
            except GatewayError as err:
                return [], PhotoResult(label, False, str(err)), b""
            good, (result,) = await self.site.assess_photos([(label, frame)])
            if good:
                return good, result, encode_jpeg(frame)
        return [], result, b""

    async def _read_photos(
        self, uploads: list[UploadFile]
    ) -> tuple[list[tuple[str, Image]], list[bytes], list[PhotoResult]]:
        """Uploaded files as images; those too large or not images refused, with why."""
        photos, originals, refused = [], [], []
        for upload in uploads:
            name = upload.filename or "photo"
            data = await upload.read(self.max_photo_bytes + 1)
            if len(data) > self.max_photo_bytes:
                refused.append(
                    PhotoResult(
                        name,
                        False,
                        f"too large: at most {self.settings.max_upload_mb:g} MB per photo",
                    )
                )
                continue
            try:
                # Off the event loop (OpenCV releases the GIL while it decodes).
                photos.append((name, await asyncio.to_thread(decode_image, data, name)))
                originals.append(data)
            except ImageTooLarge as err:
                refused.append(PhotoResult(name, False, err.reason))
            except VisionError:
                refused.append(PhotoResult(name, False, "not a photo (a JPEG or PNG is needed)"))
        return photos, originals, refused

    async def photo_check(self, request: Request) -> Response:
        """One photo checked at once (the enrollment form's per-photo feedback)."""
        form = await self._form(request)
        upload = form.get("photo")
        if not isinstance(upload, UploadFile):
            return JSONResponse({"error": "send one file in the field 'photo'"}, status_code=400)
        photos, _, refused = await self._read_photos([upload])
        if refused:
            result = refused[0]
        else:
            _, results = await self.site.assess_photos(photos)
            result = results[0]
        return JSONResponse(
            {"photo": result.photo, "accepted": result.accepted, "reason": result.reason}
        )

    async def set_status(self, request: Request) -> Response:
        resident = request.path_params["resident"]
        form = await self._form(request)
        status = str(form.get("status", ""))
        if status not in ("active", "suspended"):
            return self._page(request, "error.html", 400, message="status: active or suspended")
        try:
            self.site.residents.set_status(resident, status, actor=self._actor(request))
        except ResidentError as err:
            return self._page(request, "error.html", 404, message=str(err))
        return RedirectResponse(f"/residents/{resident}", status_code=303)

    async def remove_form(self, request: Request) -> Response:
        found = self.site.residents.get(request.path_params["resident"])
        if found is None:
            raise HTTPException(404)
        return self._page(request, "remove.html", resident=found, error=None)

    async def remove(self, request: Request) -> Response:
        found = self.site.residents.get(request.path_params["resident"])
        if found is None:
            raise HTTPException(404)
        form = await self._form(request)
        if str(form.get("confirm", "")).strip() != found.id:
            return self._page(
                request,
                "remove.html",
                400,
                resident=found,
                error=f"Type the resident's id ({found.id}) to confirm the removal.",
            )
        self.site.residents.remove(found.id, actor=self._actor(request))
        return RedirectResponse(f"/residents?removed={found.id}", status_code=303)
