"""Hash snapshots of a sandbox tree: what a hostile input changed outside the output."""

from __future__ import annotations

import hashlib
from pathlib import Path


def snapshot(root: Path, *, outside: tuple[Path, ...] = ()) -> dict[str, str]:
    """sha256 of every file under ``root`` (``dir`` for a folder, ``link -> target`` for a
    symbolic link, never followed), by relative path, leaving out the trees ``outside``
    (the command's own output)."""
    root = Path(root).absolute()
    skip = [Path(p).absolute() for p in outside]
    found = {}
    for path in sorted(root.rglob("*")):
        if any(path == s or s in path.parents for s in skip):
            continue
        key = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[key] = f"link -> {path.readlink()}"
        elif path.is_dir():
            found[key] = "dir"
        else:
            found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found
