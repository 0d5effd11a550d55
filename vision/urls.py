"""URLs as they may be shown: a camera's ``rtsp://user:password@host/…`` without its
credentials, wherever it would reach a message, a log line or a page."""

from __future__ import annotations

import re

__all__ = ["without_credentials"]

_CREDENTIALS = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s'\"]+@")


def without_credentials(text: str) -> str:
    """``text`` with every URL's ``user:password@`` replaced by ``***@``."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)
