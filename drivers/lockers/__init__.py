"""Parcel lockers with temperature-controlled compartments (``kind = "locker_bank"``).

Couriers deposit, residents collect with a code, and food deliveries wait in chilled or
frozen compartments held at temperature, with a record that proves it.

Each compartment is a row of the ``compartments`` table: a latch relay (a pulse opens it),
a door reed switch, and for chilled and frozen ones a DS18B20 probe, a cooling relay and
optionally a heater. Relays and door switches sit on the bank's shift-register board
(:mod:`drivers.shiftbus`). Control is :mod:`drivers.thermostat`.

The flow (every command signed, every reply durable):

- ``deposit {size, class, delivery_ref}``: a free compartment of that class, of that size or
  the next larger, in its temperature band, opens; when its door has opened and closed the
  parcel is held and ``delivery_ready {compartment, delivery_ref, pickup_code}`` goes
  upstream. The code is unique among the held parcels; only its HMAC under ``codes.key``
  (beside the database, not in it) stays on the gateway (:mod:`drivers.lockers.codes`).
- ``open_for_pickup {delivery_ref, code}``: the compartment opens; when its door has opened
  and closed, ``collected`` carries the delivery's temperature record. Five wrong codes in
  ten minutes lock the compartment out for a while (``compartment_locked_out``); each
  lockout within a day lasts twice the last, and the third is ``pickup_code_attack``
  (critical).
- ``return_delivery {delivery_ref}``: opens a held parcel's compartment for the courier to
  take it back (``returned``, with its record).
- The bank's keypad (optional, a matrix on the same board): a resident types the code and
  ``#``; the compartment holding that parcel opens. Five wrong codes lock the keypad out
  (``keypad_locked_out``); a right code for a locked-out compartment is ``pickup_refused``.

Events: ``delivery_ready``, ``collected``, ``returned``, ``deposit_cancelled``,
``uncollected`` (after each of ``reminder_hours``), ``wrong_code``,
``compartment_locked_out``, ``keypad_locked_out``, ``pickup_code_attack``, ``pickup_refused``,
``door_held_open``,
``door_forced`` (critical: opened without an unlock), ``cold_chain_excursion`` (warning
after the grace period, critical after the limit or past a hard limit),
``cold_chain_restored``, ``sensor_fault``, ``sensor_recovered``.

Telemetry: ``compartments``, a list of ``{id, class, temperature_c, setpoint_c, cooling_on,
door_open, occupied}``, on change and at the report period.

Deliveries live in the ``deliveries`` collection of the gateway's database
(:mod:`drivers.lockers.records`; ``gateway deliveries list|show``); every change is committed
before it is acted on, so a restart never loses a parcel, a code or an open temperature
record.

Modules: ``config`` (the bank's options, its commands' arguments), ``compartment``,
``attempts`` (wrong-code lockouts), ``records`` (deliveries as stored and as shown),
``flow`` (deposits, pickups, returns, the keypad), ``driver`` (board, doors, climate).
"""

from drivers.lockers.records import DELIVERIES
from gateway.plugins import DeviceKind

__all__ = ["KIND"]

#: The ``locker_bank`` kind (entry point ``community_gateway.kinds``).
KIND = DeviceKind(
    name="locker_bank",
    config="drivers.lockers.config:LockerBankConfig",
    driver="drivers.lockers.driver:LockerBank",
    console="drivers.lockers.console:VIEW",
    cli={"deliveries": "drivers.lockers.cli:deliveries_app"},
    secrets=frozenset({"pickup_code", "code"}),
    records=(DELIVERIES,),
    homeassistant="drivers.lockers.homeassistant:entities",
)
