"""The ``gateway`` command: run, demo, config check, outbox stats, deliveries, keys,
command send."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import getpass
import json
import logging
import os
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

import typer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gateway.app import Gateway, run_until_signalled
from gateway.audit import AuditLog
from gateway.broker import embedded_broker, free_port
from gateway.commands import sign_command
from gateway.config import GatewayConfig, MqttSettings, load_config
from gateway.db import Database
from gateway.deliveries import deliveries, delivery
from gateway.devices import hardware_class
from gateway.errors import ConfigError, GatewayError
from gateway.messages import new_ulid
from gateway.outbox import Outbox
from gateway.platform import SimulatedPlatform
from gateway.residents import PhotoResult, ResidentError, Residents
from gateway.topics import Topics
from gateway.uplink import Observer, ReceivedMessage
from gateway.web.auth import UserError, Users
from vision.enrollment import Recognizer
from vision.errors import VisionError as VisionImageError
from vision.faces import Image, load_image

__all__ = ["app", "main"]

app = typer.Typer(
    help="Edge gateway of a residential complex.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Check configuration files.", no_args_is_help=True)
outbox_app = typer.Typer(help="Inspect the store-and-forward queue.", no_args_is_help=True)
keys_app = typer.Typer(help="Operator keys that sign commands.", no_args_is_help=True)
command_app = typer.Typer(help="Send commands to a gateway.", no_args_is_help=True)
deliveries_app = typer.Typer(help="Parcels in the lockers, held and past.", no_args_is_help=True)
residents_app = typer.Typer(help="Residents the gate recognises.", no_args_is_help=True)
audit_app = typer.Typer(help="The log of access and enrollment decisions.", no_args_is_help=True)
users_app = typer.Typer(help="Accounts of the web console.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(outbox_app, name="outbox")
app.add_typer(keys_app, name="keys")
app.add_typer(command_app, name="command")
app.add_typer(deliveries_app, name="deliveries")
app.add_typer(residents_app, name="residents")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")

err = Console(stderr=True)
out = Console()

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The gateway's TOML file.")]
DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo.toml"


#: Libraries whose INFO lines say nothing a newcomer to the demo needs (the embedded broker's
#: state machine, the web server's requests); shown with ``gateway demo --verbose``.
_CHATTY_LIBRARIES = ("amqtt", "transitions", "uvicorn", "uvicorn.access", "uvicorn.error")


def _setup_logging(level: str, *, libraries: str | None = None) -> None:
    """The gateway's log on stderr at ``level``; third-party loggers at ``libraries`` when
    given."""
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    if libraries is not None:
        for name in _CHATTY_LIBRARIES:
            logging.getLogger(name).setLevel(libraries.upper())


def _load(path: Path) -> GatewayConfig:
    try:
        return load_config(path)
    except ConfigError as error:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(2) from None


@app.command()
def run(config: ConfigOption) -> None:
    """Run the gateway until SIGTERM (what systemd starts)."""
    cfg = _load(config)
    _setup_logging(cfg.log_level)
    try:
        gateway = Gateway(cfg)
    except GatewayError as error:
        err.print(f"cannot start: {error}", markup=False)
        raise typer.Exit(1) from None
    asyncio.run(run_until_signalled(gateway))


@config_app.command("check")
def config_check(
    file: Path,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check a configuration file: exit 0, or exit 2 with each problem on a line."""
    try:
        cfg = load_config(file)
    except ConfigError as error:
        if as_json:
            out.print_json(
                data={
                    "ok": False,
                    "problems": [
                        {"file": p.file, "path": p.path, "message": p.message, "line": p.line}
                        for p in error.problems
                    ],
                }
            )
        else:
            for problem in error.problems:
                typer.echo(str(problem), err=True)
        raise typer.Exit(2) from None
    summary = {
        "ok": True,
        "site": cfg.site,
        "gateway": cfg.gateway_id,
        "devices": [{"id": d.id, "kind": d.kind} for d in cfg.devices],
    }
    if as_json:
        out.print_json(data=summary)
    else:
        out.print(f"{file}: OK, {cfg.site}/{cfg.gateway_id}, {len(cfg.devices)} devices")


@outbox_app.command("stats")
def outbox_stats(
    config: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """How many messages wait for the broker, and how many were dropped."""
    cfg = _load(config)
    db = Database(cfg.database)
    try:
        outbox = Outbox(db, cfg.outbox)
        stats = outbox.stats()
        outbox.close()
        stats["boot"] = int(db.get_meta("boot", "0") or 0)
    finally:
        db.close()
    if as_json:
        out.print_json(data=stats)
        return
    table = Table(title=f"outbox of {cfg.site}/{cfg.gateway_id}", show_header=False)
    for key, value in stats.items():
        table.add_row(key, f"{value:,}")
    out.print(table)


@deliveries_app.command("list")
def deliveries_list(
    config: ConfigOption,
    status: Annotated[
        str | None, typer.Option(help="Only these: reserved, held, collected, returned, …")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Deliveries, newest first."""
    cfg = _load(config)
    with _database(cfg) as db:
        found = deliveries(db, status=status, limit=limit)
    if as_json:
        out.print_json(data=found)
        return
    table = Table(title=f"deliveries at {cfg.site}/{cfg.gateway_id}")
    for column in ("id", "status", "compartment", "class", "deposited", "min °C", "max °C"):
        table.add_column(column)
    for d in found:
        t = d.get("temperature") or {}
        table.add_row(
            d["id"],
            d["status"],
            f"{d['device']}/{d.get('compartment', '?')}",
            d.get("class", ""),
            d.get("deposited_at", "-"),
            _number(t.get("min_c")),
            _number(t.get("max_c")),
        )
    out.print(table if found else "no deliveries")


@deliveries_app.command("show")
def deliveries_show(
    ref: Annotated[str, typer.Argument(metavar="ID", help="The delivery_ref.")],
    config: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """One delivery with its temperature record."""
    cfg = _load(config)
    with _database(cfg) as db:
        found = delivery(db, ref)
    if found is None:
        err.print(f"no delivery {ref!r}: `gateway deliveries list` shows those there are")
        raise typer.Exit(1)
    if as_json:
        out.print_json(data=found)
        return
    table = Table(title=f"delivery {ref}", show_header=False)
    temperature = found.pop("temperature", None) or {}
    for key, value in found.items():
        table.add_row(key, str(value))
    for key, value in temperature.items():
        table.add_row(f"temperature: {key}", str(value))
    out.print(table)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


@contextlib.contextmanager
def _database(cfg: GatewayConfig, *, create: bool = False) -> Iterator[Database]:
    if not create and not cfg.database.exists():
        err.print(f"no gateway database at {cfg.database}: has this gateway run yet?")
        raise typer.Exit(1)
    db = Database(cfg.database)
    try:
        yield db
    finally:
        db.close()


JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who does this, for the audit log (default: you).")
]


def _actor(by: str | None) -> str:
    return by or f"cli:{getpass.getuser()}"


def _date(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        err.print(f"{name}: {value!r} is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
        raise typer.Exit(2) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _recognizer() -> Recognizer:
    with err.status("loading the face models…"):
        return Recognizer()


def _photos(paths: list[Path]) -> list[tuple[str, Image | None, str | None]]:
    """Each photo decoded, or why it cannot be read."""
    found: list[tuple[str, Image | None, str | None]] = []
    for path in paths:
        try:
            found.append((str(path), load_image(path), None))
        except FileNotFoundError:
            found.append((str(path), None, "no such file"))
        except (OSError, VisionImageError) as problem:
            found.append((str(path), None, f"cannot read it ({problem})"))
    return found


def _enroll_one(
    residents: Residents,
    recognizer: Recognizer,
    resident: str,
    paths: list[Path],
    *,
    name: str,
    unit: str,
    actor: str,
    progress: Callable[[], None],
    **options: Any,
) -> tuple[list[PhotoResult], str | None]:
    """Enroll one resident; every photo's result, and why the resident was refused."""
    unreadable: dict[str, PhotoResult] = {}
    readable: list[tuple[str, Image]] = []
    order = [str(p) for p in paths]
    for label, image, problem in _photos(paths):
        if image is None:
            unreadable[label] = PhotoResult(label, False, problem)
            progress()
        else:
            readable.append((label, image))
    if not readable:
        reasons = "; ".join(f"{r.photo}: {r.reason}" for r in unreadable.values()) or "no photos"
        return list(unreadable.values()), f"no usable photo for {resident} ({reasons})"
    try:
        report = residents.enroll(
            recognizer,
            resident,
            readable,
            name=name,
            unit=unit,
            actor=actor,
            progress=lambda _: progress(),
            originals=[Path(label).read_bytes() for label, _ in readable]
            if residents.keep_photos
            else (),
            **options,
        )
    except ResidentError as refused:
        checked = {label: PhotoResult(label, False, None) for label, _ in readable}
        return [{**checked, **unreadable}[label] for label in order], str(refused)
    results = {**{r.photo: r for r in report.photos}, **unreadable}
    return [results[label] for label in order], None


def _print_photos(results: list[PhotoResult]) -> None:
    for r in results:
        mark = "[green]accepted[/]" if r.accepted else f"[red]rejected[/]: {r.reason}"
        if r.accepted or r.reason:
            out.print(f"  {r.photo}: {mark}", highlight=False, soft_wrap=True)


@residents_app.command("enroll")
def residents_enroll(
    photos: Annotated[list[Path], typer.Argument(metavar="PHOTO...", help="JPEG or PNG files.")],
    config: ConfigOption,
    resident: Annotated[str, typer.Option("--id", help="The resident's id (unique).")],
    name: Annotated[str, typer.Option(help="Full name.")],
    unit: Annotated[str, typer.Option(help="Flat or unit.")],
    valid_from: Annotated[str | None, typer.Option(help="Allowed in from (date).")] = None,
    valid_until: Annotated[str | None, typer.Option(help="Allowed in until (date).")] = None,
    welfare_check: Annotated[
        bool, typer.Option(help="Report when not seen at the gate for a while.")
    ] = False,
    consent_at: Annotated[
        str | None, typer.Option(help="When the resident consented (default: now).")
    ] = None,
    by: ByOption = None,
) -> None:
    """Enroll a resident from photos (each checked: one face, big and sharp enough)."""
    cfg = _load(config)
    recognizer = _recognizer()
    with _database(cfg, create=True) as db, _progress() as bar:
        task = bar.add_task(f"enrolling {resident}", total=len(photos))
        results, refused = _enroll_one(
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
            consent_at=_date(consent_at, "--consent-at"),
        )
    _print_photos(results)
    if refused:
        err.print(f"not enrolled: {refused}", soft_wrap=True)
        raise typer.Exit(1)
    accepted = sum(r.accepted for r in results)
    out.print(f"enrolled {resident} ({name}, {unit}) with {accepted} of {len(results)} photos")


@residents_app.command("import")
def residents_import(
    file: Annotated[Path, typer.Argument(help="CSV with columns id,name,unit,photos.")],
    config: ConfigOption,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Enroll a whole complex from a CSV (photos separated by ';', relative to the CSV)."""
    cfg = _load(config)
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as problem:
        err.print(f"{file}: {problem}")
        raise typer.Exit(2) from None
    missing = {"id", "name", "unit", "photos"} - set(rows[0] if rows else {})
    if missing:
        err.print(f"{file}: missing columns {sorted(missing)} (expected id,name,unit,photos)")
        raise typer.Exit(2)
    base = file.parent
    jobs = [
        (n, row, [base / p.strip() for p in (row["photos"] or "").split(";") if p.strip()])
        for n, row in enumerate(rows, start=2)
    ]
    recognizer = _recognizer()
    report: list[dict[str, Any]] = []
    with _database(cfg, create=True) as db, _progress() as bar:
        task = bar.add_task("importing", total=sum(len(paths) for _, _, paths in jobs))
        residents = Residents(db, keep_photos=cfg.residents.keep_photos)
        for line, row, paths in jobs:
            results, refused = _enroll_one(
                residents,
                recognizer,
                (row["id"] or "").strip(),
                paths,
                name=(row["name"] or "").strip(),
                unit=(row["unit"] or "").strip(),
                actor=_actor(by),
                progress=lambda: bar.advance(task),
            )
            report.append(
                {
                    "line": line,
                    "id": row["id"],
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
    raise typer.Exit(1 if failed else 0)


@residents_app.command("list")
def residents_list(
    config: ConfigOption,
    search: Annotated[str | None, typer.Option(help="Part of an id, name or unit.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Residents, by unit."""
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
def residents_show(resident: str, config: ConfigOption, as_json: JsonOption = False) -> None:
    """One resident and their audit trail."""
    cfg = _load(config)
    with _database(cfg) as db:
        found = Residents(db).get(resident)
        trail = AuditLog(db).entries(subject=resident, limit=50)
    if found is None:
        err.print(f"no resident {resident!r}: `gateway residents list` shows them")
        raise typer.Exit(1)
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
            raise typer.Exit(1) from None


@residents_app.command("remove")
def residents_remove(
    resident: str,
    config: ConfigOption,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
    by: ByOption = None,
) -> None:
    """Forget a resident: their templates are erased."""
    if not yes and not typer.confirm(f"Remove {resident} and erase their face templates?"):
        raise typer.Exit(1)
    _change(config, resident, by, "remove")
    out.print(f"removed {resident}; their templates are erased")


@residents_app.command("suspend")
def residents_suspend(resident: str, config: ConfigOption, by: ByOption = None) -> None:
    """The gate stops opening for this resident (templates kept)."""
    _change(config, resident, by, "suspended")
    out.print(f"suspended {resident}")


@residents_app.command("resume")
def residents_resume(resident: str, config: ConfigOption, by: ByOption = None) -> None:
    """The gate opens for this resident again."""
    _change(config, resident, by, "active")
    out.print(f"resumed {resident}")


RoleOption = Annotated[
    str, typer.Option("--role", help="manager (residents, everything) or installer (+ config).")
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@contextlib.contextmanager
def _users(config: Path) -> Iterator[Users]:
    cfg = _load(config)
    with _database(cfg, create=True) as db:
        users = Users(db)
        try:
            yield users
        except UserError as refused:
            err.print(str(refused), markup=False)
            raise typer.Exit(1) from None


@users_app.command("add")
def users_add(
    name: str,
    config: ConfigOption,
    role: RoleOption = "manager",
    password_stdin: PasswordStdin = False,
    by: ByOption = None,
) -> None:
    """Add a console account (the password is asked twice, or read with --password-stdin)."""
    with _users(config) as users:
        user = users.add(name, role, _password(password_stdin), actor=_actor(by))
    out.print(f"added {user.name} ({user.role}); they log in at the console", highlight=False)


@users_app.command("passwd")
def users_passwd(
    name: str, config: ConfigOption, password_stdin: PasswordStdin = False, by: ByOption = None
) -> None:
    """Set a new password (also unlocks the account and logs it out everywhere)."""
    with _users(config) as users:
        users.set_password(name, _password(password_stdin), actor=_actor(by))
    out.print(f"new password for {name}; their sessions have ended", highlight=False)


@users_app.command("remove")
def users_remove(name: str, config: ConfigOption, by: ByOption = None) -> None:
    """Remove a console account (its sessions end at once)."""
    with _users(config) as users:
        users.remove(name, actor=_actor(by))
    out.print(f"removed {name}", highlight=False)


@users_app.command("list")
def users_list(config: ConfigOption, as_json: JsonOption = False) -> None:
    """The console's accounts."""
    with _users(config) as users:
        found = users.all()
    if as_json:
        out.print_json(data=[u.__dict__ for u in found])
        return
    table = Table(title="console accounts")
    for column in ("name", "role", "created", "last login", "locked"):
        table.add_column(column)
    for u in found:
        table.add_row(u.name, u.role, u.created, u.last_login or "-", "yes" if u.locked else "")
    out.print(table if found else "no accounts: `gateway users add NAME --role manager`")


@residents_app.command("identify")
def residents_identify(
    photos: Annotated[list[Path], typer.Argument(metavar="PHOTO...")],
    config: ConfigOption,
    as_json: JsonOption = False,
) -> None:
    """What the door would decide on each photo, as one frame."""
    cfg = _load(config)
    recognizer = _recognizer()
    with _database(cfg, create=True) as db:
        recognizer.load(Residents(db).templates())
    results = []
    for label, image, problem in _photos(photos):
        if image is None:
            results.append(
                {
                    "photo": label,
                    "faces": 0,
                    "resident": None,
                    "distance": None,
                    "margin": None,
                    "reason": problem,
                }
            )
            continue
        d = recognizer.decide(image)
        results.append(
            {
                "photo": label,
                "faces": d.faces,
                "resident": d.resident,
                "distance": None if d.distance is None else round(d.distance, 4),
                "margin": None
                if d.margin is None or d.margin == float("inf")
                else round(d.margin, 4),
                "reason": d.reason,
            }
        )
    if as_json:
        out.print_json(data=results)
        return
    for r in results:
        who = r["resident"] or "nobody"
        out.print(
            f"{r['photo']}: {r['faces']} face(s) -> {who} ({r['reason']}; "
            f"distance {r['distance']}, margin {r['margin']})",
            highlight=False,
            soft_wrap=True,
        )


@audit_app.command("verify")
def audit_verify(config: ConfigOption, as_json: JsonOption = False) -> None:
    """Check that no entry of the audit log was edited, deleted or cut off."""
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


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


@keys_app.command("new")
def keys_new(
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the private key.")],
    name: Annotated[str, typer.Option(help="The operator's name in the config.")] = "operator",
) -> None:
    """Create an operator key pair; prints the config lines for the public key."""
    if out_file.exists():
        err.print(f"{out_file} exists; refusing to overwrite a key")
        raise typer.Exit(1)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    out_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public = base64.b64encode(
        key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ).decode()
    out.print(f"private key written to {out_file} (keep it off the gateway)")
    out.print("add to the gateway's configuration:\n")
    print(f'[[commands.operators]]\nname = "{name}"\npublic_key = "{public}"')


def _host_port(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` (or ``host:port``) → ``(host, port)``."""
    parsed = urlparse(url if "://" in url else f"mqtt://{url}")
    return parsed.hostname or "localhost", parsed.port or 1883


def _broker_settings(cfg: GatewayConfig, broker: str | None) -> MqttSettings:
    if broker is None:
        return cfg.mqtt
    host, port = _host_port(broker)
    return cfg.mqtt.model_copy(update={"host": host, "port": port})


@command_app.command("send")
def command_send(
    device: str,
    name: Annotated[str, typer.Argument(metavar="COMMAND")],
    config: ConfigOption,
    args: Annotated[str, typer.Option("--args", help="Arguments as a JSON object.")] = "{}",
    sign: Annotated[Path | None, typer.Option("--sign", help="Operator private key.")] = None,
    broker: Annotated[str | None, typer.Option(help="mqtt://host:port (default: config)")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the reply.")] = 10.0,
) -> None:
    """Send one command to a gateway and print its reply (exit 1 if refused)."""
    cfg = _load(config)
    try:
        arguments = json.loads(args)
    except json.JSONDecodeError as error:
        err.print(f"--args is not JSON: {error}")
        raise typer.Exit(2) from None
    topics = Topics(cfg.mqtt.prefix, cfg.site, cfg.gateway_id)
    topic = topics.command(device, name)
    command_id = new_ulid()
    if sign is not None:
        key = serialization.load_pem_private_key(sign.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            err.print(f"{sign} is not an Ed25519 private key (make one with `gateway keys new`)")
            raise typer.Exit(2)
        body = sign_command(key, topic, command_id, arguments)
    else:
        body = {"id": command_id, "args": arguments}
    reply = asyncio.run(
        _request(_broker_settings(cfg, broker), topic, topics.reply(command_id), body, timeout)
    )
    if reply is None:
        err.print(f"no reply within {timeout} s (is the gateway online?)")
        raise typer.Exit(1)
    out.print_json(data=reply)
    raise typer.Exit(0 if reply.get("ok") else 1)


async def _request(
    settings: MqttSettings, topic: str, reply_topic: str, body: dict[str, Any], timeout: float
) -> Any:
    async with Observer(settings) as client:
        await client.subscribe(reply_topic)
        await client.publish(topic, json.dumps(body).encode())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                async for message in client.messages():
                    return message.json()
    return None


@app.command()
def demo(
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    broker: Annotated[
        str | None,
        typer.Option(help="Use this broker (mqtt://host:port) instead of an embedded one."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Default: config/demo.toml")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also the broker's and web server's logs.")
    ] = False,
) -> None:
    """Run the simulated complex with an embedded broker and show what upstream receives."""
    path = config or DEMO_CONFIG
    cfg = _load(path)
    live = sys.stdout.isatty()
    level = "warning" if live and not verbose else cfg.log_level
    _setup_logging(level, libraries=level if verbose else "warning")
    with tempfile.TemporaryDirectory(prefix="cg-demo-") as scratch:
        if config is None:
            cfg.data_dir = Path(scratch)
        _demo_residents(cfg)
        _demo_console(cfg)
        asyncio.run(_demo(cfg, broker, duration, live))


#: The demo's console accounts (a scratch database: these exist only while the demo runs).
DEMO_USERS = (("manager", "manager", "demo-manager"), ("installer", "installer", "demo-installer"))


def _demo_console(cfg: GatewayConfig) -> None:
    """Make the demo's console accounts, and take another port when the configured one is
    busy (another program, or a second demo)."""
    if not cfg.web.enabled:
        return
    with socket.socket() as probe:
        try:
            probe.bind((cfg.web.host, cfg.web.port))
        except OSError:
            cfg.web.port = free_port()
    with _database(cfg, create=True) as db:
        users = Users(db)
        for name, role, password in DEMO_USERS:
            if users.get(name) is None:
                users.add(name, role, password, actor="demo")


async def _announce_console(cfg: GatewayConfig) -> None:
    """Print the console's address and logins once it answers (not before: a newcomer who
    opens it at once must find it there)."""
    if not cfg.web.enabled:
        return
    while True:
        try:
            _, writer = await asyncio.open_connection(cfg.web.host, cfg.web.port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        break
    scheme = "https" if cfg.web.tls_cert else "http"
    name, _, password = DEMO_USERS[0]
    out.print(
        f"demo: console at {scheme}://{cfg.web.host}:{cfg.web.port}/ — log in as {name} / "
        f"{password} (or {DEMO_USERS[1][0]} / {DEMO_USERS[1][2]})",
        highlight=False,
        soft_wrap=True,
    )


def _demo_residents(cfg: GatewayConfig) -> None:
    """Enroll the demo's residents from the simulated gate's photographs."""
    sim = cfg.simulation
    if not sim.residents or not any(d.kind == "entry" for d in cfg.devices):
        return
    photos = hardware_class("simulated").photographs(cfg)  # type: ignore[attr-defined]
    recognizer = _recognizer()
    with _database(cfg, create=True) as db:
        residents = Residents(db)
        for r in sim.residents:
            shots = [(p, load_image(photos / p)) for p in r.photos]
            residents.enroll(recognizer, r.id, shots, name=r.name, unit=r.unit, actor="demo")
    out.print(f"demo: {len(sim.residents)} residents enrolled at the gate", highlight=False)


@contextlib.asynccontextmanager
async def _broker(url: str | None) -> AsyncIterator[tuple[str, int]]:
    if url is None:
        async with embedded_broker() as address:
            yield address
        return
    yield _host_port(url)


async def _demo(cfg: GatewayConfig, broker: str | None, duration: float | None, live: bool) -> None:
    async with _broker(broker) as (host, port):
        cfg.mqtt = cfg.mqtt.model_copy(update={"host": host, "port": port, "tls": None})
        platform = SimulatedPlatform(cfg, Topics(cfg.mqtt.prefix, cfg.site, cfg.gateway_id))
        platform.authorise()
        gateway = Gateway(cfg)
        view = _UpstreamView(gateway.topics)
        stop = asyncio.Event()
        if duration is not None:
            asyncio.get_running_loop().call_later(duration, stop.set)
        out.print(
            f"demo: broker mqtt://{host}:{port}, gateway {gateway.topics.root}, "
            f"data in {cfg.data_dir}; Ctrl-C to stop",
            highlight=False,
        )
        async with Observer(cfg.mqtt, identifier=f"demo-view-{os.getpid()}") as observer:
            await observer.subscribe(gateway.topics.everything)
            watcher = asyncio.create_task(view.follow(observer, live))
            commands = asyncio.create_task(platform.run())
            console = asyncio.create_task(_announce_console(cfg))
            try:
                await run_until_signalled(gateway, stop)
                await asyncio.sleep(0.5)  # let the view receive the offline status
            finally:
                for task in (watcher, commands, console):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, GatewayError):
                        await task
        out.print(view.summary(), highlight=False, soft_wrap=True)


class _UpstreamView:
    """What upstream sees: the gateway's status, each device's latest state, recent events."""

    def __init__(self, topics: Topics) -> None:
        self.topics = topics
        self.status: dict[str, Any] = {}
        self.devices: dict[str, dict[str, Any]] = {}
        self.events: list[str] = []
        self.count = 0
        self.started = time.monotonic()

    async def follow(self, observer: Observer, live: bool) -> None:
        if not live:
            async for message in observer.messages():
                line = self.record(message)
                if line:
                    print(line, flush=True)
            return
        with Live(self.render(), console=out, refresh_per_second=4) as screen:
            async for message in observer.messages():
                self.record(message)
                screen.update(self.render())

    def record(self, message: ReceivedMessage) -> str | None:
        self.count += 1
        try:
            body = message.json()
        except ValueError:
            return None
        clock = datetime.now().strftime("%H:%M:%S")
        if message.topic == self.topics.status:
            self.status = body
            return f"{clock} status {json.dumps(body)}"
        parsed = self.topics.parse_device(message.topic)
        if parsed is None:
            return (
                f"{clock} {message.topic.removeprefix(self.topics.root + '/')} {json.dumps(body)}"
            )
        device, kind = parsed
        entry = self.devices.setdefault(device, {"kind": body.get("kind", "?")})
        entry[kind] = body.get("data", {})
        if kind == "event":
            data = body.get("data", {})
            self.events.append(
                f"{body.get('ts', '')} {device} {data.get('event')} [{data.get('severity')}]"
            )
            self.events = self.events[-8:]
        historical = " (historical)" if body.get("historical") else ""
        return (
            f"{clock} {device} {kind} seq={body.get('seq')}{historical} "
            f"{json.dumps(body.get('data', {}))}"
        )

    def render(self) -> Group:
        online = self.status.get("online")
        head = Table.grid()
        head.add_row(
            f"[b]{self.topics.root}[/b]  status: "
            f"{'[green]online' if online else '[red]offline'}[/]  "
            f"boot {self.status.get('boot', '?')}  messages {self.count}"
        )
        table = Table(title="devices", expand=True)
        for column in ("device", "kind", "available", "latest telemetry"):
            table.add_column(column)
        for device, entry in sorted(self.devices.items()):
            available = entry.get("state", {}).get("available")
            shown = _telemetry_line(entry.get("telemetry", {}))
            table.add_row(
                device,
                entry["kind"],
                "[green]yes" if available else "[red]no" if available is False else "?",
                shown,
            )
        events = Table(title="recent events", expand=True, show_header=False)
        for line in self.events or ["(none yet)"]:
            events.add_row(line)
        return Group(head, table, events)

    def summary(self) -> str:
        """One line: how long, how much, and how the gateway left."""
        state = "online" if self.status.get("online") else "offline"
        return (
            f"demo stopped after {time.monotonic() - self.started:.0f} s: upstream received "
            f"{self.count} messages from {len(self.devices)} devices; the gateway is {state} "
            f"(boot {self.status.get('boot', '?')})"
        )


def _telemetry_line(data: dict[str, Any]) -> str:
    """A device's latest telemetry as one line; a bank of compartments as a summary."""
    shown = []
    for key, value in data.items():
        if key == "compartments" and isinstance(value, list):
            shown.append(_compartments_line(value))
        else:
            shown.append(f"{key}={value}")
    return ", ".join(shown)


def _compartments_line(compartments: list[Any]) -> str:
    """``3 of 12 held · C08 5.3 °C cooling · F11 -21.4 °C``: how many hold a parcel, then
    each temperature-held compartment's reading (``no probe`` when it has none)."""
    boxes = [c for c in compartments if isinstance(c, dict)]
    held = sum(1 for c in boxes if c.get("occupied"))
    parts = [f"{held} of {len(boxes)} held"]
    for box in boxes:
        if box.get("class") not in ("chilled", "frozen"):
            continue
        reading = box.get("temperature_c")
        shown = "no probe" if not isinstance(reading, int | float) else f"{reading:.1f} °C"
        parts.append(f"{box.get('id')} {shown}{' cooling' if box.get('cooling_on') else ''}")
    return " · ".join(parts)


def main() -> None:
    app()
