"""The complex's gate: a camera that shows whoever walks up, a strike, a door and its
contact, an exit button, and the people who use them.

``walk_up`` puts a person in front of the camera: their photographs, each centred in a
640x480 frame, for ``seconds`` real seconds (the camera runs in real time whatever the
clock's scale), with empty frames of the street before and after. When the strike releases
while someone is there, they open the door, walk through and close it. ``force`` opens the
door without a release (``door_forced``); ``exit`` presses the button inside.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from drivers.entry.config import EntryConfig
from drivers.sim.pins import HeldPin, SignalPin
from gateway.clock import Clock
from vision.faces import Image, load_image

__all__ = ["PHOTOGRAPHS", "GateModel", "SimulatedCamera", "people"]

WIDTH, HEIGHT = 640, 480
#: What a glitching camera driver has been seen to hand out: a grey frame, 16-bit pixels,
#: an empty buffer, a single line, a bare object.
GARBAGE: list[object] = [
    np.zeros((HEIGHT, WIDTH), np.uint8),
    np.zeros((HEIGHT, WIDTH, 3), np.uint16),
    np.zeros((0, 0, 3), np.uint8),
    np.zeros((1, WIDTH, 3), np.uint8),
    b"\x00" * 64,
]

#: The photographs the simulator ships: ``people/<Name>/*.jpg`` and ``objects/*`` (no face).
PHOTOGRAPHS = Path(__file__).with_name("photographs")
_SUFFIXES = {".jpg", ".jpeg", ".png"}


def people(photos_dir: Path) -> dict[str, list[str]]:
    """Who can walk up: each folder of three or more photographs under ``photos_dir`` that
    is not ``objects``, with its last two photographs (relative) for a walk-up."""
    found: dict[str, list[str]] = {}
    for folder in sorted(p for p in photos_dir.glob("**/") if p.is_dir()):
        photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in _SUFFIXES)
        if len(photos) >= 3 and "objects" not in folder.relative_to(photos_dir).parts:
            found[str(folder.relative_to(photos_dir))] = [
                str(p.relative_to(photos_dir)) for p in photos[-2:]
            ]
    return found


def street(seed: int = 0) -> Image:
    """An empty frame: a gradient with a little noise (no face in it)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(60, 170, WIDTH, dtype=np.float32)[None, :, None]
    frame = np.broadcast_to(ramp, (HEIGHT, WIDTH, 3)) + rng.normal(0, 4, (HEIGHT, WIDTH, 3))
    return np.clip(frame, 0, 255).astype(np.uint8)


def framed(photo: Image, background: Image) -> Image:
    """A photograph scaled to 360 px high and centred in a camera frame."""
    h, w = photo.shape[:2]
    scale = 360 / h
    resized = cv2.resize(photo, (max(1, int(w * scale)), 360), interpolation=cv2.INTER_LINEAR)
    resized = resized[:, :WIDTH]
    frame = background.copy()
    top, left = (HEIGHT - resized.shape[0]) // 2, (WIDTH - resized.shape[1]) // 2
    frame[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
    return frame


class SimulatedCamera:
    """What the gate's camera sees, at ``fps`` frames a real second."""

    def __init__(self, fps: float) -> None:
        self.interval = 1.0 / fps
        self.background = street()
        self._lock = threading.Lock()
        self._showing: list[Image] = []
        self._until = 0.0
        self._index = 0
        self._next = time.monotonic()
        self._closed = threading.Event()
        self.failed = False
        #: Frames still to hand out as garbage (see :data:`GARBAGE`).
        self.garbage = 0
        self.frames = 0
        #: When the first frame of the current walk-up was handed out (for the bench).
        self.first_face_at: float | None = None

    def show(self, photos: list[Image], seconds: float, *, as_frame: bool = False) -> None:
        """``photos`` in turn for ``seconds``: each centred in the street, or (``as_frame``:
        whole camera captures) as the frame itself."""
        with self._lock:
            self._showing = [p if as_frame else framed(p, self.background) for p in photos]
            self._until = time.monotonic() + seconds
            self._index = 0
            self.first_face_at = None

    def present(self) -> bool:
        return bool(self._showing) and time.monotonic() < self._until

    def leave(self) -> None:
        with self._lock:
            self._showing = []

    def read(self) -> Image | None:
        delay = self._next - time.monotonic()
        if delay > 0 and self._closed.wait(delay):
            return None
        if self._closed.is_set():
            return None
        if self.failed:
            raise OSError("the camera's cable is cut")
        self._next = max(self._next + self.interval, time.monotonic())
        self.frames += 1
        if self.garbage > 0:  # a driver glitch: what comes out is no RGB picture
            self.garbage -= 1
            return GARBAGE[self.garbage % len(GARBAGE)]  # type: ignore[return-value]
        with self._lock:
            if self._showing and time.monotonic() < self._until:
                frame = self._showing[self._index % len(self._showing)]
                self._index += 1
                if self.first_face_at is None:
                    self.first_face_at = time.monotonic()
                return frame
        return self.background

    def open(self) -> SimulatedCamera:
        """Open it (again): a door that crashed and closed its camera opens it anew."""
        self._closed.clear()
        return self

    def close(self) -> None:
        self._closed.set()


class GateModel:
    """One door of the simulated complex (named like its device)."""

    #: World ticks a person takes to walk through an open door (at least).
    THROUGH_TICKS = 4

    def __init__(
        self,
        config: EntryConfig,
        pins: Any,
        clock: Clock,
        rng: random.Random,
        photos_dir: Path | None = None,
    ) -> None:
        self.name = config.id
        self.photos_dir = photos_dir or PHOTOGRAPHS
        self.config = config
        self.clock = clock
        self.random = rng
        self.camera = SimulatedCamera(config.fps)
        self.strike = pins.pin(config.strike_pin, pin_class=SignalPin, on_change=self._strike)
        self.door = pins.pin(config.door_pin)
        self.exit_button = pins.pin(config.exit_pin) if config.exit_pin is not None else None
        self.fire_contact: HeldPin | None = None
        if config.fire_release_pin is not None:
            self.fire_contact = pins.pin(config.fire_release_pin, pin_class=HeldPin)
            self.fire_contact.hold(False)  # the panel's contact is closed: no fire
        self.door_open = False
        self.forced = False
        self.walking_through = 0
        self.passages = 0
        self.released_at: float | None = None
        self.release_latencies: list[float] = []
        self._exit_ticks = 0
        self.door.drive_low()  # closed
        if self.exit_button is not None:
            self.exit_button.drive_high()  # released

    @property
    def released(self) -> bool:
        energised = bool(self.strike.state)
        return energised if self.config.lock_type == "fail_secure" else not energised

    def _strike(self, level: bool) -> None:
        """On the driver's write: time the release from the first frame with a face."""
        if self.released:
            self.released_at = time.monotonic()
            if self.camera.first_face_at is not None:
                self.release_latencies.append(self.released_at - self.camera.first_face_at)
                self.camera.first_face_at = None
        else:
            self.released_at = None

    def step(self, dt: float) -> None:
        waiting = self.camera.present() or self._exit_ticks > 0
        if self.released and waiting and not self.door_open:
            self.door_open, self.walking_through = True, self.THROUGH_TICKS
            self.camera.leave()
        elif self.door_open and not self.forced and self.walking_through > 0:
            self.walking_through -= 1
            if self.walking_through == 0:
                self.door_open = False
                self.passages += 1
        if self._exit_ticks > 0:
            self._exit_ticks -= 1
            if self.exit_button is not None and self._exit_ticks == 0:
                self.exit_button.drive_high()  # released
        (self.door.drive_high if self.door_open else self.door.drive_low)()

    def act(self, action: str, args: dict[str, Any]) -> dict[str, Any]:
        """``walk_up`` (``photos``: image files; ``seconds``: how long, real time;
        ``as_frame``: each photo is a whole camera capture, not centred in the street),
        ``force`` (open the door without a release), ``close``, ``exit`` (press the button
        inside and walk out), ``camera_fault`` (``failed``: the camera raises on read),
        ``garbage_frames`` (``count``: frames that are no picture: a camera driver's glitch),
        ``fire_alarm`` (``active``: the fire panel opens its contact, or closes it again),
        ``people`` (who can walk up: folder → photographs), ``get``."""
        if action == "walk_up":
            paths = args.get("photos")
            if not isinstance(paths, list) or not paths:
                raise ValueError("walk_up needs photos: a list of image files")
            try:
                photos = [load_image(self._photo(p)) for p in paths]
            except (OSError, Exception) as err:
                raise ValueError(f"walk_up: {err}") from None
            self.camera.show(
                photos, float(args.get("seconds", 3.0)), as_frame=bool(args.get("as_frame"))
            )
        elif action == "people":
            return {"people": people(self.photos_dir)}
        elif action == "force":
            self.door_open = self.forced = True
        elif action == "close":
            self.door_open = self.forced = False
        elif action == "camera_fault":
            self.camera.failed = bool(args.get("failed", True))
        elif action == "garbage_frames":
            self.camera.garbage = int(args.get("count", 10))
        elif action == "fire_alarm":
            if self.fire_contact is None:
                raise KeyError("this door has no fire_release_pin")
            self.fire_contact.hold(bool(args.get("active", True)))  # open: the alarm
        elif action == "exit":
            if self.exit_button is None:
                raise KeyError("this door has no exit button")
            self.exit_button.drive_low()  # pressed: to ground
            self._exit_ticks = 3
        elif action != "get":
            raise KeyError(
                f"unknown gate action {action!r} "
                "(allowed: walk_up, people, force, close, exit, camera_fault, garbage_frames, "
                "fire_alarm, get)"
            )
        (self.door.drive_high if self.door_open else self.door.drive_low)()
        return self.snapshot()

    def _photo(self, name: str) -> Path:
        path = Path(name)
        if not path.is_absolute():
            path = self.photos_dir / path
        return path

    def snapshot(self) -> dict[str, Any]:
        return {
            "released": self.released,
            "strike_energised": bool(self.strike.state),
            "door_open": self.door_open,
            "passages": self.passages,
            "someone_there": self.camera.present(),
            "frames": self.camera.frames,
            "release_latencies_s": [round(x, 4) for x in self.release_latencies],
        }
