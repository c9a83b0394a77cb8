"""What a report run read: the bundled files and the user's own files, with their sha256.

The report runner sets ``RESEARCH_RUN_DIR`` for the kernel. Inside a run,
:func:`research.datasets.load` notes every file it reads here (one JSON line per
file in ``.inputs.jsonl`` of the run folder); the runner turns the notes into the
manifest's ``inputs`` (:func:`read_inputs`), which ``research report regenerate``
compares with the files on disk. Outside a run the recorders do nothing.

This module sits in the bottom layer so that the data layer can note what it reads
without importing the report layer (:mod:`research.report.outputs` re-exports these
names).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from research.errors import DataNotFoundError
from research.files import sha256_file

RUN_DIR_VARIABLE = "RESEARCH_RUN_DIR"
INPUTS_FILE = ".inputs.jsonl"
USER_FILES_INPUT = "$RESEARCH_USER_DIR"
USER_FILE_SUFFIXES = (".yaml", ".yml", ".toml")

_noted: set[tuple[str, str, str, str]] = set()  # notes this process already wrote


def run_dir() -> Path | None:
    """The folder of the current report run, or ``None`` outside a run."""
    value = os.environ.get(RUN_DIR_VARIABLE)
    return Path(value) if value else None


def _note(name: str, file: str, sha256: str) -> None:
    folder = run_dir()
    key = (str(folder), name, file, sha256)
    if folder is None or key in _noted:
        return
    _noted.add(key)
    note = {"dataset": name, "file": file, "sha256": sha256}
    with open(folder / INPUTS_FILE, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(note, sort_keys=True) + "\n")


def record_input(name: str, path: Path, root: Path | None = None) -> None:
    """Note that the run read dataset ``name`` from ``path`` (with its sha256).

    Called by :func:`research.datasets.load` when a file is read. The runner turns
    these notes into the manifest's ``inputs`` (file relative to ``root`` -> sha256),
    which ``research report regenerate`` compares with the files on disk.
    """
    if run_dir() is None:
        return
    path = Path(path)
    try:
        file = path.resolve().relative_to(Path(root).resolve()).as_posix() if root else path.name
    except ValueError:
        file = path.as_posix()
    _note(name, file, sha256_file(path))


def user_file_paths(directory: Path | str) -> list[Path]:
    """The YAML and TOML files of a user folder, sorted by name (hidden files skipped).

    Raises
    ------
    DataNotFoundError
        The folder does not exist.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataNotFoundError(f"{directory}: user folder (RESEARCH_USER_DIR or --user-dir) "
                                "not found")
    return sorted(p for p in directory.iterdir()
                  if p.is_file() and p.suffix.lower() in USER_FILE_SUFFIXES
                  and not p.name.startswith("."))


def user_files_sha256(folder: Path | None) -> str:
    """sha256 over the names and contents of the user's event/basket files
    (``RESEARCH_USER_DIR``); no folder hashes like an empty one (same rows: none).

    Raises DataNotFoundError when ``folder`` does not exist.
    """
    digest = hashlib.sha256()
    if folder is not None:
        for path in user_file_paths(folder):
            digest.update(f"{path.name}\0{sha256_file(path)}\n".encode())
    return digest.hexdigest()


def record_user_files(folder: Path | None) -> None:
    """Note the user files merged into a bundled table (manifest input
    ``$RESEARCH_USER_DIR``, see :func:`user_files_sha256`)."""
    if run_dir() is not None:
        _note("user rows", USER_FILES_INPUT, user_files_sha256(folder))


def read_inputs(folder: Path) -> dict[str, str]:
    """The inputs noted in a run folder: file -> sha256, sorted by file."""
    notes = Path(folder) / INPUTS_FILE
    if not notes.exists():
        return {}
    found = {}
    for line in notes.read_text(encoding="utf-8").splitlines():
        if line.strip():
            note = json.loads(line)
            found[note["file"]] = note["sha256"]
    return dict(sorted(found.items()))
