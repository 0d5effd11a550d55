"""The CLI starts without the heavy libraries: an installer's ``gateway --help`` and
``gateway config check`` on a Pi must not wait for OpenCV or the face models."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from gateway.cli import PYDANTIC_PLUGIN_LOADER

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("cv2", "numpy", "dlib", "face_recognition", "aiomqtt", "starlette", "argon2", "amqtt")
#: Read by the commands that need it (a version, the doctor), never to find a plugin.
METADATA = "importlib.metadata"

PROBE = """
import atexit, json, sys
from gateway.cli import main
atexit.register(lambda: print(json.dumps([m for m in %r if m in sys.modules])))
sys.argv[0] = "gateway"
main()
"""


def loaded_by(*args: str, watch: tuple[str, ...] = HEAVY) -> dict[str, object]:
    """Which of ``watch`` the ``gateway`` command (its ``main()``) imported, and its exit."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE % (watch,), *args], capture_output=True, text=True, cwd=ROOT
    )
    return {"exit": done.returncode, "loaded": json.loads(done.stdout.strip().splitlines()[-1])}


def test_help_loads_no_heavy_library() -> None:
    assert loaded_by("--help") == {"exit": 0, "loaded": []}


def test_config_check_of_a_gateway_without_a_gate_loads_no_heavy_library(tmp_path: Path) -> None:
    config = tmp_path / "g.toml"
    config.write_text(
        'site = "s"\ngateway_id = "g"\n\n[[devices]]\nkind = "gateway"\nid = "gateway"\n'
        '\n[[devices]]\nkind = "bin"\nid = "b"\ntrigger_pin = 17\necho_pin = 27\n'
    )
    assert loaded_by("config", "check", str(config)) == {"exit": 0, "loaded": []}


def test_config_check_of_the_demo_complex_loads_no_heavy_library() -> None:
    """Checking a gate's configuration reads its config model, never its driver's OpenCV."""
    demo = ROOT / "config" / "demo.toml"
    assert loaded_by("config", "check", str(demo)) == {"exit": 0, "loaded": []}


def test_config_check_reads_no_distribution_metadata() -> None:
    """Neither the kinds' entry points nor pydantic's plugin lookup import importlib.metadata."""
    demo = str(ROOT / "config" / "demo.toml")
    assert loaded_by("config", "check", demo, watch=(METADATA,)) == {"exit": 0, "loaded": []}


def test_the_stand_in_for_pydantics_plugin_loader_has_all_pydantic_takes_from_it() -> None:
    """If pydantic takes something else from its loader, this fails before the CLI does."""
    import pydantic

    name, provided = PYDANTIC_PLUGIN_LOADER
    module = name.rpartition(".")[2]
    taken = set()
    for source in Path(pydantic.__file__).parent.rglob("*.py"):
        if "v1" in source.parts:
            continue
        text = source.read_text(encoding="utf-8")
        for names in re.findall(rf"from \.*(?:plugin\.)?{module} import ([\w, ]+)", text):
            taken |= {n.strip() for n in names.split(",")}
        taken |= set(re.findall(rf"\b{module}\.(\w+)", text))
    assert taken == set(provided)


def gateway(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args], capture_output=True, text=True, cwd=ROOT
    )


def test_the_command_builds_only_what_it_runs_and_help_names_everything() -> None:
    help_text = gateway("--help").stdout
    for name in ("run", "config", "outbox", "residents", "deliveries", "nodes"):
        assert f"  {name} " in help_text
    # A group of the gateway's own and one a device kind brings, each on its own.
    assert "check" in gateway("config", "--help").stdout
    assert "enroll" in gateway("residents", "--help").stdout
    unknown = gateway("bogus")
    assert unknown.returncode == 2 and "No such command 'bogus'" in unknown.stderr


def test_tab_completion_reaches_into_the_kinds_groups() -> None:
    """As bash asks the installed ``gateway`` script (README: tab completion)."""
    env = {**os.environ, "_GATEWAY_COMPLETE": "bash_complete"}
    script = str(Path(sys.executable).parent / "gateway")

    def complete(words: str) -> list[str]:
        cword = str(len(words.split()) - 1)
        done = subprocess.run(
            [script], capture_output=True, text=True, cwd=ROOT,
            env={**env, "COMP_WORDS": words, "COMP_CWORD": cword},
        )  # fmt: skip
        return done.stdout.split()

    assert complete("gateway res") == ["plain,residents"]
    assert complete("gateway residents en") == ["plain,enroll"]
