"""Deliveries as the bank records them, and as people may see them (the CLI and the console:
never the code or its hash)."""

from __future__ import annotations

from gateway.records import RecordSet

__all__ = ["CLOSED", "COLLECTION", "DELIVERIES"]

COLLECTION = "deliveries"
CLOSED = ("collected", "returned", "cancelled")


#: Deliveries as the console and ``gateway deliveries`` show them: never the code, its hash
#: or the code not yet announced.
DELIVERIES = RecordSet(
    collection=COLLECTION,
    title="Deliveries",
    noun="delivery",
    statuses=("reserved", "held", "collected", "returned", "cancelled"),
    columns=(
        ("Status", "status"),
        ("Compartment", "compartment"),
        ("Class", "class"),
        ("Deposited", "deposited_at"),
        ("Min °C", "temperature.min_c"),
        ("Max °C", "temperature.max_c"),
        ("Minutes out of band", "temperature.minutes_out_of_band"),
    ),
    hidden=frozenset({"code_hash", "code_salt", "pending_code", "record"}),
    detail="temperature",
    flag="temperature.excursions",
)
