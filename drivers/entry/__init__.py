"""The gate's face-recognition entry controller (``kind = "entry"``).

Camera frames → detect (YuNet) → embed (SFace) → match the gallery → dlib confirms →
k-of-n agreeing frames → the resident's status and validity → strike relay for
``strike_seconds``, relocked as soon as the door has opened and closed. Recognition runs in
child processes (:mod:`vision.worker`) that decide consecutive frames in parallel; the
event loop never waits for a frame.

People are real time, even in a time-scaled simulation: the strike time, the held-open
alarm and the unknown-face interval run on the monotonic clock; welfare checks (days) on the
gateway's clock.

The strike relay's safe state is de-energised: for a ``fail_secure`` strike that is locked,
for a ``fail_safe`` one (a maglock, for fire codes) unlocked. It takes that state at start-up
and on every stop; after a crash, ``while_restarting = "hold"`` (the default) keeps the door
locked through the supervised restart, ``"release"`` drops the relay.

Events: ``access_granted`` (resident_id, door, distance), ``access_denied`` (reason,
resident_id: a suspended resident, or one outside their validity dates), ``unknown_face``
(at most once per ``unknown_face_interval_s``), ``door_forced`` (critical: opened without
a grant or an exit request), ``door_held_open``, ``exit_request``, ``welfare_check_due``
(resident_id, unit, last_seen, unseen_h: a resident marked for it, whose home has no care
point, not seen for their own period or ``welfare_check_h``; once per period; see
:mod:`gateway.welfare`), ``welfare_check_cleared`` and ``approval_requested`` (request_id,
resident_id, distance: with ``second_factor = "unconfident"``, a match that is not confident,
with ``"always"`` every match, waits for a signed ``approve {request_id}``, which checks the
resident's status and dates again when it is applied), ``presentation_attack`` (liveness,
frames: a face the liveness models take for a photograph or a screen; at most once a minute),
``fire_release`` (critical: the fire panel's contact opened, the door is released for
everyone) and ``fire_release_cleared``, ``template_unreadable`` (resident_id, fix: left out
until enrolled again), ``bad_frame`` (problem, frames: skipped; at most once a minute) and
``audit_write_failed`` (critical: the entry itself, so nothing is lost). Grants and denials
are also written to the audit log. Signed commands: ``unlock {seconds}``, ``approve``, and
the residents' ``enroll_resident`` (photos as base64 JPEGs), ``remove_resident``,
``suspend_resident``, ``resume_resident``: the same code as ``gateway residents …``,
audited as ``upstream``.

Telemetry: ``door_open``, ``locked``, ``frames_per_s``, ``residents``.
"""

from gateway.plugins import DeviceKind

__all__ = ["KIND"]

#: The ``entry`` kind (entry point ``community_gateway.kinds``).
KIND = DeviceKind(
    name="entry",
    config="drivers.entry.config:EntryConfig",
    driver="drivers.entry.driver:EntryController",
    console="drivers.entry.console:VIEW",
    cli={"residents": "drivers.entry.cli:residents_app"},
    homeassistant="drivers.entry.homeassistant:entities",
)
