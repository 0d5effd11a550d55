"""Telling systemd how the gateway is (the whole process under systemd: the installer's HIL)."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from gateway import systemd


def test_notify_reaches_an_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"cg-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        systemd.notify("READY=1")
        assert sock.recv(100) == b"READY=1"


def test_nothing_happens_outside_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    systemd.notify("READY=1")  # no socket, no error

    async def briefly() -> None:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await systemd.watchdog()  # waits for ever, feeding nothing

    asyncio.run(briefly())
