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
from research.markup import escape_markdown

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
from research.report.tables import format_table as format_table

FLOAT_FORMAT = "%.12g"


def _file_name(name: str) -> str:
    """``name`` when it is one file name inside the run folder (no folder separator, not
    hidden, at most 100 characters); ParameterError otherwise."""
    if not isinstance(name, str) or not re.fullmatch(r"[^./\\\x00-\x1f][^/\\\x00-\x1f]{0,99}",
                                                      name):
        raise ParameterError(f"output name {name!r} must be one file name: no '/' or '\\', "
                             "not starting with '.', at most 100 characters")
    return name


FIGURE_DPI = 200
_numbers: dict[tuple[str, str], dict[str, int]] = {}  # (run folder, kind) -> name -> number


def _number_of(kind: str, name: str) -> int:
    """The number of figure or table ``name`` in this run: the next one the first time
    a name is captioned, the same one when it is saved again (a cell run twice)."""
    numbers = _numbers.setdefault((str(run_dir()), kind), {})
    return numbers.setdefault(name, len(numbers) + 1)


def _caption_markdown(kind: str, number: int, caption: str | None) -> str:
    text = f"**{kind} {number}.**"
    return f"{text} {escape_markdown(caption)}" if caption else text


def _note_markdown(note: str | None) -> str:
    return f"*Note:* {escape_markdown(note)}" if note else ""


def save_figure(fig, name: str, *, caption: str | None = None, note: str | None = None):
    """Save ``fig`` as ``figures/<name>.svg`` and ``figures/<name>.png`` (200 dpi) in the
    run folder; return ``fig``.

    Parameters
    ----------
    fig : a matplotlib figure.
    name : a plain file name, without extension.
    caption : what the figure shows. With a caption or a note the figure gets the next
        number of the run ("Figure 1", "Figure 2", ...) and is shown here, followed by
        "Figure N. caption" and the note under it; it is then closed, so that the
        notebook does not show it twice (end the call with ``;``).
    note : source, sample, method and units, shown under the figure.

    Without a caption or a note nothing is shown (matplotlib's inline display shows
    the figure as before). The SVG carries no date, so the same figure gives the same
    file.
    """
    folder = run_dir()
    if folder is not None:
        base = folder / "figures" / _file_name(name)
        write_atomic(base.with_name(f"{base.name}.svg"),
                     lambda p: fig.savefig(p, format="svg", bbox_inches="tight",
                                           metadata={"Date": None}))
        write_atomic(base.with_name(f"{base.name}.png"),
                     lambda p: fig.savefig(p, format="png", dpi=FIGURE_DPI,
                                           bbox_inches="tight"))
    if caption or note:
        _show(fig, "\n\n".join(t for t in (_caption_markdown("Figure", _number_of(
            "figure", _file_name(name)), caption), _note_markdown(note)) if t))
    return fig


def _show(fig, markdown: str) -> None:
    """Display ``fig``, then ``markdown`` under it; close ``fig`` (shown once)."""
    from IPython.display import Markdown, display

    display(fig)
    display(Markdown(markdown))
    try:
        import matplotlib.pyplot as plt

        plt.close(fig)
    except ImportError:  # pragma: no cover - matplotlib draws every figure
        pass


def save_table(frame: pd.DataFrame, name: str, *, caption: str | None = None,
               note: str | None = None, **formatting) -> pd.DataFrame:
    """Save ``frame`` as ``tables/<name>.csv`` in the run folder; return it.

    Text cells that a spreadsheet would run as a formula get a leading ``'``
    (:func:`research.files.write_csv`); ``name`` must be a plain file name.

    With a ``caption`` or a ``note`` the table gets the next number of the run
    ("Table 1", ...) and is shown here formatted for people
    (:func:`research.report.tables.format_table`, which takes ``formatting``):
    "Table N. caption" above it and the note (source, sample, method, units) under
    it. The returned frame is unchanged; do not display it again.
    """
    folder = run_dir()
    if folder is not None:
        target = folder / "tables" / f"{_file_name(name)}.csv"
        write_csv(frame, target, lineterminator="\n", float_format=FLOAT_FORMAT)
    if caption or note:
        show_table(frame, caption=caption, note=note, name=name, **formatting)
    return frame


def show_table(frame: pd.DataFrame, *, caption: str | None = None, note: str | None = None,
               name: str | None = None, **formatting) -> None:
    """Show ``frame`` formatted for people, numbered "Table N" with its caption above
    and its note (source, sample, method, units) under it.

    ``formatting`` goes to :func:`research.report.tables.format_table` (``digits``,
    ``decimals``, ``index``). ``name`` keeps the number of a table shown again (a
    cell run twice); by default each call is a new table. Nothing is saved: use
    :func:`save_table` for the CSV.
    """
    from IPython.display import Markdown, display

    if name is None:  # a table only shown: a key no saved table has (file names have no /)
        name = f"shown/{len(_numbers.get((str(run_dir()), 'table'), {}))}"
    else:
        name = _file_name(name)
    display(Markdown(_caption_markdown("Table", _number_of("table", name), caption)))
    display(format_table(frame, **formatting))
    if note:
        display(Markdown(_note_markdown(note)))


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
    """Record an estimator Result's headline (see :class:`research.estimate.Result`).

    Inside a report run the record goes to the run's ``headline.json``, which the index
    page shows; outside a run it is only returned.

    Parameters
    ----------
    result : any Result (its ``headline`` and ``method`` are recorded).
    **context : further fields to record, e.g. ``event_id="B2"``, ``basket="graphite"``.

    Returns
    -------
    The record: label, estimate, interval, method and the context.

    Examples
    --------
    >>> import pandas as pd
    >>> from research.estimate.result import Result, tidy_row
    >>> row = tidy_row("post_minus_pre", -0.25, 0.1, n_obs=48, method="difference in means")
    >>> result = Result(method=row["method"], table=pd.DataFrame([row]),
    ...                 headline={"term": row["term"], "label": "post - pre, log points",
    ...                           "estimate": -0.25, "conf_low": row["conf_low"],
    ...                           "conf_high": row["conf_high"]})
    >>> record = record_result(result, event_id="B2")
    >>> record["label"], record["estimate"], record["event_id"]
    ('post - pre, log points', -0.25, 'B2')
    """
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
