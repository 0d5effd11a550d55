"""The console's pages and forms (Starlette and Jinja2; the pages are drawn on the server).

Every page needs a login. Managers see everything and change residents; installers see
everything and also the configuration and diagnostics, but do not change residents. Every
form carries a CSRF token (the login form a signed one bound to a pre-login cookie); every
change goes through the same code as the CLI and the signed commands and is audited as
``console:<user>``. Guards and rendering are :mod:`gateway.web.base`'s, the protections in
front of every page :mod:`gateway.web.security`'s, the residents pages
:mod:`gateway.web.residents`'.
"""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from gateway.errors import GatewayError
from gateway.keyfile import read_or_create_key
from gateway.limits import SlidingWindow
from gateway.messages import isoformat
from gateway.plugins import console_view, record_sets
from gateway.records import RecordSet, field, find, listed
from gateway.settings import WebSettings
from gateway.web.auth import LoginRefused, Sessions, Signer, UserError, Users
from gateway.web.base import (
    CLIENT_FAILURES,
    CLIENT_WINDOW_S,
    HERE,
    LOGIN_COOKIE,
    MAX_PHOTOS,
    SESSION_COOKIE,
    SEVERITIES,
    Handler,
    choice,
    when,
)
from gateway.web.devices import device_page, summary
from gateway.web.residents import ResidentPages
from gateway.web.security import BodyLimit, SecurityHeaders, safe_next
from gateway.web.site import Site
from vision.urls import without_credentials

__all__ = ["Console"]


#: Every refused login gets this one answer (the log and the audit keep the reason): which
#: names exist and which accounts are locked is not told to whoever is guessing.
LOGIN_REFUSED = (
    "Wrong name or password, or the account is locked after too many wrong passwords "
    "(an installer can unlock it on the Diagnostics page)."
)
log = logging.getLogger(__name__)


class Console(ResidentPages):
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
        self.templates.env.filters["when"] = when
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
            Route("/installer/users/{name}/unlock", installer(self.unlock_user), methods=["POST"]),
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
            next=safe_next(request.query_params.get("next")),
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
            user = await self.users.authenticate(name, password, client=client)
        except LoginRefused as refused:
            self._client_failures.hit(client)
            log.warning("console: login refused for %r from %s: %s", name, client, refused)
            return self._login_page(request, 401, LOGIN_REFUSED)
        self.users.audit.append(f"console:{user.name}", "login", user.name, client=client)
        response = RedirectResponse(safe_next(str(form.get("next", ""))), status_code=303)
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
            visits=[c for c in cards if c["visit"]],
            problems=[c for c in cards if c["problem"] and not c["visit"]],
            uplink=self.site.runtime_stats().get("uplink"),
        )

    async def device(self, request: Request) -> Response:
        view = self.site.history.view(request.path_params["device"])
        if view is None:
            raise HTTPException(404)
        hours = choice(request.query_params.get("hours"), (6, 24, 72, 168), 24)
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

    # -- audit and installer pages -----------------------------------------------------------

    async def audit(self, request: Request) -> Response:
        log_ = self.site.residents.audit
        rows = log_.rows()  # read here; the whole chain's hashes are checked off the loop
        verification = await asyncio.get_running_loop().run_in_executor(None, log_.check, rows)
        return self._page(
            request, "audit.html", verification=verification, entries=log_.entries(limit=300)
        )

    async def config(self, request: Request) -> Response:
        # Each device with its own kind's fields; SecretStr values come out masked.
        shown = self.site.config.model_dump(mode="json", serialize_as_any=True)
        text = without_credentials(json.dumps(shown, indent=2))  # a camera's rtsp password
        return self._page(request, "config.html", config=text)

    async def unlock_user(self, request: Request) -> Response:
        """An installer unlocks an account (a manager locked out by wrong passwords)."""
        name = request.path_params["name"]
        try:
            self.users.unlock(name, actor=self._actor(request))
        except UserError as err:
            raise HTTPException(404, str(err)) from None
        return RedirectResponse("/installer/diagnostics", status_code=303)

    async def diagnostics(self, request: Request) -> Response:
        return self._page(
            request,
            "diagnostics.html",
            stats=json.dumps(self.site.runtime_stats(), indent=2, default=str),
            views=self.site.history.views(),
            users=self.users.all(),
            now=isoformat(self.site.clock.now()),
        )
