"""How much memory the demo complex takes: the gateway's whole process tree.

    uv run python -m bench.memory [--seconds 60]

Runs ``gateway demo`` (every device kind, the gate's two recognizer processes, the console,
Mosquitto when installed), samples every process of its tree once a second after the gate
has come up, and prints the peak of the sums: RSS (what ``ps`` shows: pages shared between
processes count once in each) and PSS (each shared page divided among its sharers: the
memory the tree really takes), with each process's share at that peak. The baseline is a
bare Python interpreter, measured in the same run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.procfs import memory_kb, tree

ROOT = Path(__file__).resolve().parents[1]
#: The recognizers are up once the demo's gate reports (its first telemetry).
GATE_UP = "gate-main telemetry"


def name(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"
    if "forkserver" in cmd:  # the server loads the models; the recognizers are its children
        parent = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
        forked = b"forkserver" in Path(f"/proc/{parent}/cmdline").read_bytes()
        return "recognizer" if forked else "fork server (the models)"
    if "resource_tracker" in cmd:
        return "multiprocessing's tracker"
    return "mosquitto" if "mosquitto" in cmd else ("gateway" if "gateway" in cmd else cmd[:30])


def baseline_kb() -> tuple[int, int]:
    bare = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.5)
        return memory_kb(bare.pid)
    finally:
        bare.kill()
        bare.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    options = parser.parse_args()
    base_rss, base_pss = baseline_kb()
    demo = subprocess.Popen(
        [sys.executable, "-m", "gateway", "demo", "--duration", str(options.seconds + 120)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        gate_up = threading.Event()

        def drain() -> None:  # a full pipe would stall the demo
            assert demo.stdout is not None
            for line in demo.stdout:
                if GATE_UP in line:
                    gate_up.set()

        threading.Thread(target=drain, daemon=True).start()
        if not gate_up.wait(180):
            raise SystemExit("the demo's gate did not report within 3 minutes")
        peak: tuple[int, int, list[tuple[str, int, int]]] = (0, 0, [])
        end = time.monotonic() + options.seconds
        while time.monotonic() < end:
            rows = [(name(p), *memory_kb(p)) for p in tree(demo.pid)]
            rss, pss = sum(r[1] for r in rows), sum(r[2] for r in rows)
            if pss > peak[1]:
                peak = (rss, pss, rows)
            time.sleep(1.0)
    finally:
        demo.terminate()
        demo.wait(60)
    rss, pss, rows = peak
    print(
        f"python -c sleep (baseline)   RSS {base_rss / 1024:6.0f} MB  PSS {base_pss / 1024:6.0f} MB"
    )
    for label, one_rss, one_pss in sorted(rows, key=lambda r: -r[2]):
        if one_rss:
            print(f"  {label:26} RSS {one_rss / 1024:6.0f} MB  PSS {one_pss / 1024:6.0f} MB")
    print(
        f"demo complex, {len([r for r in rows if r[1]])} processes "
        f"RSS {rss / 1024:6.0f} MB ({rss / base_rss:4.0f}x)  "
        f"PSS {pss / 1024:6.0f} MB ({pss / base_pss:4.0f}x)  (goal: PSS <= 500 MB)"
    )


if __name__ == "__main__":
    main()
