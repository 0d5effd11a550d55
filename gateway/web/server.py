"""Serving the console with uvicorn inside the gateway's event loop (the uvicorn boundary).

The gateway keeps its own signal handling (uvicorn's is switched off); a console that cannot
listen (the port taken, say) is logged and left out while every device keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from gateway.settings import WebSettings

__all__ = ["bind", "serve"]

log = logging.getLogger(__name__)
# uvicorn's own start and stop lines say nothing the gateway's log does not.
logging.getLogger("uvicorn.error").setLevel(logging.WARNING)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the gateway handles SIGTERM and SIGINT itself


def bind(settings: WebSettings) -> socket.socket | None:
    """The console's listening socket, or ``None`` (logged) when it cannot be had."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as err:
        sock.close()
        log.error(
            "the console cannot listen on %s:%d (%s); the devices run on without it. "
            "Choose another [web] port, or stop what uses this one.",
            settings.host,
            settings.port,
            err.strerror,
        )
        return None
    sock.listen(64)
    sock.setblocking(False)
    return sock


async def serve(app: ASGIApp, settings: WebSettings) -> None:
    """Serve ``app`` until cancelled, then close open connections within 2 s."""
    sock = bind(settings)
    if sock is None:
        return
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="off",
        ssl_certfile=str(settings.tls_cert) if settings.tls_cert else None,
        ssl_keyfile=str(settings.tls_key) if settings.tls_key else None,
        proxy_headers=settings.behind_tls_proxy,
        forwarded_allow_ips="127.0.0.1" if settings.behind_tls_proxy else None,
        timeout_graceful_shutdown=2,
        server_header=False,
    )
    server = _Server(config)
    scheme = "https" if settings.tls_cert else "http"
    log.info("console at %s://%s:%d/", scheme, settings.host, settings.port)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)
        raise
    finally:
        sock.close()
