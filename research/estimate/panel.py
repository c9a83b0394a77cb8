"""Checks every estimator runs on its panel before fitting anything.

A wrong panel must fail loudly, never give a silently different estimate: a repeated
unit-period row would count twice, a treatment flag that flips within a unit would
make the unit both treated and control, a cell such as ``12O45.3`` (a letter O for a
zero) would become a missing month. Each check raises :class:`~research.errors.PanelError`
naming the table, the column, the value and the row.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from research.errors import PanelError, ParameterError

PANEL = "panel"  # how a table given as an argument is named in messages


def require_columns(panel: pd.DataFrame, columns: Iterable[str | None], *,
                    source: str = PANEL) -> None:
    """Raise PanelError naming the first column of ``columns`` that ``panel`` lacks,
    with the columns it has (``None`` entries are skipped)."""
    for column in columns:
        if column is not None and column not in panel.columns:
            raise PanelError(source, f"no such column; columns: {list(panel.columns)}",
                             field=column)


def _row_label(panel: pd.DataFrame, position: int, row_offset: int | None) -> object:
    """A row as a user finds it: the file line (``position + row_offset``) or the index."""
    return position + row_offset if row_offset is not None else panel.index[position]


def numeric_column(panel: pd.DataFrame, column: str, *, source: str = PANEL,
                   row_offset: int | None = None, finite: bool = True) -> pd.Series:
    """Column ``column`` as floats; empty cells become NaN, anything else that is not a
    number raises.

    Parameters
    ----------
    panel : the table.
    column : the column to read.
    source : the table's name in messages (a file path when read from a file).
    row_offset : added to the 0-based position to name the row (2 for a CSV file with a
        header line); ``None`` names the row by the table's index label.
    finite : refuse ``inf`` and ``-inf``.

    Returns
    -------
    Series of float, same index as ``panel``.
    """
    require_columns(panel, [column], source=source)
    values = panel[column]
    if pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype(float)
    else:
        text = values.astype("string").str.strip()
        numbers = pd.to_numeric(text.where(text != ""), errors="coerce").astype(float)
        bad = numbers.isna() & text.notna() & (text != "")
        if bad.any():
            position = int(np.flatnonzero(bad.to_numpy())[0])
            raise PanelError(source, f"not a number ({int(bad.sum())} such cell(s))",
                             field=column, value=str(values.iloc[position]),
                             row=_row_label(panel, position, row_offset))
    if finite:
        infinite = np.isinf(numbers.to_numpy())
        if infinite.any():
            position = int(np.flatnonzero(infinite)[0])
            raise PanelError(source, "not a finite number", field=column,
                             value=str(_plain(values.iloc[position])),
                             row=_row_label(panel, position, row_offset))
    return numbers


def date_column(panel: pd.DataFrame, column: str, *, source: str = PANEL,
                row_offset: int | None = None) -> pd.Series:
    """Column ``column`` as datetimes; a cell that is not a date (or is out of pandas'
    range, years 1677 to 2262) raises, naming the value and the row."""
    require_columns(panel, [column], source=source)
    values = panel[column]
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        text = values.astype("string").str.strip()
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        bad = (parsed.isna() | out_of_range(parsed)) & text.notna()
        if bad.any():
            position = int(np.flatnonzero(bad.to_numpy())[0])
            raise PanelError(source, "not an ISO date such as 2023-12-01 (years 1677 to "
                             "2262)", field=column, value=str(values.iloc[position]),
                             row=_row_label(panel, position, row_offset))
    if parsed.isna().any():
        position = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise PanelError(source, "missing period", field=column,
                         row=_row_label(panel, position, row_offset))
    return parsed


def unique_rows(panel: pd.DataFrame, keys: list[str], *, source: str = PANEL) -> None:
    """Raise PanelError when two rows share the same ``keys`` (unit and period), naming
    the first repeated key values and how many rows repeat."""
    require_columns(panel, keys, source=source)
    repeated = panel.duplicated(keys, keep=False)
    if repeated.any():
        first = panel.loc[repeated, keys].iloc[0]
        value = {k: _plain(first[k]) for k in keys}
        raise PanelError(source, f"{int(repeated.sum())} rows repeat a "
                         f"({', '.join(keys)}) pair; give one row per unit and period "
                         "(aggregate or filter first)", field=", ".join(keys),
                         value=_plain(value))


def constant_within(panel: pd.DataFrame, column: str, unit: str, *,
                    source: str = PANEL, meaning: str = "") -> None:
    """Raise PanelError when ``column`` takes more than one value within a ``unit``,
    naming the unit and the values (``meaning`` says what the column must be)."""
    require_columns(panel, [column, unit], source=source)
    counts = panel.groupby(unit, sort=True, dropna=False)[column].nunique(dropna=False)
    varying = counts[counts > 1]
    if len(varying):
        name = varying.index[0]
        values = sorted(map(_plain, panel.loc[panel[unit] == name, column].unique()), key=str)
        raise PanelError(source, f"varies within unit {unit}={_plain(name)!r} (values "
                         f"{values}; {len(varying)} unit(s) so){'; ' + meaning if meaning else ''}",
                         field=column)


def treated_flags(panel: pd.DataFrame, column: str, *, source: str = PANEL) -> pd.Series:
    """Column ``column`` as booleans: True/False or the numbers 1/0; anything else (2,
    ``"yes"``, a missing flag) raises, naming the value."""
    require_columns(panel, [column], source=source)
    values = panel[column]
    if pd.api.types.is_bool_dtype(values) and not values.isna().any():
        return values.astype(bool)
    allowed = values.isin([0, 1, True, False]) & values.notna()
    if not allowed.all():
        position = int(np.flatnonzero(~allowed.to_numpy())[0])
        raise PanelError(source, "a treated flag must be True/False or 1/0",
                         field=column, value=_plain(values.iloc[position]),
                         row=panel.index[position])
    return values.astype(bool)


def timestamp(value: object, name: str) -> pd.Timestamp:
    """``value`` as a pandas Timestamp; ParameterError naming the argument ``name`` and
    the value when it is not a date pandas can hold (years 1677 to 2262)."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as error:
        raise ParameterError(f"{name}={value!r} is not a date such as 2023-12-01 "
                             f"({error})") from error
    if stamp is pd.NaT:
        raise ParameterError(f"{name}={value!r} is not a date such as 2023-12-01")
    if not in_range(stamp):
        raise ParameterError(f"{name}={value!r} is not a date such as 2023-12-01 (outside "
                             "the years 1677 to 2262 that pandas holds)")
    return stamp.as_unit("ns")


def out_of_range(dates: pd.Series) -> pd.Series:
    """True where ``dates`` lie outside pandas' nanosecond range (see :func:`in_range`)."""
    return dates.notna() & ((dates < pd.Timestamp.min) | (dates > pd.Timestamp.max))


def in_range(stamp: pd.Timestamp) -> bool:
    """Whether ``stamp`` lies in pandas' nanosecond range (1677-09-21 to 2262-04-11);
    pandas 2 parses dates beyond it (``1600-01-01``) at a coarser resolution."""
    return bool(pd.Timestamp.min <= stamp <= pd.Timestamp.max)


def _plain(value: object) -> object:
    """numpy scalars as Python values, so messages read ``'u1'`` not ``np.str_('u1')``."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}" if value == value.normalize() else value.isoformat()
    return value.item() if isinstance(value, np.generic) else value
