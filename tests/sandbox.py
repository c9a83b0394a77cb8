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


def add_bystanders(root: Path) -> Path:
    """A bystander file and folder in ``root``, beside a command's input and output."""
    (root / "bystander").mkdir()
    (root / "bystander" / "notes.txt").write_text("someone else's file\n")
    (root / "victim.txt").write_text("someone else's file\n")
    return root


def invoke(*args: object):
    """The ``research`` command line with ``args``, in process."""
    from typer.testing import CliRunner

    from research import cli

    return CliRunner().invoke(cli.app, [str(a) for a in args])


def flat(text: str) -> str:
    """``text`` on one line (the console wraps long lines)."""
    return " ".join(text.split())


def named_failure(result) -> None:
    """Exit code 1, an 'error:' line, and no traceback (typer exits via SystemExit)."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "error:" in result.output and "Traceback" not in result.output
