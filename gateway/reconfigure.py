"""Remote configuration with rollback: a signed ``config_apply {toml, version}``.

1. The new file is checked like ``gateway config check`` (and may not change the site or the
   gateway id); a refusal names the line and the key, and nothing changes.
2. The running file is kept as ``<file>.previous``; a marker (``config-apply.json`` in the
   state directory) records the version, both files' hashes and the health bound; then the
   new file replaces the old one atomically (written beside it, synced, renamed): a
   ``kill -9`` at any moment leaves the old file or the new one, never half of one.
3. The gateway stops cleanly (the reply is delivered first) and starts again on the new file.
4. It keeps it when, within the bound, the uplink is online and every device available
   (``config_applied``); else it puts ``.previous`` back and starts again on it, and says
   why (``config_rolled_back``). A marker whose new file never made it (killed before the
   rename) is dropped the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gateway.errors import CommandRejected, ConfigError

__all__ = ["Pending", "Reconfigure", "masked"]

#: TOML keys whose values never leave the box in ``config_get``.
_SECRET_KEY = re.compile(r"^(\s*(password|passphrase|secret|token)\s*=\s*).*$", re.MULTILINE)


def masked(text: str) -> str:
    """The configuration with its secrets' values replaced by ``"***"``."""
    return _SECRET_KEY.sub(r'\1"***"', text)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Pending:
    """An apply in progress, as the marker holds it."""

    version: str
    new_hash: str
    old_hash: str
    old_version: str | None
    health_s: float
    state: str = "applying"  # or "rolled_back"
    reason: str = ""
    started: float = 0.0  # wall time of the apply (for the report only)


class Reconfigure:
    """The configuration file of a running gateway and its pending apply."""

    def __init__(self, config_file: Path, data_dir: Path) -> None:
        self.file = config_file
        self.previous = config_file.with_name(config_file.name + ".previous")
        self.marker = data_dir / "config-apply.json"
        self.version_file = data_dir / "config-version"

    # -- what runs now ---------------------------------------------------------------------

    def text(self) -> str:
        return self.file.read_text()

    @property
    def version(self) -> str | None:
        try:
            return self.version_file.read_text().strip() or None
        except FileNotFoundError:
            return None

    def identity(self) -> dict[str, Any]:
        """What the birth message says of the configuration: its version and hash, and
        whether it is still on trial (applied, not yet proven healthy)."""
        text = self.text()
        pending = self.pending()
        trial = pending is not None and pending.state == "applying" and self.in_place(pending)
        version = pending.version if trial and pending is not None else self.version
        return {"config_version": version, "config_hash": digest(text), "config_on_trial": trial}

    # -- applying --------------------------------------------------------------------------

    def check(self, text: str, site: str, gateway_id: str) -> None:
        """``CommandRejected`` naming the line and key when ``text`` cannot be applied."""
        from gateway.config import parse_config

        try:
            config = parse_config(text, self.file.name, base_dir=self.file.parent)
        except ConfigError as err:
            raise CommandRejected("invalid_args", str(err), "toml") from None
        if (config.site, config.gateway_id) != (site, gateway_id):
            raise CommandRejected(
                "invalid_args",
                f"the new configuration is for {config.site}/{config.gateway_id}, this gateway "
                f"is {site}/{gateway_id}: provision a new gateway instead",
                "toml",
            )

    def stage(self, text: str, version: str, health_s: float) -> None:
        """Keep the running file, record the apply, put the new file in place."""
        old = self.text()
        _write_atomically(self.previous, old)
        pending = Pending(version, digest(text), digest(old), self.version, health_s,
                          started=time.time())  # fmt: skip
        _write_atomically(self.marker, json.dumps(asdict(pending)))
        _write_atomically(self.file, text)

    def pending(self) -> Pending | None:
        try:
            return Pending(**json.loads(self.marker.read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError):
            self.marker.unlink(missing_ok=True)  # a marker from another version: ignore it
            return None

    def in_place(self, pending: Pending) -> bool:
        """Whether the new file made it (a kill before the rename leaves the old one)."""
        return digest(self.text()) == pending.new_hash

    def keep(self, pending: Pending) -> None:
        _write_atomically(self.version_file, pending.version)
        self.marker.unlink(missing_ok=True)

    def roll_back(self, pending: Pending, reason: str) -> None:
        """The kept file back in place; the marker says why (reported after the restart)."""
        if self.previous.exists() and digest(self.text()) != pending.old_hash:
            _write_atomically(self.file, self.previous.read_text())
        pending.state, pending.reason = "rolled_back", reason
        _write_atomically(self.marker, json.dumps(asdict(pending)))

    def done(self) -> None:
        self.marker.unlink(missing_ok=True)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    if path.exists():
        tmp.chmod(path.stat().st_mode & 0o777)
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
