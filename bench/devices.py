"""CPU time the gateway spends per simulated device per hour.

    uv run python -m bench.devices [--devices 6] [--seconds 60] [--scale 60]

Runs the real gateway process on the simulated complex four times in the same run, against
one Mosquitto: with only its own device (the baseline), with ``--devices`` bins (sampling
every simulated minute), with ``--devices`` water stations (sampling every simulated
10 s, residents drawing about 6 times an hour), and with one bank of 12 parcel lockers (6
ambient, 4 chilled, 2 frozen; probes every simulated 30 s, doors and keypad read 20 times a
real second). Each run lasts ``--seconds`` real seconds at ``--scale``, one simulated hour by
default; the process's CPU time (simulator included) comes from the kernel (``wait4``).
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

from gateway.demo.broker import MosquittoBroker

# GPIO pins without the fixed pull-ups of GPIO2/3 (I2C) or SPI0's 8-11: room for 7 stations.
PINS = (4, 17, 27, 22, 5, 6, 13, 19, 26, 16, 20, 21, 12, 25, 24, 23, 18, 15, 14, 7, 0, 1)

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


STATION = """
[[devices]]
kind = "water_station"
id = "water-{n}"
flow_pin = {flow}
leak_pin = {leak}
valve_pin = {valve}
tds_channel = {channel}
temperature_sensor = "28-00000001{n:04d}"
sample_period_s = 10
report_period_s = 600
"""


BANK = """
[[devices]]
kind = "locker_bank"
id = "lockers"
sample_period_s = 30
report_period_s = 900
bus = { clock = 14, data_out = 15, latch = 7, load = 0, data_in = 1, outputs = 24, inputs = 16 }
keypad = { rows = [12, 13, 14, 15], columns = [12, 13, 14] }
"""

COMPARTMENT = """
[[devices.compartments]]
id = "L{n:02d}"
size = "M"
class = "{klass}"
lock = {n}
door = {n}
"""


def bank() -> str:
    text = BANK
    for n in range(12):
        klass = "ambient" if n < 6 else "chilled" if n < 10 else "frozen"
        text += COMPARTMENT.format(n=n, klass=klass)
        if klass != "ambient":
            text += f'cooling = {10 + n}\nprobe = "28-0000000c{n:04d}"\n'
    return text


def config(
    folder: Path, port: int, bins: int, stations: int, scale: float, lockers: bool = False
) -> Path:
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
insecure_plaintext = true
[[devices]]
kind = "gateway"
id = "gateway"
"""
    for n in range(bins):
        text += BIN.format(n=n, trigger=PINS[2 * n], echo=PINS[2 * n + 1])
    for n in range(stations):
        flow, leak, valve = PINS[3 * n : 3 * n + 3]
        text += STATION.format(n=n, flow=flow, leak=leak, valve=valve, channel=n % 8)
    if lockers:
        text += bank()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "gateway.toml"
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
    parser.add_argument("--devices", type=int, default=6, choices=range(1, 8))
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--scale", type=float, default=60.0)
    options = parser.parse_args()
    n, hours = options.devices, options.seconds * options.scale / 3600
    with MosquittoBroker() as broker, tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)

        def run(name: str, bins: int, stations: int, lockers: bool = False) -> float:
            file = config(folder / name, broker.port, bins, stations, options.scale, lockers)
            return cpu_seconds(file, options.seconds)

        base, bins, stations = run("base", 0, 0), run("bins", n, 0), run("stations", 0, n)
        lockers = run("lockers", 0, 0, lockers=True)
    print(f"{hours:.2f} simulated hours in {options.seconds:.0f} s at {options.scale:g}x")
    print(f"baseline (gateway device only): {base:6.2f} s CPU")
    for label, total in ((f"{n} bins", bins), (f"{n} water stations", stations)):
        per_device = (total - base) / n / hours
        print(
            f"with {label:18} {total:6.2f} s CPU (ratio {total / base:.2f}): "
            f"{per_device:.3f} s CPU per device per simulated hour"
        )
    print(
        f"with a 12-compartment bank {lockers:6.2f} s CPU (ratio {lockers / base:.2f}): "
        f"{(lockers - base) / options.seconds * 100:.1f} % of a core"
    )


if __name__ == "__main__":
    main()
