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


def quantity_breaks(annual: pd.DataFrame, monthly: pd.DataFrame, importer: str,
                    lines: pd.DataFrame) -> pd.DataFrame:
    """Quantity records, behind the price and quantity split, whose unit value breaks.

    :func:`research.indicators.quality.unit_value_breaks` (default rule) on every series
    whose quantities :func:`group_price_quantity` and :func:`line_price_quantity` read,
    and on the world series of the same groups and lines for context: the monthly
    product groups of ``lines`` (importer and world), the annual WITS lines (importer
    and world) and the monthly HS6 lines (importer; that panel has no world row).

    Returns
    -------
    The flagged records with ``source`` first and ``in_compared_window`` (the record
    lies in a window the splits compare: the last 12 months of the group panel and the
    12 before, or the last two years of the annual lines), sorted by source, product,
    partner and period; empty when none is flagged.
    """
    from research.indicators import quality

    codes, groups = set(lines["hs6"]), set(lines["product_group"])
    partners = {importer, trade.WORLD}
    sources = (
        ("Comtrade monthly groups", monthly[monthly["product_level"].eq("group")
                                            & monthly["product"].isin(groups)]),
        ("WITS annual HS6", annual[annual["product"].isin(codes)]),
        ("Comtrade monthly HS6", monthly[monthly["product_level"].eq("hs6")
                                         & monthly["product"].isin(codes)]),
    )
    groups_panel = monthly[monthly["product_level"].eq("group")]
    base, current = trade.trailing_windows(groups_panel["period"].max(), 12)
    compared = {"Comtrade monthly groups": (base[0], current[1]),
                "Comtrade monthly HS6": (base[0], current[1])}
    annual_rows = sources[1][1][sources[1][1]["partner_iso3"].eq(importer)]
    if len(annual_rows):
        last_year = annual_rows["period"].max()
        compared["WITS annual HS6"] = (last_year - pd.DateOffset(years=1), last_year)
    pieces = []
    for source, rows in sources:
        found = quality.unit_value_breaks(rows[rows["partner_iso3"].isin(partners)])
        start, end = compared.get(source, (pd.NaT, pd.NaT))
        pieces.append(found.assign(source=source,
                                   in_compared_window=found["period"].between(start, end)))
    table = pd.concat([p for p in pieces if len(p)], ignore_index=True) if any(
        len(p) for p in pieces) else pieces[0]
    columns = ["source", *[c for c in table.columns if c != "source"]]
    return table[columns].sort_values(["source", "product", "partner_iso3", "period"],
                                      kind="mergesort", ignore_index=True)
