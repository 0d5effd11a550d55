"""Recognition in a process of its own.

dlib's encoder holds Python's GIL for its whole ~65 ms, so on a thread it would stall the
gateway's event loop for as long; in a child process it cannot. :class:`RecognizerProcess`
starts one and answers ``load`` and ``decide`` over a pipe. Its methods block: call them
from a worker thread (``loop.run_in_executor``), which waits on the pipe without holding the
GIL.

The children come from a fork server (``forkserver``: a clean single-threaded process, no
inherited threads or locks of the gateway's) that has loaded both models once
(:mod:`vision.models`): each recognizer shares their ~200 MB copy-on-write instead of
loading its own, and a recognizer restarted after a crash is ready at once.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any

from vision.enrollment import Decision, Policy, Recognizer, Templates
from vision.errors import RecognizerDied, VisionError
from vision.faces import Image

__all__ = ["RecognizerProcess"]


#: Children are forked from a server that imported :mod:`vision.models` (set before the
#: server starts: it starts with the first recognizer).
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["vision.models"])


def _serve(conn: Connection, policy: Policy) -> None:
    from vision import models  # already loaded in the fork server: shared, not loaded again

    recognizer = Recognizer(policy, sface=models.SFACE, dlib=models.DLIB, liveness=models.LIVENESS)
    conn.send(("ready", None))
    while True:
        try:
            request, payload = conn.recv()
        except EOFError:
            return
        if request == "stop":
            return
        try:
            if request == "load":
                recognizer.load(payload)
                conn.send(("ok", None))
            elif request == "decide":
                conn.send(("ok", recognizer.decide(payload)))
            elif request == "templates":
                conn.send(("ok", recognizer.templates(payload)))
            else:
                conn.send(("error", f"unknown request {request!r}"))
        except Exception as err:  # every failure goes back to the caller
            conn.send(("error", f"{type(err).__name__}: {err}"))


class RecognizerProcess:
    """A :class:`Recognizer` in a child process."""

    def __init__(
        self, policy: Policy | None = None, *, start_timeout: float = 120.0, wait: bool = True
    ) -> None:
        """Start the child; with ``wait``, block until its models are loaded (else ask
        :meth:`ready` until it is: a caller that may be cancelled never holds a thread
        waiting on a child that a busy machine starts slowly)."""
        context = _CONTEXT
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, policy or Policy()), name="recognizer", daemon=True
        )
        self._process.start()
        child.close()
        self._lock = threading.Lock()
        self._ready = False
        if wait and not self._conn.poll(start_timeout):
            self.close()
            raise VisionError(f"the recognizer did not start within {start_timeout:.0f} s")
        if wait:
            self.ready()

    def ready(self) -> bool:
        """Whether the child has loaded its models (without waiting); a child that died
        while starting is a :class:`VisionError`."""
        if self._ready:
            return True
        try:
            if not self._conn.poll(0):
                if not self._process.is_alive():
                    raise VisionError("the recognizer process died while starting")
                return False
            self._conn.recv()
        except (EOFError, OSError) as err:
            raise VisionError(f"the recognizer process died while starting: {err}") from err
        self._ready = True
        return True

    def _call(self, request: str, payload: Any) -> Any:
        with self._lock:
            try:
                self._conn.send((request, payload))
                status, answer = self._conn.recv()
            except (EOFError, OSError, BrokenPipeError) as err:
                raise RecognizerDied(
                    f"the recognizer process died: {err or 'pipe closed'}"
                ) from err
        if status != "ok":  # this request failed; the child serves the next one
            raise VisionError(str(answer))
        return answer

    def load(self, templates: Mapping[str, list[Templates]]) -> None:
        self._call("load", dict(templates))

    def templates(self, image: Image) -> tuple[Templates | None, str | None]:
        """An enrollment photo's templates, or why it is refused."""
        found: tuple[Templates | None, str | None] = self._call("templates", image)
        return found

    def decide(self, image: Image) -> Decision:
        decision: Decision = self._call("decide", image)
        return decision

    def close(self) -> None:
        if self._conn.closed:
            return
        try:
            with self._lock:
                self._conn.send(("stop", None))
        except (OSError, BrokenPipeError):
            pass
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
        self._conn.close()
