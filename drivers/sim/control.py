"""The simulated world's control channel: JSON lines over a Unix socket in ``data_dir``.

Present only in simulation. Tests and the demo use it to act on the world::

    await control.request(socket_path, {"model": "host", "action": "set", "args": {...}})

A request names a model and an action; the reply is ``{"ok": true, "result": …}`` or
``{"ok": false, "error": "…"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

__all__ = ["ControlServer", "request"]

Handler = Callable[[dict[str, Any]], Awaitable[Any]]


class ControlServer:
    """Serves the control channel until cancelled."""

    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self._handler = handler

    async def serve(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        server = await asyncio.start_unix_server(self._client, path=str(self.path))
        try:
            async with server:
                await server.serve_forever()
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    message = json.loads(line)
                    if not isinstance(message, dict):
                        raise ValueError("a request is a JSON object")
                    reply = {"ok": True, "result": await self._handler(message)}
                except (ValueError, KeyError, TypeError) as err:
                    reply = {"ok": False, "error": str(err)}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


async def request(path: Path | str, message: dict[str, Any], timeout: float = 5.0) -> Any:
    """Send one request to the world; returns its result or raises ``RuntimeError``."""
    reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path)), timeout)
    try:
        writer.write(json.dumps(message).encode() + b"\n")
        await writer.drain()
        reply = json.loads(await asyncio.wait_for(reader.readline(), timeout))
    finally:
        writer.close()
    if not reply.get("ok"):
        raise RuntimeError(reply.get("error", "the world refused the request"))
    return reply.get("result")
