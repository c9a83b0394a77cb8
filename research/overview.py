"""Views that notebooks show: a basket's monthly flows, its destinations, an importer's exposure.

Each function composes the loaders and indicators into one tidy table, so the
notebooks stay thin and the same tables can be reused from Python.
"""

from __future__ import annotations

import pandas as pd

from research import datasets
from research.errors import ParameterError
from research.indicators import quality, trade
from research.reference import baskets

BUNDLED_REPORTERS = ("CHN",)


def _check_reporter(reporter: str) -> None:
    if reporter not in BUNDLED_REPORTERS:
        raise ParameterError(f"reporter={reporter!r}: the bundled trade data hold only "
                             f"{list(BUNDLED_REPORTERS)} as reporter")


LATEST = "latest"


def latest_month(flows: pd.DataFrame | None = None) -> pd.Timestamp:
    """The last month of the monthly trade table (bundled or updated by ``research update``)."""
    flows = flows if flows is not None else datasets.load("china_exports_monthly")
    return flows.loc[flows["freq"].eq("M"), "period"].max()


def _period(value: str, name: str, flows: pd.DataFrame | None = None) -> pd.Timestamp:
    """A month parameter as a date; ``"latest"`` is the last month of the data."""
    if value == LATEST:
        return latest_month(flows)
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError) as error:
        raise ParameterError(f"{name}={value!r} is not a date such as '2017-01'") from error


def basket_group(basket: str) -> str:
    """The monthly product group that carries ``basket`` (or the group name itself)."""
    groups = set(baskets.BASKET_GROUP.values())
    if basket in groups:
        return basket
    if basket not in baskets.BASKET_GROUP:
        raise ParameterError(f"basket {basket!r} has no monthly product group; choose one of "
                             f"{sorted(set(baskets.BASKET_GROUP) | groups)}")
    return baskets.BASKET_GROUP[basket]


def basket_monthly(basket: str, destinations: list[str], start: str = "2017-01",
                   end: str = "2024-12", reporter: str = "CHN",
                   flows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Monthly exports of a basket's product group to the chosen destinations and the world.

    Adds the 12-month rolling sum (USD), year-on-year growth (%), unit value (USD/kg) and
    the destination's share of the world total. ``yoy_flag`` and ``yoy_note`` mark
    growth measured from or to an unusual month (:func:`research.indicators.quality.
    yoy_growth_flags` with the windows of :func:`event_windows`). ``end="latest"`` runs to the last month
    of the data, so a report follows new months without a parameter change.
    """
    _check_reporter(reporter)
    group = basket_group(basket)
    flows = flows if flows is not None else datasets.load("china_exports_monthly")
    chosen = flows[(flows["product_level"] == "group") & (flows["product"] == group)
                   & (flows["reporter_iso3"] == reporter)]
    available = set(chosen["partner_iso3"]) - {"WLD"}
    missing = sorted(set(destinations) - available)
    if missing:
        raise ParameterError(f"destinations {missing} are not in the {group} panel; "
                             f"available: {sorted(available)}")
    chosen = chosen[chosen["partner_iso3"].isin([*destinations, "WLD"])]
    start_date, end_date = _period(start, "start", flows), _period(end, "end", flows)
    keys = ["partner_iso3", "period"]
    rolling = trade.rolling_sum(chosen)[[*keys, "value_usd_sum_12m"]]
    growth = quality.yoy_growth_flags(chosen, windows=event_windows(group)).rename(
        columns={"flag": "yoy_flag", "note": "yoy_note"})[[*keys, "yoy_pct", "yoy_flag",
                                                            "yoy_note"]]
    unit = trade.unit_values(chosen)[[*keys, "unit_value_usd_per_kg"]]
    shares = trade.destination_shares(chosen)[[*keys, "share"]]
    table = (chosen.merge(rolling, on=keys, how="left").merge(growth, on=keys, how="left")
             .merge(unit, on=keys, how="left").merge(shares, on=keys, how="left"))
    table = table[table["period"].between(start_date, end_date)]
    if table.empty:
        raise ParameterError(f"no data between {start} and {end} for {group}")
    return table.sort_values(keys).reset_index(drop=True)


def basket_destinations(basket: str, year: int) -> tuple[pd.DataFrame, str]:
    """China's exports of a basket by destination in one year, for maps and rankings.

    Uses the most complete source for the basket: the annual WITS HS6 table (every
    partner) when it covers the basket's codes, else the monthly HS6 panel (~40
    partners) summed over the year, else the monthly group panel (8 partners).

    Returns
    -------
    (table with iso3, value_usd, quantity, share; a sentence naming the source used)
    """
    codes = baskets.basket_codes(basket) if basket in baskets.basket_names() else []
    annual = datasets.load("china_exports_annual")
    covered = sorted(set(codes) & set(annual["product"]))
    if covered:
        rows = annual[annual["product"].isin(covered) & (annual["period"].dt.year == year)]
        note = (f"WITS annual HS6 ({', '.join(covered)}), every reporting destination, "
                f"{year}")
    else:
        monthly = datasets.load("china_exports_monthly")
        hs6 = monthly[(monthly["product_level"] == "hs6") & monthly["product"].isin(codes)]
        if len(hs6):
            rows = hs6[hs6["period"].dt.year == year]
            note = (f"UN Comtrade monthly HS6 ({', '.join(sorted(set(hs6['product'])))}), "
                    f"about 40 destinations chosen by the source, summed over {year}")
        else:
            group = basket_group(basket)
            rows = monthly[(monthly["product_level"] == "group")
                           & (monthly["product"] == group) & (monthly["period"].dt.year == year)]
            note = (f"UN Comtrade monthly product group {group}, 8 destinations chosen by the "
                    f"source, summed over {year}")
    rows = rows[rows["partner_iso3"] != "WLD"]
    if rows.empty:
        raise ParameterError(f"no destination data for basket {basket!r} in {year}")
    table = (rows.groupby("partner_iso3", as_index=False)[["value_usd", "quantity"]]
             .sum(min_count=1).rename(columns={"partner_iso3": "iso3"}))
    table["share"] = table["value_usd"] / table["value_usd"].sum()
    return table.sort_values("value_usd", ascending=False).reset_index(drop=True), note


def importer_exposure(importer: str = "JPN", groups: list[str] | None = None,
                      months: int = 12) -> pd.DataFrame:
    """How much of China's exports of each product group goes to ``importer``.

    For the last ``months`` months of the bundled data and the same months a year
    earlier: exports to the importer (USD, kg), China's world total, the importer's
    share of it, and the change. Import dependence (the share of the importer's own
    imports that come from China) needs the importer's totals, which the bundled data
    do not hold; see :func:`research.indicators.trade.import_dependence`.
    """
    flows = datasets.load("china_exports_monthly")
    flows = flows[flows["product_level"] == "group"]
    groups = groups or sorted(set(flows["product"]))
    unknown = sorted(set(groups) - set(flows["product"]))
    if unknown:
        raise ParameterError(f"product groups {unknown} unknown; known: "
                             f"{sorted(set(flows['product']))}")
    last = flows["period"].max()
    windows = {"latest": (last - pd.DateOffset(months=months - 1), last),
               "year_before": (last - pd.DateOffset(months=months + 11),
                               last - pd.DateOffset(months=12))}
    rows = []
    for group in groups:
        panel = flows[flows["product"] == group]
        if importer not in set(panel["partner_iso3"]):
            rows.append({"product": group, "covered": False})
            continue
        record = {"product": group, "covered": True}
        for label, (start, end) in windows.items():
            window = panel[panel["period"].between(start, end)]
            to_importer = window[window["partner_iso3"] == importer]
            world = window[window["partner_iso3"] == "WLD"]
            record[f"value_usd_{label}"] = to_importer["value_usd"].sum(min_count=1)
            record[f"quantity_kg_{label}"] = to_importer["quantity"].sum(min_count=1)
            record[f"world_value_usd_{label}"] = world["value_usd"].sum(min_count=1)
            record[f"share_{label}"] = (record[f"value_usd_{label}"]
                                        / record[f"world_value_usd_{label}"])
        record["value_change_pct"] = 100 * (record["value_usd_latest"]
                                            / record["value_usd_year_before"] - 1)
        record["share_change_pp"] = 100 * (record["share_latest"] - record["share_year_before"])
        rows.append(record)
    table = pd.DataFrame(rows)
    table.attrs["window"] = (f"{windows['latest'][0]:%Y-%m} to {last:%Y-%m} against "
                             f"{windows['year_before'][0]:%Y-%m} to "
                             f"{windows['year_before'][1]:%Y-%m}")
    return table


def importer_share_series(importer: str = "JPN", groups: list[str] | None = None
                          ) -> pd.DataFrame:
    """Monthly share of China's world exports of each group that goes to ``importer``,
    with its 12-month rolling version (sum of 12 months to importer / sum to world)."""
    flows = datasets.load("china_exports_monthly")
    flows = flows[flows["product_level"] == "group"]
    groups = groups or sorted(set(flows["product"]))
    rows = flows[flows["product"].isin(groups) & flows["partner_iso3"].isin([importer, "WLD"])]
    rolled = trade.rolling_sum(rows)
    wide = rolled.pivot_table(index=["product", "period"], columns="partner_iso3",
                              values=["value_usd", "value_usd_sum_12m"])
    out = pd.DataFrame({
        "share": wide[("value_usd", importer)] / wide[("value_usd", "WLD")],
        "share_12m": wide[("value_usd_sum_12m", importer)] / wide[("value_usd_sum_12m", "WLD")],
    }).reset_index()
    return out.dropna(subset=["share"])


def measures_on(basket: str, start: str = "2017-01", end: str = "2024-12"
                ) -> list[tuple[pd.Timestamp, str]]:
    """(effective date, event id) of registry measures on ``basket`` or its product group
    that took effect between ``start`` and ``end``, for event markers on plots."""
    from research.reference.events import load_events

    group = basket_group(basket)
    related = {basket, group} | {b for b, g in baskets.BASKET_GROUP.items() if g == group}
    marks = []
    for row in load_events().itertuples():
        if pd.isna(row.effective) or not isinstance(row.basket, str):
            continue
        if set(row.basket.split(";")) & related and \
                _period(start, "start") <= row.effective <= _period(end, "end"):
            marks.append((row.effective, row.event_id))
    return sorted(marks)


TOUCHING_TYPES = ("ban", "end-user ban", "licensing", "quota", "suspension")


def touching_events(product: str) -> pd.DataFrame:
    """Registry events that touch a basket, a monthly product group or an HS6 line.

    An event touches it when its type is one that changes what may be shipped at a
    date (:data:`TOUCHING_TYPES`: bans, licensing, quotas, their suspension; not legal
    texts, context, investigations or entity listings) and

    - for a basket or group: one of the event's baskets is the group or a basket of
      the group, or one of the event's HS6 codes is a line of the group;
    - for an HS6 line: the event names the code, or one of the event's baskets holds
      it (graphite holds 250410, so B2 and B5 touch it).
    """
    from research.reference.events import load_events

    events = load_events()
    events = events[events["event_type"].isin(TOUCHING_TYPES)]
    event_baskets = events["basket"].fillna("").str.split(";")
    event_codes = events["hs6"].fillna("").str.split(";")
    if len(product) == 6 and product.isdigit():
        holding = {name for name in baskets.basket_names()
                   if product in baskets.basket_codes(name)}
        touches = [bool(set(b) & holding) or product in c
                   for b, c in zip(event_baskets, event_codes, strict=True)]
    else:
        group = basket_group(product)
        related = {product, group} | {b for b, g in baskets.BASKET_GROUP.items() if g == group}
        codes = {code for name in related if name in baskets.basket_names()
                 for code in baskets.basket_codes(name)}
        touches = [bool(set(b) & related) or bool(set(c) & codes)
                   for b, c in zip(event_baskets, event_codes, strict=True)]
    return events[touches].reset_index(drop=True)


def event_windows(product: str) -> pd.DataFrame:
    """Anticipation and impact windows (:func:`research.indicators.quality.event_windows`)
    of the registry events that touch ``product`` (:func:`touching_events`)."""
    return quality.event_windows(touching_events(product))


def defense_summary(countries: list[str], start_year: int, end_year: int) -> pd.DataFrame:
    """Per country: real spending at both ends of the period, cumulative real growth (%),
    average yearly real growth (%), and the share of GDP (%) at both ends (SIPRI)."""
    from research.indicators import defense

    if start_year >= end_year:
        raise ParameterError(f"start_year={start_year} must be before end_year={end_year}")
    milex = datasets.load("sipri_milex")
    real = defense.compare_countries(milex, countries, "constant_usd")
    share = defense.compare_countries(milex, countries, "share_of_gdp")
    years = set(real["year"])
    if start_year not in years or end_year not in years:
        raise ParameterError(f"years {start_year}-{end_year} outside the SIPRI extract "
                             f"({min(years)}-{max(years)})")
    real_wide = real.pivot(index="iso3", columns="year", values="value")
    share_wide = share.pivot(index="iso3", columns="year", values="value")
    names = real.drop_duplicates("iso3").set_index("iso3")["country"]
    span = end_year - start_year
    table = pd.DataFrame({
        "country": names,
        f"constant_usd_m_{start_year}": real_wide[start_year],
        f"constant_usd_m_{end_year}": real_wide[end_year],
        "real_growth_cumulative_pct": 100 * (real_wide[end_year] / real_wide[start_year] - 1),
        "real_growth_yearly_pct": 100 * ((real_wide[end_year] / real_wide[start_year])
                                         ** (1 / span) - 1),
        f"share_of_gdp_pct_{start_year}": share_wide[start_year],
        f"share_of_gdp_pct_{end_year}": share_wide[end_year],
    }).reset_index()
    table.attrs["unit"] = real["unit"].iloc[0]
    return table.sort_values(f"constant_usd_m_{end_year}", ascending=False).reset_index(
        drop=True)
