"""What a notebook saves for its report run: figures, tables, its headline estimate and
the data files it read.

The runner sets ``RESEARCH_RUN_DIR`` for the kernel; outside a run (a user in
JupyterLab) these functions only return what they were given. Tables are written
with a fixed float format (12 significant digits) so that the same inputs give
byte-identical CSV files even when the last bits of a float differ between runs.
"""

from __future__ import annotations

import json
import re

import pandas as pd

from research.errors import ParameterError
from research.files import write_atomic, write_csv, write_text_atomic

# What a run read is noted by research.provenance (the data layer writes the notes without
# importing this layer); the names stay importable from here.
from research.provenance import INPUTS_FILE as INPUTS_FILE
from research.provenance import RUN_DIR_VARIABLE as RUN_DIR_VARIABLE
from research.provenance import USER_FILES_INPUT as USER_FILES_INPUT
from research.provenance import read_inputs as read_inputs
from research.provenance import record_input as record_input
from research.provenance import record_user_files as record_user_files
from research.provenance import run_dir as run_dir
from research.provenance import user_files_sha256 as user_files_sha256
from research.report.etable import etable

FLOAT_FORMAT = "%.12g"


def _file_name(name: str) -> str:
    """``name`` when it is one file name inside the run folder (no folder separator, not
    hidden, at most 100 characters); ParameterError otherwise."""
    if not isinstance(name, str) or not re.fullmatch(r"[^./\\\x00-\x1f][^/\\\x00-\x1f]{0,99}",
                                                      name):
        raise ParameterError(f"output name {name!r} must be one file name: no '/' or '\\', "
                             "not starting with '.', at most 100 characters")
    return name


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


def _number(value):
    if value is None:
        return None
    value = float(value)
    return round(value, 6) if value == value else None
