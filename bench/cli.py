"""How fast the CLI starts, against the interpreter starting and doing nothing.

    uv run python -m bench.cli [--runs 20]

Prints the median wall time of ``python -c pass`` (the baseline), importing click and pydantic
(what a configuration check cannot start without: the floor), ``gateway --help``,
``gateway config check`` on a gateway without a gate and on the demo's complex (whose gate
loads OpenCV), each as a ratio to the baseline, all in one run; beside the median, the
fastest run and the median CPU time the command used (on a shared machine, the wall time
also holds the time other tenants had the CPU).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NO_GATE = 'site = "s"\ngateway_id = "g"\n\n[[devices]]\nkind = "gateway"\nid = "gateway"\n'


#: As on an installed gateway, modules are read from their compiled bytecode (the first run
#: of each command writes it; ``PYTHONDONTWRITEBYTECODE`` would make every start compile).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def times_s(argv: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Each run's wall time, and the CPU time the command itself used (user + system: what
    the machine's other tenants cannot add to)."""
    subprocess.run(argv, cwd=ROOT, check=True, capture_output=True, env=ENV)  # warm up
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, check=True, capture_output=True, env=ENV)
        wall.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        no_gate = Path(scratch) / "gateway.toml"
        no_gate.write_text(NO_GATE)
        gateway = [sys.executable, "-m", "gateway"]
        cases = {
            "python -c pass (baseline)": [sys.executable, "-c", "pass"],
            # What a command reading the configuration pays before its own code runs.
            "import click, pydantic (the floor)": [
                sys.executable, "-c", "import click, pydantic.fields"
            ],
            "gateway --help": [*gateway, "--help"],
            "gateway config check (no gate)": [*gateway, "config", "check", str(no_gate)],
            "gateway config check (demo)": [
                *gateway, "config", "check", str(ROOT / "config" / "demo.toml")
            ],
        }  # fmt: skip
        base = None
        print(f"{'':34} {'wall: median':>19} {'fastest':>8} {'CPU: median':>12}")
        for name, argv in cases.items():
            wall, cpu = times_s(argv, options.runs)
            seconds = statistics.median(wall)
            base = base or seconds
            print(
                f"{name:34} {seconds * 1000:7.0f} ms ({seconds / base:4.1f}x) "
                f"{min(wall) * 1000:5.0f} ms {statistics.median(cpu) * 1000:9.0f} ms"
            )


if __name__ == "__main__":
    main()
