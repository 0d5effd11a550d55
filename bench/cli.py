"""How fast the CLI starts, against the interpreter starting and doing nothing.

    uv run python -m bench.cli [--runs 10]

Prints the median wall time of ``python -c pass`` (the baseline), importing Typer and pydantic
(Typer 0.29 validates every parameter with pydantic: the floor of any command), ``gateway --help``,
``gateway config check`` on a gateway without a gate and on the demo's complex (whose gate
loads OpenCV), each as a ratio to the baseline, all in one run.
"""

from __future__ import annotations

import argparse
import os
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


def median_s(argv: list[str], runs: int) -> float:
    subprocess.run(argv, cwd=ROOT, check=True, capture_output=True, env=ENV)  # warm up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, check=True, capture_output=True, env=ENV)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        no_gate = Path(scratch) / "gateway.toml"
        no_gate.write_text(NO_GATE)
        gateway = [sys.executable, "-m", "gateway"]
        cases = {
            "python -c pass (baseline)": [sys.executable, "-c", "pass"],
            # What any Typer command with pydantic settings pays before its own code runs.
            "import typer, pydantic (the floor)": [
                sys.executable, "-c", "import typer, pydantic.fields; from typer import _adapters"
            ],
            "gateway --help": [*gateway, "--help"],
            "gateway config check (no gate)": [*gateway, "config", "check", str(no_gate)],
            "gateway config check (demo)": [
                *gateway, "config", "check", str(ROOT / "config" / "demo.toml")
            ],
        }  # fmt: skip
        base = None
        for name, argv in cases.items():
            seconds = median_s(argv, options.runs)
            base = base or seconds
            print(f"{name:34} {seconds * 1000:7.0f} ms  ({seconds / base:5.1f}x)")


if __name__ == "__main__":
    main()
