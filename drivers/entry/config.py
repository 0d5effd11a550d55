"""The gate's configuration and its commands' arguments."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import ConfigDict, Field

from drivers.base import Pin
from gateway.devices import Args, DeviceConfig
from gateway.topics import SEGMENT_PATTERN

if TYPE_CHECKING:
    from vision.enrollment import Policy

__all__ = [
    "ApproveArgs", "EnrollArgs", "EntryConfig", "ResidentArgs", "UnlockArgs", "door_policy",
]  # fmt: skip


class EntryConfig(DeviceConfig):
    """``[[devices]] kind = "entry"``."""

    model_config = ConfigDict(extra="forbid")

    kind: str = "entry"
    report_period_s: float = Field(default=300, gt=0, le=86_400)
    #: A V4L2 device (``/dev/video0`` or ``0``), an RTSP URL, or (simulated) the gate's name.
    camera: str
    strike_pin: Pin
    #: Door contact: a reed switch to ground, closed while the door is (open reads high).
    door_pin: Pin
    #: Request-to-exit button inside, to ground (pressed reads low).
    exit_pin: Pin | None = None
    #: ``fail_secure``: locked without power (a strike); ``fail_safe``: open without power.
    lock_type: str = Field(default="fail_secure", pattern="^(fail_secure|fail_safe)$")
    #: What the lock does while its driver restarts after a crash: ``hold`` keeps it locked
    #: (a maglock stays powered; free egress comes from the hardware: the exit button and
    #: the fire panel wired into the lock's power, and power loss); ``release`` drops the
    #: relay (a ``fail_safe`` maglock opens, a ``fail_secure`` strike stays locked).
    while_restarting: str = Field(default="hold", pattern="^(hold|release)$")
    #: The fire panel's alarm contact, to ground: closed (low) in normal times, open on alarm
    #: (a cut wire counts as an alarm). While it is open the door is released and held open
    #: for everyone: critical ``fire_release``, then ``fire_release_cleared``.
    fire_release_pin: Pin | None = None
    strike_seconds: float = Field(default=5.0, gt=0, le=60)
    door_held_open_s: float = Field(default=30.0, gt=0)
    #: Frames a second the camera is read at.
    fps: float = Field(default=30.0, gt=0, le=60)
    #: Recognizer processes deciding consecutive frames in parallel (each holds both models,
    #: about 150 MB); 2 halves the time to a decision on a 2-core board.
    workers: int = Field(default=2, ge=1, le=8)
    #: The largest SFace cosine distance to a resident's template that can name them
    #: (chosen by measurement: see the README's face recognition accuracy).
    sface_tolerance: float = Field(default=0.55, gt=0, le=2)
    #: The largest dlib euclidean distance that confirms the resident SFace named.
    dlib_tolerance: float = Field(default=0.5, gt=0, le=2)
    #: How much nearer the named resident must be than the second-nearest (SFace distance):
    #: a face between two residents names neither.
    margin: float = Field(default=0.05, ge=0, le=1)
    #: Agreement: the door opens when ``k`` of the last ``n`` frames with a face name the same
    #: resident (one frame alone never opens it unless ``k = 1``).
    k: int = Field(default=2, ge=1, le=20)
    n: int = Field(default=3, ge=1, le=30)
    #: A frame counts only with a face at least this wide (pixels) ...
    min_face_px: float = Field(default=70.0, gt=0)
    #: ... and this sharp (variance of the Laplacian of the face).
    min_sharpness: float = Field(default=10.0, ge=0)
    #: ``passive``: each frame's face is checked by the liveness models (a photograph or a
    #: screen held up to the camera is refused, ``presentation_attack``); ``off``: not.
    liveness: str = Field(default="passive", pattern="^(off|passive)$")
    #: The liveness models' mean score below which a face is not live (chosen by
    #: measurement: see the README's liveness figures).
    liveness_threshold: float = Field(default=0.3, gt=0, lt=1)
    #: ``unknown_face`` is sent at most once in this many seconds.
    unknown_face_interval_s: float = Field(default=60.0, ge=0)
    #: Residents marked for a welfare check, unseen for this many hours: ``welfare_check_due``.
    welfare_check_h: float = Field(default=48.0, gt=0)
    #: ``unconfident``: a match whose SFace distance is above ``confident_distance`` opens
    #: only when upstream answers ``approval_requested`` with a signed ``approve`` in time;
    #: ``always``: every grant waits for that approval; ``off``: recognition alone opens.
    second_factor: str = Field(default="off", pattern="^(off|unconfident|always)$")
    confident_distance: float = Field(default=0.35, gt=0, le=2)
    approval_timeout_s: float = Field(default=60.0, gt=0, le=3600)


def door_policy(cfg: EntryConfig) -> Policy:
    """How this door decides a frame (its tolerances, gates and liveness)."""
    from vision.enrollment import Policy  # numpy and OpenCV: not for `gateway config check`

    return Policy(
        sface_tolerance=cfg.sface_tolerance,
        dlib_tolerance=cfg.dlib_tolerance,
        margin=cfg.margin,
        min_face_px=cfg.min_face_px,
        min_sharpness=cfg.min_sharpness,
        liveness_threshold=cfg.liveness_threshold if cfg.liveness == "passive" else None,
    )


class UnlockArgs(Args):
    seconds: float = Field(default=5.0, gt=0, le=60)


class ApproveArgs(Args):
    request_id: str = Field(pattern=SEGMENT_PATTERN)


class EnrollArgs(Args):
    """Enroll (or add photos to) a resident from upstream: photos as base64 JPEGs."""

    resident_id: str = Field(pattern=SEGMENT_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    unit: str = Field(min_length=1, max_length=50)
    photos: list[str] = Field(min_length=1, max_length=10)
    consent_at: datetime
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    welfare_check: bool = False
    #: Hours without a sign of life before the welfare check (default: the device's own).
    welfare_h: float | None = Field(default=None, ge=1, le=720)


class ResidentArgs(Args):
    resident_id: str = Field(pattern=SEGMENT_PATTERN)
