"""Tables formatted for people: separators, sensible digits, no index, "–" for missing.

:func:`format_table` turns a DataFrame into a display object (a pandas Styler) for a
report page: numbers get thousands separators and a number of decimals chosen per
column from its typical size (:func:`column_decimals`), missing cells show an en
dash (never ``nan``), the index is hidden, and no cell or row is truncated. Text from
the data is HTML-escaped. The saved CSV (:func:`research.report.outputs.save_table`)
keeps the full numbers; this is only how they are shown.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from research.markup import escape_html

MISSING = "–"  # an en dash, the typographic mark for "no value"
TABLE_CLASS = "research-table"
# integer columns whose values are labels, not quantities: no thousands separator
PLAIN_COLUMNS = re.compile(r"(^|_)(year|fiscal_year|fy|period|month|id|code|hs\d*|iso3?)($|_)",
                           re.IGNORECASE)


def is_missing(value: object) -> bool:
    """True for None, NaN, NaT and pandas' NA."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists, arrays: not one missing value
        return False


def column_decimals(values: pd.Series, digits: int = 3, max_decimals: int = 6) -> int:
    """Decimals that show ``digits`` significant digits of a column's typical value.

    The typical value is the median absolute non-zero finite value; a value of
    magnitude ``10**k`` gets ``digits - 1 - k`` decimals, at least 0 and at most
    ``max_decimals``. A column of whole numbers gets 0.

    Examples
    --------
    >>> column_decimals(pd.Series([0.557, 0.102]))  # median 0.33: 10**-1 -> 3 decimals
    3
    >>> column_decimals(pd.Series([164284171.006, 2.5]))  # median 8e7 -> 0 decimals
    0
    >>> column_decimals(pd.Series([1.6, 1.81]))  # median 1.7: 10**0 -> 2 decimals
    2
    """
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    finite = np.abs(numbers[np.isfinite(numbers)])
    if finite.size == 0 or np.all(finite == np.round(finite)):
        return 0
    nonzero = finite[finite > 0]
    typical = float(np.median(nonzero))
    magnitude = math.floor(math.log10(typical))
    return int(min(max(digits - 1 - magnitude, 0), max_decimals))


def format_number(value: object, decimals: int = 0, separator: bool = True) -> str:
    """``value`` with ``decimals`` decimals and thousands separators; "–" when missing.

    Examples
    --------
    >>> format_number(-164284171.006)
    '-164,284,171'
    >>> format_number(float("nan"))
    '–'
    >>> format_number(0.5571, 3)
    '0.557'
    """
    if is_missing(value):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    number = float(value)
    if math.isinf(number):
        return "∞" if number > 0 else "−∞"
    text = f"{number:,.{decimals}f}" if separator else f"{number:.{decimals}f}"
    if text.lstrip("-").strip("0.,") == "":  # -0.000 is 0
        text = text.lstrip("-")
    return text


def _formatter(column: pd.Series, name: str, digits: int, decimals: int | None):
    if pd.api.types.is_bool_dtype(column):
        return lambda v: format_number(v)
    if pd.api.types.is_numeric_dtype(column):
        places = column_decimals(column, digits) if decimals is None else decimals
        plain = bool(PLAIN_COLUMNS.search(str(name))) and places == 0
        return lambda v: format_number(v, places, separator=not plain)
    return lambda v: MISSING if is_missing(v) else escape_html(v)


def format_table(frame: pd.DataFrame, *, digits: int = 3,
                 decimals: Mapping[str, int] | None = None, index: bool = False,
                 scale: Mapping[str, float] | None = None,
                 labels: Mapping[str, str] | None = None):
    """``frame`` for display on a report page (a pandas Styler).

    Parameters
    ----------
    frame : the table; its index is dropped from the display unless ``index=True``
        (then it is shown as ordinary columns).
    digits : significant digits of a column's typical value (see
        :func:`column_decimals`); large values keep all their integer digits.
    decimals : fixed decimals for named columns, overriding ``digits``.
    index : show the index as columns (e.g. a ``year`` index).
    scale : divide named columns by a number for display, e.g. ``{"budget_jpy": 1e12}``
        with ``labels={"budget_jpy": "budget (yen tn)"}`` (say the unit in the header).
    labels : headers to show instead of column names; ``decimals`` and ``scale`` use
        the column names. Names the table does not have are ignored.

    Returns
    -------
    pandas.io.formats.style.Styler
        Thousands separators, "–" for missing values, data text HTML-escaped, no
        index column and no truncation. The HTML table has the class
        ``research-table``.

    Examples
    --------
    >>> html = format_table(pd.DataFrame({"usd": [1234567.891, None]})).to_html()
    >>> "1,234,568" in html and "nan" not in html
    True
    """
    table = frame.reset_index() if index else frame.copy()
    table.columns = [" · ".join(map(str, c)) if isinstance(c, tuple) else str(c)
                     for c in table.columns]
    if table.columns.duplicated().any():
        raise ValueError(f"format_table: duplicate column names {list(table.columns)}")
    for name, divisor in (scale or {}).items():
        if name in table.columns:  # one scale serves several tables of a notebook
            table[name] = pd.to_numeric(table[name]) / divisor
    fixed = dict(decimals or {})
    formatters = {name: _formatter(table[name], name, digits, fixed.get(name))
                  for name in table.columns}
    # a fixed id from the content (pandas' default is random) keeps the page reproducible
    uuid = hashlib.sha256(table.to_csv().encode("utf-8")).hexdigest()[:10]
    styler = Styler(table, uuid=uuid, cell_ids=False).format(formatters, na_rep=MISSING)
    styler = styler.format_index(lambda c: escape_html((labels or {}).get(c, c)), axis=1)
    styler = styler.hide(axis="index")
    return styler.set_table_attributes(f'class="{TABLE_CLASS}"')


MAX_ROWS = 200  # rows a page shows of one table; the saved CSV has them all


def shows_index(frame: pd.DataFrame) -> bool:
    """True when ``frame``'s index carries information: it has a name, or its labels
    are not integers (a 0..n or filtered row number is noise on a page)."""
    index = frame.index
    return (any(name is not None for name in index.names)
            or not pd.api.types.is_integer_dtype(index.dtype))


def table_html(frame: pd.DataFrame, max_rows: int = MAX_ROWS) -> str:
    """HTML of ``frame`` as a report page shows a DataFrame (:func:`format_table`).

    The index is shown only when it carries information (:func:`shows_index`); a
    table longer than ``max_rows`` shows its first ``max_rows`` rows and says so.
    """
    styler = format_table(frame.head(max_rows), index=shows_index(frame))
    if len(frame) > max_rows:
        styler = styler.set_caption(f"First {max_rows:,} of {len(frame):,} rows")
    return styler.to_html()


def _dataframe_html(frame: pd.DataFrame) -> str | None:
    try:
        return table_html(frame)
    except Exception:  # noqa: BLE001 - any table pandas can show must still show
        return frame._repr_html_()


def configure_kernel() -> None:
    """Display settings for a report run's kernel (the runner calls this at start-up).

    Every DataFrame a cell shows is formatted for people (:func:`table_html`:
    separators, "–" for missing, no 0..n index, no truncated cells); pandas' own text
    display shows every column and full cells; and warnings print as one line,
    ``Category: message``, without the file path and source line that Python adds
    (the runner turns them into the page's Diagnostics).
    """
    import warnings

    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.max_columns", None)
    pd.set_option("display.width", None)

    def one_line(message, category, filename, lineno, line=None):
        return f"{category.__name__}: {message}\n"

    warnings.formatwarning = one_line
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - a kernel always has IPython
        return
    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame,
                                                                  _dataframe_html)
