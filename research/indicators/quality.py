"""Data-quality flags on tidy trade flows (:data:`research.schemas.TRADE_FLOWS`).

Two things HS6 trade data cannot show by themselves, made visible:

- :func:`unit_value_breaks`: quantity records whose unit value breaks from the
  neighbouring periods of the same series while the value does not, the mark of a
  quantity recording error rather than a trade movement (world HS 284690 in WITS:
  21.6, 5.1 and 35.2 kt in 2015-17 at a steady value);
- :func:`yoy_growth_flags`: year-on-year growth whose base month (or current month)
  is itself an outlier, or falls in the anticipation or first months of a measure
  (graphite, B2: 40.5 kt of HS 250410 in November 2023 against about 12 kt a month
  before, then the December-February collapse), so that the growth measures the
  episode, not the trend.

Every function is pure: it takes tables and returns a new tidy DataFrame. Which
events touch a series is the caller's choice (:func:`research.overview.event_windows`
reads the registry); :func:`event_windows` only turns event dates into month windows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from research.errors import ParameterError
from research.indicators import trade

UNIT_VALUE_THRESHOLD = 3.0
NEIGHBOURS = 2
MIN_NEIGHBOURS = 2
OUTLIER_THRESHOLD = 2.0
TRAILING_MONTHS = 12
MIN_TRAILING = 6
IMPACT_MONTHS = 3
STEPS = {"M": "MS", "A": "YS"}
WINDOW_COLUMNS = ("event_id", "phase", "start", "end", "announced", "effective")


def _check_factor(value: float, name: str, function: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number) \
            or not value > 1:
        raise ParameterError(f"{function}: {name} must be a number above 1; got {value!r}")


def _check_count(value: int, name: str, function: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ParameterError(f"{function}: {name} must be a positive integer; got {value!r}")


def _series_frames(flows: pd.DataFrame, keys: list[str], columns: list[str], function: str):
    """Yield (series rows, the series reindexed on its full calendar) per series."""
    unknown = sorted(set(flows["freq"]) - set(STEPS))
    if unknown:
        raise ParameterError(f"{function}: freq must be one of {sorted(STEPS)}; got {unknown}")
    for _, series in flows.groupby([*keys, "freq"] if "freq" not in keys else keys,
                                   sort=True, dropna=False):
        series = series.sort_values("period")
        if series["period"].duplicated().any():
            raise ParameterError(f"{function}: a series has the same period twice; series "
                                 f"{series[keys].iloc[0].to_dict()}; pass the keys that "
                                 "tell its rows apart as `by`")
        full = pd.date_range(series["period"].min(), series["period"].max(),
                             freq=STEPS[series["freq"].iloc[0]])
        yield series, series.set_index("period")[columns].reindex(full)


def _neighbour_median(column: pd.Series, neighbours: int
                      ) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Median of the ``neighbours`` periods on each side (the period itself left out),
    and how many of them are known before and after it."""
    before = pd.concat([column.shift(step) for step in range(1, neighbours + 1)], axis=1)
    after = pd.concat([column.shift(-step) for step in range(1, neighbours + 1)], axis=1)
    both = pd.concat([before, after], axis=1)
    return (both.median(axis=1, skipna=True), before.notna().sum(axis=1),
            after.notna().sum(axis=1))


def unit_value_breaks(flows: pd.DataFrame, *, by: Sequence[str] | None = None,
                      threshold: float = UNIT_VALUE_THRESHOLD, neighbours: int = NEIGHBOURS,
                      min_neighbours: int = MIN_NEIGHBOURS) -> pd.DataFrame:
    """Quantity records whose unit value breaks from its neighbours while the value does not.

    The rule, for each row of each series (monthly or annual):

    1. the neighbours are the ``neighbours`` periods on each side of it in calendar
       time (absent periods and unknown unit values are skipped; at least
       ``min_neighbours`` must be known, with one at least on each side, so the first
       and last periods of a series are not judged), and their median unit value is
       the reference;
    2. the unit value is a break when it is at least ``threshold`` times, or at most
       1/``threshold`` of, that median;
    3. it is flagged only when the value did not move by a comparable factor: the
       value's log ratio to its neighbours' median value is at most half the unit
       value's, ``|ln(v / med v)| <= |ln(uv / med uv)| / 2``, so that most of the break
       comes from the quantity. A real price spike (rare earths in 2011: value 3.1
       times its neighbours, unit value 6.1 times) moves the value with it and is not
       flagged.

    Defaults: 3 times, 2 periods on each side. Medians are robust to one broken
    neighbour, so the records next to a break are not flagged with it.

    Parameters
    ----------
    flows : tidy trade flows with ``period``, ``freq``, ``value_usd``, ``quantity``
        (kg) and the series keys.
    by : columns that identify a series (default: those of
        :data:`research.indicators.trade.SERIES_KEYS` present).
    threshold : the factor (above 1) that makes a unit value a break.
    neighbours : periods on each side compared with.
    min_neighbours : fewest known neighbours needed to judge a row.

    Returns
    -------
    One row per flagged record: ``by``, ``period``, ``value_usd``, ``quantity`` (kg),
    ``unit_value_usd_per_kg``, ``neighbour_unit_value`` (median of the neighbours,
    USD/kg), ``unit_value_ratio``, ``value_ratio`` and ``quantity_ratio`` (each to
    the neighbours' median of the same column), ``n_neighbours`` and ``reason`` (in
    words). Empty (with these columns) when nothing is flagged.
    """
    _check_factor(threshold, "threshold", "unit_value_breaks")
    _check_count(neighbours, "neighbours", "unit_value_breaks")
    _check_count(min_neighbours, "min_neighbours", "unit_value_breaks")
    if min_neighbours > 2 * neighbours:
        raise ParameterError(f"unit_value_breaks: min_neighbours={min_neighbours} is more than "
                             f"the {2 * neighbours} neighbours compared with")
    by = list(by) if by is not None else trade._present(flows, trade.SERIES_KEYS)
    trade._require(flows, [*by, "period", "freq", "value_usd", "quantity"], "unit_value_breaks")
    unit = trade.unit_values(flows)  # checks that quantities are in kg
    table = flows[[*by, *(["freq"] if "freq" not in by else []), "period", "value_usd",
                   "quantity"]].assign(unit_value_usd_per_kg=unit["unit_value_usd_per_kg"]
                                       .to_numpy())
    columns = ["value_usd", "quantity", "unit_value_usd_per_kg"]
    pieces = []
    for series, full in _series_frames(table, by, columns, "unit_value_breaks"):
        known = full["unit_value_usd_per_kg"].notna()
        # the neighbours' medians use only periods with a known unit value
        medians = {c: _neighbour_median(full[c].where(known), neighbours)[0] for c in columns}
        _, before, after = _neighbour_median(full["unit_value_usd_per_kg"], neighbours)
        found = pd.DataFrame({
            "neighbour_unit_value": medians["unit_value_usd_per_kg"],
            "neighbour_value": medians["value_usd"],
            "neighbour_quantity": medians["quantity"],
            "n_neighbours": (before + after).astype("int64"),
            "two_sided": before.gt(0) & after.gt(0),
        })
        found = found.reindex(series["period"])
        pieces.append(series.reset_index(drop=True).join(found.reset_index(drop=True)))
    output = [*by, "period", "value_usd", "quantity", "unit_value_usd_per_kg",
              "neighbour_unit_value", "unit_value_ratio", "value_ratio", "quantity_ratio",
              "n_neighbours", "reason"]
    if not pieces:
        return pd.DataFrame(columns=output)
    rows = pd.concat(pieces, ignore_index=True)
    rows["unit_value_ratio"] = trade._divide(rows["unit_value_usd_per_kg"],
                                             rows["neighbour_unit_value"])
    rows["value_ratio"] = trade._divide(rows["value_usd"], rows["neighbour_value"])
    rows["quantity_ratio"] = trade._divide(rows["quantity"], rows["neighbour_quantity"])
    log_unit = np.log(rows["unit_value_ratio"].where(rows["unit_value_ratio"].gt(0)))
    log_value = np.log(rows["value_ratio"].where(rows["value_ratio"].gt(0)))
    flagged = (rows["n_neighbours"].ge(min_neighbours) & rows["two_sided"].eq(True)
               & log_unit.abs().ge(np.log(threshold))
               & log_value.abs().le(log_unit.abs() / 2))
    rows = rows[flagged.fillna(False).astype(bool)].copy()
    rows["reason"] = [_break_reason(row) for row in rows.itertuples(index=False)]
    return rows[output].sort_values([*by, "period"], kind="mergesort", ignore_index=True)


def _tonnes(kg: float) -> str:
    return f"{kg / 1000:,.1f} t"


def _break_reason(row) -> str:
    direction = "above" if row.unit_value_ratio > 1 else "below"
    return (f"unit value {row.unit_value_usd_per_kg:,.2f} USD/kg is {row.unit_value_ratio:.2f}x "
            f"the median of its neighbours ({row.neighbour_unit_value:,.2f} USD/kg, "
            f"{direction}) while the value is {row.value_ratio:.2f}x theirs: the quantity "
            f"({_tonnes(row.quantity)}, {row.quantity_ratio:.2f}x the neighbours' median) "
            "breaks, not the trade: a quantity recording error, or in a product group a "
            "shift between lines of different unit value")


def month_outliers(flows: pd.DataFrame, value: str = "value_usd", *,
                   threshold: float = OUTLIER_THRESHOLD, months: int = TRAILING_MONTHS,
                   min_months: int = MIN_TRAILING) -> pd.DataFrame:
    """Months far from the median of the months before them.

    A month is an outlier when its value is at least ``threshold`` times, or at most
    1/``threshold`` of, the median of the ``months`` calendar months before it (the
    month itself left out; absent months skipped; at least ``min_months`` known).
    Monthly rows only.

    Returns
    -------
    The series columns, ``period``, ``value``, ``trailing_median``, ``ratio``
    (value / trailing median; NaN where the median is 0 or unknown) and ``outlier``.
    """
    _check_factor(threshold, "threshold", "month_outliers")
    _check_count(months, "months", "month_outliers")
    _check_count(min_months, "min_months", "month_outliers")
    trade._require(flows, ["period", "freq", value], "month_outliers")
    if not flows["freq"].eq("M").all():
        raise ParameterError("month_outliers: only monthly rows (freq 'M'); got freq "
                             f"{sorted(set(flows['freq']))}")
    keys = trade._present(flows, trade.SERIES_KEYS)
    pieces = []
    for series, full in _series_frames(flows[[*keys, "period", value]], keys, [value],
                                       "month_outliers"):
        before = full[value].shift(1).rolling(months, min_periods=min_months).median()
        series = series.copy()
        series["trailing_median"] = before.reindex(series["period"]).to_numpy()
        pieces.append(series)
    columns = [*keys, "period", value, "trailing_median", "ratio", "outlier"]
    if not pieces:
        return pd.DataFrame(columns=columns)
    result = pd.concat(pieces, ignore_index=True)
    result["ratio"] = trade._divide(result[value], result["trailing_median"])
    result["outlier"] = (result["ratio"].ge(threshold)
                         | result["ratio"].le(1 / threshold)).fillna(False).astype(bool)
    return result[columns].sort_values([*keys, "period"], kind="mergesort", ignore_index=True)


def event_windows(events: pd.DataFrame, impact_months: int = IMPACT_MONTHS) -> pd.DataFrame:
    """The months around each event in which a series is not at its trend.

    - ``anticipation``: from the month of the announcement to the month before the
      month the measure took effect (none when both fall in the same month);
    - ``impact``: the month it took effect and the ``impact_months - 1`` months after
      (B2, effective 2023-12-01: December 2023 to February 2024). An event with an
      announcement but no effective date gets an impact window from the announcement.

    Parameters
    ----------
    events : rows of the event registry (:func:`research.reference.events.load_events`)
        with ``event_id``, ``announced`` and ``effective``.
    impact_months : length of the impact window.

    Returns
    -------
    ``event_id``, ``phase``, ``start``, ``end`` (first days of months, inclusive),
    ``announced`` and ``effective``.
    """
    _check_count(impact_months, "impact_months", "event_windows")
    trade._require(events, ["event_id", "announced", "effective"], "event_windows")
    rows = []
    for event in events.itertuples(index=False):
        announced = pd.Timestamp(event.announced) if pd.notna(event.announced) else None
        effective = pd.Timestamp(event.effective) if pd.notna(event.effective) else None
        start = effective or announced
        if start is None:
            continue
        impact_start = start.to_period("M").to_timestamp()
        if announced is not None and effective is not None:
            first = announced.to_period("M").to_timestamp()
            if first < impact_start:
                rows.append((event.event_id, "anticipation", first,
                             impact_start - pd.DateOffset(months=1), announced, effective))
        rows.append((event.event_id, "impact", impact_start,
                     impact_start + pd.DateOffset(months=impact_months - 1), announced,
                     effective))
    return pd.DataFrame(rows, columns=list(WINDOW_COLUMNS))


def _window_text(window) -> str:
    if window.phase == "anticipation":
        return (f"the anticipation months of {window.event_id} (announced "
                f"{window.announced:%Y-%m-%d}, effective {window.effective:%Y-%m-%d})")
    months = (window.end.year - window.start.year) * 12 + window.end.month - window.start.month
    date = window.effective if pd.notna(window.effective) else window.announced
    return f"the first {months + 1} months of {window.event_id} (from {date:%Y-%m-%d})"


def yoy_growth_flags(flows: pd.DataFrame, value: str = "value_usd", *,
                     threshold: float = OUTLIER_THRESHOLD, months: int = TRAILING_MONTHS,
                     windows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Year-on-year growth of monthly series, flagged where a compared month is unusual.

    The growth is :func:`research.indicators.trade.yoy_growth`. It is flagged, with a
    note in words, when its base month (a year before) or its current month

    - is an outlier of :func:`month_outliers` (at least ``threshold`` times or at most
      1/``threshold`` of the median of the ``months`` months before it; default 2 times
      the 12-month median), or
    - falls in one of ``windows`` (:func:`event_windows` of the events that touch the
      series: front-loading before a measure, the collapse after it).

    Parameters
    ----------
    flows : tidy monthly trade flows.
    value : the column whose growth is measured.
    threshold, months : the outlier rule of :func:`month_outliers`.
    windows : event windows applied to every series, or to the series whose
        ``product`` equals the window's ``product`` column when it has one.

    Returns
    -------
    The output of :func:`~research.indicators.trade.yoy_growth` with ``base_ratio``
    and ``current_ratio`` (each month's value over its trailing median), ``flag``
    (bool) and ``note`` ("" when not flagged).
    """
    trade._require(flows, ["period", "freq", value], "yoy_growth_flags")
    if not flows["freq"].eq("M").all():
        raise ParameterError("yoy_growth_flags: only monthly rows (freq 'M'); got freq "
                             f"{sorted(set(flows['freq']))}")
    windows = windows if windows is not None else pd.DataFrame(columns=list(WINDOW_COLUMNS))
    trade._require(windows, ["event_id", "phase", "start", "end"], "yoy_growth_flags (windows)")
    keys = trade._present(flows, trade.SERIES_KEYS)
    growth = trade.yoy_growth(flows, value)
    outliers = month_outliers(flows, value, threshold=threshold, months=months)
    ratios = outliers.set_index([*keys, "period"])["ratio"]
    growth["base_period"] = growth["period"] - trade.LAGS["M"]
    index = [*keys, "period"]
    growth["current_ratio"] = ratios.reindex(pd.MultiIndex.from_frame(growth[index])).to_numpy()
    growth["base_ratio"] = ratios.reindex(pd.MultiIndex.from_frame(
        growth[[*keys, "base_period"]].rename(columns={"base_period": "period"}))).to_numpy()
    notes = []
    for row in growth.itertuples(index=False):
        parts = []
        if pd.isna(row.yoy_pct):
            notes.append("")
            continue
        for label, period, ratio in (("base", row.base_period, row.base_ratio),
                                     ("current", row.period, row.current_ratio)):
            if pd.notna(ratio) and (ratio >= threshold or ratio <= 1 / threshold):
                parts.append(f"{label} month {period:%Y-%m} is {ratio:.2f}x the median of "
                             f"the {months} months before it")
            for window in windows.itertuples(index=False):
                if "product" in windows.columns and pd.notna(window.product) \
                        and getattr(row, "product", None) != window.product:
                    continue
                if window.start <= period <= window.end:
                    parts.append(f"{label} month {period:%Y-%m} is in {_window_text(window)}")
        notes.append("; ".join(parts))
    growth["note"] = notes
    growth["flag"] = growth["note"].ne("")
    columns = [c for c in growth.columns if c != "base_period"]
    return growth[columns]
