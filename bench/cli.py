"""How fast the CLI starts, against the interpreter starting and doing nothing.

    uv run python -m bench.cli [--runs 20]

Times ``python -c pass`` (the baseline), importing click and pydantic (what a configuration
check cannot start without: the floor), ``gateway --help``, and ``gateway config check`` on a
gateway without a gate and on the demo's complex (whose gate loads OpenCV), all in one run,
round robin; prints for each the median wall time, the median of each round's ratio to the
baseline, the fastest run and the median CPU time the command used.
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


def timed(argv: list[str]) -> tuple[float, float]:
    """One run's wall time, and the CPU time the command itself used (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, check=True, capture_output=True, env=ENV)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        no_gate = Path(scratch) / "gateway.toml"
        no_gate.write_text(NO_GATE)
        # The installed script, as an installer runs it (not ``python -m gateway``: runpy).
        gateway = [str(Path(sys.executable).parent / "gateway")]
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
        for argv in cases.values():  # warm up
            subprocess.run(argv, cwd=ROOT, check=True, capture_output=True, env=ENV)
        # Round robin: each round runs every command once, so a command and the baseline it is
        # divided by are seconds apart whatever this machine's speed does meanwhile.
        wall: dict[str, list[float]] = {name: [] for name in cases}
        cpu: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(options.runs):
            for name, argv in cases.items():
                seconds, used = timed(argv)
                wall[name].append(seconds)
                cpu[name].append(used)
        base = wall[next(iter(cases))]
        print(f"{'':34} {'wall: median':>12} {'x baseline':>10} {'fastest':>8} {'CPU: median':>12}")
        for name in cases:
            ratio = statistics.median(w / b for w, b in zip(wall[name], base, strict=True))
            print(
                f"{name:34} {statistics.median(wall[name]) * 1000:9.0f} ms {ratio:9.1f}x "
                f"{min(wall[name]) * 1000:5.0f} ms {statistics.median(cpu[name]) * 1000:9.0f} ms"
            )


if __name__ == "__main__":
    main()
