"""The console's protections that sit in front of every page: a body limit answered before
any parsing, security headers on every response, and where a login may send the browser."""

from __future__ import annotations

from typing import ClassVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimit", "SecurityHeaders", "safe_next"]


def safe_next(target: str | None) -> str:
    """Only a path on this console (never another site) after a login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


#: A login form is a name, a password and two tokens: nothing near this.
LOGIN_MAX_BYTES = 4096


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` (an upload far too large) before parsing;
    the login form, which anyone may post, over :data:`LOGIN_MAX_BYTES`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = LOGIN_MAX_BYTES if scope.get("path") == "/login" else self.max_bytes
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"0")
        if length.isdigit() and int(length) > limit:
            await self._refuse(send, limit)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
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
                await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        if limit < 2**20:
            text = f"The form is too large: at most {limit} bytes."
        else:
            text = f"The upload is too large: at most {limit / 2**20:.0f} MB in all. Send "
            text += "fewer or smaller photos."
        body = f"<!doctype html><title>Too large</title><p>{text}</p>".encode()
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
