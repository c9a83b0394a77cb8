"""Atomic file writes and content hashes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success.

    A failure inside the block removes the temporary file, so nothing
    half-written is ever left at ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp creates 0600; use the usual mode
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def write_atomic(path: Path, writer: Callable[[Path], object]) -> Path:
    """Call ``writer(temporary_path)`` and move the result to ``path`` atomically."""
    with atomic_path(path) as temporary:
        writer(temporary)
    return Path(path)


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_atomic(path, lambda p: Path(p).write_text(text, encoding="utf-8"))


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes.

    Examples
    --------
    The FIPS 180-2 test vector: SHA-256 of ``abc``.

    >>> import tempfile
    >>> path = write_text_atomic(Path(tempfile.mkdtemp()) / "abc.txt", "abc")
    >>> path.read_text(encoding="utf-8")
    'abc'
    >>> sha256_file(path)
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
