"""``gateway residents``: the residents the gate recognises: enrollment, import, status,
identification."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gateway.cli.common import (
    PATH,
    POSITIVE,
    _actor,
    _database,
    _date,
    _load,
    _progress,
    by_option,
    command_group,
    config_option,
    err,
    json_option,
    load_recognizer,
    out,
)

if TYPE_CHECKING:
    from gateway.photos import PhotoResult
    from vision.enrollment import Decision

residents_app = command_group("residents", "Residents the gate recognises.")


def _print_photos(results: list[PhotoResult]) -> None:
    for r in results:
        mark = "[green]accepted[/]" if r.accepted else f"[red]rejected[/]: {r.reason}"
        if r.accepted or r.reason:
            out.print(f"  {r.photo}: {mark}", highlight=False, soft_wrap=True)


@residents_app.command("enroll")
@click.argument("photos", nargs=-1, required=True, type=PATH, metavar="PHOTO...")
@config_option
@click.option("--id", "resident", required=True, help="The resident's id (unique).")
@click.option("--name", required=True, help="Full name.")
@click.option("--unit", required=True, help="Flat or unit.")
@click.option("--valid-from", help="Allowed in from (date).")
@click.option("--valid-until", help="Allowed in until (date).")
@click.option(
    "--welfare-check/--no-welfare-check",
    default=False,
    help="Report when no sign of life (gate, home) for a while.",
)
@click.option(
    "--welfare-hours",
    type=POSITIVE,
    help="Hours without a sign of life before that (default: the device's).",
)
@click.option("--consent-at", help="When the resident consented (default: now).")
@by_option
def residents_enroll(
    photos: tuple[Path, ...],
    config: Path,
    resident: str,
    name: str,
    unit: str,
    valid_from: str | None,
    valid_until: str | None,
    welfare_check: bool,
    welfare_hours: float | None,
    consent_at: str | None,
    by: str | None,
) -> None:
    """Enroll a resident from photos, JPEG or PNG (each checked: one face, big and sharp
    enough)."""
    from drivers.entry.roster import enroll_files
    from gateway.residents import Residents

    cfg = _load(config)
    recognizer = load_recognizer()
    with _database(cfg, create=True) as db, _progress() as bar:
        task = bar.add_task(f"enrolling {resident}", total=len(photos))
        results, refused = enroll_files(
            Residents(db, keep_photos=cfg.residents.keep_photos),
            recognizer,
            resident,
            photos,
            name=name,
            unit=unit,
            actor=_actor(by),
            progress=lambda: bar.advance(task),
            valid_from=_date(valid_from, "--valid-from"),
            valid_until=_date(valid_until, "--valid-until"),
            welfare_check=welfare_check,
            welfare_h=welfare_hours,
            consent_at=_date(consent_at, "--consent-at"),
        )
    _print_photos(results)
    if refused:
        err.print(f"not enrolled: {refused}", soft_wrap=True)
        raise SystemExit(1)
    accepted = sum(r.accepted for r in results)
    out.print(f"enrolled {resident} ({name}, {unit}) with {accepted} of {len(results)} photos")


@residents_app.command("import")
@click.argument("file", type=PATH)
@config_option
@by_option
@json_option
def residents_import(file: Path, config: Path, by: str | None, as_json: bool) -> None:
    """Enroll a whole complex from a CSV FILE with columns id,name,unit,photos (photos
    separated by ';', relative to the CSV)."""
    from drivers.entry.roster import RosterError, enroll_files, read_roster
    from gateway.residents import Residents

    cfg = _load(config)
    try:
        roster = read_roster(file)
    except RosterError as problem:
        err.print(str(problem), soft_wrap=True)
        raise SystemExit(2) from None
    recognizer = load_recognizer()
    report: list[dict[str, Any]] = []
    with _database(cfg, create=True) as db, _progress() as bar:
        task = bar.add_task("importing", total=sum(len(r.photos) for r in roster))
        residents = Residents(db, keep_photos=cfg.residents.keep_photos)
        for row in roster:
            results, refused = enroll_files(
                residents,
                recognizer,
                row.id,
                row.photos,
                name=row.name,
                unit=row.unit,
                actor=_actor(by),
                progress=lambda: bar.advance(task),
            )
            report.append(
                {
                    "line": row.line,
                    "id": row.id,
                    "enrolled": refused is None,
                    "error": refused,
                    "rejected": [
                        {"photo": r.photo, "reason": r.reason} for r in results if r.reason
                    ],
                    "accepted": sum(r.accepted for r in results),
                }
            )
    failed = [r for r in report if not r["enrolled"]]
    if as_json:
        out.print_json(data=report)
    else:
        for r in report:
            state = "[green]enrolled[/]" if r["enrolled"] else f"[red]not enrolled[/]: {r['error']}"
            out.print(f"line {r['line']} {r['id']}: {state}", highlight=False)
            for rejected in r["rejected"] if r["enrolled"] else []:
                out.print(
                    f"  {rejected['photo']}: rejected: {rejected['reason']}",
                    highlight=False,
                    soft_wrap=True,
                )
        out.print(f"{len(report) - len(failed)} of {len(report)} residents enrolled")
    raise SystemExit(1 if failed else 0)


@residents_app.command("list")
@config_option
@click.option("--search", help="Part of an id, name or unit.")
@json_option
def residents_list(config: Path, search: str | None, as_json: bool) -> None:
    """Residents, by unit."""
    from rich.table import Table

    from gateway.residents import Residents

    cfg = _load(config)
    with _database(cfg, create=True) as db:
        found = Residents(db).all(search)
    if as_json:
        out.print_json(data=[r.as_dict() for r in found])
        return
    table = Table(title=f"residents of {cfg.site}")
    for column in ("id", "name", "unit", "status", "templates", "valid until", "last seen"):
        table.add_column(column)
    for r in found:
        table.add_row(
            r.id,
            r.name,
            r.unit,
            r.status,
            str(r.templates),
            r.valid_until or "-",
            r.last_seen or "-",
        )
    out.print(table if found else "no residents")


@residents_app.command("show")
@click.argument("resident")
@config_option
@json_option
def residents_show(resident: str, config: Path, as_json: bool) -> None:
    """One resident and their audit trail."""
    from rich.table import Table

    from gateway.audit import AuditLog
    from gateway.residents import Residents

    cfg = _load(config)
    with _database(cfg) as db:
        found = Residents(db).get(resident)
        trail = AuditLog(db).entries(subject=resident, limit=50)
    if found is None:
        err.print(f"no resident {resident!r}: `gateway residents list` shows them")
        raise SystemExit(1)
    history = [{"ts": e.ts, "action": e.action, "actor": e.actor, **e.data} for e in trail]
    if as_json:
        out.print_json(data={**found.as_dict(), "audit": history})
        return
    table = Table(title=f"resident {resident}", show_header=False)
    for key, value in found.as_dict().items():
        table.add_row(key, str(value))
    out.print(table)
    for h in history:
        out.print(f"  {h['ts']} {h['action']} by {h['actor']}", highlight=False)


def _change(config: Path, resident: str, by: str | None, change: str) -> None:
    from gateway.residents import ResidentError, Residents

    cfg = _load(config)
    with _database(cfg) as db:
        residents = Residents(db)
        try:
            if change == "remove":
                residents.remove(resident, actor=_actor(by))
            else:
                residents.set_status(resident, change, actor=_actor(by))
        except ResidentError as refused:
            err.print(str(refused))
            raise SystemExit(1) from None


@residents_app.command("remove")
@click.argument("resident")
@config_option
@click.option("--yes", is_flag=True, help="Do not ask.")
@by_option
def residents_remove(resident: str, config: Path, yes: bool, by: str | None) -> None:
    """Forget a resident: their templates are erased."""
    if not yes and not click.confirm(f"Remove {resident} and erase their face templates?"):
        raise SystemExit(1)
    _change(config, resident, by, "remove")
    out.print(f"removed {resident}; their templates are erased")


@residents_app.command("suspend")
@click.argument("resident")
@config_option
@by_option
def residents_suspend(resident: str, config: Path, by: str | None) -> None:
    """The gate stops opening for this resident (templates kept)."""
    _change(config, resident, by, "suspended")
    out.print(f"suspended {resident}")


@residents_app.command("resume")
@click.argument("resident")
@config_option
@by_option
def residents_resume(resident: str, config: Path, by: str | None) -> None:
    """The gate opens for this resident again."""
    _change(config, resident, by, "active")
    out.print(f"resumed {resident}")


@residents_app.command("identify")
@click.argument("photos", nargs=-1, required=True, type=PATH, metavar="PHOTO...")
@config_option
@json_option
def residents_identify(photos: tuple[Path, ...], config: Path, as_json: bool) -> None:
    """What the door would decide on each photo, as one frame."""
    from drivers.entry.config import EntryConfig, door_policy
    from drivers.entry.roster import read_photos
    from gateway.residents import Residents
    from vision.enrollment import Decision

    cfg = _load(config)
    doors = [d for d in cfg.devices if isinstance(d, EntryConfig)]
    recognizer = load_recognizer(door_policy(doors[0]) if doors else None)
    with _database(cfg, create=True) as db:
        recognizer.load(Residents(db).templates())
    results = [
        _identified(label, Decision(0, None, None, None, str(why)))
        if image is None
        else _identified(label, recognizer.decide(image))
        for label, image, why in read_photos(photos)
    ]
    if as_json:
        out.print_json(data=results)
        return
    for r in results:
        who = r["resident"] or "nobody"
        out.print(
            f"{r['photo']}: {r['faces']} face(s) -> {who} ({r['reason']}; "
            f"distance {r['distance']}, margin {r['margin']}"
            + ("" if r["liveness"] is None else f", liveness {r['liveness']['score']}")
            + ")",
            highlight=False,
            soft_wrap=True,
        )


def _identified(photo: str, d: Decision) -> dict[str, Any]:
    """One photo's decision as ``residents identify --json`` reports it."""
    return {
        "photo": photo,
        "faces": d.faces,
        "resident": d.resident,
        "distance": None if d.distance is None else round(d.distance, 4),
        "margin": None if d.margin is None or d.margin == float("inf") else round(d.margin, 4),
        "reason": d.reason,
        "liveness": None
        if d.liveness is None
        else {"score": round(d.liveness, 4), "live": d.reason != "not live"},
    }
