"""The audit log of access and enrollment decisions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gateway.cli.common import (
    _database,
    _load,
    command_group,
    config_option,
    err,
    json_option,
    out,
)

audit_app = command_group("audit", "The log of access and enrollment decisions.")


@audit_app.command("verify")
@config_option
@json_option
@click.option(
    "--upstream",
    is_flag=True,
    help="Also compare the log with the last checkpoint the gateway signed and sent upstream "
    "(read back from the broker): catches a log rewritten with its hashes.",
)
def audit_verify(config: Path, as_json: bool, upstream: bool) -> None:
    """Check that no entry of the audit log was edited, deleted or cut off."""
    from gateway.audit import AuditLog

    cfg = _load(config)
    with _database(cfg) as db:
        audit = AuditLog(db)
        rows = audit.rows()
        result = audit.check(rows)
    report: dict[str, Any] = dict(result.__dict__)
    ok, problem, where = result.ok, result.problem, result.seq
    if upstream:
        found = _against_upstream(cfg, rows, result)
        report["upstream"] = found
        if found["problem"] is not None:
            ok, problem, where = False, found["problem"], found.get("seq")
    report["ok"] = ok
    if as_json:
        out.print_json(data=report)
    elif ok:
        anchored = report.get("upstream", {}).get("checkpoint")
        also = f"; upstream's checkpoint of entry {anchored['seq']} agrees" if anchored else ""
        out.print(f"audit log intact: {result.entries} entries{also}")
    else:
        err.print(f"audit log BROKEN at entry {where}: {problem}")
    raise SystemExit(0 if ok else 1)


def _against_upstream(cfg: Any, rows: list[tuple[Any, ...]], local: Any) -> dict[str, Any]:
    """The last checkpoint on the broker, checked against this gateway's key and the log."""
    import asyncio

    from gateway.anchor import Checkpoint, GatewayKey, compare
    from gateway.errors import StorageError, UplinkError
    from gateway.mqtt import Observer
    from gateway.topics import Topics

    topics = Topics(cfg.mqtt.prefix, cfg.site, cfg.gateway_id)

    async def last_checkpoint(wait_s: float = 5.0) -> bytes | None:
        async with Observer(cfg.mqtt) as client:
            await client.subscribe(topics.audit)
            try:
                async with asyncio.timeout(wait_s):  # a retained message comes at once
                    async for message in client.messages():
                        return message.payload
            except TimeoutError:
                return None
        return None

    try:
        payload = asyncio.run(last_checkpoint())
    except UplinkError as error:
        return {"problem": f"cannot read upstream's checkpoint: {error}", "checkpoint": None}
    if payload is None:
        return {
            "problem": f"the broker holds no checkpoint on {topics.audit}: has this gateway "
            "run connected?",
            "checkpoint": None,
        }
    try:
        checkpoint = Checkpoint.parse(payload)
    except ValueError as error:
        return {"problem": f"{topics.audit}: {error}", "checkpoint": None}
    found: dict[str, Any] = {"checkpoint": checkpoint.as_dict(), "problem": None}
    try:
        key = GatewayKey(cfg.data_dir / "gateway.key", create=False).public
    except StorageError as error:
        found["problem"] = str(error)
        return found
    if checkpoint.gateway != topics.root:
        found["problem"] = f"the checkpoint is for {checkpoint.gateway}, not {topics.root}"
    elif not checkpoint.verify(key):
        found["problem"] = (
            "the checkpoint upstream is not signed by this gateway's key (gateway.key was "
            "replaced, or the checkpoint forged)"
        )
    else:
        found["problem"] = compare(rows, local, checkpoint)
        found["seq"] = checkpoint.seq
    return found
