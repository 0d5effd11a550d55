"""The installer's pieces that need no root: the lgpio hint, idempotent writes."""

from __future__ import annotations

import sys
from pathlib import Path

from gateway.hardware import _no_lgpio
from gateway.install import _write, shipped


def test_a_venv_that_cannot_see_apts_lgpio_is_told_the_real_fix() -> None:
    message = _no_lgpio()
    assert "sudo apt install python3-lgpio" in message
    if sys.prefix != sys.base_prefix:  # the tests run in the project's own venv
        assert "--system-site-packages" in message and "gateway install" in message


def test_a_file_is_written_once_then_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "etc" / "unit"
    assert _write(target, "a\n", 0o644) is True
    assert _write(target, "a\n", 0o644) is False
    target.chmod(0o600)
    assert _write(target, "a\n", 0o644) is True  # the mode put back
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert shipped("systemd/community-gateway.service").read_text().startswith("# Install")
