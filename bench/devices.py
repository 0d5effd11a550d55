"""CPU time the gateway spends per simulated device per hour.

    uv run python -m bench.devices [--bins 8] [--seconds 60] [--scale 60]

Runs the real gateway process on the simulated complex twice in the same run, against one
Mosquitto: with only its own device (the baseline), then with ``--bins`` bins sampling
every simulated minute. Each run lasts ``--seconds`` real seconds at ``--scale``, one
simulated hour by default; the process's CPU time comes from the kernel (``wait4``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gateway.broker import MosquittoBroker

# GPIO pins without the fixed pull-ups of GPIO2 and GPIO3 (I2C): room for 10 bins.
PINS = (4, 17, 27, 22, 5, 6, 13, 19, 26, 16, 20, 21, 12, 25, 24, 23, 18, 15, 14, 7)

BIN = """
[[devices]]
kind = "bin"
id = "bin-{n}"
trigger_pin = {trigger}
echo_pin = {echo}
temperature_sensor = "28-00000000{n:04d}"
sample_period_s = 60
report_period_s = 900
"""


def config(folder: Path, port: int, bins: int, scale: float) -> Path:
    text = f"""
site = "bench"
gateway_id = "gw"
data_dir = "{folder / "data"}"
hardware = "simulated"
log_level = "warning"
[simulation]
time_scale = {scale}
[mqtt]
host = "127.0.0.1"
port = {port}
[[devices]]
kind = "gateway"
id = "gateway"
"""
    for n in range(bins):
        text += BIN.format(n=n, trigger=PINS[2 * n], echo=PINS[2 * n + 1])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"gateway-{bins}.toml"
    path.write_text(text)
    return path


def cpu_seconds(config_file: Path, seconds: float) -> float:
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "run", "--config", str(config_file)],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(seconds)
    process.send_signal(signal.SIGTERM)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return float(usage.ru_utime + usage.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bins", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--scale", type=float, default=60.0)
    options = parser.parse_args()
    hours = options.seconds * options.scale / 3600
    with MosquittoBroker() as broker, tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        base = cpu_seconds(config(folder / "base", broker.port, 0, options.scale), options.seconds)
        full = cpu_seconds(
            config(folder / "bins", broker.port, options.bins, options.scale), options.seconds
        )
    per_device = (full - base) / options.bins / hours
    print(f"{hours:.2f} simulated hours in {options.seconds:.0f} s at {options.scale:g}x")
    print(f"baseline (gateway device only): {base:6.2f} s CPU")
    print(f"with {options.bins} bins:            {full:6.2f} s CPU  (ratio {full / base:.2f})")
    print(
        f"per bin per simulated hour:      {per_device:6.3f} s CPU "
        f"({per_device / 3600 * 100:.3f} % of one core at 1x)"
    )


if __name__ == "__main__":
    main()
