"""Imports only point down: drivers → gateway → vision."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"gateway": {"drivers"}, "vision": {"drivers", "gateway"}, "drivers": set()}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_points_up(package: str) -> None:
    for file in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN[package], f"{file}: imports {name}"


def test_only_the_mqtt_boundary_imports_aiomqtt() -> None:
    users = {
        f.relative_to(ROOT).as_posix()
        for pkg in FORBIDDEN
        for f in (ROOT / pkg).rglob("*.py")
        if "aiomqtt" in f.read_text()
    }
    assert users == {"gateway/mqtt.py"}
