"""A bin measured by a bin node: its readings go through the same :class:`BinLogic` as a
wired bin's, so a node bin raises ``bin_full`` like any other."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drivers.bins.logic import BinLogic
from drivers.nodes.config import NodeBinConfig
from drivers.nodes.driver import NodeDriver
from drivers.nodes.messages import BinReading
from gateway.messages import isoformat

__all__ = ["NodeBin"]


class NodeBin(NodeDriver):
    """One bin node's bin."""

    kind = "node_bin"
    config_model = NodeBinConfig
    config: NodeBinConfig
    reading_model = BinReading

    async def started(self) -> None:
        cfg = self.config
        empty_m = float(self.ctx.store.get("empty_distance_m", cfg.empty_distance_m))
        self._logic = BinLogic(self.ctx, cfg, empty_m)
        await self.ctx.publish_state(
            {
                "empty_distance_m": empty_m,
                "full": self._logic.full.active,
                "full_threshold_percent": cfg.full_threshold_percent,
            }
        )

    async def reading(self, entry: Any, now: float, wall: datetime, fresh: bool) -> None:
        assert isinstance(entry, BinReading)
        if not fresh:  # a straggler: a newer fill level is already known
            self.ctx.log.info("bin node: reading #%d arrived after a newer one", entry.seq)
            return
        await self._logic.reading(
            now,
            wall,
            entry.distance_m,
            entry.temperature_c if self.config.temperature else None,
            entry.lid_open if self.config.lid else None,
            {"battery_v": entry.battery_v, "rssi": entry.rssi, "measured_at": isoformat(wall)},
        )
