"""Simulated sensor nodes: the MicroPython firmware of ``drivers/nodes/firmware`` run by the
MicroPython Unix port, on a board whose pins, Wi-Fi and sleep the world here drives.

:class:`NodeWorld` serves the boards' ``machine`` / ``network`` layer
(``drivers/sim/nodeboard``) over loopback TCP; :class:`NodeProcess` is one node's power:
it starts the firmware, powers it down on ``deepsleep`` and up again when the timer or the
lid wakes it, and restarts it when its watchdog is not fed. Nothing here is imported by a
gateway: tests and benches use it beside a real Mosquitto.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from drivers.nodes.ota import FIRMWARE
from drivers.sim.boards import Board, CareBoard
from drivers.sim.micropython import BOARD, micropython, micropython_lib

__all__ = ["NodeProcess", "NodeWorld"]

PWRON_RESET, WDT_RESET, DEEPSLEEP_RESET = 1, 3, 4
EXT0_WAKE, TIMER_WAKE = 2, 4


class NodeWorld:
    """The boards, served to the nodes' firmware on a loopback port."""

    TICK_S = 0.05

    def __init__(self) -> None:
        self.boards: dict[str, Board] = {}
        self.port = 0
        self._irq: dict[str, asyncio.StreamWriter] = {}
        self._armed: dict[str, set[int]] = {}
        self.events: dict[str, asyncio.Queue[str]] = {}

    def add(self, board: Board) -> Board:
        self.boards[board.id] = board
        self.events[board.id] = asyncio.Queue()
        return board

    async def serve(self) -> None:
        """Until cancelled (run it as a task; :attr:`port` is set once listening)."""
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        async with server:
            await asyncio.gather(server.serve_forever(), self._interrupts())

    async def _interrupts(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(self.TICK_S)
            now = time.monotonic()
            for node, board in self.boards.items():
                writer = self._irq.get(node)
                for pin, count in board.pulses(now - last).items():
                    if writer is not None and pin in self._armed.get(node, ()):
                        writer.write(json.dumps({"pin": pin, "count": count}).encode() + b"\n")
            last = now

    def press(self, node: str) -> None:
        """Someone presses a care node's call button (and lets go)."""
        board = self.boards[node]
        assert isinstance(board, CareBoard)
        board.pressed = True
        self.interrupt(node, board.pins["call"])
        asyncio.get_running_loop().call_later(0.3, setattr, board, "pressed", False)

    def interrupt(self, node: str, pin: int) -> None:
        """An edge on ``pin`` (the leak input rising), if the firmware armed it."""
        writer = self._irq.get(node)
        if writer is not None and pin in self._armed.get(node, ()):
            writer.write(json.dumps({"pin": pin}).encode() + b"\n")

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            hello = json.loads(await reader.readline())
            node, channel = str(hello["node"]), hello["channel"]
            board = self.boards[node]
        except (ValueError, KeyError):
            writer.close()
            return
        if channel == "irq":
            self._irq[node] = writer
            with contextlib.suppress(ConnectionError):
                await reader.read()
            if self._irq.get(node) is writer:
                del self._irq[node]
            return
        self._armed[node] = set()
        with contextlib.suppress(ConnectionError):
            while line := await reader.readline():
                while board.stalled:
                    await asyncio.sleep(0.05)
                request = json.loads(line)
                try:
                    reply: dict[str, Any] = {"result": self._call(node, board, request)}
                except (KeyError, ValueError, TypeError) as err:
                    reply = {"error": str(err)}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        writer.close()

    def _call(self, node: str, board: Board, request: dict[str, Any]) -> Any:
        op = request["op"]
        if op == "pin_read":
            return board.read(int(request["pin"]))
        if op == "pin_write":
            pin, value = int(request["pin"]), int(request["value"])
            if isinstance(board, CareBoard) and pin == board.pins.get("led"):
                board.led_changes += board.outputs.get(pin, 0) != value
            board.outputs[pin] = value
            return None
        if op == "pulse_us":
            return board.pulse_us(int(request["pin"]), int(request["timeout_us"]))
        if op == "adc_uv":
            return board.adc_uv(int(request["pin"]))
        if op == "ow_scan":
            return list(board.probes(int(request["pin"])))
        if op == "ow_temp":
            return board.probes(int(request["pin"]))[request["rom"]]
        if op == "irq":
            self._armed[node].add(int(request["pin"]))
            return None
        if op == "wifi_connect" and board.wifi_at is None:
            board.wifi_at = time.monotonic()
        if op in ("wifi", "wifi_connect"):
            up = board.wifi_up and board.wifi_at is not None
            return {"connected": up, "rssi": board.rssi if up else None}
        if op == "watchdog":
            board.watchdog_ms, board.fed_at = int(request["timeout_ms"]), time.monotonic()
            return None
        if op == "feed":
            board.fed_at = time.monotonic()
            return None
        if op == "wake_on":
            board.wake_pin = (int(request["pin"]), int(request["level"]))
            return None
        if op in ("deepsleep", "reset"):
            board.sleep_ms = int(request.get("ms", 0)) if op == "deepsleep" else None
            self.events[node].put_nowait(op)
            return None
        raise KeyError(f"unknown operation {op!r}")


class NodeProcess:
    """One node's power: the firmware run by the Unix port in ``root`` (its flash),
    powered down when it sleeps and up when it wakes.

    ``scale`` runs simulated time that many times faster (a 600 s sleep lasts 600/scale s).
    """

    def __init__(
        self,
        world: NodeWorld,
        board: Board,
        root: Path,
        config: dict[str, Any],
        *,
        scale: float = 1.0,
        lib: Path | None = None,
    ) -> None:
        self.world, self.board, self.root = world, board, root
        self.scale = scale
        self.lib = lib or micropython_lib()
        #: Each wake's time from power-up to deep sleep, and its part before the Wi-Fi.
        self.awake_s: list[float] = []
        self.offline_s: list[float] = []
        self.boots = 0
        self.log: list[str] = []
        self.powered = True
        # Simulated wall time: the machine's at the start; awake it runs at the real pace,
        # asleep ``scale`` times faster.
        self._clock = (time.time(), time.monotonic(), 1.0)
        self._proc: asyncio.subprocess.Process | None = None
        root.mkdir(parents=True, exist_ok=True)
        for source in FIRMWARE.glob("*.py"):
            shutil.copy2(source, root / source.name)
        (root / "config.json").write_text(json.dumps(config))

    async def run(self) -> None:
        """Power the node on and keep it running (sleeping, waking) until cancelled."""
        cause, wake = PWRON_RESET, 0
        try:
            while True:
                if not self.powered:
                    await asyncio.sleep(0.05)
                    continue
                ended = await self._boot(cause, wake)
                if ended == "deepsleep":
                    cause, wake = DEEPSLEEP_RESET, await self._sleep()
                elif ended == "watchdog":
                    cause, wake = WDT_RESET, 0
                else:  # it stopped or crashed: MicroPython resets the board
                    cause, wake = PWRON_RESET, 0
                    await asyncio.sleep(0.5)
        finally:
            await self._stop()

    async def _boot(self, cause: int, wake: int) -> str:
        self.boots += 1
        board, events = self.board, self.world.events[self.board.id]
        board.watchdog_ms, board.sleep_ms, board.wifi_at = None, None, None
        while not events.empty():
            events.get_nowait()
        env = {
            **os.environ,
            "MICROPYPATH": f"{BOARD}:{self.lib}:.frozen",
            "NODE_WORLD": f"127.0.0.1:{self.world.port}",
            "NODE_ID": board.id,
            "NODE_RESET_CAUSE": str(cause),
            "NODE_WAKE_REASON": str(wake),
            "NODE_TIME_OFFSET": str(self.now() - time.time()),
        }
        started = time.monotonic()
        self._proc = await asyncio.create_subprocess_exec(
            str(micropython()),
            "main.py",
            cwd=self.root,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        output = asyncio.create_task(self._output(self._proc))
        ended = "exit"
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    ended = await asyncio.wait_for(events.get(), 0.05)
                    break
                if self._proc.returncode is not None or not self.powered:
                    ended = "exit"
                    break
                if (
                    board.watchdog_ms is not None
                    and time.monotonic() - board.fed_at > board.watchdog_ms / 1000
                ):
                    ended = "watchdog"
                    board.resets += 1
                    break
        finally:
            if ended == "deepsleep":
                self.awake_s.append(time.monotonic() - started)
                self.offline_s.append((board.wifi_at or time.monotonic()) - started)
            await self._stop()
            output.cancel()
        return ended

    def now(self) -> float:
        """The node's simulated wall time (Unix seconds)."""
        base, since, rate = self._clock
        return base + (time.monotonic() - since) * rate

    def _pace(self, rate: float) -> None:
        self._clock = (self.now(), time.monotonic(), rate)

    async def _output(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            self.log.append(line.decode(errors="replace").rstrip())

    async def _sleep(self) -> int:
        """Wait out the deep sleep; the wake reason (timer, or the lid's pin)."""
        board = self.board
        self._pace(self.scale)
        end = time.monotonic() + (board.sleep_ms or 0) / 1000 / self.scale
        while time.monotonic() < end and self.powered:
            if board.wake_pin is not None and board.read(board.wake_pin[0]) == board.wake_pin[1]:
                self._pace(1.0)
                return EXT0_WAKE
            await asyncio.sleep(0.02)
        self._pace(1.0)
        return TIMER_WAKE

    async def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
