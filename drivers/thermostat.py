"""Temperature control of a compartment: pure logic, no pins and no clock of its own.

- :class:`Thermostat`: on/off cooling (and an optional heater) with a hysteresis band and
  minimum on and off times, so a compressor never short-cycles (at most
  ``3600 / (min_on_s + min_off_s)`` starts an hour). Without a reading it fails safe: cooling
  runs at a fixed duty cycle until the probe is back.
- :class:`ExcursionMonitor`: how long a temperature has been outside its alarm band; an
  excursion is a warning after a grace period and critical after a limit or past a hard limit.
- :class:`TemperatureRecord`: what a delivery went through: min, max, time-weighted mean,
  minutes out of the holding band, excursions.

Every method takes the time (monotonic seconds) from the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "CLASSES",
    "ClassProfile",
    "ExcursionMonitor",
    "TemperatureRecord",
    "Thermostat",
]


@dataclass(frozen=True)
class ClassProfile:
    """What a compartment class holds: its setpoint, the holding band that counts as "in
    band" (deposits are accepted only inside it; time outside it is counted), the wider
    alarm band and the hard limits that make an excursion critical at once."""

    setpoint_c: float
    band: tuple[float, float]
    alarm: tuple[float, float]
    hard: tuple[float, float]


#: The compartment classes. Chilled follows the FDA's cold holding (at most 5 °C, not frozen);
#: frozen holds at -18 °C or colder and alarms above -15 °C.
CLASSES: dict[str, ClassProfile | None] = {
    "ambient": None,
    "chilled": ClassProfile(3.0, (0.0, 5.0), (0.0, 5.0), (-2.0, 8.0)),
    "frozen": ClassProfile(-21.0, (-40.0, -18.0), (-40.0, -15.0), (-45.0, -10.0)),
}


class Thermostat:
    """Bang-bang cooling with hysteresis and anti-short-cycle times.

    Cooling starts above ``setpoint + differential / 2`` and stops below
    ``setpoint - differential / 2``, but never before it has run ``min_on_s`` nor restarts
    before it has rested ``min_off_s``. The heater (when fitted) holds the band's floor in a
    cold room and never runs together with the cooling.
    """

    def __init__(
        self,
        setpoint_c: float,
        *,
        differential_c: float = 2.0,
        min_on_s: float = 300.0,
        min_off_s: float = 300.0,
        fault_duty: float = 0.5,
        fault_period_s: float = 1200.0,
        heater_below_c: float | None = None,
        heater_differential_c: float = 1.0,
    ) -> None:
        if differential_c <= 0:
            raise ValueError("differential_c must be > 0")
        if not 0 <= fault_duty <= 1:
            raise ValueError("fault_duty must lie in 0…1")
        self.setpoint_c = setpoint_c
        self.differential_c = differential_c
        self.min_on_s = min_on_s
        self.min_off_s = min_off_s
        self.fault_duty = fault_duty
        self.fault_period_s = max(fault_period_s, min_on_s + min_off_s)
        self.heater_below_c = heater_below_c
        self.heater_differential_c = heater_differential_c
        self.cooling = False
        self.heating = False
        self.starts = 0
        self._changed_at = -math.inf
        self._fault_since: float | None = None

    @property
    def cut_in_c(self) -> float:
        return self.setpoint_c + self.differential_c / 2

    @property
    def cut_out_c(self) -> float:
        return self.setpoint_c - self.differential_c / 2

    def update(self, temperature_c: float | None, now: float) -> bool:
        """The cooling relay's new state for a reading (``None``: the probe failed)."""
        if temperature_c is None:
            self.heating = False
            want = self._fault_wants(now)
        else:
            self._fault_since = None
            if self.cooling:
                want = temperature_c > self.cut_out_c
            else:
                want = temperature_c >= self.cut_in_c
            self._update_heater(temperature_c)
        self._switch(want, now)
        if self.cooling:
            self.heating = False
        return self.cooling

    def _fault_wants(self, now: float) -> bool:
        """Without a probe: ``fault_duty`` of each ``fault_period_s``, starting with cooling."""
        if self._fault_since is None:
            self._fault_since = now
        phase = (now - self._fault_since) % self.fault_period_s
        return phase < self.fault_duty * self.fault_period_s

    def _update_heater(self, temperature_c: float) -> None:
        if self.heater_below_c is None:
            return
        if self.heating:
            self.heating = temperature_c < self.heater_below_c + self.heater_differential_c
        else:
            self.heating = temperature_c <= self.heater_below_c

    def _switch(self, want: bool, now: float) -> None:
        if want == self.cooling:
            return
        rested = now - self._changed_at
        if rested < (self.min_on_s if self.cooling else self.min_off_s):
            return
        self.cooling = want
        self._changed_at = now
        if want:
            self.starts += 1


Verdict = Literal["excursion", "critical", "restored"]


class ExcursionMonitor:
    """Turns readings into excursion verdicts, one of each per excursion.

    ``update()`` returns ``"excursion"`` once the temperature has stayed outside ``alarm``
    for ``grace_s``, ``"critical"`` once it has for ``critical_s`` or passed a ``hard``
    limit, and ``"restored"`` when it is back inside after a reported excursion.
    """

    def __init__(
        self,
        alarm: tuple[float, float],
        hard: tuple[float, float],
        *,
        grace_s: float = 900.0,
        critical_s: float = 3600.0,
    ) -> None:
        self.alarm, self.hard = alarm, hard
        self.grace_s, self.critical_s = grace_s, critical_s
        self.level: Literal["ok", "excursion", "critical"] = "ok"
        self.outside_since: float | None = None

    def update(self, temperature_c: float | None, now: float) -> Verdict | None:
        if temperature_c is None:
            return None  # a probe fault is not a temperature
        low, high = self.alarm
        if low <= temperature_c <= high:
            self.outside_since = None
            if self.level != "ok":
                self.level = "ok"
                return "restored"
            return None
        if self.outside_since is None:
            self.outside_since = now
        lasted = now - self.outside_since
        beyond_hard = not self.hard[0] <= temperature_c <= self.hard[1]
        if self.level != "critical" and (lasted >= self.critical_s or beyond_hard):
            self.level = "critical"
            return "critical"
        if self.level == "ok" and lasted >= self.grace_s:
            self.level = "excursion"
            return "excursion"
        return None

    def duration_s(self, now: float) -> float:
        return 0.0 if self.outside_since is None else now - self.outside_since


class TemperatureRecord:
    """A delivery's temperature history, summarised as it goes (and stored as a dict)."""

    def __init__(self, band: tuple[float, float] | None, data: dict[str, Any] | None = None):
        self.band = band
        d = data or {}
        self.min_c: float | None = d.get("min_c")
        self.max_c: float | None = d.get("max_c")
        self._weighted: float = d.get("weighted_c_s", 0.0)
        self._seconds: float = d.get("measured_s", 0.0)
        self.out_of_band_s: float = d.get("out_of_band_s", 0.0)
        self.probe_fault_s: float = d.get("probe_fault_s", 0.0)
        self.excursions: int = d.get("excursions", 0)

    def add(self, temperature_c: float | None, seconds: float) -> None:
        """``temperature_c`` held for the ``seconds`` since the previous sample."""
        if temperature_c is None:
            self.probe_fault_s += seconds
            return
        self.min_c = temperature_c if self.min_c is None else min(self.min_c, temperature_c)
        self.max_c = temperature_c if self.max_c is None else max(self.max_c, temperature_c)
        self._weighted += temperature_c * seconds
        self._seconds += seconds
        if self.band is not None and not self.band[0] <= temperature_c <= self.band[1]:
            self.out_of_band_s += seconds

    def excursion(self) -> None:
        self.excursions += 1

    @property
    def mean_c(self) -> float | None:
        return self._weighted / self._seconds if self._seconds > 0 else self.min_c

    def state(self) -> dict[str, Any]:
        """What is stored (everything needed to carry on after a restart)."""
        return {
            "min_c": self.min_c,
            "max_c": self.max_c,
            "weighted_c_s": self._weighted,
            "measured_s": self._seconds,
            "out_of_band_s": self.out_of_band_s,
            "probe_fault_s": self.probe_fault_s,
            "excursions": self.excursions,
        }

    def summary(self) -> dict[str, Any]:
        """What upstream and ``gateway deliveries show`` see."""

        def r(value: float | None) -> float | None:
            return None if value is None else round(value, 2)

        return {
            "min_c": r(self.min_c),
            "max_c": r(self.max_c),
            "mean_c": r(self.mean_c),
            "minutes_out_of_band": round(self.out_of_band_s / 60, 1),
            "minutes_without_probe": round(self.probe_fault_s / 60, 1),
            "excursions": self.excursions,
            "band_c": None if self.band is None else list(self.band),
        }
