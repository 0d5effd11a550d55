"""Unit tests, mirroring the packages."""

from pathlib import Path

from drivers.sim.gate import PHOTOGRAPHS

#: Photographs only the tests use (``two_people.jpg``); the people and objects are the
#: simulated gate's (:data:`drivers.sim.gate.PHOTOGRAPHS`).
TEST_PHOTOS = Path(__file__).resolve().with_name("photos")


def person(name: str, *numbers: int) -> list[Path]:
    """Photographs ``NN.jpg`` of one of the simulated gate's people (``John_Salley``, …)."""
    return [PHOTOGRAPHS / "people" / name / f"{n:02d}.jpg" for n in numbers]
