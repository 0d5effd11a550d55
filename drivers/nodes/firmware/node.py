"""A sensor node's common part: configuration, Wi-Fi, MQTT, the flash journal, the watchdog
and firmware updates. Runs under MicroPython on an ESP32 (``main.py`` calls :func:`main`).

Topics, under ``nodes/<id>/`` on the gateway's LAN broker:

- ``status`` (retained): ``{"state": "online" | "asleep" | "offline", "fw", "role"}``;
  ``offline`` is the last will.
- ``up``: readings and events, QoS 1, each ``{"seq", "epoch", "t", "age_s", "type", ...}``:
  ``seq`` counts up across sleeps and resets, ``epoch`` names the flash it is counted on,
  ``age_s`` is how long ago it was measured when it was sent.
- ``cmd``: commands from the gateway (``{"name", "args"}``).
- ``ota/<file>`` (retained): ``{"sha256", "data"}`` (base64) of a firmware file to replace.
"""

import binascii
import gc
import hashlib
import json
import os
import time

import machine
import network
from umqtt.simple import MQTTClient

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

FIRMWARE = "1.0.0"
CONFIG = "config.json"
STATE = "state.json"
JOURNAL = "journal.jsonl"
# MicroPython on the ESP32 counts time from 2000-01-01; the Unix port from 1970.
EPOCH_OFFSET = 946684800 if time.gmtime(0)[0] == 2000 else 0


def load_json(name: str, default: Any) -> Any:
    try:
        with open(name) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def save_json(name: str, value: Any) -> None:
    """Write a whole file at once: the new content under a temporary name, then renamed."""
    with open(name + ".tmp", "w") as f:
        json.dump(value, f)
    os.rename(name + ".tmp", name)


def now_s() -> int:
    return int(time.time()) + EPOCH_OFFSET


class Journal:
    """Readings and events on flash until the broker has acknowledged them (at most
    ``limit``; past it the oldest reading goes first, events last)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.entries: list[dict[str, Any]] = []
        try:
            with open(JOURNAL) as f:
                for line in f:
                    line = line.strip()
                    if line:
                        try:
                            self.entries.append(json.loads(line))
                        except ValueError:
                            pass
        except OSError:
            pass
        self.dropped = 0

    def add(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)
        while len(self.entries) > self.limit:
            drop = 0
            for i, old in enumerate(self.entries):
                if old.get("type") == "reading":
                    drop = i
                    break
            self.entries.pop(drop)
            self.dropped += 1
        self.save()

    def save(self) -> None:
        with open(JOURNAL + ".tmp", "w") as f:
            for entry in self.entries:
                f.write(json.dumps(entry))
                f.write("\n")
        os.rename(JOURNAL + ".tmp", JOURNAL)


class Node:
    """One node: call :meth:`report` with readings and events, :meth:`sync` to deliver
    them, :meth:`deepsleep` or :meth:`poll` between."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.id = config["id"]
        self.role = config["role"]
        self.base = "nodes/" + self.id + "/"
        self.period_s = int(config.get("period_s", 600))
        self.wdt = machine.WDT(timeout=int(config.get("watchdog_ms", 30000)))
        self.state = load_json(STATE, {})
        if "epoch" not in self.state:
            self.state["epoch"] = binascii.hexlify(os.urandom(4)).decode()
            self.state["seq"] = 0
            save_json(STATE, self.state)
        self.wlan = network.WLAN(network.STA_IF)
        self.battery: machine.ADC | None = None
        pins = config.get("pins", {})
        if pins.get("battery") is not None:
            self.battery = machine.ADC(machine.Pin(pins["battery"]))
            self.battery.atten(machine.ADC.ATTN_11DB)
        self.journal = Journal(int(config.get("journal_max", 200)))
        if machine.reset_cause() == machine.WDT_RESET:  # it hung, and the watchdog acted
            self.report("event", {"event": "watchdog_reset"})
        self.client: MQTTClient | None = None
        #: Called while waiting for the Wi-Fi (the care node keeps its LED blinking).
        self.idle: Callable[[], None] | None = None
        self.handlers: dict[str, Callable[[dict[str, Any]], None]] = {}

    # -- readings ----------------------------------------------------------------------------

    def battery_v(self) -> float | None:
        if self.battery is None:
            return None
        divider = float(self.config.get("battery_divider", 2.0))
        return round(self.battery.read_uv() * divider / 1000000, 3)

    def report(self, type_: str, fields: dict[str, Any]) -> None:
        """Put a reading or an event in the journal (on flash): it is sent by :meth:`sync`,
        now or after the broker's next return."""
        self.state["seq"] = self.state["seq"] + 1
        save_json(STATE, self.state)
        entry = {"seq": self.state["seq"], "epoch": self.state["epoch"], "t": now_s()}
        entry["type"] = type_
        entry["battery_v"] = self.battery_v()
        entry["rssi"] = self.wlan.status("rssi") if self.wlan.isconnected() else None
        for key in fields:
            entry[key] = fields[key]
        self.journal.add(entry)

    # -- the network -------------------------------------------------------------------------

    def connect(self) -> bool:
        """Wi-Fi and the broker, within ``connect_timeout_s``; False when either is away."""
        self.wdt.feed()
        if self.client is not None and self.wlan.isconnected():
            return True
        self.drop()
        wifi = self.config["wifi"]
        if not self.wlan.isconnected():
            self.wlan.active(True)
            self.wlan.connect(wifi["ssid"], wifi["password"])
            deadline = time.ticks_add(time.ticks_ms(), int(wifi.get("timeout_ms", 10000)))
            while not self.wlan.isconnected():
                if time.ticks_diff(deadline, time.ticks_ms()) <= 0:
                    return False
                time.sleep_ms(100)
                self.wdt.feed()
                if self.idle is not None:
                    self.idle()
        broker = self.config["broker"]
        client = MQTTClient(
            self.id,
            broker["host"],
            port=int(broker.get("port", 1883)),
            user=broker.get("user"),
            password=broker.get("password"),
            keepalive=int(broker.get("keepalive_s", 60)),
        )
        client.set_last_will(self.base + "status", self.status("offline"), retain=True, qos=1)
        client.set_callback(self.message)
        try:
            client.connect()
            self.client = client
            client.publish(self.base + "status", self.status("online"), retain=True, qos=1)
            client.subscribe(self.base + "cmd", qos=1)
            client.subscribe(self.base + "ota/#", qos=1)
        except (OSError, IndexError) as err:  # umqtt raises MQTTException (an OSError)
            print("broker:", err)
            self.drop()
            return False
        return True

    def status(self, state: str) -> bytes:
        return json.dumps({"state": state, "fw": FIRMWARE, "role": self.role}).encode()

    def drop(self) -> None:
        if self.client is not None:
            try:
                self.client.sock.close()
            except OSError:
                pass
        self.client = None

    def sync(self) -> bool:
        """Send the journal in order; each entry leaves flash once the broker acknowledged
        it. False when the broker is away (the rest waits for the next try)."""
        if not self.journal.entries and self.client is not None:
            return True
        if not self.connect():
            return False
        client = self.client
        assert client is not None
        sent = 0
        try:
            if self.journal.dropped:
                self.report("event", {"event": "journal_overflow", "lost": self.journal.dropped})
                self.journal.dropped = 0
            rssi = self.wlan.status("rssi")
            for entry in self.journal.entries:
                if entry.get("rssi") is None:  # measured before the Wi-Fi was on
                    entry["rssi"] = rssi
                # How old it is when sent: the gateway dates it by its own clock, which a
                # node that never reached a time server need not share.
                entry["age_s"] = max(0, now_s() - entry["t"])
                client.publish(self.base + "up", json.dumps(entry).encode(), qos=1)
                sent += 1
                self.wdt.feed()
        except (OSError, IndexError) as err:
            print("send:", err)
            self.drop()
        if sent:
            self.journal.entries = self.journal.entries[sent:]
            self.journal.save()
        return not self.journal.entries

    def poll(self) -> None:
        """Handle what the gateway sent (commands, updates)."""
        if self.client is None:
            return
        try:
            self.client.check_msg()
        except (OSError, IndexError) as err:
            print("poll:", err)
            self.drop()

    def message(self, topic_bytes: bytes, msg: bytes) -> None:
        topic = topic_bytes.decode()
        try:
            body = json.loads(msg)
        except ValueError:
            print("ignored: not JSON on", topic)
            return
        if topic == self.base + "cmd":
            handler = self.handlers.get(body.get("name"))
            if handler is None:
                self.report("event", {"event": "command_unknown", "name": body.get("name")})
            else:
                handler(body.get("args") or {})
        elif topic.startswith(self.base + "ota/"):
            self.update(topic[len(self.base) + 4 :], body)

    def update(self, name: str, body: dict[str, Any]) -> None:
        """Replace a firmware file when its hash checks, then restart on it."""
        if not name.endswith(".py") or "/" in name or not body:
            return
        data = binascii.a2b_base64(body.get("data", ""))
        digest = binascii.hexlify(hashlib.sha256(data).digest()).decode()
        if digest != body.get("sha256"):
            self.report("event", {"event": "update_refused", "file": name, "reason": "hash"})
            return
        try:
            with open(name) as f:
                same = hashlib.sha256(f.read().encode()).digest() == hashlib.sha256(data).digest()
        except OSError:
            same = False
        if same:
            self.report("event", {"event": "update_current", "file": name})
            return
        with open(name + ".new", "wb") as f:
            f.write(data)
        os.rename(name + ".new", name)
        self.report("event", {"event": "updated", "file": name, "sha256": digest})
        self.sync()
        self.restart()

    def restart(self) -> None:
        self.drop()
        machine.reset()

    def deepsleep(self, ms: int, wake_pin: machine.Pin | None = None) -> None:
        """Say so, then sleep (``wake_pin`` high wakes early: the lid switch)."""
        if self.client is not None:
            try:
                self.client.publish(self.base + "status", self.status("asleep"), retain=True)
                self.client.disconnect()
            except (OSError, IndexError):
                pass
        self.client = None
        if wake_pin is not None:
            import esp32

            esp32.wake_on_ext0(wake_pin, esp32.WAKEUP_ANY_HIGH)
        machine.deepsleep(ms)


def main() -> None:
    config = load_json(CONFIG, None)
    if config is None:
        print("no valid", CONFIG, "on the node's flash: copy one with mpremote")
        return
    gc.collect()
    node = Node(config)
    if config["role"] == "bin":
        import binnode

        binnode.run(node)
    elif config["role"] == "water":
        import waternode

        waternode.run(node)
    elif config["role"] == "care":
        import carenode

        carenode.run(node)
    else:
        print("unknown role", config["role"])
