"""A bank of parcel lockers: the shift-register board, and per compartment a thermal model,
a spring latch, a door and the people who use it.

Thermal model of a compartment (two lumped nodes, integrated in steps of at most 5 s):
the air and inner liner (heat capacity ``C``) gain heat through the insulation
(``UA · (T_ambient - T)``), much faster while the door is open, lose the cooling power while
the cooling relay is on (nothing when the compressor is dead) and gain the heater's power;
a parcel exchanges heat with the air through its packaging. The probe reads the air with a
little noise and the DS18B20's 1/16 °C resolution, or fails like a real one: disconnected (no
file), CRC ``NO``, or the 85 °C power-on value.

A latch pulse lets the door spring open; a person (a courier or a resident) keeps it open for
``use_s`` simulated seconds, puts a parcel in or takes it out, and closes it. Failures: the
compressor dead, a door left ajar, a probe disconnected.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers.lockers.config import CompartmentConfig, LockerBankConfig
from drivers.sim.shiftbus import MockShiftChain
from drivers.sim.sysfs import apply_settings, w1_slave_text, write_atomically
from drivers.thermostat import CLASSES
from gateway.clock import Clock

__all__ = ["BankModel", "Thermal", "ThermalCompartment"]


@dataclass(frozen=True)
class Thermal:
    """Physical constants of a compartment (SI units)."""

    ua_w_k: float  # through the closed cabinet
    door_ua_w_k: float  # extra while the door is open
    capacity_j_k: float  # air and inner liner
    cooling_w: float
    heater_w: float
    parcel_j_k: float  # a typical delivery of food
    parcel_ua_w_k: float  # through its packaging
    parcel_arrives_c: float  # as a cold-chain courier delivers it


THERMAL = {
    "ambient": Thermal(5.0, 10.0, 5_000, 0.0, 0.0, 8_000, 1.5, 25.0),
    "chilled": Thermal(0.5, 6.0, 5_000, 45.0, 20.0, 8_000, 1.5, 4.0),
    "frozen": Thermal(0.35, 6.0, 6_000, 70.0, 0.0, 6_000, 1.0, -15.0),
}


class ThermalCompartment:
    """The air of one compartment and the parcel in it."""

    MAX_STEP_S = 5.0

    def __init__(self, thermal: Thermal, temperature_c: float, ambient_c: float) -> None:
        self.thermal = thermal
        self.temperature_c = temperature_c
        self.ambient_c = ambient_c
        self.parcel_c: float | None = None
        self.cooling = self.heating = self.door_open = False
        self.compressor_dead = False

    def step(self, dt: float) -> None:
        th = self.thermal
        while dt > 0:
            h = min(dt, self.MAX_STEP_S)
            dt -= h
            ua = th.ua_w_k + (th.door_ua_w_k if self.door_open else 0.0)
            power = ua * (self.ambient_c - self.temperature_c)
            if self.cooling and not self.compressor_dead:
                power -= th.cooling_w
            if self.heating:
                power += th.heater_w
            if self.parcel_c is not None:
                flow = th.parcel_ua_w_k * (self.parcel_c - self.temperature_c)
                power += flow
                self.parcel_c -= flow * h / th.parcel_j_k
            self.temperature_c += power * h / th.capacity_j_k

    def put_parcel(self) -> None:
        self.parcel_c = self.thermal.parcel_arrives_c

    def take_parcel(self) -> None:
        self.parcel_c = None


class _Compartment:
    def __init__(self, cfg: CompartmentConfig, ambient_c: float, probe: Path | None) -> None:
        self.cfg = cfg
        profile = CLASSES[cfg.temperature_class]
        # The bank ran before the gateway started: compartments start at their setpoint.
        start = ambient_c if profile is None else (cfg.setpoint_c or profile.setpoint_c)
        self.air = ThermalCompartment(THERMAL[cfg.temperature_class], start, ambient_c)
        self.probe = probe
        self.probe_fault: str | None = None
        self.door_ajar = False
        self.use_s = 20.0
        self.open_left_s = 0.0
        self.open_ticks = 0
        self.unlocks = 0
        self.cooling_starts = 0
        self.forced = False

    def snapshot(self) -> dict[str, Any]:
        return {
            "class": self.cfg.temperature_class,
            "temperature_c": round(self.air.temperature_c, 3),
            "parcel": self.air.parcel_c is not None,
            "parcel_c": None if self.air.parcel_c is None else round(self.air.parcel_c, 3),
            "door_open": self.air.door_open,
            "cooling": self.air.cooling,
            "heating": self.air.heating,
            "cooling_starts": self.cooling_starts,
            "unlocks": self.unlocks,
            "compressor_dead": self.air.compressor_dead,
            "probe_fault": self.probe_fault,
            "door_ajar": self.door_ajar,
        }


class BankModel:
    """One locker bank of the simulated complex (named like its device)."""

    #: World ticks a door stays open at least, however fast time runs (people are slow).
    MIN_OPEN_TICKS = 3

    def __init__(
        self,
        config: LockerBankConfig,
        pins: Any,
        w1_root: Path,
        clock: Clock,
        rng: random.Random,
    ) -> None:
        self.name = config.id
        self.config = config
        self.clock = clock
        self.random = rng
        self.ambient_c = 32.0  # a summer afternoon at the complex
        self.compartments = {
            c.id: _Compartment(
                c, self.ambient_c, w1_root / c.probe / "w1_slave" if c.probe else None
            )
            for c in config.compartments
        }
        b = config.bus
        self.chain = MockShiftChain(
            pins,
            clock=b.clock,
            data_out=b.data_out,
            latch=b.latch,
            load=b.load,
            data_in=b.data_in,
            outputs=b.outputs,
            inputs=b.inputs,
            on_latch=self._latched,
            before_load=self._inputs,
        )
        #: Keys still to type: (key, world ticks left down, ticks left up).
        self.typing: list[list[Any]] = []
        self.keys_typed = 0
        self._lock_bits = [False] * b.outputs
        self._write_probes()

    def _latched(self, outputs: list[bool]) -> None:
        """On the driver's write: relays follow the latched outputs at once."""
        for c in self.compartments.values():
            cfg = c.cfg
            if outputs[cfg.lock] and not self._lock_bits[cfg.lock]:
                self._unlatch(c)
            self._lock_bits[cfg.lock] = outputs[cfg.lock]
            if cfg.cooling is not None:
                on = outputs[cfg.cooling]
                if on and not c.air.cooling:
                    c.cooling_starts += 1
                c.air.cooling = on
            if cfg.heater is not None:
                c.air.heating = outputs[cfg.heater]

    def _unlatch(self, c: _Compartment) -> None:
        c.unlocks += 1
        if not c.air.door_open:
            c.air.door_open = True
            c.forced = False
            c.open_left_s = c.use_s
            c.open_ticks = self.MIN_OPEN_TICKS
            self._doors()

    def _doors(self) -> None:
        for c in self.compartments.values():
            self.chain.inputs[c.cfg.door] = c.air.door_open

    def _inputs(self) -> None:
        """What the 165s see at a load: door switches, and the keypad's columns (pulled up;
        low where the key held down sits on a row the board drives low)."""
        self._doors()
        keypad = self.config.keypad
        if keypad is None:
            return
        held = self.typing[0][0] if self.typing and self.typing[0][1] > 0 else None
        for column in keypad.columns:
            self.chain.inputs[column] = True
        if held is not None:
            index = keypad.keys.index(held)
            row = keypad.rows[index // len(keypad.columns)]
            if not self.chain.outputs[row]:
                self.chain.inputs[keypad.columns[index % len(keypad.columns)]] = False

    def _type(self) -> None:
        """One world tick of a person typing: each key down two ticks, up one."""
        if not self.typing:
            return
        key = self.typing[0]
        if key[1] > 0:
            key[1] -= 1
        elif key[2] > 0:
            key[2] -= 1
        if key[1] == 0 and key[2] == 0:
            self.typing.pop(0)
            self.keys_typed += 1

    def step(self, dt: float) -> None:
        for c in self.compartments.values():
            c.air.ambient_c = self.ambient_c
            if c.air.door_open and not c.door_ajar and not c.forced:
                # Open for the person's ``use_s`` only, even when a fast clock keeps the
                # switch open for a few ticks so that the driver sees it.
                used = min(dt, max(c.open_left_s, 0.0))
                c.air.step(used)
                c.air.door_open = False
                c.air.step(dt - used)
                c.air.door_open = True
                c.open_left_s -= dt
                c.open_ticks -= 1
                if c.open_left_s <= 0 and c.open_ticks <= 0:
                    self._close(c)
            else:
                c.air.step(dt)
        self._type()
        self._doors()
        self._write_probes()

    def _close(self, c: _Compartment) -> None:
        """The person closes the door: a courier leaves a parcel, a resident takes it."""
        c.air.door_open = False
        if c.forced:
            c.forced = False
        elif c.air.parcel_c is None:
            c.air.put_parcel()
        else:
            c.air.take_parcel()

    def _write_probes(self) -> None:
        for c in self.compartments.values():
            if c.probe is None:
                continue
            if c.probe_fault == "disconnected":
                with contextlib.suppress(FileNotFoundError):
                    c.probe.unlink()
                continue
            reading = c.air.temperature_c + self.random.gauss(0, 0.05)
            if c.probe_fault == "power_on":
                reading = 85.0
            write_atomically(c.probe, w1_slave_text(reading, crc_ok=c.probe_fault != "crc"))

    def act(self, action: str, args: dict[str, Any]) -> dict[str, Any]:
        """``set`` (``ambient_c`` for the bank; with ``compartment``: ``temperature_c``,
        ``compressor_dead``, ``probe_fault`` (null, disconnected, crc, power_on),
        ``door_ajar``, ``use_s``); ``force`` (open a door without unlocking it); ``close``
        (the person at an open door closes it: after an unlock, with the parcel put in or
        taken out; after ``force``, as it was); ``type`` (``keys`` on the keypad, at a
        person's pace); ``get``."""
        args = dict(args)
        name = args.pop("compartment", None)
        if name is not None and name not in self.compartments:
            raise KeyError(f"no compartment {name!r} (allowed: {sorted(self.compartments)})")
        c = self.compartments[name] if name is not None else None
        if action == "set":
            if c is None:
                apply_settings(self, "bank", args, {"ambient_c"})
            else:
                air_keys = {"temperature_c", "compressor_dead"}
                apply_settings(
                    c.air, "compartment", {k: args[k] for k in args if k in air_keys}, air_keys
                )
                rest = {k: args[k] for k in args if k not in air_keys}
                apply_settings(c, "compartment", rest, {"probe_fault", "door_ajar", "use_s"})
        elif action in ("force", "close"):
            if c is None:
                raise KeyError(f"{action} needs a compartment")
            if action == "force":
                c.air.door_open = c.forced = True
            else:
                c.door_ajar = False
                if c.air.door_open:
                    self._close(c)
            self._doors()
        elif action == "type":
            keypad = self.config.keypad
            if keypad is None:
                raise KeyError("this bank has no keypad")
            keys = str(args.get("keys", ""))
            wrong = set(keys) - set(keypad.keys)
            if wrong:
                raise KeyError(f"no keys {sorted(wrong)} on the keypad ({keypad.keys})")
            self.typing.extend([key, 2, 1] for key in keys)
        elif action != "get":
            raise KeyError(
                f"unknown locker action {action!r} (allowed: set, force, close, type, get)"
            )
        self._write_probes()
        return self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        return {
            "ambient_c": self.ambient_c,
            "compartments": {n: c.snapshot() for n, c in self.compartments.items()},
            "keys_typed": self.keys_typed,
            "typing": len(self.typing),
        }
