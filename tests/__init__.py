"""Unit tests, mirroring the packages."""

from pathlib import Path

from drivers.sim.gate import PHOTOGRAPHS

#: Photographs only the tests use (``two_people.jpg``); the people and objects are the
#: simulated gate's (:data:`drivers.sim.gate.PHOTOGRAPHS`).
TEST_PHOTOS = Path(__file__).resolve().with_name("photos")


def person(name: str, *numbers: int) -> list[Path]:
    """Photographs ``NN.jpg`` of one of the simulated gate's people (``John_Salley``, …)."""
    return [PHOTOGRAPHS / "people" / name / f"{n:02d}.jpg" for n in numbers]


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A real, valid PNG of ``width`` x ``height`` black pixels, 1 bit each: about 110 KB
    that OpenCV would decode into ``3 * width * height`` bytes (2.7 GB by default)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    row = b"\0" * (1 + (width + 7) // 8)  # filter byte, then the packed bits
    pixels = zlib.compress(row * height, 9)
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
