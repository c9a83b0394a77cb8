"""An importer's exposure to China's exports, split into quantity and unit value.

Pure functions on the bundled tidy tables (``china_exports_monthly``,
``china_exports_annual``) and the scope table of :func:`research.reference.baskets.
group_lines`; they compose :func:`research.indicators.trade.price_quantity_split` and
label each row with its scope (magnets, mixed-scope lines).
"""

from __future__ import annotations

import pandas as pd

from research.errors import ParameterError
from research.indicators import trade
from research.reference.baskets import label_products

EXCL_MAGNETS = " excl. magnets"


def _windows_text(base: tuple, current: tuple) -> str:
    return (f"{pd.Timestamp(current[0]):%Y-%m} to {pd.Timestamp(current[1]):%Y-%m} against "
            f"{pd.Timestamp(base[0]):%Y-%m} to {pd.Timestamp(base[1]):%Y-%m}")


def _shares_of_complete_groups(by_line: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Each line's share of its group's value, only where every line of the group is shown."""
    shares = trade.within_shares(by_line, ["source", "product_group"])
    wanted = lines.groupby("product_group")["hs6"].agg(frozenset)
    shown = by_line.groupby("product_group")["product"].agg(frozenset)
    complete = [group for group in shown.index if shown[group] == wanted.get(group)]
    partial = ~shares["product_group"].isin(complete)
    shares.loc[partial, ["value_usd_base_share", "value_usd_current_share"]] = float("nan")
    return shares


def group_price_quantity(monthly: pd.DataFrame, importer: str, lines: pd.DataFrame,
                         months: int = 12) -> pd.DataFrame:
    """Quantity and unit-value parts of the change in a group's exports to ``importer``.

    The windows are those of :func:`research.overview.importer_exposure`: the last
    ``months`` months of the group panel against the same months a year before.

    Parameters
    ----------
    monthly : the ``china_exports_monthly`` table.
    importer : ISO3 of the destination.
    lines : :func:`research.reference.baskets.group_lines` of the groups wanted.
    months : window length.

    Returns
    -------
    The labelled output of :func:`~research.indicators.trade.price_quantity_split`, one
    row per group, with ``window`` (text); the windows are in ``attrs["windows"]``.
    """
    groups = monthly[monthly["product_level"].eq("group")]
    if groups.empty:
        raise ParameterError("the monthly table has no product-group rows")
    base, current = trade.trailing_windows(groups["period"].max(), months)
    rows = groups[groups["partner_iso3"].eq(importer)
                  & groups["product"].isin(set(lines["product_group"]))]
    split = label_products(trade.price_quantity_split(rows, base, current), lines)
    split["window"] = _windows_text(base, current)
    split.attrs["windows"] = (base, current)
    return split


def line_price_quantity(annual: pd.DataFrame, monthly: pd.DataFrame, importer: str,
                        lines: pd.DataFrame, months: int = 12) -> pd.DataFrame:
    """Quantity and unit-value parts of the change, HS6 line by HS6 line.

    Uses every line of ``lines`` that has destination-level data:

    - the annual table (WITS: 280530, 284690, 850511), last calendar year against the
      one before; for a group that includes magnets (850511) its other lines are also
      summed into a row "<group> excl. magnets", so the materials can be read apart
      from the magnets;
    - the monthly HS6 panel (250410, 380110, 811292), in the windows of
      :func:`group_price_quantity`.

    Each line's ``value_usd_base_share`` and ``value_usd_current_share`` is its share of
    its group's value (the sum of the group's lines in that source), given only where
    every line of the group has data (rare earths in the annual table, graphite in the
    monthly one); NaN otherwise and on "excl. magnets" rows.

    Returns
    -------
    One row per line (and "excl. magnets" sum) and source: the labelled output of
    :func:`~research.indicators.trade.price_quantity_split`, ``source``, ``window``
    and the two share columns, sorted by group, source and product.
    """
    codes = set(lines["hs6"])
    pieces = []
    annual_rows = annual[annual["partner_iso3"].eq(importer) & annual["product"].isin(codes)]
    if len(annual_rows):
        last_year = int(annual_rows["period"].max().year)
        years = ((f"{last_year - 1}-01", f"{last_year - 1}-12"),
                 (f"{last_year}-01", f"{last_year}-12"))
        source = "WITS annual HS6"
        window = f"{last_year} against {last_year - 1}"
        by_line = trade.price_quantity_split(annual_rows, *years)
        by_line = label_products(by_line, lines).assign(source=source, window=window)
        pieces.append(_shares_of_complete_groups(by_line, lines))
        for group, group_lines in lines.groupby("product_group"):
            others = sorted(group_lines.loc[~group_lines["magnets"], "hs6"])
            if not group_lines["magnets"].any() or not set(others) <= set(annual_rows["product"]):
                continue
            summed = trade.aggregate_basket(annual_rows, others, f"{group}{EXCL_MAGNETS}")
            split = trade.price_quantity_split(summed, *years)
            pieces.append(split.assign(
                product_label=f"{group}{EXCL_MAGNETS} ({' + '.join(others)})",
                product_group=group, hs6_lines=";".join(others), includes_magnets=False,
                mixed_scope=group_lines.loc[~group_lines["magnets"], "mixed_scope"].any(),
                mixed_scope_lines=";".join(sorted(group_lines.loc[
                    ~group_lines["magnets"] & group_lines["mixed_scope"], "hs6"])),
                source=source, window=window))
    hs6_rows = monthly[monthly["product_level"].eq("hs6") & monthly["partner_iso3"].eq(importer)
                       & monthly["product"].isin(codes)]
    if len(hs6_rows):
        groups = monthly[monthly["product_level"].eq("group")]
        last = groups["period"].max() if len(groups) else hs6_rows["period"].max()
        base, current = trade.trailing_windows(last, months)
        by_line = trade.price_quantity_split(hs6_rows, base, current)
        by_line = label_products(by_line, lines).assign(source="Comtrade monthly HS6",
                                                        window=_windows_text(base, current))
        pieces.append(_shares_of_complete_groups(by_line, lines))
    if not pieces:
        raise ParameterError(f"no line-level data for {importer} on lines {sorted(codes)}")
    table = pd.concat(pieces, ignore_index=True)
    return table.sort_values(["product_group", "source", "product"], kind="mergesort",
                             ignore_index=True)
