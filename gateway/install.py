"""``gateway install``: the whole gateway onto a Raspberry Pi OS box, again and again.

Every step checks what is there first and only changes what differs, so a second run says
``ok`` everywhere and an interrupted one is finished by the next. With ``root`` other than
``/`` everything goes under that directory (CI checks the files), and nothing is started.

1. Debian packages: ``python3-venv`` and ``python3-lgpio`` (the Pi's GPIO library is a C
   library with Python bindings that apt installs into the system's Python).
2. The service user and its groups, declared in ``/usr/lib/sysusers.d`` and made by
   ``systemd-sysusers`` (``gpio``, ``video``, ``spi``: the pins, the cameras, the ADC).
3. The virtual environment ``/opt/community-gateway/.venv``, made with
   ``--system-site-packages`` so that it sees apt's ``lgpio`` (as gpiozero's documentation
   recommends on Bookworm), and the package installed into it (from this checkout with its
   locked versions, or from PyPI).
4. ``/etc/community-gateway/gateway.toml`` (the example, never overwritten), readable by the
   service's group only.
5. ``/var/lib/community-gateway`` (0700, the service's) with the gateway's own signing key.
6. The systemd unit, then (on ``/``) ``systemctl enable`` and, when the configuration passes
   its check, ``--now``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import GatewayError

__all__ = ["Step", "install"]

USER = "community-gateway"
GROUPS = ("gpio", "video", "spi")
PREFIX = Path("/opt/community-gateway")
VENV = PREFIX / ".venv"
CONFIG_DIR = Path("/etc/community-gateway")
DATA_DIR = Path("/var/lib/community-gateway")
UNIT = Path("/etc/systemd/system/community-gateway.service")
SYSUSERS = Path("/usr/lib/sysusers.d/community-gateway.conf")
APT_PACKAGES = ("python3-venv", "python3-lgpio")
#: The project's own files a wheel carries under ``gateway/shipped/`` (hatch force-include)
#: and a checkout keeps in ``config/``.
CHECKOUT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Step:
    """One line of the report: ``ok`` (already so), ``changed``, ``skipped`` or ``failed``."""

    status: str
    what: str

    def __str__(self) -> str:
        return f"{self.status:8} {self.what}"


class InstallError(GatewayError):
    """A step that cannot be done; the message says how to do it by hand."""


def shipped(name: str) -> Path:
    """A file the project ships: the unit, the example configuration."""
    for candidate in (
        Path(__file__).resolve().parent / "shipped" / Path(name).name,
        CHECKOUT / "config" / name,
    ):
        if candidate.exists():
            return candidate
    raise InstallError(f"{name} is missing from this installation; reinstall the package")


def _under(root: Path, path: Path) -> Path:
    return root / path.relative_to("/")


def _write(target: Path, text: str, mode: int) -> bool:
    """``text`` into ``target`` (atomically) unless it is there already; whether it changed."""
    if target.exists() and target.read_text() == text:
        if target.stat().st_mode & 0o7777 != mode:
            target.chmod(mode)
            return True
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    os.replace(tmp, target)
    return True


def _ids(root: Path) -> tuple[int, int] | None:
    """The service user's uid and gid, in ``root``'s account files."""
    if root == Path("/"):
        try:
            entry = pwd.getpwnam(USER)
        except KeyError:
            return None
        return entry.pw_uid, entry.pw_gid
    passwd = _under(root, Path("/etc/passwd"))
    for line in passwd.read_text().splitlines() if passwd.exists() else []:
        fields = line.split(":")
        if fields[0] == USER:
            return int(fields[2]), int(fields[3])
    return None


def _own(path: Path, uid: int, gid: int, mode: int) -> bool:
    status = path.stat()
    changed = status.st_mode & 0o7777 != mode
    path.chmod(mode)
    if os.geteuid() == 0 and (status.st_uid, status.st_gid) != (uid, gid):
        os.chown(path, uid, gid)
        changed = True
    return changed


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise InstallError(f"{what} failed ({' '.join(argv)}): {done.stderr.strip()[-500:]}")


def apt(root: Path, enabled: bool) -> Step:
    if root != Path("/") or not enabled:
        return Step("skipped", f"Debian packages {', '.join(APT_PACKAGES)} (not on /)")
    if shutil.which("dpkg-query") is None:
        return Step("skipped", "Debian packages: not a Debian system (install lgpio yourself)")
    missing = [
        p for p in APT_PACKAGES
        if subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True,
                          text=True, check=False).stdout != "install ok installed"
    ]  # fmt: skip
    if not missing:
        return Step("ok", f"Debian packages {', '.join(APT_PACKAGES)}")
    _run(["apt-get", "install", "-y", *missing], "apt-get install")
    return Step("changed", f"installed {', '.join(missing)}")


def user(root: Path) -> Step:
    lines = [*(f"g {group} -" for group in GROUPS)]
    lines.append(f'u {USER} - "community-gateway" {DATA_DIR} /usr/sbin/nologin')
    lines += [f"m {USER} {group}" for group in GROUPS]
    changed = _write(_under(root, SYSUSERS), "\n".join(lines) + "\n", 0o644)
    if shutil.which("systemd-sysusers") is None:
        raise InstallError("systemd-sysusers is missing: install systemd, or add the user by hand")
    _under(root, Path("/etc")).mkdir(parents=True, exist_ok=True)
    before = _ids(root)
    _run(["systemd-sysusers", f"--root={root}", str(_under(root, SYSUSERS))], "systemd-sysusers")
    made = before is None and _ids(root) is not None
    status = "changed" if changed or made else "ok"
    return Step(status, f"user {USER} in groups {', '.join(GROUPS)}")


def venv(root: Path, source: str | None, python: str) -> Step:
    target = _under(root, VENV)
    config = target / "pyvenv.cfg"
    changed = False
    if not config.exists() or "include-system-site-packages = true" not in config.read_text():
        # uv installs into it, so no pip (nor Debian's python3-venv for ensurepip) is needed.
        bare = ["--without-pip"] if _uv() else []
        _run(
            [python, "-m", "venv", "--clear", "--system-site-packages", *bare, str(target)], "venv"
        )
        changed = True
    before = _installed(target)
    for argv in _install_commands(target, source):
        _run(argv, "installing the package")
    after = _installed(target)
    changed = changed or before != after
    return Step("changed" if changed else "ok", f"{VENV} (sees the system's lgpio), {after}")


def _installed(target: Path) -> str:
    done = subprocess.run(
        [str(target / "bin" / "python"), "-c",
         "from importlib.metadata import version; print(version('community-gateway'))"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return f"community-gateway {done.stdout.strip()}" if done.returncode == 0 else "nothing"


def _uv() -> str | None:
    """uv: on the PATH, or this checkout's ``.ci/uv`` (which fetches it)."""
    found = shutil.which("uv")
    if found is None and (CHECKOUT / ".ci" / "uv").exists():
        found = str(CHECKOUT / ".ci" / "uv")
    return found


def _install_commands(target: Path, source: str | None) -> Iterator[list[str]]:
    """From a checkout: its locked versions, then the project; else ``source`` from PyPI."""
    python = str(target / "bin" / "python")
    uv = _uv()
    installer = (
        [uv, "pip", "install", "--python", python] if uv else [python, "-m", "pip", "install"]
    )
    if source is None and (CHECKOUT / "uv.lock").exists() and uv:
        pins = target / "constraints.txt"
        exported = subprocess.run(
            [uv, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project",
             "--project", str(CHECKOUT)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if exported.returncode != 0:
            raise InstallError(f"uv export failed: {exported.stderr.strip()[-300:]}")
        pins.write_text(exported.stdout)
        yield [*installer, "-r", str(pins)]
        yield [*installer, "--no-deps", str(CHECKOUT)]
    else:
        yield [*installer, source or "community-gateway"]


def config_dir(root: Path, ids: tuple[int, int] | None) -> Step:
    directory = _under(root, CONFIG_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "gateway.toml"
    changed = False
    if not target.exists():
        _write(target, shipped("gateway.example.toml").read_text(), 0o640)
        changed = True
    if ids is not None:
        changed |= _own(directory, 0, ids[1], 0o750)
        changed |= _own(target, 0, ids[1], 0o640)
    what = f"{CONFIG_DIR / 'gateway.toml'} (kept as it was; edit it)"
    return Step("changed" if changed else "ok", what if not changed else f"{target} written")


def data_dir(root: Path, ids: tuple[int, int] | None) -> Step:
    from gateway.anchor import GatewayKey

    directory = _under(root, DATA_DIR)
    made = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    key_path = directory / "gateway.key"
    made_key = not key_path.exists()
    key = GatewayKey(key_path)
    changed = made or made_key
    if ids is not None:
        changed |= _own(directory, ids[0], ids[1], 0o700)
        changed |= _own(key_path, ids[0], ids[1], 0o600)
    return Step(
        "changed" if changed else "ok",
        f"{DATA_DIR} (0700) and the gateway's key; audit_key {key.public}",
    )


def unit(root: Path) -> Step:
    changed = _write(
        _under(root, UNIT), shipped("systemd/community-gateway.service").read_text(), 0o644
    )
    return Step("changed" if changed else "ok", str(UNIT))


def enable(root: Path, enabled: bool) -> Step:
    if root != Path("/") or not enabled:
        return Step("skipped", "systemctl enable (not on /)")
    _run(["systemctl", "daemon-reload"], "systemctl daemon-reload")
    _run(["systemctl", "enable", "systemd-time-wait-sync", USER], "systemctl enable")
    check = subprocess.run(
        [str(VENV / "bin" / "gateway"), "config", "check", str(CONFIG_DIR / "gateway.toml")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if check.returncode != 0:
        return Step("changed", f"enabled; not started: {check.stderr.strip()[-200:]}")
    _run(["systemctl", "restart", USER], "systemctl restart")
    return Step("changed", f"enabled and started: journalctl -u {USER} -f")


def install(
    root: Path = Path("/"),
    *,
    source: str | None = None,
    python: str = "/usr/bin/python3",
    apt_get: bool = True,
    systemctl: bool = True,
    report: Callable[[Step], None] = print,
) -> list[Step]:
    """Every step in order; each reported as it is done."""
    steps: list[Step] = []

    def done(step: Step) -> None:
        steps.append(step)
        report(step)

    done(apt(root, apt_get))
    done(user(root))
    ids = _ids(root)
    done(venv(root, source, python if Path(python).exists() else sys.executable))
    done(config_dir(root, ids))
    done(data_dir(root, ids))
    done(unit(root))
    done(enable(root, systemctl))
    if root == Path("/") and not _sees_lgpio(VENV):
        done(Step("failed", "the venv cannot import lgpio: apt-get install python3-lgpio"))
    return steps


def _sees_lgpio(target: Path) -> bool:
    return (
        subprocess.run(
            [str(target / "bin" / "python"), "-c", "import lgpio"], capture_output=True, check=False
        ).returncode
        == 0
    )
