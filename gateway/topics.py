"""Every MQTT topic of the contract is built and parsed here and nowhere else.

Root: ``{prefix}/{site}/{gateway}``; see the AsyncAPI document in ``config/asyncapi.yaml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.errors import CommandRejected

__all__ = ["SEGMENT_PATTERN", "Topics"]

#: What a site, gateway, device or command name may look like (one topic level, no wildcards).
SEGMENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_SEGMENT = re.compile(SEGMENT_PATTERN)


@dataclass(frozen=True)
class Topics:
    """The topics of one gateway."""

    prefix: str
    site: str
    gateway: str

    @property
    def root(self) -> str:
        return f"{self.prefix}/{self.site}/{self.gateway}"

    @property
    def status(self) -> str:
        return f"{self.root}/status"

    @property
    def audit(self) -> str:
        """The last signed checkpoint of the audit log (retained)."""
        return f"{self.root}/audit"

    def device(self, device: str, kind: str) -> str:
        """``…/dev/{device}/{kind}`` where kind is telemetry, event or state."""
        return f"{self.root}/dev/{device}/{kind}"

    def reply(self, command_id: str) -> str:
        return f"{self.root}/reply/{command_id}"

    def command(self, device: str, command: str) -> str:
        return f"{self.root}/cmd/{device}/{command}"

    @property
    def command_filter(self) -> str:
        """The subscription that receives every command for this gateway."""
        return f"{self.root}/cmd/+/+"

    @property
    def everything(self) -> str:
        """The subscription that sees everything this gateway publishes."""
        return f"{self.root}/#"

    def parse_command(self, topic: str) -> tuple[str, str]:
        """``…/cmd/{device}/{command}`` → ``(device, command)``."""
        head = f"{self.root}/cmd/"
        if not topic.startswith(head):
            raise CommandRejected("malformed", f"not a command topic: {topic!r}", "topic")
        parts = topic[len(head) :].split("/")
        if len(parts) != 2 or not all(_SEGMENT.match(p) for p in parts):
            raise CommandRejected(
                "malformed", "command topics are …/cmd/{device}/{command}", "topic"
            )
        return parts[0], parts[1]

    def parse_device(self, topic: str) -> tuple[str, str] | None:
        """``…/dev/{device}/{kind}`` → ``(device, kind)``; ``None`` for other topics."""
        head = f"{self.root}/dev/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head) :].split("/")
        return (parts[0], parts[1]) if len(parts) == 2 else None

    @staticmethod
    def valid_segment(name: str) -> bool:
        return bool(_SEGMENT.match(name))
