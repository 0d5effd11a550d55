"""Commands from upstream: parse → authenticate → validate → call the handler → reply.

Every command gets exactly one reply on ``…/reply/{id}``, stored in the outbox before it is
sent (durable). Actuating commands must carry an Ed25519 signature by a configured operator
over ``topic + "\\n" + canonical JSON of the payload without "sig"``, and an ``expires`` time;
their ids are remembered until they expire, so a replay is refused, even after a restart.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError

from gateway.db import Database
from gateway.devices import CommandSpec, Driver
from gateway.errors import CommandRejected
from gateway.limits import SlidingWindow
from gateway.messages import Command, Priority, Reply, ReplyError, isoformat
from gateway.outbox import Outbox
from gateway.settings import CommandSettings
from gateway.topics import Topics

__all__ = ["CommandRouter", "canonical_bytes", "sign_command"]

log = logging.getLogger(__name__)

#: Deeper JSON than any command needs is refused before a validator recurses through it.
MAX_DEPTH = 32


def canonical_bytes(topic: str, body: dict[str, Any]) -> bytes:
    """What an operator signs: the topic, a newline, the payload without ``sig``."""
    unsigned = {k: v for k, v in body.items() if k != "sig"}
    text = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return topic.encode() + b"\n" + text.encode()


def sign_command(
    key: Ed25519PrivateKey,
    topic: str,
    command_id: str,
    args: dict[str, Any],
    *,
    ttl_s: float = 60.0,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A signed command payload, ready to publish on ``topic``."""
    expires = (now or datetime.now(UTC)) + timedelta(seconds=ttl_s)
    body: dict[str, Any] = {"id": command_id, "args": args, "expires": isoformat(expires)}
    body["sig"] = base64.b64encode(key.sign(canonical_bytes(topic, body))).decode()
    return body


class CommandRouter:
    """Routes commands to the drivers' handlers and replies through the outbox."""

    def __init__(
        self,
        topics: Topics,
        outbox: Outbox,
        db: Database,
        settings: CommandSettings,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._topics = topics
        self._outbox = outbox
        self._db = db
        self._settings = settings
        self._wall = wall
        self._high_water = float(db.get_meta("commands_high_water", "0") or 0)
        self._keys = {
            op.name: Ed25519PublicKey.from_public_bytes(base64.b64decode(op.public_key))
            for op in settings.operators
        }
        self._operators = {op.name: op for op in settings.operators}
        self._drivers: dict[str, tuple[Driver, dict[str, CommandSpec]]] = {}
        self.received = 0
        self.rejected = 0
        self.limited = 0
        self._limited_logged = -math.inf
        # At most ``burst`` commands to one device in any ``burst / rate`` seconds (``rate``
        # sustained), and ``total_factor`` times that to the whole gateway.
        window = settings.burst / settings.rate_per_s
        self._per_device = SlidingWindow(settings.burst, window, clock=monotonic)
        self._per_gateway = SlidingWindow(
            round(settings.burst * settings.total_factor), window, clock=monotonic
        )
        # Commands whose signature verifies have their own budget, per operator: a flood of
        # unsigned or wrongly signed messages cannot crowd out a signed valve_close.
        self._per_operator = SlidingWindow(settings.burst, window, clock=monotonic)

    def register(self, device_id: str, driver: Driver) -> None:
        self._drivers[device_id] = (driver, driver.command_specs())

    def _signer(self, topic: str, payload: bytes) -> tuple[str | None, dict[str, Any] | None]:
        """The operator whose signature the payload carries, checked before any budget (an
        Ed25519 verification costs tens of microseconds), and the payload when it parsed
        cleanly on the way; ``(None, None)`` for a payload without ``sig``."""
        if b'"sig"' not in payload or len(payload) > self._settings.max_payload_bytes:
            return None, None
        try:
            body = json.loads(payload)
            if not isinstance(body, dict) or _insane(body) is not None:
                return None, None
            signature = base64.b64decode(body["sig"], validate=True)
            message = canonical_bytes(topic, body)
        except (KeyError, TypeError, ValueError, RecursionError, binascii.Error):
            return None, None
        signer = next(
            (name for name, key in self._keys.items() if _verifies(key, signature, message)),
            None,
        )
        return signer, body

    def _allowed(self, topic: str, signer: str | None) -> bool:
        """Signed commands within their operator's budget; everything else per device topic
        and for the whole gateway. A flood is dropped before it costs a durable reply."""
        if signer is not None:
            if self._per_operator.full(signer):
                return False
            self._per_operator.hit(signer)
            return True
        key = topic.rsplit("/", 1)[0] if "/" in topic else topic
        if self._per_device.full(key) or self._per_gateway.full("*"):
            return False
        self._per_device.hit(key)
        self._per_gateway.hit("*")
        return True

    async def handle(self, topic: str, payload: bytes) -> Reply:
        """Process one command message; the reply is durable when this returns.

        Beyond the rate limit a command is dropped with no stored reply (replies to a
        flood would be a flood of durable writes); the returned reply says ``rate_limited``
        and the count appears in the gateway's statistics.
        """
        self.received += 1
        signer, parsed = self._signer(topic, payload)
        if not self._allowed(topic, signer):
            self.limited += 1
            now = time.monotonic()
            if now - self._limited_logged > 10:
                self._limited_logged = now
                log.warning(
                    "commands arrive faster than %.0f/s: dropping (%d so far)",
                    self._settings.rate_per_s,
                    self.limited,
                )
            error = ReplyError(code="rate_limited", message="too many commands; slow down")
            return Reply(id="invalid", ok=False, error=error)
        command_id = "invalid"
        try:
            body = parsed if parsed is not None else self._parse(payload)
            if isinstance(body.get("id"), str) and Topics.valid_segment(body["id"]):
                command_id = body["id"]
            reply = await self._execute(topic, body, signer)
        except CommandRejected as err:
            reply = Reply(
                id=command_id,
                ok=False,
                error=ReplyError(code=err.code, message=err.message, field=err.field),
            )
        except Exception as err:  # a payload no check foresaw still gets its reply
            log.exception("command on %s could not be handled", topic)
            message = f"the gateway could not handle it: {type(err).__name__}"
            reply = Reply(
                id=command_id, ok=False, error=ReplyError(code="internal", message=message)
            )
        if not reply.ok:
            self.rejected += 1
            log.warning("command on %s refused: %s", topic, reply.error)
        await self._outbox.put(self._topics.reply(reply.id), reply.to_bytes(), Priority.REPLY)
        return reply

    def _parse(self, payload: bytes) -> dict[str, Any]:
        limit = self._settings.max_payload_bytes
        if len(payload) > limit:
            raise CommandRejected("malformed", f"payload is {len(payload)} bytes; limit {limit}")
        try:
            body = json.loads(payload)
        except RecursionError:
            raise CommandRejected("malformed", f"nested deeper than {MAX_DEPTH} levels") from None
        except json.JSONDecodeError as err:
            raise CommandRejected("malformed", f"payload is not JSON: {err}") from None
        except (UnicodeDecodeError, ValueError):  # Python refuses integers over 4,300 digits
            raise CommandRejected(
                "malformed", "payload is not UTF-8 JSON of sane numbers"
            ) from None
        if not isinstance(body, dict):
            raise CommandRejected("malformed", 'payload must be a JSON object {"id", "args", …}')
        problem = _insane(body)
        if problem is not None:
            raise CommandRejected("malformed", problem)
        return body

    async def _execute(self, topic: str, body: dict[str, Any], signer: str | None) -> Reply:
        try:
            cmd = Command.model_validate(body)
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or None
            raise CommandRejected("malformed", str(first["msg"]), field) from None
        device, name = self._topics.parse_command(topic)
        if device not in self._drivers:
            raise CommandRejected("unknown_device", f"no device {device!r} on this gateway")
        driver, specs = self._drivers[device]
        spec = specs.get(name)
        if spec is None:
            allowed = ", ".join(sorted(specs)) or "none"
            raise CommandRejected(
                "unknown_command", f"{device!r} has no command {name!r} (allowed: {allowed})"
            )
        if spec.actuating or cmd.sig is not None:
            self._authenticate(topic, body, cmd, signer, spec.max_valid_s)
        try:
            args = spec.args.model_validate(cmd.args)
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(["args", *(str(p) for p in first["loc"])])
            raise CommandRejected("invalid_args", str(first["msg"]), field) from None
        try:
            result = await getattr(driver, spec.method)(args)
        except CommandRejected:
            raise
        except Exception as err:
            log.exception("handler %s/%s failed", device, name)
            raise CommandRejected("internal", f"the handler failed: {type(err).__name__}") from err
        return Reply(id=cmd.id, ok=True, result=dict(result))

    def _authenticate(
        self,
        topic: str,
        body: dict[str, Any],
        cmd: Command,
        signer: str | None,
        max_valid_s: float | None = None,
    ) -> None:
        if cmd.sig is None:
            raise CommandRejected("unauthenticated", "this command must be signed", "sig")
        if cmd.expires is None:
            raise CommandRejected("unauthenticated", "a signed command needs expires", "expires")
        expires = cmd.expires if cmd.expires.tzinfo else cmd.expires.replace(tzinfo=UTC)
        now = datetime.fromtimestamp(self._wall(), UTC)
        if expires <= now:
            raise CommandRejected("expired", f"expired at {isoformat(expires)}", "expires")
        latest = self._seen_time(now.timestamp())
        if expires.timestamp() <= latest - self._settings.clock_skew_s:
            raise CommandRejected(
                "expired",
                f"expired at {isoformat(expires)}, before this gateway's clock has already "
                f"read {isoformat(datetime.fromtimestamp(latest, UTC))} (was a clock set back?)",
                "expires",
            )
        ahead: float = self._settings.max_expiry_s
        if max_valid_s is not None:
            ahead = min(ahead, max_valid_s)
        if expires > now + timedelta(seconds=ahead):
            raise CommandRejected(
                "unauthenticated", f"expires more than {ahead:g} s ahead", "expires"
            )
        if signer is None:  # verified (or not) before the budget was spent
            try:
                base64.b64decode(cmd.sig, validate=True)
            except (binascii.Error, ValueError):
                raise CommandRejected("unauthenticated", "sig is not base64", "sig") from None
            raise CommandRejected(
                "unauthenticated", "signature matches no configured operator key", "sig"
            )
        device, name = self._topics.parse_command(topic)
        if not self._operators[signer].may(device, name):
            raise CommandRejected(
                "forbidden", f"operator {signer!r} may not send {name!r} to {device!r}", "sig"
            )
        self._remember(cmd.id, expires.timestamp())

    def _seen_time(self, now: float) -> float:
        """The latest wall time this gateway has read (persisted): pushing the clock back
        does not make an expired command valid again."""
        if now > self._high_water:
            self._high_water = now
            self._db.set_meta("commands_high_water", repr(now))
        return self._high_water

    def _remember(self, command_id: str, expires: float) -> None:
        conn = self._db.conn
        # Forget only ids that can never be accepted again: expired before the latest time
        # this gateway has read, by more than the skew allowed.
        forget = self._high_water - self._settings.clock_skew_s
        with self._db.transaction():
            conn.execute("DELETE FROM seen_commands WHERE expires < ?", (forget,))
            if conn.execute("SELECT 1 FROM seen_commands WHERE id = ?", (command_id,)).fetchone():
                raise CommandRejected(
                    "replayed", f"command id {command_id!r} was already used", "id"
                )
            conn.execute(
                "INSERT INTO seen_commands (id, expires) VALUES (?, ?)", (command_id, expires)
            )


def _insane(value: Any) -> str | None:
    """Why a parsed payload cannot be handled safely: nested too deep for the validators and
    the reply, or text with a lone surrogate (valid JSON, but not encodable as UTF-8)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels"
        if isinstance(item, dict):
            stack.extend((k, depth) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "text with a lone surrogate (\\ud800-\\udfff): send real characters"
    return None


def _verifies(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
