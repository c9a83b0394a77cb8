"""Defence-spending indicators from the SIPRI extract, Japan's budget, GDP and exchange rates.

Pure functions: tidy tables in, tidy tables out, no file access. Inputs are the
bundled tables (``research.datasets.load``): ``sipri_milex`` (MILITARY_EXPENDITURE
schema), ``japan_defense_budget``, ``worldbank_gdp`` and ``fred_fx_annual``.
SIPRI's missing markers stay NaN (never zero) and are carried through.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import pandas as pd

from research.countries import to_iso3
from research.errors import ParameterError

GrowthBase = Literal["constant_usd", "current_usd", "local_currency_fy", "per_capita_usd"]
GROWTH_BASES = ("constant_usd", "current_usd", "local_currency_fy", "per_capita_usd")
MEASURES = ("constant_usd", "current_usd", "share_of_gdp", "local_currency_fy",
            "per_capita_usd", "share_of_government")
TARGET_PCT = 2.0


def _choose(value: str, allowed: Iterable[str], name: str) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ParameterError(f"{name}={value!r} is not allowed; choose one of {list(allowed)}")
    return value


def _iso3_codes(countries) -> list[str]:
    """ISO3 codes of ``countries`` (codes or names); an unknown one is a ParameterError."""
    wanted = []
    for country in countries:
        code = to_iso3(country)
        if code is None:
            raise ParameterError(f"unknown country {country!r}")
        wanted.append(code)
    return wanted


def _measure(milex: pd.DataFrame, measure: str) -> pd.DataFrame:
    rows = milex[milex["measure"] == measure]
    if rows.empty:
        present = sorted(milex["measure"].unique())
        raise ParameterError(f"the table has no {measure!r} rows; measures present: {present}")
    return rows.sort_values(["iso3", "year"]).reset_index(drop=True)


def share_of_gdp(milex: pd.DataFrame) -> pd.DataFrame:
    """Military expenditure as a percentage of GDP.

    SIPRI stores the share as a fraction (0.0137); this returns percent (1.37).

    Returns
    -------
    iso3, country, year, share_of_gdp_pct, missing_marker (SIPRI's marker where the
    value is NaN).
    """
    rows = _measure(milex, "share_of_gdp")
    return pd.DataFrame({"iso3": rows["iso3"], "country": rows["country"], "year": rows["year"],
                         "share_of_gdp_pct": rows["value"] * 100.0,
                         "missing_marker": rows["missing_marker"]})


def real_growth(milex: pd.DataFrame, base: GrowthBase = "constant_usd") -> pd.DataFrame:
    """Year-on-year growth of spending, in percent.

    growth_pct(t) = 100 * (value(t) / value(t-1) - 1), with value(t-1) the previous
    calendar year (NaN when that year is absent or missing). With the default
    ``base='constant_usd'`` (SIPRI constant-price US$) this is real growth; any other
    base gives nominal growth, flagged in the ``basis`` column.

    Returns
    -------
    iso3, country, year, value (the base measure), growth_pct, basis.
    """
    _choose(base, GROWTH_BASES, "base")
    rows = _measure(milex, base)
    previous = rows.assign(year=rows["year"] + 1)[["iso3", "year", "value"]]
    merged = rows.merge(previous, on=["iso3", "year"], how="left", suffixes=("", "_previous"))
    growth = 100.0 * (merged["value"] / merged["value_previous"] - 1.0)
    basis = "real (constant prices)" if base == "constant_usd" else f"nominal ({base})"
    return pd.DataFrame({"iso3": merged["iso3"], "country": merged["country"],
                         "year": merged["year"], "value": merged["value"],
                         "growth_pct": growth, "basis": basis})


def real_growth_table(milex: pd.DataFrame, countries: Iterable[str], first_year: int,
                      last_year: int, base: GrowthBase = "constant_usd") -> pd.DataFrame:
    """Year-on-year growth for chosen countries and years, one row per country and year.

    growth_pct(t) = 100 * (value(t) / value(t-1) - 1) from :func:`real_growth`; the
    growth of ``first_year`` uses ``first_year - 1`` when the table holds it. Countries
    keep the order given, so :func:`growth_by_year` lays them out in that order.

    Parameters
    ----------
    milex : the ``sipri_milex`` table.
    countries : ISO3 codes or names.
    first_year, last_year : the years to keep (inclusive).
    base : the measure whose growth is taken; ``constant_usd`` (default) gives real growth.

    Returns
    -------
    iso3, country, year, value (the base measure), growth_pct, basis, missing_marker
    (SIPRI's marker where this year's value is missing).
    """
    if first_year > last_year:
        raise ParameterError(f"first_year={first_year} is after last_year={last_year}")
    wanted = _iso3_codes(countries)
    growth = real_growth(milex[milex["iso3"].isin(wanted)], base)
    markers = _measure(milex, base)[["iso3", "year", "missing_marker"]]
    growth = growth.merge(markers, on=["iso3", "year"], how="left")
    growth = growth[growth["year"].between(first_year, last_year)]
    order = {code: position for position, code in enumerate(dict.fromkeys(wanted))}
    growth = growth.assign(_order=growth["iso3"].map(order))
    growth = growth.sort_values(["_order", "year"], kind="mergesort")
    return growth.drop(columns="_order").reset_index(drop=True)


def growth_by_year(growth: pd.DataFrame) -> pd.DataFrame:
    """The growth table laid out for reading: one row per year, one column per country.

    Parameters
    ----------
    growth : the output of :func:`real_growth_table` (or :func:`real_growth`).

    Returns
    -------
    year, then one column of ``growth_pct`` (percent) per country name, in the order the
    countries first appear in ``growth``. A missing value stays NaN.
    """
    names = list(dict.fromkeys(growth["country"]))
    wide = growth.pivot(index="year", columns="country", values="growth_pct")
    wide = wide.reindex(columns=names)
    wide.columns.name = None
    return wide.reset_index()


def per_capita(milex: pd.DataFrame) -> pd.DataFrame:
    """Military expenditure per person, current US$, as SIPRI publishes it.

    The bundled extract carries SIPRI's ``per_capita_usd`` measure (SIPRI divides
    current-US$ spending by its population estimates); no population table is
    bundled, so nothing is recomputed here.

    Returns
    -------
    iso3, country, year, per_capita_usd, missing_marker.
    """
    rows = _measure(milex, "per_capita_usd")
    return pd.DataFrame({"iso3": rows["iso3"], "country": rows["country"], "year": rows["year"],
                         "per_capita_usd": rows["value"],
                         "missing_marker": rows["missing_marker"]})


def _yen_per_usd(fx: pd.DataFrame) -> pd.Series:
    japan = fx[fx["currency"] == "JPY"]
    if japan.empty:
        raise ParameterError("the exchange-rate table has no JPY rows")
    rate = japan["rate"].where(japan["quote"] == "per USD", 1.0 / japan["rate"])
    return pd.Series(rate.to_numpy(), index=japan["year"].to_numpy(), name="jpy_per_usd")


def japan_gdp_jpy(milex: pd.DataFrame, fx: pd.DataFrame,
                  gdp: pd.DataFrame | None = None) -> pd.DataFrame:
    """Japan's nominal GDP in yen by calendar year, with the basis of each figure.

    Two honest ways, both through the Fed's annual average JPY/USD rate:

    - ``gdp=None`` (default), SIPRI's implied GDP:
      gdp_jpy = current_usd (US$ m) * 1e6 / share_of_gdp * JPY per USD.
      SIPRI's share is calendar-year spending over GDP; its current-US$ figure is that
      spending converted at the annual average rate, so this recovers SIPRI's GDP.
    - ``gdp`` = the ``worldbank_gdp`` table: gdp_jpy = gdp_usd * JPY per USD.

    Returns
    -------
    year, gdp_jpy, gdp_basis; only years with both inputs observed.
    """
    yen_per_usd = _yen_per_usd(fx)
    if gdp is None:
        japan = milex[milex["iso3"] == "JPN"]
        spending = japan[japan["measure"] == "current_usd"].set_index("year")["value"] * 1e6
        share = japan[japan["measure"] == "share_of_gdp"].set_index("year")["value"]
        gdp_usd = (spending / share).dropna()
        basis = "SIPRI implied GDP (current US$ / share of GDP) x Fed JPY per USD"
    else:
        gdp_usd = gdp[gdp["iso3"] == "JPN"].set_index("year")["gdp_usd"].dropna()
        basis = "World Bank GDP (current US$) x Fed JPY per USD"
    years = sorted(set(gdp_usd.index) & set(yen_per_usd.dropna().index))
    if not years:
        raise ParameterError("no year has both Japan's GDP and the JPY/USD rate")
    values = [float(gdp_usd[y] * yen_per_usd[y]) for y in years]
    return pd.DataFrame({"year": np.array(years, dtype="int64"), "gdp_jpy": values,
                         "gdp_basis": basis})


def japan_budget_path(budget: pd.DataFrame, milex: pd.DataFrame, fx: pd.DataFrame,
                      gdp: pd.DataFrame | None = None, gdp_growth: float = 0.0
                      ) -> pd.DataFrame:
    """Japan's MoD initial budget by fiscal year against 2% of GDP.

    share_of_gdp_pct = 100 * budget_jpy / gdp_jpy; gap_jpy = 0.02 * gdp_jpy - budget_jpy
    (positive: the budget is short of 2%).

    GDP is calendar-year nominal GDP in yen from :func:`japan_gdp_jpy` (SIPRI's implied
    GDP by default, or World Bank GDP when ``gdp`` is given). Fiscal year t (April t to
    March t+1) is set against calendar year t, which it overlaps by nine months. Years
    after the last observed GDP (FY2025-26 with SIPRI's 2024 data; FY2024-26 with the
    World Bank's 2023) are projected: last observed GDP grown at ``gdp_growth`` a year
    (default 0: held flat), an assumption stated in ``gdp_basis``.

    The MoD initial budget is narrower than the government's 2% benchmark, which from
    FY2027 also counts security-related spending outside the MoD (coast guard,
    infrastructure, research), so this share understates progress on that definition.

    Parameters
    ----------
    budget : the ``japan_defense_budget`` table.
    milex : the ``sipri_milex`` table (current_usd and share_of_gdp for JPN).
    fx : the ``fred_fx_annual`` table (JPY rows).
    gdp : the ``worldbank_gdp`` table, to use World Bank GDP instead of SIPRI's.
    gdp_growth : yearly nominal growth assumed for projected years (0.03 = 3%).

    Returns
    -------
    fiscal_year, budget_jpy, gdp_jpy, gdp_basis, share_of_gdp_pct, target_pct, gap_jpy,
    gdp_year (the calendar year of the observed GDP used; earlier than fiscal_year when
    projected) and gdp_growth_assumed (the yearly rate of a projected year, NaN when GDP
    is observed). :func:`gdp_assumption` puts the last two in words.
    """
    if not np.isfinite(gdp_growth) or gdp_growth <= -1:
        raise ParameterError(f"gdp_growth={gdp_growth!r} must be a finite rate above -1")
    observed = japan_gdp_jpy(milex, fx, gdp).set_index("year")
    last_year = int(observed.index.max())
    rows = []
    for fiscal_year, amount in zip(budget["fiscal_year"], budget["amount_jpy"], strict=True):
        fiscal_year = int(fiscal_year)
        gdp_year, growth = fiscal_year, np.nan
        if fiscal_year in observed.index:
            gdp_jpy = float(observed.at[fiscal_year, "gdp_jpy"])
            basis = f"{observed.at[fiscal_year, 'gdp_basis']}, CY{fiscal_year}"
        elif fiscal_year > last_year:
            gdp_year, growth = last_year, float(gdp_growth)
            gdp_jpy = float(observed.at[last_year, "gdp_jpy"]
                            * (1.0 + gdp_growth) ** (fiscal_year - last_year))
            basis = (f"projected: {observed.at[last_year, 'gdp_basis']}, CY{last_year}, "
                     f"grown {100 * gdp_growth:g}% a year (assumption)")
        else:
            gdp_jpy, basis, gdp_year = np.nan, "no GDP for this year", -1
        rows.append({"fiscal_year": fiscal_year, "budget_jpy": float(amount), "gdp_jpy": gdp_jpy,
                     "gdp_basis": basis, "gdp_year": gdp_year, "gdp_growth_assumed": growth})
    path = pd.DataFrame(rows, columns=["fiscal_year", "budget_jpy", "gdp_jpy", "gdp_basis",
                                       "gdp_year", "gdp_growth_assumed"])
    path["share_of_gdp_pct"] = 100.0 * path["budget_jpy"] / path["gdp_jpy"]
    path["target_pct"] = TARGET_PCT
    path["gap_jpy"] = TARGET_PCT / 100.0 * path["gdp_jpy"] - path["budget_jpy"]
    path["gdp_year"] = path["gdp_year"].astype("Int64").where(path["gdp_year"].ge(0))
    columns = ["fiscal_year", "budget_jpy", "gdp_jpy", "gdp_basis", "share_of_gdp_pct",
               "target_pct", "gap_jpy", "gdp_year", "gdp_growth_assumed"]
    path = path.astype({"fiscal_year": "int64"})[columns]
    return path.sort_values("fiscal_year").reset_index(drop=True)


def gdp_assumption(path: pd.DataFrame, fiscal_year: int) -> str:
    """The GDP behind one fiscal year's share of GDP, in a few words for a headline.

    Parameters
    ----------
    path : the output of :func:`japan_budget_path`.
    fiscal_year : the fiscal year whose denominator is described.

    Returns
    -------
    ``"GDP observed, CY2024"``; ``"GDP held at its CY2024 level, 0% nominal growth
    assumed"``; or ``"GDP = CY2024 grown 3% a year nominal, assumed"``.
    """
    rows = path[path["fiscal_year"].eq(fiscal_year)]
    if rows.empty:
        raise ParameterError(f"fiscal_year={fiscal_year} is not in the budget path; it has "
                             f"{path['fiscal_year'].tolist()}")
    row = rows.iloc[0]
    if pd.isna(row["gdp_year"]):
        return "no GDP for this year"
    gdp_year, growth = int(row["gdp_year"]), row["gdp_growth_assumed"]
    if gdp_year == fiscal_year or pd.isna(growth):
        return f"GDP observed, CY{gdp_year}"
    if growth == 0:
        return f"GDP held at its CY{gdp_year} level, 0% nominal growth assumed"
    return f"GDP = CY{gdp_year} grown {100 * growth:g}% a year nominal, assumed"


def budget_share_sensitivity(budget: pd.DataFrame, milex: pd.DataFrame, fx: pd.DataFrame,
                             fiscal_year: int, growth_rates: Iterable[float],
                             gdp: pd.DataFrame | None = None) -> pd.DataFrame:
    """One fiscal year's budget share of GDP under several assumed nominal GDP growth rates.

    Each row is :func:`japan_budget_path` with one ``gdp_growth``; only a projected year
    depends on the rate (an observed year gives the same share on every row).

    Returns
    -------
    fiscal_year, gdp_growth_pct (assumed, percent a year), gdp_jpy, share_of_gdp_pct,
    gap_jpy, gdp_assumption (from :func:`gdp_assumption`).
    """
    rows = []
    for rate in growth_rates:
        path = japan_budget_path(budget, milex, fx, gdp, gdp_growth=float(rate))
        chosen = path[path["fiscal_year"].eq(fiscal_year)]
        if chosen.empty:
            raise ParameterError(f"fiscal_year={fiscal_year} is not in the budget table; it "
                                 f"has {path['fiscal_year'].tolist()}")
        row = chosen.iloc[0]
        rows.append({"fiscal_year": int(fiscal_year), "gdp_growth_pct": 100.0 * float(rate),
                     "gdp_jpy": row["gdp_jpy"], "share_of_gdp_pct": row["share_of_gdp_pct"],
                     "gap_jpy": row["gap_jpy"],
                     "gdp_assumption": gdp_assumption(path, fiscal_year)})
    return pd.DataFrame(rows, columns=["fiscal_year", "gdp_growth_pct", "gdp_jpy",
                                       "share_of_gdp_pct", "gap_jpy", "gdp_assumption"])


def compare_countries(milex: pd.DataFrame, countries: Iterable[str],
                      measure: str = "share_of_gdp") -> pd.DataFrame:
    """One measure for several countries side by side (long form), ranked by year.

    Parameters
    ----------
    milex : the ``sipri_milex`` table.
    countries : ISO3 codes or names (e.g. ``["JPN", "China", "Korea, South"]``).
    measure : one of the MILITARY_EXPENDITURE measures; share_of_gdp and
        share_of_government are returned in percent.

    Returns
    -------
    iso3, country, year, measure, value, unit, missing_marker, rank (1 = highest among
    the chosen countries that year; missing where the value is NaN).
    """
    _choose(measure, MEASURES, "measure")
    wanted = _iso3_codes(countries)
    rows = _measure(milex, measure)
    absent = sorted(set(wanted) - set(rows["iso3"]))
    if absent:
        raise ParameterError(f"no {measure!r} data for {absent}; available: "
                             f"{sorted(rows['iso3'].unique())}")
    rows = rows[rows["iso3"].isin(wanted)].copy()
    if measure.startswith("share_of"):
        rows["value"] = rows["value"] * 100.0
        rows["unit"] = rows["unit"].str.replace("fraction of", "percent of", regex=False)
    rows["rank"] = rows.groupby("year")["value"].rank(ascending=False, method="min")
    rows["rank"] = rows["rank"].astype("Int64")
    columns = ["iso3", "country", "year", "measure", "value", "unit", "missing_marker", "rank"]
    return rows[columns].sort_values(["year", "iso3"]).reset_index(drop=True)
