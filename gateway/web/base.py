"""What every page of the console stands on: sessions and role guards, CSRF checks, forms,
templates and the people the actions are audited as."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from gateway.settings import WebSettings
from gateway.web.auth import Session, Sessions, Signer, Users
from gateway.web.site import Site

__all__ = ["ConsoleBase", "Handler"]


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


class ConsoleBase:
    """Sessions, guards and page rendering, shared by the console's groups of pages."""

    site: Site
    settings: WebSettings
    signer: Signer
    users: Users
    sessions: Sessions
    max_photo_bytes: int
    templates: Jinja2Templates

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


def choice(value: str | None, allowed: tuple[int, ...], default: int) -> int:
    return int(value) if value and value.isdigit() and int(value) in allowed else default


def when(value: str | None) -> str:
    """An ISO time as people read it (``-`` when missing)."""
    if not value:
        return "-"
    try:
        return datetime.fromisoformat(value).strftime("%d %b %Y %H:%M:%S")
    except ValueError:
        return value
