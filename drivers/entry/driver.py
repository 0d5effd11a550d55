"""The gate's entry controller."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from drivers.base import Reporter, Sparse
from drivers.entry.access import ATTACK_INTERVAL_S, Access
from drivers.entry.config import EntryConfig, UnlockArgs, door_policy
from drivers.entry.door import DoorHardware
from drivers.entry.enrollment import ResidentCommands
from gateway.devices import DeviceConfig, Driver, DriverContext, command
from gateway.errors import CommandRejected, DeviceUnavailable
from gateway.residents import Residents
from gateway.welfare import Watched, announce, homes_watched, period_of
from vision.camera import FrameSource, frame_problem
from vision.enrollment import Decision, Policy
from vision.errors import RecognizerDied, VisionError
from vision.faces import Image
from vision.tracker import Agreement
from vision.worker import RecognizerProcess

__all__ = ["EntryController"]

#: How long the recognizer processes may take to load their models.
RECOGNIZER_START_S = 120.0
#: ``bad_frame`` is reported at most once in this many seconds (with the count since).
BAD_FRAME_INTERVAL_S = 60.0


class EntryController(Access, DoorHardware, ResidentCommands, Driver):
    """One door: camera, strike relay, door contact, exit button."""

    kind = "entry"
    config_model = EntryConfig
    config: EntryConfig

    _worker: concurrent.futures.ThreadPoolExecutor | None = None

    def __init__(self, config: DeviceConfig, ctx: DriverContext) -> None:
        super().__init__(config, ctx)
        keep = ctx.settings.residents.keep_photos if ctx.settings is not None else False
        #: The residents this door knows, and (``residents.audit``) the gateway's audit log.
        self.residents = Residents(ctx.database, keep_photos=keep)
        # Before anything else: the relay in its safe (de-energised) state.
        self._acquire_strike()
        self._recognizers: list[RecognizerProcess] = []
        self._unknowns = Sparse(self.config.unknown_face_interval_s)
        self._frames = 0
        self._resident_count = 0
        self._approvals = {}
        self._last_frame: Image | None = None
        self._bad_frames = Sparse(BAD_FRAME_INTERVAL_S)
        self._attacks = Sparse(ATTACK_INTERVAL_S)
        self._unreadable: set[str] = set()

    def close(self) -> None:
        self.safe_state()
        self._release(("_strike", "_door", "_exit", "_fire_input"))

    def crashed(self) -> None:
        """``while_restarting = "hold"``: the lock stays locked (its relay kept, energised
        for a maglock) through the supervised restart; everything else is released."""
        if self.config.while_restarting == "release":
            super().crashed()
            return
        self._fire = False
        self._lock()
        self._release(("_door", "_exit", "_fire_input"))

    def _release(self, parts: tuple[str, ...]) -> None:
        for part in parts:
            device = getattr(self, part, None)
            if device is not None:
                device.close()
                setattr(self, part, None)
        for recognizer in self._recognizers:
            recognizer.close()
        self._recognizers = []
        if self._worker is not None:
            self._worker.shutdown(wait=False, cancel_futures=True)
            self._worker = None

    # -- life --------------------------------------------------------------------------------

    async def run(self) -> None:
        ctx, cfg = self.ctx, self.config
        # Everything close() releases is acquired here: the supervisor runs a crashed door
        # again on the same object.
        self._acquire_strike()
        # One thread reads the camera; one per recognizer process waits on its pipe.
        self._worker = concurrent.futures.ThreadPoolExecutor(
            cfg.workers + 1, thread_name_prefix=f"{cfg.id}-vision"
        )
        self._open_inputs()
        self._recognizers = await self._start_recognizers(door_policy(cfg))
        deadline = time.monotonic() + RECOGNIZER_START_S
        while not all(r.ready() for r in self._recognizers):
            if time.monotonic() > deadline:
                raise DeviceUnavailable(
                    f"the recognizer did not start within {RECOGNIZER_START_S:.0f} s"
                )
            await asyncio.sleep(0.1)
        self._version = -1
        await self._reload()
        try:
            camera = ctx.hardware.camera(cfg.camera)
        except DeviceUnavailable:
            await ctx.publish_state({"name": cfg.name, "camera": "unavailable"}, available=False)
            raise
        await ctx.publish_state({"name": cfg.name, "lock_type": cfg.lock_type}, available=True)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._watch(camera), name=f"{cfg.id}-camera")
                tg.create_task(self._door_loop(), name=f"{cfg.id}-door")
                tg.create_task(self._housekeeping(), name=f"{cfg.id}-housekeeping")
        finally:
            camera.close()  # the rest: close() on a stop, crashed() after a crash

    async def _start_recognizers(self, policy: Policy) -> list[RecognizerProcess]:
        """The recognizer processes, started on threads: the first start waits for the fork
        server to load the models (seconds), which the event loop must not. A stop while
        they start closes each as soon as it exists."""
        starting = [
            self._pool().submit(RecognizerProcess, policy, wait=False)
            for _ in range(self.config.workers)
        ]
        try:
            return list(await asyncio.gather(*(asyncio.wrap_future(f) for f in starting)))
        except BaseException:
            for future in starting:
                future.add_done_callback(_close_started)
            raise

    async def _reload(self) -> None:
        """Load the gallery again when the residents changed (everyone enrolled: status and
        validity are checked per decision, so a suspended resident is denied, not unknown)."""
        residents = self.residents
        if residents.version == self._version:
            return
        self._version = residents.version
        unreadable: list[str] = []
        templates = residents.templates(everyone=True, unreadable=unreadable)
        for resident in unreadable:
            if resident not in self._unreadable:
                await self.ctx.publish_event(
                    "template_unreadable",
                    "warning",
                    resident_id=resident,
                    door=self.config.id,
                    fix="enroll the resident again (their templates do not decrypt with the "
                    "gateway's templates.key)",
                )
        self._unreadable = set(unreadable)
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._pool(), r.load, templates) for r in self._recognizers)
        )
        self._resident_count = len(templates)

    async def _watch(self, camera: FrameSource) -> None:
        """Frames go to the recognizer processes as they free up (consecutive frames are
        decided in parallel); decisions are counted in frame order."""
        loop = asyncio.get_running_loop()
        free: asyncio.Queue[RecognizerProcess] = asyncio.Queue()
        for recognizer in self._recognizers:
            free.put_nowait(recognizer)
        decided: asyncio.Queue[asyncio.Future[Decision]] = asyncio.Queue()

        def release(recognizer: RecognizerProcess) -> Callable[[Any], None]:
            return lambda _: free.put_nowait(recognizer)

        async def feed() -> None:
            while True:
                recognizer = await free.get()
                frame = await loop.run_in_executor(self._pool(), camera.read)
                if frame is None:
                    free.put_nowait(recognizer)
                    await asyncio.sleep(1 / self.config.fps)
                    continue
                problem = frame_problem(frame)
                if problem is not None:
                    free.put_nowait(recognizer)
                    await self._bad_frame(problem)
                    continue
                self._last_frame = frame
                future = loop.run_in_executor(self._pool(), recognizer.decide, frame)
                future.add_done_callback(release(recognizer))
                await decided.put(future)

        async with asyncio.TaskGroup() as tg:
            tg.create_task(feed(), name=f"{self.config.id}-frames")
            agreement = Agreement(self.config.k, self.config.n)
            while True:
                try:
                    decision = await (await decided.get())
                except RecognizerDied:
                    raise  # the supervisor starts the door (and its recognizers) again
                except VisionError as err:
                    await self._bad_frame(str(err))
                    continue
                self._frames += 1
                if decision.reason == "not live":  # never counts toward k of n
                    await self._presentation_attack(decision)
                    continue
                face = decision.faces > 0 and decision.reason not in ("face too small", "blurry")
                resident = agreement.add(decision.resident, face=face)
                if resident is not None:
                    await self._recognised(resident, decision)
                elif face and agreement.unknown():
                    await self._unknown(decision)
                    agreement.reset()

    async def _bad_frame(self, problem: str) -> None:
        """A frame the camera handed out that cannot be decided: skipped, and reported at
        most once every :data:`BAD_FRAME_INTERVAL_S`."""
        frames = self._bad_frames.happened(time.monotonic())
        if frames is not None:
            await self.ctx.publish_event(
                "bad_frame", "warning", door=self.config.id, problem=problem, frames=frames
            )

    async def _welfare(self) -> None:
        """The welfare check of the residents marked for it whose home has no care point."""
        homes = homes_watched(self.ctx.settings)
        await announce(
            self.ctx,
            (
                Watched(
                    r.id,
                    datetime.fromisoformat(r.last_seen or r.enrolled_at),
                    period_of(r, self.config.welfare_check_h),
                    {"resident_id": r.id, "unit": r.unit, "last_seen": r.last_seen},
                )
                for r in self.residents.all()
                if r.welfare_check and r.status == "active" and r.unit not in homes
            ),
        )

    async def _housekeeping(self) -> None:
        """Gallery reloads, welfare checks and telemetry."""
        ctx, cfg = self.ctx, self.config
        reporter = Reporter(cfg.report_period_s, {"door_open": 0, "locked": 0})
        frames_at, frames = time.monotonic(), 0
        while True:
            await self._reload()
            await self._welfare()
            t = time.monotonic()
            rate = (self._frames - frames) / max(t - frames_at, 1e-9)
            frames_at, frames = t, self._frames
            values: dict[str, Any] = {
                "door_open": self._door_open,
                "locked": self.locked,
                "frames_per_s": round(rate, 1),
                "residents": self._resident_count,
            }
            now = ctx.clock.monotonic()
            if reporter.due(values, now):
                await ctx.publish_telemetry(values)
                reporter.sent(values, now)
            await asyncio.sleep(1.0)

    # -- commands ----------------------------------------------------------------------------

    @command(args=UnlockArgs, actuating=True, max_valid_s=60)
    async def unlock(self, args: UnlockArgs) -> dict[str, Any]:
        """Open the door remotely for ``seconds``."""
        if self._strike is None:
            raise CommandRejected("refused", "the door is not running")
        self._unlock(args.seconds, "remote")
        await self._audit("remote", "access_granted", door=self.config.id, seconds=args.seconds)
        return {"door": self.config.id, "unlocked_s": args.seconds}


def _close_started(future: concurrent.futures.Future[RecognizerProcess]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().close()
