"""Trade indicators on the tidy trade-flow table (:data:`research.schemas.TRADE_FLOWS`).

Every function is pure: it takes a tidy table and returns a new tidy DataFrame,
leaving its input unchanged. Missing stays missing: a NaN value gives a NaN
indicator, never a zero.

Coverage caveat: the monthly group panels of ``china_exports_monthly`` list only
the 8 partners the source repository selected per group (plus China's world total,
partner ``WLD``); its HS6 panels list about 40 partners and no world row. The
annual WITS table lists every reporting partner and the world total.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from research.errors import ParameterError

WORLD = "WLD"
SERIES_KEYS = ("reporter_iso3", "partner_iso3", "flow", "product_level", "product", "freq")
CELL_KEYS = ("reporter_iso3", "flow", "product_level", "product", "period", "freq")
LAGS = {"M": pd.DateOffset(months=12), "A": pd.DateOffset(years=1)}


def _require(frame: pd.DataFrame, columns: Iterable[str], function: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParameterError(f"{function}: the table lacks column(s) {missing}; "
                             f"it has {list(frame.columns)}")


def _present(frame: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    return [k for k in keys if k in frame.columns]


def _divide(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN (never inf) where the denominator is 0 or missing."""
    denominator = denominator.where(denominator.ne(0))
    return numerator / denominator


def destination_shares(flows: pd.DataFrame, by: Sequence[str] = CELL_KEYS,
                       value: str = "value_usd") -> pd.DataFrame:
    """Share of each partner in the exports of a product and period.

    The denominator is the world row (partner ``WLD``) of the cell where one exists,
    otherwise the sum of the listed partners. With the monthly group panels (8
    selected partners plus WLD) the shares therefore do not add up to 1: the rest
    goes to unlisted partners. With the HS6 panels (no WLD row) they add up to 1
    over the ~40 listed partners only.

    Parameters
    ----------
    flows : tidy trade flows.
    by : columns that define a cell (default: reporter, flow, product level,
        product, period, freq).
    value : column to share out (``value_usd`` or ``quantity``).

    Returns
    -------
    One row per cell and non-world partner: ``by``, ``partner_iso3``, ``value``,
    ``total`` (the denominator), ``share`` (0-1) and ``denominator`` ("world" or
    "partners").
    """
    by = list(by)
    _require(flows, [*by, "partner_iso3", value], "destination_shares")
    is_world = flows["partner_iso3"].eq(WORLD)
    partners = flows.loc[~is_world, [*by, "partner_iso3", value]].copy()
    world_total = flows.loc[is_world].groupby(by, dropna=False)[value].sum(min_count=1)
    world_total = world_total.rename("world_total").reset_index()
    world_total["has_world"] = True
    partner_total = partners.groupby(by, dropna=False)[value].sum(min_count=1)
    partner_total = partner_total.rename("partner_total").reset_index()
    shares = (partners.merge(partner_total, on=by, how="left")
              .merge(world_total, on=by, how="left"))
    has_world = shares["has_world"].eq(True)
    shares["total"] = shares["world_total"].where(has_world, shares["partner_total"])
    shares["share"] = _divide(shares[value], shares["total"])
    shares["denominator"] = np.where(has_world, "world", "partners")
    shares = shares[[*by, "partner_iso3", value, "total", "share", "denominator"]]
    return shares.sort_values([*by, "partner_iso3"], kind="mergesort", ignore_index=True)


def yoy_growth(flows: pd.DataFrame, value: str = "value_usd") -> pd.DataFrame:
    """Year-on-year growth in percent: 12-month for monthly rows, 1-year for annual rows.

    The comparison period is found by date (not by row position), so gaps in a
    series give NaN rather than a wrong lag. Growth is NaN where either value is
    missing or the value a year before is 0.

    Returns
    -------
    The series columns, ``period``, ``value``, ``{value}_year_before`` and ``yoy_pct``
    (``(x_t / x_{t-12m} - 1) * 100``).
    """
    _require(flows, ["period", "freq", value], "yoy_growth")
    unknown = sorted(set(flows["freq"]) - set(LAGS))
    if unknown:
        raise ParameterError(f"yoy_growth: freq must be one of {sorted(LAGS)}; got {unknown}")
    keys = _present(flows, SERIES_KEYS)
    current = flows[[*keys, "period", value]].copy()
    before = current.rename(columns={value: f"{value}_year_before"})
    shifted = []
    for freq, lag in LAGS.items():
        part = before[before["freq"].eq(freq)].copy()
        part["period"] = part["period"] + lag
        shifted.append(part)
    before = pd.concat(shifted, ignore_index=True)
    growth = current.merge(before, on=[*keys, "period"], how="left")
    growth["yoy_pct"] = (_divide(growth[value], growth[f"{value}_year_before"]) - 1.0) * 100.0
    return growth.sort_values([*keys, "period"], kind="mergesort", ignore_index=True)


def rolling_sum(flows: pd.DataFrame, months: int = 12, value: str = "value_usd"
                ) -> pd.DataFrame:
    """Sum over the last ``months`` calendar months (the current one included).

    A window with a month absent from the table or a NaN value gives NaN: the sum
    is only reported when all ``months`` months are known. Monthly rows only.

    Returns
    -------
    The series columns, ``period``, ``value`` and ``{value}_sum_{months}m``, one row
    per input row.
    """
    _require(flows, ["period", "freq", value], "rolling_sum")
    if not isinstance(months, int | np.integer) or isinstance(months, bool) or months < 1:
        raise ParameterError(f"rolling_sum: months must be a positive integer; got {months!r}")
    if not flows["freq"].eq("M").all():
        raise ParameterError("rolling_sum: only monthly rows (freq 'M') can be summed by month; "
                             f"got freq {sorted(set(flows['freq']))}")
    keys = _present(flows, SERIES_KEYS)
    column = f"{value}_sum_{months}m"
    pieces = []
    for _, series in flows[[*keys, "period", value]].groupby(keys, sort=True, dropna=False):
        series = series.sort_values("period")
        by_month = series.set_index("period")[value]
        if by_month.index.duplicated().any():
            raise ParameterError("rolling_sum: a series has the same month twice; "
                                 f"series {series[keys].iloc[0].to_dict()}")
        full = pd.date_range(by_month.index.min(), by_month.index.max(), freq="MS")
        window = by_month.reindex(full).rolling(months, min_periods=months).sum()
        series = series.copy()
        series[column] = window.reindex(series["period"]).to_numpy()
        pieces.append(series)
    if not pieces:
        return flows[[*keys, "period", value]].assign(**{column: pd.Series(dtype=float)})
    result = pd.concat(pieces, ignore_index=True)
    return result.sort_values([*keys, "period"], kind="mergesort", ignore_index=True)


def unit_values(flows: pd.DataFrame) -> pd.DataFrame:
    """Unit value in USD per kg.

    NaN where the quantity is 0 or missing, or the value is missing (never inf).

    Returns
    -------
    The key columns, ``value_usd``, ``quantity`` and ``unit_value_usd_per_kg``.
    """
    _require(flows, ["value_usd", "quantity"], "unit_values")
    if "quantity_unit" in flows.columns:
        other = flows["quantity"].notna() & flows["quantity_unit"].ne("kg")
        if other.any():
            raise ParameterError("unit_values: quantities must be in kg; got "
                                 f"{sorted(set(flows.loc[other, 'quantity_unit'].astype(str)))}")
    keys = _present(flows, [*SERIES_KEYS, "period"])
    result = flows[[*keys, "value_usd", "quantity"]].copy()
    quantity = result["quantity"].where(result["quantity"].gt(0))
    result["unit_value_usd_per_kg"] = result["value_usd"] / quantity
    return result.reset_index(drop=True)


def destination_hhi(flows: pd.DataFrame, by: Sequence[str] = CELL_KEYS,
                    value: str = "value_usd") -> pd.DataFrame:
    """Herfindahl-Hirschman index of destination shares, 0-1 (1 = a single partner).

    ``HHI = sum_j s_j^2`` with ``s_j`` partner j's share of the sum over the listed
    partners (world rows are left out, and shares are of the listed partners so
    that they add up to 1). With the monthly group panels this is the concentration
    among the 8 selected partners only. NaN when a partner value is missing or the
    partner total is 0.

    Returns
    -------
    ``by``, ``hhi``, ``n_partners`` and ``partner_total``.
    """
    by = list(by)
    _require(flows, [*by, "partner_iso3", value], "destination_hhi")
    partners = flows.loc[flows["partner_iso3"].ne(WORLD), [*by, value]].copy()
    grouped = partners.groupby(by, dropna=False)[value]
    total = grouped.sum(min_count=1)
    any_missing = partners[value].isna().groupby(
        [partners[k] for k in by], dropna=False).any()
    partners = partners.merge(total.rename("partner_total").reset_index(), on=by, how="left")
    partners["share_sq"] = _divide(partners[value], partners["partner_total"]) ** 2
    result = pd.DataFrame({
        "hhi": partners.groupby(by, dropna=False)["share_sq"].sum(min_count=1),
        "n_partners": grouped.size().astype("int64"),
        "partner_total": total,
    })
    result.loc[any_missing.reindex(result.index).to_numpy(), "hhi"] = np.nan
    result.loc[~result["partner_total"].gt(0), "hhi"] = np.nan
    return result.reset_index().sort_values(by, kind="mergesort", ignore_index=True)


def import_dependence(exports_to_importer: pd.DataFrame, importer_totals: pd.DataFrame
                      ) -> pd.DataFrame:
    """Share of an importer's total imports of a product that come from the exporter.

    The bundled data have no importer totals (they are China-reported exports), so
    the totals are an argument: a tidy table with the importer as ``reporter_iso3``,
    ``product``, ``period`` and ``value_usd`` (rows with ``flow`` other than
    "import" or ``partner_iso3`` other than WLD are ignored when those columns exist).
    The numerator is the exporter's reported exports (FOB) to the importer, the
    denominator the importer's reported imports (usually CIF): mirror flows differ by
    freight, timing and re-exports (e.g. through Hong Kong), so a share above 1 is
    possible and is not clipped.

    Returns
    -------
    ``exporter_iso3``, ``importer_iso3``, ``product``, ``period``, ``exports_usd``,
    ``importer_imports_usd`` and ``dependence`` (0-1, NaN where the total is 0 or
    missing). Only periods and products present in both tables.
    """
    _require(exports_to_importer, ["reporter_iso3", "partner_iso3", "product", "period",
                                   "value_usd"], "import_dependence (exports_to_importer)")
    _require(importer_totals, ["reporter_iso3", "product", "period", "value_usd"],
             "import_dependence (importer_totals)")
    totals = importer_totals
    if "flow" in totals.columns:
        totals = totals[totals["flow"].eq("import")]
    if "partner_iso3" in totals.columns:
        totals = totals[totals["partner_iso3"].eq(WORLD)]
    if totals.duplicated(["reporter_iso3", "product", "period"]).any():
        raise ParameterError("import_dependence: importer_totals has more than one total per "
                             "importer, product and period")
    totals = totals.rename(columns={"reporter_iso3": "importer_iso3",
                                    "value_usd": "importer_imports_usd"})
    exports = exports_to_importer[exports_to_importer["partner_iso3"].ne(WORLD)].rename(
        columns={"reporter_iso3": "exporter_iso3", "partner_iso3": "importer_iso3",
                 "value_usd": "exports_usd"})
    keys = ["importer_iso3", "product", "period"]
    result = exports[["exporter_iso3", *keys, "exports_usd"]].merge(
        totals[[*keys, "importer_imports_usd"]], on=keys, how="inner")
    result["dependence"] = _divide(result["exports_usd"], result["importer_imports_usd"])
    return result.sort_values(["exporter_iso3", *keys], kind="mergesort", ignore_index=True)


def aggregate_basket(flows: pd.DataFrame, codes: Iterable[str], name: str = "basket"
                     ) -> pd.DataFrame:
    """Sum HS6 rows into a basket, one row per reporter, partner, flow and period.

    A code absent for a partner and period counts as no trade (Comtrade and WITS
    omit unreported flows); a NaN value or quantity in any of the basket's rows
    makes the basket's value or quantity NaN.

    Parameters
    ----------
    flows : tidy trade flows with HS6 rows.
    codes : six-digit HS codes of the basket (e.g. from
        :func:`research.reference.baskets.basket_codes`).
    name : the basket's name, used as ``product``.

    Returns
    -------
    A tidy trade-flow table with ``product`` = ``name`` and ``product_level`` "group".
    """
    codes = sorted(set(codes))
    bad = [c for c in codes if not (isinstance(c, str) and len(c) == 6 and c.isdigit())]
    if not codes or bad:
        raise ParameterError(f"aggregate_basket: codes must be six-digit strings; got {bad or codes}")
    _require(flows, ["reporter_iso3", "partner_iso3", "flow", "product", "product_level",
                     "period", "freq", "value_usd", "quantity"], "aggregate_basket")
    rows = flows[flows["product_level"].eq("hs6") & flows["product"].isin(codes)]
    keys = ["reporter_iso3", "partner_iso3", "flow", "period", "freq"]
    grouped = rows.groupby(keys, sort=True)
    result = grouped[["value_usd", "quantity"]].sum(min_count=1)
    for column in ("value_usd", "quantity"):
        result.loc[grouped[column].apply(lambda s: s.isna().any()).to_numpy(), column] = np.nan
    result = result.reset_index()
    if "source" in rows.columns:
        sources = grouped["source"].agg(lambda s: "; ".join(sorted(set(s)))).to_numpy()
    else:
        sources = ""
    result = result.assign(product=name, product_level="group", quantity_unit="kg",
                           source=sources)
    columns = ["reporter_iso3", "partner_iso3", "flow", "product", "product_level", "period",
               "freq", "value_usd", "quantity", "quantity_unit", "source"]
    return result[columns].sort_values(keys, kind="mergesort", ignore_index=True)


Window = tuple[str | pd.Timestamp, str | pd.Timestamp]


def trailing_windows(last_period: str | pd.Timestamp, months: int = 12
                     ) -> tuple[tuple[pd.Timestamp, pd.Timestamp], tuple[pd.Timestamp, pd.Timestamp]]:
    """The last ``months`` months up to ``last_period`` and the same months a year before.

    Returns
    -------
    ``((year_before_start, year_before_end), (latest_start, latest_end))``, first days of
    months, both ends included; e.g. last period 2024-12 with 12 months gives
    ((2023-01, 2023-12), (2024-01, 2024-12)).
    """
    if not isinstance(months, int | np.integer) or isinstance(months, bool) or not 1 <= months <= 12:
        raise ParameterError(f"trailing_windows: months must be an integer from 1 to 12; "
                             f"got {months!r}")
    last = pd.Timestamp(last_period).to_period("M").to_timestamp()
    latest = (last - pd.DateOffset(months=months - 1), last)
    before = (latest[0] - pd.DateOffset(years=1), last - pd.DateOffset(years=1))
    return before, latest


def price_quantity_split(flows: pd.DataFrame, base: Window, current: Window,
                         by: Sequence[str] = ("partner_iso3", "product")) -> pd.DataFrame:
    """Split the change in trade value between two windows into quantity and unit value.

    Value and quantity are summed within each window (both ends included, monthly or
    annual rows alike) for each ``by`` group, and the change is split in log points:

        ln(V1 / V0) = ln(Q1 / Q0) + ln(UV1 / UV0),   UV = V / Q (USD per kg)

    an exact identity (no residual), chosen over a Laspeyres/Paasche split because it
    needs no price weights and reads the same for any number of lines. For a group of
    several HS6 lines the unit value is that of the sum, so a shift in the mix of lines
    (e.g. from dear metals to cheaper compounds) shows up as a unit-value change: split
    the lines themselves (``by`` including ``product`` on HS6 rows) to see it.

    Parameters
    ----------
    flows : tidy trade flows with ``period``, ``value_usd`` and ``quantity`` (kg).
    base, current : (first, last) period of each window, e.g. ("2023-01", "2023-12").
    by : columns that define a series.

    Returns
    -------
    ``by``, ``value_usd_base``, ``value_usd_current``, ``quantity_kg_base``,
    ``quantity_kg_current``, ``unit_value_base``, ``unit_value_current`` (USD/kg),
    ``value_change_pct``, ``quantity_change_pct``, ``unit_value_change_pct`` (percent,
    ``100 * (x1 / x0 - 1)``), ``value_log_change``, ``quantity_log_change``,
    ``unit_value_log_change`` (natural log points; the last two add up to the first)
    and ``driver`` ("unit value" or "quantity": the part with the larger absolute log
    change; NaN when a part is missing). A window with a missing value or quantity in
    any row, or with no rows, gives NaN, never 0.
    """
    by = list(by)
    _require(flows, [*by, "period", "value_usd", "quantity"], "price_quantity_split")
    if "quantity_unit" in flows.columns:
        other = flows["quantity"].notna() & flows["quantity_unit"].ne("kg")
        if other.any():
            raise ParameterError("price_quantity_split: quantities must be in kg; got "
                                 f"{sorted(set(flows.loc[other, 'quantity_unit'].astype(str)))}")
    windows = {}
    for label, (start, end) in {"base": base, "current": current}.items():
        start, end = pd.Timestamp(start), pd.Timestamp(end)
        if start > end:
            raise ParameterError(f"price_quantity_split: the {label} window starts "
                                 f"({start:%Y-%m}) after it ends ({end:%Y-%m})")
        windows[label] = (start, end)
    parts = []
    for label, (start, end) in windows.items():
        rows = flows[flows["period"].between(start, end)]
        grouped = rows.groupby(by, sort=True)
        sums = grouped[["value_usd", "quantity"]].sum(min_count=1)
        for column in ("value_usd", "quantity"):
            has_missing = grouped[column].apply(lambda s: s.isna().any())
            sums.loc[has_missing.reindex(sums.index).to_numpy(), column] = np.nan
        parts.append(sums.rename(columns={"value_usd": f"value_usd_{label}",
                                          "quantity": f"quantity_kg_{label}"}))
    table = pd.concat(parts, axis=1).reset_index()
    for label in windows:
        table[f"unit_value_{label}"] = _divide(table[f"value_usd_{label}"],
                                               table[f"quantity_kg_{label}"])
    logs = {}
    for name, column in (("value", "value_usd"), ("quantity", "quantity_kg"),
                         ("unit_value", "unit_value")):
        ratio = _divide(table[f"{column}_current"], table[f"{column}_base"])
        table[f"{name}_change_pct"] = 100.0 * (ratio - 1.0)
        logs[name] = np.log(ratio.where(ratio.gt(0)))
    for name, values in logs.items():
        table[f"{name}_log_change"] = values
    quantity, price = logs["quantity"].abs(), logs["unit_value"].abs()
    table["driver"] = np.where(price > quantity, "unit value", "quantity")
    table["driver"] = table["driver"].where(quantity.notna() & price.notna())
    return table.sort_values(by, kind="mergesort", ignore_index=True)


def describe_price_quantity(split: pd.DataFrame, label: str = "product") -> list[str]:
    """One sentence per row of :func:`price_quantity_split`, for a report.

    Example: "rare_earths: value -42.3% = quantity +13.0% and unit value -48.9% (log
    points -0.549 = +0.122 - 0.672); driven by unit value."

    Parameters
    ----------
    split : the output of :func:`price_quantity_split` (labelled or not).
    label : the column that names the row.
    """
    _require(split, [label, "value_change_pct", "quantity_change_pct", "unit_value_change_pct",
                     "value_log_change", "quantity_log_change", "unit_value_log_change",
                     "driver"], "describe_price_quantity")
    sentences = []
    for row in split.itertuples(index=False):
        if pd.isna(row.driver):
            sentences.append(f"{getattr(row, label)}: value or quantity missing in a window; "
                             "no split.")
            continue
        price = row.unit_value_log_change
        sentences.append(
            f"{getattr(row, label)}: value {row.value_change_pct:+.1f}% = quantity "
            f"{row.quantity_change_pct:+.1f}% and unit value {row.unit_value_change_pct:+.1f}% "
            f"(log points {row.value_log_change:+.3f} = {row.quantity_log_change:+.3f} "
            f"{'-' if price < 0 else '+'} {abs(price):.3f}); driven by {row.driver}.")
    return sentences


def within_shares(table: pd.DataFrame, group: Sequence[str],
                  columns: Sequence[str] = ("value_usd_base", "value_usd_current")
                  ) -> pd.DataFrame:
    """Each row's share of its group's total, for each of ``columns``.

    share = x / sum of x over the rows of the same ``group`` (0-1; NaN when the total
    is 0 or a row of the group is missing). E.g. the share of HS 850511 magnets in the
    value of a rare-earth group, from a line-level :func:`price_quantity_split`.

    Returns
    -------
    ``table`` with a ``{column}_share`` column per column.
    """
    group = list(group)
    _require(table, [*group, *columns], "within_shares")
    result = table.copy()
    for column in columns:
        grouped = result.groupby(group, dropna=False)[column]
        total = grouped.transform(lambda s: s.sum(min_count=len(s)))
        result[f"{column}_share"] = _divide(result[column], total)
    return result
