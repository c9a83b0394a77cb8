"""What a notebook saves for its report run: figures, tables and its headline estimate.

The runner sets ``RESEARCH_RUN_DIR`` for the kernel; outside a run (a user in
JupyterLab) these functions only return what they were given.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from research.files import write_atomic, write_text_atomic

RUN_DIR_VARIABLE = "RESEARCH_RUN_DIR"


def run_dir() -> Path | None:
    """The folder of the current report run, or ``None`` outside a run."""
    value = os.environ.get(RUN_DIR_VARIABLE)
    return Path(value) if value else None


def save_figure(fig, name: str):
    """Save ``fig`` as ``figures/<name>.png`` in the run folder; return ``fig``."""
    folder = run_dir()
    if folder is not None:
        target = folder / "figures" / f"{name}.png"
        write_atomic(target, lambda p: fig.savefig(p, format="png", dpi=110,
                                                   bbox_inches="tight"))
    return fig


def save_table(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Save ``frame`` as ``tables/<name>.csv`` in the run folder; return it."""
    folder = run_dir()
    if folder is not None:
        target = folder / "tables" / f"{name}.csv"
        write_atomic(target, lambda p: frame.to_csv(p, index=False, lineterminator="\n"))
    return frame


def record_headline(label: str, estimate: float, conf_low: float | None = None,
                    conf_high: float | None = None, **context) -> dict:
    """Record the run's headline number (shown on the index page)."""
    record = {"label": label, "estimate": _number(estimate), "conf_low": _number(conf_low),
              "conf_high": _number(conf_high), **context}
    folder = run_dir()
    if folder is not None:
        write_text_atomic(folder / "headline.json", json.dumps(record, indent=2, default=str))
    return record


def record_result(result, **context) -> dict:
    """Record an estimator Result's headline (see :class:`research.estimate.Result`)."""
    h = result.headline
    return record_headline(h["label"], h["estimate"], h.get("conf_low"), h.get("conf_high"),
                           method=result.method, **context)


def _number(value):
    if value is None:
        return None
    value = float(value)
    return round(value, 6) if value == value else None
