"""The bin node's awake time and its energy budget per day.

    uv run python -m bench.node [--wakes 20]

The firmware runs under the MicroPython Unix port on the simulated board against a real
Mosquitto: every wake measures (5 pings, a DS18B20 conversion), journals, connects, sends
and goes back to deep sleep. Measured here, per wake: the time before the Wi-Fi is turned on
(the measurement) and after it (the broker's exchange), and their sum as a ratio of the
firmware's own fixed waits (5 x 60 ms between pings, 750 ms for the conversion) measured in
the same run. The current figures are the ESP32 datasheet's (Espressif, *ESP32 Series
Datasheet*, "Power consumption by power modes" and "RF power consumption"), the sensors'
from theirs; what the Unix port cannot show (the Wi-Fi association) is an assumption,
printed as such.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

from drivers.sim.boards import BinBoard
from drivers.sim.nodes import NodeProcess, NodeWorld
from gateway.demo.broker import MosquittoBroker

#: Fixed waits in the bin firmware per wake: 5 pings 60 ms apart, the 750 ms conversion.
FIRMWARE_WAITS_S = 5 * 0.060 + 0.750
#: mA while measuring with the Wi-Fi off: the ESP32 in modem-sleep at 160 MHz (datasheet:
#: 27-44 mA; the top taken), the HC-SR04 working (15 mA), the DS18B20 converting (1.5 mA).
MEASURE_MA = 44 + 15 + 1.5
#: mA with the Wi-Fi on: receive 95-100 mA, transmit bursts up to 240 mA (datasheet): 120
#: taken as the mean of an exchange that mostly listens.
WIFI_MA = 120.0
#: Deep sleep with the RTC timer and RTC memory (datasheet: 10 uA), the chip alone.
SLEEP_MA = 0.010
#: Not measurable here: association and DHCP with a stored access point (assumed).
ASSOCIATE_S = 1.5
BATTERY_MAH = 3000  # one 18650 Li-ion cell


async def measure(wakes: int) -> tuple[list[float], list[float]]:
    broker = MosquittoBroker()
    broker.start()
    world = NodeWorld()
    serving = asyncio.create_task(world.serve())
    while not world.port:
        await asyncio.sleep(0.01)
    pins = {"trigger": 5, "echo": 18, "lid": 4, "onewire": 15, "battery": 35}
    config = {
        "id": "bench-bin",
        "role": "bin",
        "wifi": {"ssid": "bench", "password": "bench"},
        "broker": {"host": "127.0.0.1", "port": broker.port},
        "period_s": 600,
        "pins": pins,
    }
    board = world.add(BinBoard("bench-bin", pins, distance_m=0.7))
    with tempfile.TemporaryDirectory() as flash:
        node = NodeProcess(world, board, Path(flash), config, scale=6000)
        running = asyncio.create_task(node.run())
        try:
            while len(node.awake_s) < wakes:
                await asyncio.sleep(0.1)
        finally:
            running.cancel()
            serving.cancel()
            await asyncio.gather(running, serving, return_exceptions=True)
            broker.stop()
    return node.awake_s, node.offline_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wakes", type=int, default=20)
    args = parser.parse_args()
    awake, offline = asyncio.run(measure(args.wakes))
    online = [a - o for a, o in zip(awake, offline, strict=True)]
    mean_a, mean_off, mean_on = (statistics.mean(x) for x in (awake, offline, online))
    p95 = sorted(awake)[int(0.95 * (len(awake) - 1))]
    print(f"{len(awake)} wakes under the MicroPython Unix port (5 pings, DS18B20, MQTT QoS 1)")
    print(f"  awake per wake: mean {mean_a * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    print(f"    Wi-Fi off (measuring): {mean_off * 1000:.0f} ms; Wi-Fi on: {mean_on * 1000:.0f} ms")
    print(f"  ratio to the firmware's own waits ({FIRMWARE_WAITS_S * 1000:.0f} ms): "
          f"{mean_a / FIRMWARE_WAITS_S:.2f}x")  # fmt: skip
    print(f"  + assumed Wi-Fi association on the ESP32: {ASSOCIATE_S:.1f} s per wake")
    per_wake_mas = mean_off * MEASURE_MA + (mean_on + ASSOCIATE_S) * WIFI_MA
    print(f"  charge per wake: {per_wake_mas:.0f} mA·s\n")
    print("period   wakes/day  awake mAh  sleep mAh  mAh/day  days on 3000 mAh")
    for period in (300, 600, 1800, 3600):
        wakes_day = 86_400 / period + 20  # and about 20 lid openings
        awake_mah = wakes_day * per_wake_mas / 3600
        sleep_mah = SLEEP_MA * 24
        total = awake_mah + sleep_mah
        print(f"{period:>5} s  {wakes_day:>9.0f}  {awake_mah:>9.1f}  {sleep_mah:>9.2f}  "
              f"{total:>7.1f}  {BATTERY_MAH / total:>16.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
