"""The console's pages and forms (Starlette and Jinja2; the pages are drawn on the server).

Every page needs a login. Managers see everything and change residents; installers see
everything and also the configuration and diagnostics, but do not change residents. Every
form carries a CSRF token (the login form a signed one bound to a pre-login cookie); every
change goes through the same code as the CLI and the signed commands and is audited as
``console:<user>``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import GatewayError
from gateway.keyfile import read_or_create_key
from gateway.limits import SlidingWindow
from gateway.messages import isoformat
from gateway.plugins import console_view, record_sets
from gateway.records import RecordSet, field, find, listed
from gateway.residents import PhotoResult, ResidentError
from gateway.settings import WebSettings
from gateway.topics import Topics
from gateway.web.auth import LoginRefused, Session, Sessions, Signer, Users
from gateway.web.devices import device_page, summary
from gateway.web.site import Site
from vision.enrollment import Templates
from vision.errors import VisionError
from vision.faces import Image, decode_image, encode_jpeg

__all__ = ["Console"]

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SESSION_COOKIE = "cg_session"
LOGIN_COOKIE = "cg_login"
#: Failed logins from one address before it must wait (whatever names it tries).
CLIENT_FAILURES, CLIENT_WINDOW_S = 20, 900.0
MAX_PHOTOS = 10
#: Frames tried, this far apart, when enrolling with a door's camera.
CAMERA_TRIES, CAMERA_INTERVAL_S = 5, 0.3
SEVERITIES = ("info", "warning", "critical")

Handler = Callable[[Request], Awaitable[Response]]


class Console:
    """The console of one gateway: :attr:`app` is the ASGI application."""

    def __init__(self, site: Site, settings: WebSettings, *, users: Users | None = None) -> None:
        self.site = site
        self.settings = settings
        self.signer = Signer(read_or_create_key(site.config.data_dir / "console.key"))
        self.users = users or Users(
            site.db,
            audit=site.residents.audit,
            lockout_failures=settings.lockout_failures,
            lockout_minutes=settings.lockout_minutes,
        )
        self.sessions = Sessions(
            site.db,
            self.signer,
            idle_s=settings.session_idle_minutes * 60,
            max_s=settings.session_max_hours * 3600,
        )
        self.max_photo_bytes = int(settings.max_upload_mb * 2**20)
        #: Failed logins per address: a scan from many addresses forgets the oldest first.
        self._client_failures = SlidingWindow(CLIENT_FAILURES, CLIENT_WINDOW_S)
        #: One thread draws the charts, with the history's own reading connection.
        self._charts = ThreadPoolExecutor(1, thread_name_prefix="console-charts")
        self.templates = Jinja2Templates(directory=HERE / "templates")
        self.templates.env.globals["site"] = f"{site.config.site}/{site.config.gateway_id}"
        self.templates.env.filters["when"] = _when
        self.templates.env.filters["field"] = field
        #: The records the installed device kinds keep (a locker bank's deliveries).
        self.record_sets = record_sets()
        self.templates.env.globals["record_sets"] = self.record_sets
        guard, manager = self._guard, self._guard_role("manager")
        installer = self._guard_role("installer")
        routes = [
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", guard(self.logout), methods=["POST"]),
            Route("/", guard(self.overview)),
            Route("/devices/{device}", guard(self.device)),
            Route("/devices/{device}/simulate", guard(self.simulate), methods=["POST"]),
            Route("/events", guard(self.events)),
            *(
                route
                for records in self.record_sets
                for route in (
                    Route(f"/{records.path}", guard(self._records_page(records))),
                    Route(f"/{records.path}/{{ref}}", guard(self._record_page(records))),
                )
            ),
            Route("/residents", guard(self.residents)),
            Route("/residents/new", manager(self.enroll_form), methods=["GET"]),
            Route("/residents/new", manager(self.enroll), methods=["POST"]),
            Route("/residents/photo-check", manager(self.photo_check), methods=["POST"]),
            Route("/residents/{resident}", guard(self.resident)),
            Route("/residents/{resident}/status", manager(self.set_status), methods=["POST"]),
            Route("/residents/{resident}/remove", manager(self.remove_form), methods=["GET"]),
            Route("/residents/{resident}/remove", manager(self.remove), methods=["POST"]),
            Route("/audit", guard(self.audit)),
            Route("/installer/config", installer(self.config)),
            Route("/installer/diagnostics", installer(self.diagnostics)),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]
        self.app = Starlette(
            routes=routes,
            middleware=[
                Middleware(BodyLimit, max_bytes=MAX_PHOTOS * self.max_photo_bytes + 2**20),
                Middleware(SecurityHeaders),
            ],
            exception_handlers={HTTPException: self._http_error},
        )

    # -- sessions and guards -----------------------------------------------------------------

    def _secure(self, request: Request) -> bool:
        return request.url.scheme == "https" or self.settings.behind_tls_proxy

    def _session(self, request: Request) -> Session | None:
        return self.sessions.get(request.cookies.get(SESSION_COOKIE))

    def _guard(self, handler: Handler, role: str | None = None) -> Handler:
        async def endpoint(request: Request) -> Response:
            session = self._session(request)
            if session is None:
                if request.method == "GET":
                    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
                return self._page(request, "error.html", 401, message="Please log in again.")
            request.state.session = session
            if role is not None and session.role != role:
                return self._page(
                    request,
                    "error.html",
                    403,
                    message=f"This page is for the {role} account; you are logged in as "
                    f"{session.role}.",
                )
            if request.method == "POST":
                refused = await self._check_csrf(request, session.csrf)
                if refused is not None:
                    return refused
            return await handler(request)

        return endpoint

    def _guard_role(self, role: str) -> Callable[[Handler], Handler]:
        return lambda handler: self._guard(handler, role)

    async def _check_csrf(self, request: Request, expected: str) -> Response | None:
        origin = request.headers.get("origin")
        if origin and origin.split("://", 1)[-1] != request.headers.get("host"):
            return self._page(request, "error.html", 403, message="A form from another site.")
        given = request.headers.get("x-csrf-token")
        if given is None:
            form = await self._form(request)
            value = form.get("csrf")
            given = value if isinstance(value, str) else ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return self._page(
                request,
                "error.html",
                403,
                message="This form has expired or did not come from this console. "
                "Go back, reload the page and try again.",
            )
        return None

    async def _form(self, request: Request) -> FormData:
        return await request.form(max_files=MAX_PHOTOS, max_fields=50, max_part_size=64 * 1024)

    def _page(self, request: Request, template: str, status: int = 200, **context: Any) -> Response:
        session: Session | None = getattr(request.state, "session", None)
        return self.templates.TemplateResponse(
            request,
            template,
            {
                "session": session,
                "csrf": session.csrf if session else "",
                "status_code": status,
                **context,
            },
            status_code=status,
        )

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        request.state.session = self._session(request)
        message = {404: "There is no such page."}.get(exc.status_code, str(exc.detail))
        return self._page(request, "error.html", exc.status_code, message=message)

    def _actor(self, request: Request) -> str:
        return f"console:{request.state.session.user}"

    # -- login -------------------------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        if self._session(request) is not None:
            return RedirectResponse("/", status_code=303)
        return self._login_page(request, 200)

    def _login_page(self, request: Request, status: int, message: str | None = None) -> Response:
        cookie = self.signer.token("login")
        value = cookie.rsplit(".", 1)[0]
        response = self._page(
            request,
            "login.html",
            status,
            login_csrf=self.signer.sign("login-form", value),
            next=_safe_next(request.query_params.get("next")),
            message=message,
        )
        response.set_cookie(
            LOGIN_COOKIE,
            cookie,
            max_age=3600,
            httponly=True,
            samesite="strict",
            secure=self._secure(request),
        )
        return response

    async def login(self, request: Request) -> Response:
        form = await self._form(request)
        value = self.signer.unwrap("login", request.cookies.get(LOGIN_COOKIE))
        token = str(form.get("csrf", ""))
        if value is None or not self.signer.check("login-form", value, token):
            return self._login_page(
                request, 403, "The login form expired (or cookies are off). Please try again."
            )
        client = request.client.host if request.client else "?"
        if self._client_failures.full(client):
            return self._login_page(
                request, 429, "Too many failed logins from this computer; wait 15 minutes."
            )
        name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
        try:
            user = self.users.authenticate(name, password, client=client)
        except LoginRefused as refused:
            self._client_failures.hit(client)
            log.warning("console: login refused for %r from %s: %s", name, client, refused)
            return self._login_page(request, 401, str(refused))
        self.users.audit.append(f"console:{user.name}", "login", user.name, client=client)
        response = RedirectResponse(_safe_next(str(form.get("next", ""))), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            self.sessions.create(user),
            httponly=True,
            samesite="strict",
            secure=self._secure(request),
        )
        response.delete_cookie(LOGIN_COOKIE)
        return response

    async def logout(self, request: Request) -> Response:
        self.sessions.end(request.cookies.get(SESSION_COOKIE))
        user = request.state.session.user
        self.users.audit.append(f"console:{user}", "logout", user)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    # -- devices and events ------------------------------------------------------------------

    async def overview(self, request: Request) -> Response:
        views = sorted(self.site.history.views(), key=lambda v: (v.kind != "gateway", v.id))
        cards = [summary(v, console_view(v.kind)) for v in views]
        return self._page(
            request,
            "overview.html",
            cards=cards,
            problems=[c for c in cards if c["problem"]],
            uplink=self.site.runtime_stats().get("uplink"),
        )

    async def device(self, request: Request) -> Response:
        view = self.site.history.view(request.path_params["device"])
        if view is None:
            raise HTTPException(404)
        hours = _choice(request.query_params.get("hours"), (6, 24, 72, 168), 24)
        since = self.site.clock.now() - timedelta(hours=hours)
        readings = self.site.history.readings(view.id, since)
        query = dict(request.query_params)
        described = console_view(view.kind)
        page = await asyncio.get_running_loop().run_in_executor(
            self._charts, lambda: device_page(view, readings, described, query)
        )
        return self._page(
            request,
            "device.html",
            view=view,
            page=page,
            hours=hours,
            events=self.site.history.events(device=view.id, limit=15),
            people=await self._people(view.id),
            message=request.query_params.get("message"),
        )

    async def _people(self, device: str) -> list[tuple[str, list[str]]]:
        """Who can walk up to a simulated gate (none on real hardware)."""
        if self.site.config.hardware != "simulated":
            return []
        try:
            found = await self.site.simulate({"model": device, "action": "people"})
        except GatewayError:
            return []
        return sorted(found["people"].items())

    async def simulate(self, request: Request) -> Response:
        """The simulated complex only: someone walks up to a door (the demo)."""
        device = request.path_params["device"]
        form = await self._form(request)
        folder = str(form.get("person", ""))
        choices = dict(await self._people(device))
        if folder not in choices:
            return self._page(request, "error.html", 400, message="Choose a person from the list.")
        photos = choices[folder]
        try:
            await self.site.simulate(
                {"model": device, "action": "walk_up", "args": {"photos": photos, "seconds": 10}}
            )
        except GatewayError as err:
            return self._page(request, "error.html", 400, message=str(err))
        message = f"{Path(folder).name} walks up to the gate; watch the events below."
        return RedirectResponse(f"/devices/{device}?message={message}", status_code=303)

    async def events(self, request: Request) -> Response:
        q = request.query_params
        device = q.get("device") or None
        severity = q.get("severity") if q.get("severity") in SEVERITIES else None
        before = int(q["before"]) if q.get("before", "").isdigit() else None
        found = self.site.history.events(device=device, severity=severity, before=before)
        return self._page(
            request,
            "events.html",
            events=found,
            devices=[v.id for v in self.site.history.views()],
            device=device,
            severity=severity,
            severities=SEVERITIES,
            older=found[-1].id if len(found) == 100 else None,
        )

    def _records_page(self, records: RecordSet) -> Handler:
        """A kind's records (a locker bank's deliveries), newest first, filtered by status."""

        async def page(request: Request) -> Response:
            status = request.query_params.get("status") or None
            found = listed(self.site.db, records, status=status, limit=200)
            return self._page(
                request, "records.html", records=records, rows=found, status_filter=status
            )

        return page

    def _record_page(self, records: RecordSet) -> Handler:
        """One record without its hidden fields; its detail object as a table of its own."""

        async def page(request: Request) -> Response:
            found = find(self.site.db, records, request.path_params["ref"])
            if found is None:
                raise HTTPException(404)
            detail = (found.pop(records.detail, None) or {}) if records.detail else None
            return self._page(request, "record.html", records=records, row=found, detail=detail)

        return page

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
        values |= {k: str(form.get(k, "")) for k in ("valid_until", "camera")}
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
                photos.append((name, decode_image(data, name)))
                originals.append(data)
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

    # -- audit and installer pages -----------------------------------------------------------

    async def audit(self, request: Request) -> Response:
        log_ = self.site.residents.audit
        return self._page(
            request, "audit.html", verification=log_.verify(), entries=log_.entries(limit=300)
        )

    async def config(self, request: Request) -> Response:
        shown = self.site.config.model_dump(mode="json")  # SecretStr values come out masked
        return self._page(request, "config.html", config=json.dumps(shown, indent=2))

    async def diagnostics(self, request: Request) -> Response:
        return self._page(
            request,
            "diagnostics.html",
            stats=json.dumps(self.site.runtime_stats(), indent=2, default=str),
            views=self.site.history.views(),
            users=self.users.all(),
            now=isoformat(self.site.clock.now()),
        )


def _safe_next(target: str | None) -> str:
    """Only a path on this console (never another site) after a login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _choice(value: str | None, allowed: tuple[int, ...], default: int) -> int:
    return int(value) if value and value.isdigit() and int(value) in allowed else default


def _when(value: str | None) -> str:
    """An ISO time as people read it (``-`` when missing)."""
    if not value:
        return "-"
    try:
        return datetime.fromisoformat(value).strftime("%d %b %Y %H:%M:%S")
    except ValueError:
        return value


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` (an upload far too large) before parsing."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"0")
        if length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        mb = self.max_bytes / 2**20
        body = (
            "<!doctype html><title>Too large</title><p>The upload is too large: at most "
            f"{mb:.0f} MB in all. Send fewer or smaller photos.</p>"
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"text/html; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class SecurityHeaders:
    """No framing, no sniffing, no caching of pages, scripts only from the console itself."""

    HEADERS: ClassVar[list[tuple[bytes, bytes]]] = [
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (
            b"content-security-policy",
            b"default-src 'self'; img-src 'self' data:; style-src 'self'; "
            b"frame-ancestors 'none'; form-action 'self'",
        ),
    ]

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def add(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + self.HEADERS
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, add)
