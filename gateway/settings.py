"""The gateway's settings: the pydantic models of its configuration file.

Unknown keys are errors (a typo must not be silently ignored). Reading and checking a file is
:mod:`gateway.config`'s; a device's own options are the config model its driver brings.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from gateway.devices import DeviceConfig
from gateway.topics import SEGMENT_PATTERN

__all__ = [
    "DEFAULT_DATA_DIR",
    "CommandSettings",
    "GatewayConfig",
    "MqttSettings",
    "NodeBrokerSettings",
    "Operator",
    "OutboxSettings",
    "PlatformCommand",
    "PlatformResponse",
    "ResidentSettings",
    "ScriptStep",
    "SimulatedResident",
    "SimulationSettings",
    "TlsSettings",
    "WebSettings",
    "broker_address",
]

DEFAULT_DATA_DIR = Path("/var/lib/community-gateway")


class _Strict(BaseModel):
    # Built when first validated: the whole file gets one validator, not one per model at
    # import (what ``gateway config check`` waits for).
    model_config = ConfigDict(extra="forbid", defer_build=True)


class TlsSettings(_Strict):
    """TLS to the broker: CA file, optional client certificate (mTLS)."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None


class MqttSettings(_Strict):
    """The upstream broker: TLS unless ``insecure_plaintext`` says otherwise."""

    host: str = "localhost"
    #: Default 8883 (MQTT over TLS), or 1883 with ``insecure_plaintext``.
    port: int = Field(default=8883, ge=1, le=65535)
    #: TLS with the system's CA store and the broker's host name checked; ``[mqtt.tls]``
    #: names another CA or a client certificate.
    tls: TlsSettings | None = Field(default_factory=TlsSettings)
    #: Plain MQTT: the broker password, pickup codes and signed commands in clear. Only by
    #: choice, and never with a password to a broker off this box.
    insecure_plaintext: bool = False
    username: str | None = None
    password: SecretStr | None = None
    prefix: str = "cg/v1"
    client_id: str | None = None
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    inflight: int = Field(default=100, ge=1, le=65535)
    reconnect_min_s: float = Field(default=0.2, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
    #: Reconnect delay cap while the outbox holds messages, so a backlog drains soon after the
    #: broker returns.
    backlog_reconnect_max_s: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _plaintext_by_choice(self) -> MqttSettings:
        if not self.insecure_plaintext:
            if self.tls is None:
                self.tls = TlsSettings()
            return self
        if "tls" in self.model_fields_set and self.tls is not None:
            raise ValueError("[mqtt.tls] and insecure_plaintext = true: choose one")
        self.tls = None
        if "port" not in self.model_fields_set:
            self.port = 1883
        if self.password is not None and not _loopback(self.host):
            raise ValueError(
                f"a password is never sent in clear to {self.host}: remove "
                "insecure_plaintext (TLS), or the password"
            )
        return self


class NodeBrokerSettings(MqttSettings):
    """``[nodes]``: the LAN-side broker the sensor nodes report to (a Mosquitto on this box,
    by default on loopback for the gateway), and the files ``gateway nodes add`` writes."""

    host: str = "127.0.0.1"
    insecure_plaintext: bool = True
    prefix: str = "nodes"
    #: The broker's address as the nodes reach it on the LAN (written into their
    #: ``config.json``); default: ``host``.
    lan_host: str | None = None
    #: Mosquitto's password file and ACL file for the nodes (``gateway nodes add``).
    password_file: Path = Path("/etc/mosquitto/community-gateway-nodes.passwd")
    acl_file: Path = Path("/etc/mosquitto/community-gateway-nodes.acl")


class OutboxSettings(_Strict):
    """Bounds of the store-and-forward queue."""

    max_rows: int = Field(default=500_000, ge=100)
    max_bytes: int = Field(default=256 * 1024 * 1024, ge=64 * 1024)
    #: The database file's size limit (an SD card's share for the gateway); ``None``: the
    #: disk's. When it is reached, old telemetry makes room as when the disk is full.
    max_file_mb: float | None = Field(default=None, gt=0)
    #: How often telemetry written to the outbox is flushed to the disk (events at once).
    sync_interval_s: float = Field(default=0.5, gt=0, le=60)


class Operator(_Strict):
    """An operator allowed to sign actuating commands (Ed25519 public key, base64)."""

    name: str = Field(min_length=1)
    public_key: str
    #: The commands this key may sign (default: all), e.g. ``["valve_close", "unlock"]``.
    commands: list[str] | None = None
    #: The devices it may command (default: all), e.g. ``["gate-main"]``.
    devices: list[str] | None = None

    def may(self, device: str, command: str) -> bool:
        """Whether this key's signature counts for ``command`` on ``device``."""
        return (self.commands is None or command in self.commands) and (
            self.devices is None or device in self.devices
        )

    @field_validator("public_key")
    @classmethod
    def _is_ed25519(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError as err:
            raise ValueError("not base64; paste the line `gateway keys new` printed") from err
        if len(raw) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes (44 base64 characters)")
        return value


class CommandSettings(_Strict):
    """Who may command the gateway and within which limits."""

    operators: list[Operator] = Field(default_factory=list)
    #: Enrollment commands carry JPEG photos: 1 MiB holds several.
    max_payload_bytes: int = Field(default=1024 * 1024, ge=256)
    max_expiry_s: int = Field(default=3600, ge=10)
    #: How far the gateway's clock may have gone back (an NTP correction) and still accept a
    #: command that expired before the latest time it has read.
    clock_skew_s: float = Field(default=300.0, ge=0, le=3600)
    #: Commands a second to one device (sustained), and the burst allowed above that: at most
    #: ``burst`` in any ``burst / rate_per_s`` seconds. The whole gateway takes
    #: ``total_factor`` times as many. Beyond, commands are dropped.
    rate_per_s: float = Field(default=10.0, gt=0)
    burst: int = Field(default=30, ge=1)
    total_factor: float = Field(default=3.0, ge=1)


class ScriptStep(_Strict):
    """Something that happens in the simulated world at a simulated time after start."""

    at_s: float = Field(ge=0)
    model: str
    action: str = "set"
    args: dict[str, Any] = Field(default_factory=dict)


class PlatformCommand(_Strict):
    """A command the demo's simulated platform sends at a simulated time after start."""

    at_s: float = Field(ge=0)
    device: str = Field(pattern=SEGMENT_PATTERN)
    command: str = Field(pattern=SEGMENT_PATTERN)
    args: dict[str, Any] = Field(default_factory=dict)


class PlatformResponse(_Strict):
    """A command the demo's platform sends ``after_s`` simulated seconds after an event.

    ``args`` maps each argument to the name of the event's field that supplies it; ``when``
    names fields the event must have with these values (``{ repeat = 0 }``: the first call
    only).
    """

    on_event: str
    after_s: float = Field(default=0, ge=0)
    command: str = Field(pattern=SEGMENT_PATTERN)
    args: dict[str, str] = Field(default_factory=dict)
    when: dict[str, str | int | float | bool] = Field(default_factory=dict)


class SimulatedResident(_Strict):
    """A resident the demo enrolls before it starts (photos relative to ``photos_dir``)."""

    id: str = Field(pattern=SEGMENT_PATTERN)
    name: str
    unit: str
    photos: list[str] = Field(min_length=1)


class SimulationSettings(_Strict):
    """The simulated complex (``hardware = "simulated"``)."""

    time_scale: float = Field(default=1.0, gt=0, le=100_000)
    seed: int = 0
    #: A scripted day: faults and visits that happen by themselves (the demo uses it).
    script: list[ScriptStep] = Field(default_factory=list)
    #: What the demo's simulated platform sends (signed with a key made for the demo).
    platform: list[PlatformCommand] = Field(default_factory=list)
    #: How the demo's simulated platform answers events.
    responses: list[PlatformResponse] = Field(default_factory=list)
    #: Where the simulated gate's camera finds photographs (relative to this file); a
    #: ``walk_up``'s relative ``photos`` are read from here. Unset: the photographs that
    #: come with the simulator (``people/<Name>/NN.jpg``, ``objects/…``).
    photos_dir: Path | None = None
    #: Residents the demo enrolls before it starts.
    residents: list[SimulatedResident] = Field(default_factory=list)


class ResidentSettings(_Strict):
    """What the gate keeps of its residents."""

    #: Keep the enrollment photographs (encrypted like the templates) instead of only the
    #: templates made from them; removal erases both.
    keep_photos: bool = False


class AuditSettings(_Strict):
    """The audit log's anchor upstream (see :mod:`gateway.anchor`)."""

    #: A signed checkpoint of the log's head goes upstream after every grant and removal,
    #: and at least this often.
    checkpoint_period_s: float = Field(default=600, ge=1, le=86_400)


class HomeAssistantSettings(_Strict):
    """MQTT discovery for a Home Assistant on the same broker (see
    :mod:`gateway.homeassistant`)."""

    enabled: bool = False
    discovery_prefix: str = Field(default="homeassistant", pattern=r"^[A-Za-z0-9_-]{1,64}$")


def _loopback(host: str) -> bool:
    return host == "localhost" or host.startswith("127.") or host == "::1"


class WebSettings(_Strict):
    """The property manager's console: web pages on the office network."""

    enabled: bool = False
    #: ``0.0.0.0``: every interface of the box (the office LAN); ``127.0.0.1``: this box only.
    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=1, le=65535)
    #: Serve HTTPS with this certificate and key (PEM files); the cookies are then Secure.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: Behind a reverse proxy that terminates TLS: the cookies are Secure.
    behind_tls_proxy: bool = False
    #: Plain HTTP on a network address (passwords and sessions readable on the LAN): only
    #: with this set; without TLS the console is served on loopback addresses alone.
    insecure_http: bool = False
    #: A session ends after this long without a request, and after ``session_max_hours``.
    session_idle_minutes: float = Field(default=30, gt=0, le=1440)
    session_max_hours: float = Field(default=12, gt=0, le=168)
    #: This many wrong passwords in a row lock the account for ``lockout_minutes``.
    lockout_failures: int = Field(default=5, ge=1, le=100)
    lockout_minutes: float = Field(default=15, gt=0, le=1440)
    #: The largest photo accepted for enrollment.
    max_upload_mb: float = Field(default=8, gt=0, le=64)
    #: How long device history is kept for the charts.
    history_days: float = Field(default=30, gt=0, le=365)

    @model_validator(mode="after")
    def _tls_pair(self) -> WebSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: set both, or neither")
        protected = self.tls_cert is not None or self.behind_tls_proxy or self.insecure_http
        if self.enabled and not protected and not _loopback(self.host):
            raise ValueError(
                f"host {self.host!r} would serve passwords in plain HTTP to the network: set "
                "tls_cert and tls_key, or behind_tls_proxy = true behind an HTTPS proxy, or "
                'host = "127.0.0.1" (this box only), or insecure_http = true on a network '
                "you trust"
            )
        return self


class GatewayConfig(_Strict):
    """The whole configuration of one gateway."""

    site: str = Field(pattern=SEGMENT_PATTERN)
    gateway_id: str = Field(pattern=SEGMENT_PATTERN)
    data_dir: Path = DEFAULT_DATA_DIR
    hardware: Literal["auto", "gpio", "simulated"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    commands: CommandSettings = Field(default_factory=CommandSettings)
    simulation: SimulationSettings = Field(default_factory=SimulationSettings)
    residents: ResidentSettings = Field(default_factory=ResidentSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    homeassistant: HomeAssistantSettings = Field(default_factory=HomeAssistantSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    nodes: NodeBrokerSettings = Field(default_factory=NodeBrokerSettings)
    devices: list[DeviceConfig] = Field(default_factory=list)

    @property
    def database(self) -> Path:
        return self.data_dir / "gateway.sqlite3"

    def warnings(self) -> list[str]:
        """What is allowed but unsafe (``gateway config check`` prints it)."""
        found = []
        if self.mqtt.insecure_plaintext:
            found.append(
                f"mqtt.insecure_plaintext: messages to {self.mqtt.host}:{self.mqtt.port} travel "
                "in clear (pickup codes, resident ids, signed commands); use TLS in production"
            )
        if self.web.enabled and self.web.insecure_http:
            found.append("web.insecure_http: console passwords travel in clear on the network")
        return found


def broker_address(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` (or ``host:port``) → ``(host, port)``."""
    parsed = urlparse(url if "://" in url else f"mqtt://{url}")
    return parsed.hostname or "localhost", parsed.port or 1883
