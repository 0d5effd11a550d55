"""Care points for residents living alone (``kind = "care_point"``): one per home.

Wired to the home's entrance: an emergency call button or pull cord with its LED, a smoke
detector's alarm contact or interconnect line, an infrared presence sensor and optionally
the door's contact, and a supervision loop through them all.

What it keeps about the people it watches over: the time of the last activity at the home
(movement at the entrance, the door, a press), nothing else; no movement log leaves it or is
stored. That time and the residents' gate passages feed the welfare check
(:mod:`gateway.welfare`): the care point announces its home's residents, the gate everyone
else.

Telemetry: ``last_activity`` (a time), ``call`` (``none``, ``calling``, ``acknowledged``),
``smoke``, ``connected``. Events: ``emergency_call`` (critical: call_id, unit, pressed_at,
repeat; again every ``call_repeat_s`` until acknowledged), ``emergency_call_acknowledged``
(call_id, unit, responder), ``emergency_call_closed`` (``acknowledged_led_s`` after the
answer), ``smoke_detected`` and ``smoke_cleared`` (critical: unit),
``welfare_check_due`` (unit, resident_ids, last_activity, unseen_h: no sign of life for the
shortest period of the home's residents marked for it, else ``welfare_check_h``; once per
period) and ``welfare_check_cleared``, ``care_point_offline`` (the supervision loop open for
two report periods: warning; after ``offline_critical_s``: critical) and
``care_point_online``. Signed command: ``acknowledge_call {call_id?, responder?}``.
"""

from gateway.plugins import DeviceKind

__all__ = ["KIND"]

#: The ``care_point`` kind (entry point ``community_gateway.kinds``).
KIND = DeviceKind(
    name="care_point",
    config="drivers.care.config:CareConfig",
    driver="drivers.care.driver:CarePoint",
    console="drivers.care.console:VIEW",
    homeassistant="drivers.care.homeassistant:entities",
)
