"""Sensor nodes' configuration: what every node has (its id on the LAN broker, how often it
reports, its battery), then the bin node's and the water node's own."""

from __future__ import annotations

from pydantic import Field

from drivers.bins.config import BinSettings
from drivers.care.config import CareSettings
from gateway.devices import DeviceConfig
from gateway.topics import SEGMENT_PATTERN

__all__ = ["NodeBinConfig", "NodeCareConfig", "NodeConfig", "NodeWaterConfig"]


class NodeConfig(DeviceConfig):
    """Fields of every node's ``[[devices]]`` table."""

    #: The node's name on the LAN broker (its MQTT user and topics ``nodes/<node>/…``);
    #: default: the device's ``id``.
    node: str | None = Field(default=None, pattern=SEGMENT_PATTERN)
    #: How often the node reports (its sleep or report period, seconds).
    period_s: float = Field(default=600, ge=5, le=86_400)
    #: Missed periods before the node is offline (``node_offline``, warning).
    offline_after_periods: int = Field(default=2, ge=1, le=100)
    #: ``battery_low`` below this (volts at the cell: 3.45 V leaves a Li-ion cell about a
    #: tenth of its charge, weeks of the bin node's budget).
    battery_low_v: float = Field(default=3.45, gt=0, le=12)
    #: How long a command waits for the node to confirm it (an asleep node never does).
    confirm_s: float = Field(default=10.0, gt=0, le=300)

    @property
    def node_id(self) -> str:
        return self.node or self.id


class NodeBinConfig(NodeConfig, BinSettings):
    """``[[devices]] kind = "node_bin"``: a bin measured by a bin node."""

    kind: str = "node_bin"
    #: Whether the node has a DS18B20 (fire) and a lid switch fitted.
    temperature: bool = True
    lid: bool = True

    @property
    def has_temperature(self) -> bool:
        return self.temperature

    @property
    def has_lid(self) -> bool:
        return self.lid


class NodeWaterConfig(NodeConfig):
    """``[[devices]] kind = "node_water"``: a water station run by a water node (which
    counts the flow and closes the valve on a leak itself)."""

    kind: str = "node_water"
    period_s: float = Field(default=60, ge=5, le=86_400)
    report_period_s: float = Field(default=300, gt=0, le=86_400)
    pulses_per_litre: float = Field(default=450.0, gt=0)
    filter_capacity_litres: float = Field(default=4000.0, gt=0)
    filter_capacity_days: float = Field(default=180.0, gt=0)
    filter_due_percent: float = Field(default=10.0, ge=0, le=100)
    max_continuous_flow_s: float = Field(default=600.0, gt=0)
    deadband_lpm: float = Field(default=0.5, ge=0)


class NodeCareConfig(NodeConfig, CareSettings):
    """``[[devices]] kind = "node_care"``: a home's care point on a care node (mains,
    always awake: a press reaches upstream within a second)."""

    kind: str = "node_care"
    period_s: float = Field(default=60, ge=5, le=3_600)
    #: Whether a smoke detector is wired to the node.
    smoke: bool = True
    confirm_s: float = Field(default=5.0, gt=0, le=300)

    @property
    def has_smoke(self) -> bool:
        return self.smoke
