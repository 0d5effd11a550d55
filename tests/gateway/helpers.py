"""Small builders shared by the gateway tests."""

from __future__ import annotations

from gateway.messages import render_envelope


def envelope(seq: int) -> bytes:
    """A telemetry envelope with ``seq`` (a ``render`` for ``Outbox.put_envelope``)."""
    return render_envelope(f"m{seq}", seq, "2026-11-22T10:15:00.123Z", "d", "k", "telemetry", {})
