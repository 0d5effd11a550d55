"""Blobs sealed at rest: opened only with their key and under their own label."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gateway.errors import StorageError
from gateway.sealing import Sealer


def test_a_sealed_blob_opens_with_its_key_file_under_its_label(tmp_path: Path) -> None:
    key = tmp_path / "templates.key"
    blob = Sealer(key).seal("r-101/1", b"template bytes")
    assert b"template bytes" not in blob
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # Another process, the same key file.
    assert Sealer(key).open("r-101/1", blob) == b"template bytes"
    # The same plain text sealed twice: two different blobs (a fresh nonce each).
    assert Sealer(key).seal("r-101/1", b"template bytes") != blob


def test_a_blob_moved_changed_or_under_another_key_does_not_open(tmp_path: Path) -> None:
    key = tmp_path / "templates.key"
    sealer = Sealer(key)
    blob = sealer.seal("r-101/1", b"template bytes")
    with pytest.raises(StorageError, match=r"r-102/1 does not decrypt with .*templates.key"):
        sealer.open("r-102/1", blob)  # copied to another resident's row
    flipped = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(StorageError, match="tampered"):
        sealer.open("r-101/1", flipped)
    with pytest.raises(StorageError, match="key file was replaced"):
        Sealer(tmp_path / "other.key").open("r-101/1", blob)
