"""The audit log of access and enrollment decisions."""

from __future__ import annotations

import typer

from gateway.cli.common import ConfigOption, JsonOption, _database, _load, command_group, err, out

audit_app = command_group("The log of access and enrollment decisions.")


@audit_app.command("verify")
def audit_verify(config: ConfigOption, as_json: JsonOption = False) -> None:
    """Check that no entry of the audit log was edited, deleted or cut off."""
    from gateway.audit import AuditLog

    cfg = _load(config)
    with _database(cfg) as db:
        result = AuditLog(db).verify()
    if as_json:
        out.print_json(data=result.__dict__)
    elif result.ok:
        out.print(f"audit log intact: {result.entries} entries")
    else:
        err.print(f"audit log BROKEN at entry {result.seq}: {result.problem}")
    raise typer.Exit(0 if result.ok else 1)
