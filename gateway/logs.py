"""The gateway's log: lines on stderr without credentials, the last of them kept for a remote
``diagnostics``, and a level that a signed ``set_log_level`` raises for a while.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import deque

__all__ = ["RECENT", "LevelOverride", "RecentLines", "Redacting", "setup"]

#: Libraries whose INFO lines say nothing a newcomer to the demo needs (the embedded broker's
#: state machine, the web server's requests); shown with ``gateway demo --verbose``.
CHATTY_LIBRARIES = ("amqtt", "transitions", "uvicorn", "uvicorn.access", "uvicorn.error")
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class Redacting(logging.Formatter):
    """Log lines without the credentials of any URL in them (a camera's rtsp password)."""

    def format(self, record: logging.LogRecord) -> str:
        from vision.urls import without_credentials

        return without_credentials(super().format(record))


class RecentLines(logging.Handler):
    """The last ``size`` records, formatted (so redacted) like the log itself when asked: a
    flood of log lines costs an append each, not a second formatting."""

    def __init__(self, size: int = 200) -> None:
        super().__init__()
        self._records: deque[logging.LogRecord] = deque(maxlen=size)
        self._guard = threading.Lock()
        self.setFormatter(Redacting(FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        with self._guard:
            self._records.append(record)

    def lines(self) -> list[str]:
        with self._guard:
            records = list(self._records)
        found = []
        for record in records:
            try:
                found.append(self.format(record))
            except Exception:  # a log call with bad arguments: logging's own way of coping
                found.append(f"(unformattable log record from {record.name})")
        return found


#: Filled by :func:`setup` (``gateway run`` and ``gateway demo``).
RECENT = RecentLines()


def setup(level: str, *, libraries: str | None = None) -> None:
    """The gateway's log on stderr at ``level`` (and in :data:`RECENT`); third-party loggers
    at ``libraries`` when given."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Redacting(FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler, RECENT])
    if libraries is not None:
        for name in CHATTY_LIBRARIES:
            logging.getLogger(name).setLevel(libraries.upper())


class LevelOverride:
    """The root logger at another level until :meth:`revert` (a timer calls it)."""

    def __init__(self) -> None:
        self._saved: int | None = None

    @property
    def level(self) -> str:
        return logging.getLevelName(logging.getLogger().level).lower()

    def set(self, level: str) -> None:
        root = logging.getLogger()
        if self._saved is None:
            self._saved = root.level
        root.setLevel(level.upper())

    def revert(self) -> None:
        if self._saved is not None:
            logging.getLogger().setLevel(self._saved)
            self._saved = None
