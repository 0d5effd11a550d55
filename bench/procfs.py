"""A process tree's CPU and memory, read from ``/proc`` (Linux): what the benches report of
the gateway's processes and of the peer's."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

__all__ = ["Usage", "cpu_s", "memory_kb", "tree"]

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int | str) -> list[str]:
    """``/proc/<pid>/stat`` after the command's name (which may hold spaces)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def tree(pid: int) -> list[int]:
    """``pid`` and every descendant."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents.setdefault(int(_stat(entry)[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):  # gone meanwhile
                continue
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def cpu_s(pid: int) -> float:
    """CPU time (user + system) ``pid`` has used, in seconds (0 once it has gone)."""
    try:
        fields = _stat(pid)
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process, in kB (``(0, 0)`` once it has gone)."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return 0, 0
    values = {line.split(":")[0]: int(line.split()[1]) for line in rollup[1:] if ":" in line}
    return values.get("Rss", 0), values.get("Pss", 0)


class Usage:
    """CPU (a share of one core) and the largest RSS of a process tree, sampled twice a
    second while :meth:`measuring`."""

    def __init__(self) -> None:
        self.pid = 0
        self.rss_max_kb = 0
        self.cpu_s = 0.0

    def sample(self) -> tuple[float, int]:
        processes = tree(self.pid)
        return sum(map(cpu_s, processes)), sum(memory_kb(p)[0] for p in processes)

    @contextlib.asynccontextmanager
    async def measuring(self, pid: int) -> AsyncIterator[Usage]:
        self.pid, self.rss_max_kb = pid, 0
        cpu0, _ = self.sample()
        wall0 = time.monotonic()

        async def watch() -> None:
            while True:
                _, rss = self.sample()
                self.rss_max_kb = max(self.rss_max_kb, rss)
                await asyncio.sleep(0.5)

        watcher = asyncio.create_task(watch())
        try:
            yield self
        finally:
            watcher.cancel()
            cpu1, _ = self.sample()
            self.cpu_s = (cpu1 - cpu0) / max(time.monotonic() - wall0, 1e-9)
