"""How the console shows a locker bank: parcels held, each compartment's temperature against
its band, the chosen compartment's temperature over time."""

from __future__ import annotations

from typing import Any

from gateway.history import DeviceView
from gateway.views import Card, Chart, Choice, DailyTotal, Line, Page, Table

__all__ = ["VIEW", "BankView", "compartments"]


def compartments(view: DeviceView) -> list[dict[str, Any]]:
    """A bank's compartments: its telemetry rows with their size, band and excursion."""
    layout: dict[str, dict[str, Any]] = view.state.get("compartments") or {}
    excursions = set(view.state.get("excursions") or [])
    rows = []
    for row in view.telemetry.get("compartments") or []:
        info = layout.get(row["id"], {})
        rows.append(
            {
                **row,
                "size": info.get("size", ""),
                "band_c": info.get("band_c"),
                "excursion": row["id"] in excursions,
            }
        )
    return rows


def _celsius(value: float | None, missing: str) -> str:
    return missing if value is None else f"{value:.1f}"


class BankView:
    def card(self, view: DeviceView) -> Card:
        rows: list[tuple[tuple[str, ...], bool, str | None]] = [
            (
                (
                    str(c["id"]),
                    str(c["class"]),
                    _celsius(c.get("temperature_c"), "no reading" if c["band_c"] else "-"),
                    ("yes" if c.get("occupied") else "")
                    + (" · door open" if c.get("door_open") else ""),
                ),
                bool(c["excursion"]),
                None,
            )
            for c in compartments(view)
            if c["band_c"] or c.get("occupied")
        ]
        excursions = view.state.get("excursions") or []
        problem = None
        if excursions and view.available:
            problem = "cold-chain excursion in " + ", ".join(excursions)
        return Card(
            [
                Line(f"{view.state.get('held', 0)} parcel(s) held", small=True),
                Table(("Box", "Class", "°C", "Parcel"), rows),
            ],
            problem,
        )

    def page(self, view: DeviceView, query: dict[str, str]) -> Page:
        rows = compartments(view)
        cooled = [r for r in rows if r.get("band_c")]
        wanted = query.get("compartment")
        chosen = next((r for r in rows if r["id"] == wanted), cooled[0] if cooled else None)
        charts: list[Chart | DailyTotal] = []
        if chosen is not None:
            band = chosen.get("band_c")
            charts.append(
                Chart(
                    f"Compartment {chosen['id']} ({chosen['class']}) temperature; shaded: its band",
                    f"{chosen['id']} temperature",
                    "°C",
                    ((chosen["id"], "temperature_c"),),
                    row=("compartments", chosen["id"]),
                    band=(band[0], band[1]) if band else None,
                )
            )
        table = Table(
            ("Box", "Size", "Class", "°C", "Band °C", "Cooling", "Door", "Parcel"),
            [
                (
                    (
                        str(r["id"]),
                        str(r["size"]),
                        str(r["class"]),
                        _celsius(r.get("temperature_c"), "-"),
                        f"{r['band_c'][0]:g} to {r['band_c'][1]:g}" if r["band_c"] else "-",
                        "on" if r.get("cooling_on") else "",
                        "open" if r.get("door_open") else "closed",
                        "yes" if r.get("occupied") else "",
                    ),
                    bool(r["excursion"]),
                    f"compartment={r['id']}",
                )
                for r in rows
            ],
        )
        choice = Choice(
            "Compartment",
            "compartment",
            tuple((r["id"], f"{r['id']} ({r['class']})") for r in rows),
            chosen["id"] if chosen else None,
        )
        return Page(charts, choice if chosen else None, table)


VIEW = BankView()
