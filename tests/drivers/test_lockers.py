"""Locker banks: configuration checks, codes and the simulated bank's physics."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory
from pydantic import ValidationError

from drivers.lockers.attempts import Attempts
from drivers.lockers.codes import CodeVault
from drivers.lockers.config import LockerBankConfig
from drivers.sensors import read_ds18b20
from drivers.shiftbus import MatrixKeypad, ShiftRegisterBus
from drivers.sim.lockers import BankModel
from gateway.clock import ScaledClock
from gateway.db import Database
from gateway.devices import DriverContext
from gateway.errors import DeviceUnavailable, StorageError
from gateway.outbox import Outbox
from gateway.topics import Topics
from tests.gateway.helpers import MockHardware, StubRuntime

BUS = {"clock": 14, "data_out": 15, "latch": 7, "load": 0, "data_in": 1, "outputs": 16}


def bank(*compartments: dict[str, Any]) -> LockerBankConfig:
    return LockerBankConfig.model_validate(
        {"id": "lockers", "bus": BUS, "compartments": list(compartments)}
    )


CHILLED = {
    "id": "C1",
    "size": "M",
    "class": "chilled",
    "lock": 0,
    "door": 0,
    "cooling": 8,
    "probe": "28-000000000c01",
}


def test_a_chilled_compartment_needs_cooling_and_a_probe() -> None:
    with pytest.raises(ValidationError, match="needs a cooling bit and a probe"):
        bank({**CHILLED, "probe": None})
    with pytest.raises(ValidationError, match="ambient compartment has no cooling"):
        bank({"id": "A1", "size": "S", "lock": 1, "door": 1, "cooling": 9})


def test_a_setpoint_outside_the_class_band_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"setpoint_c 7.0 is outside the chilled band"):
        bank({**CHILLED, "setpoint_c": 7.0})


def test_bits_must_exist_on_the_board_and_not_be_shared() -> None:
    with pytest.raises(ValidationError, match=r"C1: cooling bit 40 is beyond the board's 16"):
        bank({**CHILLED, "cooling": 40})
    with pytest.raises(ValidationError, match=r"A1: lock bit 8 is already C1.cooling"):
        bank(CHILLED, {"id": "A1", "size": "S", "lock": 8, "door": 1})
    with pytest.raises(ValidationError, match=r"A1: door bit 0 is already C1.door"):
        bank(CHILLED, {"id": "A1", "size": "S", "lock": 1, "door": 0})
    with pytest.raises(ValidationError, match="ids must be unique"):
        bank(CHILLED, {**CHILLED, "lock": 1, "door": 1, "cooling": 9})


def test_codes_are_kept_as_keyed_hashes_unique_among_held_parcels(tmp_path: Path) -> None:
    vault = CodeVault(tmp_path / "codes.key")
    digest = vault.digest("123456")
    assert (tmp_path / "codes.key").stat().st_mode & 0o777 == 0o600
    assert digest == vault.digest("123456") != vault.digest("123457")
    assert "123456" not in digest
    # Another gateway's key (or none: a copy of the database alone) gives other digests.
    assert CodeVault(tmp_path / "other.key").digest("123456") != digest
    assert vault.matches({"code_hash": digest}, "123456")
    assert not vault.matches({"code_hash": digest}, "123457")
    # A code is never one a held parcel has: with 9 of the 10 one-digit codes taken, the
    # tenth comes out every time.
    held = [{"code_hash": vault.digest(str(n))} for n in range(9)]
    assert {vault.issue(1, held) for _ in range(20)} == {"9"}
    # The code waits sealed (bound to its delivery) until delivery_ready is durable.
    sealed = vault.seal("D-1", "123456")
    assert "123456" not in sealed and vault.open("D-1", sealed) == "123456"
    with pytest.raises(StorageError, match="D-2 does not decrypt"):
        vault.open("D-2", sealed)
    # Parcels deposited before the vault keep working: PBKDF2 with their salt.
    salt = bytes(16)
    legacy = hashlib.pbkdf2_hmac("sha256", b"654321", salt, 50_000).hex()
    assert vault.matches({"code_hash": legacy, "code_salt": salt.hex()}, "654321")
    assert vault.open("D-3", "654321") == "654321"


@pytest.fixture
def model(tmp_path: Path) -> Iterator[BankModel]:
    pins = MockFactory()
    yield BankModel(bank(CHILLED), pins, tmp_path, ScaledClock(1), random.Random(0))
    pins.reset()
    pins.close()


def test_a_dead_compressor_lets_the_compartment_warm_towards_the_room(
    model: BankModel, tmp_path: Path
) -> None:
    model.act("set", {"compartment": "C1", "compressor_dead": True})
    for _ in range(60):
        model.step(60.0)  # an hour
    warmed = model.snapshot()["compartments"]["C1"]["temperature_c"]
    # T = 32 - 29·exp(-t / (C / UA)) with C / UA = 10,000 s: about 9.6 °C after an hour
    assert warmed == pytest.approx(32 - 29 * 2.718281828 ** (-3600 / 10_000), abs=0.2)
    assert read_ds18b20(tmp_path, "28-000000000c01") == pytest.approx(warmed, abs=0.3)


@pytest.mark.parametrize(
    ("fault", "message"),
    [("disconnected", "not on the 1-wire bus"), ("crc", "CRC"), ("power_on", "85")],
)
def test_probe_faults_look_like_a_real_ds18b20s(
    model: BankModel, tmp_path: Path, fault: str, message: str
) -> None:
    model.act("set", {"compartment": "C1", "probe_fault": fault})
    with pytest.raises(DeviceUnavailable, match=message):
        read_ds18b20(tmp_path, "28-000000000c01")


def test_unknown_settings_and_compartments_are_named(model: BankModel) -> None:
    with pytest.raises(KeyError, match="no compartment 'C9'"):
        model.act("set", {"compartment": "C9", "door_ajar": True})
    with pytest.raises(KeyError, match="unknown compartment settings"):
        model.act("set", {"compartment": "C1", "colour": "red"})


def test_the_keypad_reads_what_a_person_types_on_the_simulated_matrix(tmp_path: Path) -> None:
    pins = MockFactory()
    config = LockerBankConfig.model_validate(
        {
            "id": "lockers",
            "bus": BUS,
            "compartments": [CHILLED],
            "keypad": {"rows": [12, 13, 14, 15], "columns": [5, 6, 7]},
        }
    )
    model = BankModel(config, pins, tmp_path, ScaledClock(1), random.Random(0))
    bus = ShiftRegisterBus(pin_factory=pins, **config.bus.model_dump())
    assert config.keypad is not None
    keypad = MatrixKeypad(bus, rows=[12, 13, 14, 15], columns=[5, 6, 7], keys=config.keypad.keys)
    try:

        def typed(keys: str, start: float = 0.0) -> list[str]:
            model.act("type", {"keys": keys})
            entries, t = [], start
            while model.snapshot()["typing"]:
                for _ in range(2):  # the bank reads its inputs twice per world tick
                    entry = keypad.poll(bus.read(), t)
                    if entry is not None:
                        entries.append(entry)
                    t += 0.05
                model.step(0.1)
            return entries

        assert typed("4711#") == ["4711"]
        assert typed("99*0852#") == ["0852"]  # * starts again
        assert typed("#") == []  # nothing typed: nothing confirmed
        assert typed("12") == [] and typed("34#", start=100.0) == ["34"]  # 12 timed out
        assert not any(bus.state)  # the rows idle low, every relay as it was
    finally:
        bus.close()
        pins.reset()
        pins.close()


def test_keypad_bits_are_checked_against_the_board() -> None:
    with pytest.raises(ValidationError, match=r"keypad row bit 0 is already C1\.lock"):
        LockerBankConfig.model_validate(
            {
                "id": "l",
                "bus": BUS,
                "compartments": [CHILLED],
                "keypad": {"rows": [0, 13, 14, 15], "columns": [5, 6, 7]},
            }
        )
    with pytest.raises(ValidationError, match="keys has 12 keys for 2 rows and 3 columns"):
        LockerBankConfig.model_validate(
            {
                "id": "l",
                "bus": BUS,
                "compartments": [CHILLED],
                "keypad": {"rows": [12, 13], "columns": [5, 6, 7]},
            }
        )


def test_each_lockout_in_a_day_lasts_twice_the_last_and_the_third_is_an_attack(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "g.sqlite3")
    hardware = MockHardware(tmp_path)
    clock = ScaledClock(1)
    config = bank(CHILLED)
    ctx = DriverContext(
        config=config, clock=clock, hardware=hardware, outbox=Outbox(db),
        topics=Topics("cg/v1", "s", "g"), store=db.device_store("lockers"),
        runtime=StubRuntime(), data_dir=tmp_path, database=db,
    )  # fmt: skip
    attempts = Attempts(ctx, "codes/C1", config)
    lengths, lockouts = [], []
    for _ in range(3):
        for _ in range(config.max_wrong_codes - 1):
            assert attempts.failed()[1] is None
        _, until, count = attempts.failed()
        assert until is not None
        lengths.append(datetime.fromisoformat(until).timestamp() - clock.now().timestamp())
        lockouts.append(count)
        clock.jump(lengths[-1] + 1)  # wait the lockout out
    assert lockouts == [1, 2, 3]  # the third within a day: reported as an attack
    assert [round(x / config.lockout_s) for x in lengths] == [1, 2, 4]
    hardware.close()
