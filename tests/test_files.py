"""Atomic writes leave nothing half-written."""

import pytest

from research.files import sha256_file, write_atomic, write_text_atomic


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "table.csv"
    write_text_atomic(target, "old\n")

    def broken(path):
        path.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(target, broken)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_sha256_of_known_bytes(tmp_path):
    path = tmp_path / "abc"
    path.write_bytes(b"abc")
    # FIPS 180-2 test vector for "abc"
    assert sha256_file(path) == ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
