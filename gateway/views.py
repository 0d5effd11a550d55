"""How the console shows a device, as data a device kind describes and the console renders
(the way a Home Assistant integration describes its entities): a card of meters, lines and a
table for the overview, and the charts of the device's page, named by the telemetry fields
they draw. A kind reads only what its devices publish (:class:`~gateway.history.DeviceView`)
and never draws anything itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from gateway.history import DeviceView

__all__ = ["Card", "Chart", "Choice", "ConsoleView", "DailyTotal", "Line", "Meter", "Page", "Table"]


@dataclass(frozen=True)
class Meter:
    """A percentage on a scale (a bin's fill, a filter's life), between ``prefix`` and
    ``label``; ``missing`` is shown instead when there is no value. ``low``, ``high`` and
    ``optimum`` colour it as HTML's ``<meter>`` does."""

    value: float | None
    prefix: str = ""
    label: str = ""
    missing: str = "-"
    low: float = 0
    high: float = 100
    optimum: float = 100


@dataclass(frozen=True)
class Line:
    """A line of text, ``small`` for secondary figures, ending in a ``time`` (an ISO
    timestamp the console shows in its own way) when given."""

    text: str
    small: bool = False
    time: str | None = None


@dataclass(frozen=True)
class Table:
    """Rows of cells; a flagged row is a problem (a compartment out of its band). A row's
    ``link`` is the query string of its own view on the device's page."""

    headings: tuple[str, ...]
    rows: list[tuple[tuple[str, ...], bool, str | None]] = field(default_factory=list)


@dataclass(frozen=True)
class Card:
    """A device on the overview: what it shows, and its problem (``None``: none)."""

    parts: list[Meter | Line | Table] = field(default_factory=list)
    problem: str | None = None
    #: Why someone should go to a home now (a call, a welfare check, a silent care point):
    #: the overview lists these first, under "Needs a visit".
    visit: str | None = None


@dataclass(frozen=True)
class Chart:
    """A line chart of telemetry fields: ``(name, field)`` pairs, or ``row`` (a list
    field and an element's id: one compartment of a bank) with ``field`` inside it."""

    caption: str
    title: str
    unit: str
    series: tuple[tuple[str, str], ...]
    row: tuple[str, str] | None = None
    y_range: tuple[float, float] | None = None
    #: A shaded band (a compartment's temperature band).
    band: tuple[float, float] | None = None
    #: Where the first series is heading: ``(ISO time, value)``, drawn dashed.
    projection: tuple[str, float] | None = None


@dataclass(frozen=True)
class DailyTotal:
    """Bars of how much a growing counter (a meter's litres) grew each day."""

    caption: str
    title: str
    field: str
    unit: str


@dataclass(frozen=True)
class Choice:
    """A choice the page offers (which compartment to chart): query parameter, options
    ``(value, label)``, the one chosen."""

    label: str
    parameter: str
    options: tuple[tuple[str, str], ...]
    chosen: str | None


@dataclass(frozen=True)
class Page:
    """A device's page below its card: its charts, a choice and a table."""

    charts: list[Chart | DailyTotal] = field(default_factory=list)
    choice: Choice | None = None
    table: Table | None = None


class ConsoleView(Protocol):
    """What a device kind tells the console (``DeviceKind.console``)."""

    def card(self, view: DeviceView) -> Card:
        """The overview's card of an available device (the console handles the rest)."""
        ...

    def page(self, view: DeviceView, query: dict[str, str]) -> Page:
        """The device page's charts and tables; ``query`` is the page's query string."""
        ...
