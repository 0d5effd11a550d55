"""Finding the installed plugins: the entry points read as importlib.metadata reads them."""

from __future__ import annotations

import importlib.metadata
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import plugins
from gateway.errors import DriverNotFound

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh() -> Iterator[None]:
    """Each test reads the entry points afresh (they are read once per process)."""
    plugins._group.cache_clear()
    yield
    plugins._group.cache_clear()


def metadata_view(group: str) -> dict[str, str]:
    """What importlib.metadata finds in ``group``: name → ``module:attribute``."""
    found: dict[str, str] = {}
    for ep in importlib.metadata.entry_points(group=group):
        found.setdefault(ep.name, ep.value.partition("[")[0].strip())
    return found


def test_every_installed_group_reads_as_importlib_metadata_reads_it(fresh: None) -> None:
    groups = {ep.group for d in importlib.metadata.distributions() for ep in d.entry_points}
    assert {"console_scripts", "community_gateway.kinds", "community_gateway.hardware"} <= groups
    for group in groups:
        assert plugins._group(group) == metadata_view(group), group


def write_distribution(where: Path, name: str, entry_points: str, info: str = "dist-info") -> None:
    folder = where / f"{name}-1.0.{info}"
    folder.mkdir(parents=True)
    (folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (folder / "entry_points.txt").write_text(entry_points)


def test_the_first_distribution_of_a_name_on_the_path_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: None
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    write_distribution(
        first, "Kinds_Extra",
        "# a comment\n[community_gateway.kinds]\nfence = fences.kind:KIND [camera]\n"
        "\n[console_scripts]\nfence = fences.cli:main\n",
    )  # fmt: skip
    # The same distribution, older, later on the path: not read.
    write_distribution(second, "kinds-extra", "[community_gateway.kinds]\nfence = old:KIND\n")
    write_distribution(
        second, "gates", "[community_gateway.kinds]\ngate = gates:KIND\n", "egg-info"
    )
    (second / "no_entry_points-1.0.dist-info").mkdir()
    monkeypatch.setattr(sys, "path", [str(first), str(tmp_path / "missing"), str(second)])

    found = plugins._group("community_gateway.kinds")
    assert found == {"fence": "fences.kind:KIND", "gate": "gates:KIND"}
    assert found == metadata_view("community_gateway.kinds")


def test_the_kinds_installed_are_the_ones_the_project_declares(fresh: None) -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    kinds = plugins.device_kinds()
    assert sorted(kinds) == sorted(declared["community_gateway.kinds"])
    assert all(kind.name == name for name, kind in kinds.items())


def test_an_unknown_kind_names_the_ones_installed(fresh: None) -> None:
    with pytest.raises(DriverNotFound, match=r"unknown device kind 'fence' \(allowed: bin, "):
        plugins.device_kind("fence")
    with pytest.raises(DriverNotFound, match=r"unknown hardware 'gpio' \(allowed: simulated\)"):
        plugins.hardware_class("gpio")


def test_a_target_is_a_module_an_attribute_or_a_dotted_attribute() -> None:
    import gateway.plugins as module

    assert plugins.load_target("gateway.plugins") is module
    assert plugins.load_target("gateway.plugins:DeviceKind") is plugins.DeviceKind
    assert plugins.load_target("gateway.plugins:DeviceKind.config_model") is (
        plugins.DeviceKind.config_model
    )
    with pytest.raises(AttributeError):
        plugins.load_target("gateway.plugins:Nothing")
