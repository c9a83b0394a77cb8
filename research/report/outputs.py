"""What a notebook saves for its report run: figures, tables, its headline estimate and
the data files it read.

The runner sets ``RESEARCH_RUN_DIR`` for the kernel; outside a run (a user in
JupyterLab) these functions only return what they were given. Tables are written
with a fixed float format (12 significant digits) so that the same inputs give
byte-identical CSV files even when the last bits of a float differ between runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pandas as pd

from research.errors import ParameterError
from research.files import sha256_file, write_atomic, write_csv, write_text_atomic
from research.report.etable import etable

_noted: set[tuple[str, str, str, str]] = set()  # notes this process already wrote

RUN_DIR_VARIABLE = "RESEARCH_RUN_DIR"
INPUTS_FILE = ".inputs.jsonl"
USER_FILES_INPUT = "$RESEARCH_USER_DIR"
FLOAT_FORMAT = "%.12g"


def _file_name(name: str) -> str:
    """``name`` when it is one file name inside the run folder (no folder separator, not
    hidden, at most 100 characters); ParameterError otherwise."""
    if not isinstance(name, str) or not re.fullmatch(r"[^./\\\x00-\x1f][^/\\\x00-\x1f]{0,99}",
                                                      name):
        raise ParameterError(f"output name {name!r} must be one file name: no '/' or '\\', "
                             "not starting with '.', at most 100 characters")
    return name


def run_dir() -> Path | None:
    """The folder of the current report run, or ``None`` outside a run."""
    value = os.environ.get(RUN_DIR_VARIABLE)
    return Path(value) if value else None


def save_figure(fig, name: str):
    """Save ``fig`` as ``figures/<name>.png`` in the run folder; return ``fig``."""
    folder = run_dir()
    if folder is not None:
        target = folder / "figures" / f"{_file_name(name)}.png"
        write_atomic(target, lambda p: fig.savefig(p, format="png", dpi=110,
                                                   bbox_inches="tight"))
    return fig


def save_table(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Save ``frame`` as ``tables/<name>.csv`` in the run folder; return it.

    Text cells that a spreadsheet would run as a formula get a leading ``'``
    (:func:`research.files.write_csv`); ``name`` must be a plain file name.
    """
    folder = run_dir()
    if folder is not None:
        target = folder / "tables" / f"{_file_name(name)}.csv"
        write_csv(frame, target, lineterminator="\n", float_format=FLOAT_FORMAT)
    return frame


def save_etable(results, name: str, **options) -> str:
    """Save a regression table of ``results`` as ``tables/<name>.tex`` and
    ``tables/<name>.md`` in the run folder (beside the CSV tables); return the Markdown.

    ``options`` go to :func:`research.report.etable.etable` (``stats``, ``stars``,
    ``scale``, ...); ``name`` must be a plain file name.
    """
    markdown = etable(results, type="md", **options)
    folder = run_dir()
    if folder is not None:
        name = _file_name(name)
        write_text_atomic(folder / "tables" / f"{name}.md", markdown)
        write_text_atomic(folder / "tables" / f"{name}.tex", etable(results, type="tex",
                                                                    **options))
    return markdown


def record_headline(label: str, estimate: float, conf_low: float | None = None,
                    conf_high: float | None = None, **context) -> dict:
    """Record the run's headline number (shown on the index page)."""
    record = {"label": label, "estimate": _number(estimate), "conf_low": _number(conf_low),
              "conf_high": _number(conf_high), **context}
    folder = run_dir()
    if folder is not None:
        text = json.dumps(record, indent=2, sort_keys=True, default=str)
        write_text_atomic(folder / "headline.json", text)
    return record


def record_result(result, **context) -> dict:
    """Record an estimator Result's headline (see :class:`research.estimate.Result`)."""
    h = result.headline
    extra = {}
    if hasattr(h, "record"):  # a typed Headline: keep its profile, verdict and reasons
        extra = {k: v for k, v in h.record().items()
                 if k not in ("label", "estimate", "conf_low", "conf_high")}
    return record_headline(h["label"], h["estimate"], h.get("conf_low"), h.get("conf_high"),
                           method=result.method, **{**extra, **context})


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


def user_files_sha256(folder: Path | None) -> str:
    """sha256 over the names and contents of the user's event/basket files
    (``RESEARCH_USER_DIR``); no folder hashes like an empty one (same rows: none).

    Raises DataNotFoundError when ``folder`` does not exist.
    """
    digest = hashlib.sha256()
    if folder is not None:
        from research.reference.user_files import user_file_paths

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


def _number(value):
    if value is None:
        return None
    value = float(value)
    return round(value, 6) if value == value else None
