"""Quality flags: unit-value breaks and year-on-year growth against an unusual month.

Numbers are derived by hand (awk and arithmetic in the comments) from the raw files in
``../shared/data/raw/trade``, never from the code's output.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from research import datasets
from research.errors import ParameterError
from research.indicators import quality
from research.overview import event_windows
from research.schemas import TRADE_FLOWS

WITS_LONG = Path("trade/china_ree_wits_annual/china_ree_exports_wits_2010_2024_long.csv")
DEEP_DIVE = Path("trade/china_critical_minerals_comtrade_monthly/deep_dive_hs6_monthly.csv")


def flows(rows: list[tuple], freq: str = "A") -> pd.DataFrame:
    """Rows of (partner, product, period, value, quantity) as a tidy trade-flow table."""
    frame = pd.DataFrame(rows, columns=["partner_iso3", "product", "period", "value_usd",
                                        "quantity"])
    frame = frame.assign(reporter_iso3="CHN", flow="export", product_level="hs6", freq=freq,
                         quantity_unit="kg", source="hand-made")
    frame["period"] = pd.to_datetime(frame["period"])
    frame[["value_usd", "quantity"]] = frame[["value_usd", "quantity"]].astype(float)
    return frame[list(TRADE_FLOWS.columns)]


def test_a_quantity_break_is_flagged_and_a_price_spike_is_not() -> None:
    # unit values 10, 10, 50, 10, 10 at a steady value of 100: the quantity breaks (2 kg)
    quantity_error = [("WLD", "A", f"{year}-01-01", 100, q)
                      for year, q in zip(range(2010, 2015), (10, 10, 2, 10, 10), strict=True)]
    # value 100, 100, 500, 100, 100 at 10 kg: the price moves, the value with it
    price_spike = [("WLD", "B", f"{year}-01-01", v, 10)
                   for year, v in zip(range(2010, 2015), (100, 100, 500, 100, 100), strict=True)]
    breaks = quality.unit_value_breaks(flows(quantity_error + price_spike))
    assert list(breaks["product"]) == ["A"]
    row = breaks.iloc[0]
    assert row["period"] == pd.Timestamp("2012-01-01")
    assert row["unit_value_usd_per_kg"] == pytest.approx(50.0)
    assert row["neighbour_unit_value"] == pytest.approx(10.0)  # median of 10, 10, 10, 10
    assert row["unit_value_ratio"] == pytest.approx(5.0)
    assert row["value_ratio"] == pytest.approx(1.0)
    assert row["quantity_ratio"] == pytest.approx(0.2)  # 2 / 10
    assert "quantity recording error" in row["reason"]


def test_first_and_last_periods_are_not_judged() -> None:
    # the break sits in the first year: its neighbours lie on one side only
    table = flows([("WLD", "A", f"{year}-01-01", 100, q)
                   for year, q in zip(range(2010, 2014), (2, 10, 10, 10), strict=True)])
    assert quality.unit_value_breaks(table).empty


def test_unit_value_breaks_checks_parameters() -> None:
    table = flows([("WLD", "A", "2010-01-01", 100, 10)])
    with pytest.raises(ParameterError, match="threshold"):
        quality.unit_value_breaks(table, threshold=0.5)
    with pytest.raises(ParameterError, match="min_neighbours"):
        quality.unit_value_breaks(table, neighbours=1, min_neighbours=3)


def _check_284690_world(breaks: pd.DataFrame) -> None:
    # World rows of HS 284690 in china_ree_exports_wits_2010_2024_long.csv (USD; kg):
    #   2010 601,539,710 / 23,377,900 = 25.731    2011 1,851,863,460 / 10,867,200 = 170.409
    #   2012 588,772,230 /  8,201,510 = 71.788    2013   423,762,840 / 15,195,300 = 27.888
    #   2014 260,268,480 / 17,409,700 = 14.950    2015   255,446,260 / 21,609,900 = 11.821
    #   2016 230,747,870 /  5,059,240 = 45.609    2017   300,808,390 / 35,150,200 =  8.558
    #   2018 326,362,030 / 34,424,500 =  9.481    2019   305,852,420 / 30,636,600 =  9.983
    # 2016: neighbours' unit values 14.950, 11.821, 8.558, 9.481 -> median
    #   (9.481 + 11.821) / 2 = 10.651; ratio 45.609 / 10.651 = 4.282 >= 3;
    #   neighbours' values sorted 255.45, 260.27, 300.81, 326.36 M -> median 280.538 M;
    #   value ratio 230.748 / 280.538 = 0.8225: |ln 0.8225| = 0.195 <= |ln 4.282| / 2 = 0.727;
    #   quantities sorted 17.41, 21.61, 34.42, 35.15 kt -> median 28.017 kt, 5.059 / 28.017
    #   = 0.1806.  Flagged.
    # 2015: neighbours 27.888, 14.950, 45.609, 8.558 -> median (14.950 + 27.888) / 2 = 21.419,
    #   ratio 0.552; 2017: neighbours 11.821, 45.609, 9.481, 9.983 -> median 10.902, ratio
    #   0.785. Neither flagged: the median is not moved by the one broken year.
    # 2011 (the rare-earth price spike): neighbours 25.731, 71.788, 27.888 -> median 27.888,
    #   ratio 6.11, but value 1,851.9 M against median(601.5, 588.8, 423.8) = 588.8 M is
    #   3.145x: |ln 3.145| = 1.146 > |ln 6.11| / 2 = 0.905, a price movement. Not flagged.
    # 2010 is the first year: not judged.
    world = breaks[breaks["partner_iso3"].eq("WLD") & breaks["product"].eq("284690")]
    assert list(world["period"].dt.year) == [2016]
    row = world.iloc[0]
    assert row["value_usd"] == pytest.approx(230_747_870.0)
    assert row["quantity"] == pytest.approx(5_059_240.0)
    assert row["unit_value_usd_per_kg"] == pytest.approx(45.609, abs=1e-3)
    assert row["neighbour_unit_value"] == pytest.approx(10.651, abs=1e-3)
    assert row["unit_value_ratio"] == pytest.approx(4.282, abs=1e-3)
    assert row["value_ratio"] == pytest.approx(0.8225, abs=1e-4)
    assert row["quantity_ratio"] == pytest.approx(0.1806, abs=1e-4)
    assert row["n_neighbours"] == 4


def test_world_284690_in_2016_is_flagged_in_the_bundled_annual_table() -> None:
    annual = datasets.load("china_exports_annual")
    _check_284690_world(quality.unit_value_breaks(annual[annual["partner_iso3"].eq("WLD")]))


def test_world_284690_in_2016_is_flagged_in_the_raw_wits_file(raw_dir: Path) -> None:
    raw = pd.read_csv(raw_dir / WITS_LONG, dtype={"hs6": str})
    world = raw[raw["is_world_total"].eq(1)]
    table = flows([("WLD", row.hs6, f"{row.year}-01-01", row.export_value_usd, row.quantity)
                   for row in world.itertuples()])
    _check_284690_world(quality.unit_value_breaks(table))


def test_event_windows_of_graphite_licensing() -> None:
    windows = event_windows("250410").set_index(["event_id", "phase"])
    # B2: announced 2023-10-20, effective 2023-12-01 -> anticipation Oct-Nov 2023,
    # impact (the first 3 months) Dec 2023-Feb 2024
    assert windows.loc[("B2", "anticipation"), "start"] == pd.Timestamp("2023-10-01")
    assert windows.loc[("B2", "anticipation"), "end"] == pd.Timestamp("2023-11-01")
    assert windows.loc[("B2", "impact"), "start"] == pd.Timestamp("2023-12-01")
    assert windows.loc[("B2", "impact"), "end"] == pd.Timestamp("2024-02-01")
    # B5 (announced and effective 2024-12-03) has no anticipation months
    assert ("B5", "anticipation") not in windows.index
    assert windows.loc[("B5", "impact"), "start"] == pd.Timestamp("2024-12-01")


def _natural_graphite(monthly: pd.DataFrame) -> pd.DataFrame:
    """HS 250410 summed over the listed partners, one tidy series."""
    rows = monthly[monthly["product"].eq("250410")]
    summed = rows.groupby("period", as_index=False)[["value_usd", "quantity"]].sum()
    return flows([("ALL", "250410", row.period, row.value_usd, row.quantity)
                  for row in summed.itertuples()], freq="M")


def _check_250410_growth(series: pd.DataFrame) -> None:
    # awk -F, '$3==250410 {v[$1]+=$4} ...' deep_dive_hs6_monthly.csv, USD summed over partners:
    #   2022-11 31,792,460  2022-12 31,907,572  2023-01 26,575,381  2023-02 18,233,381
    #   2023-03 27,760,230  2023-04 19,194,097  2023-05 21,307,565  2023-06 21,072,926
    #   2023-07 19,346,201  2023-08 20,246,354  2023-09 16,583,088  2023-10 16,327,607
    #   2023-11 49,514,737  2023-12  2,968,568  2024-11 20,065,455  2024-12 18,105,451
    # Nov 2023 against Nov 2022-Oct 2023: the two middle values of the 12 sorted are
    #   20,246,354 and 21,072,926 -> median 20,659,640; ratio 49,514,737 / 20,659,640 = 2.397
    # Dec 2023 against Dec 2022-Nov 2023 (31.79 M out, 49.51 M in, same middle pair):
    #   2,968,568 / 20,659,640 = 0.1437
    # growth Nov 2024: 20,065,455 / 49,514,737 - 1 = -59.48 %;
    #        Dec 2024: 18,105,451 /  2,968,568 - 1 = +509.9 %
    growth = quality.yoy_growth_flags(series, windows=event_windows("250410"))
    growth = growth.set_index("period")
    november, december = growth.loc["2024-11-01"], growth.loc["2024-12-01"]
    assert november["yoy_pct"] == pytest.approx(-59.48, abs=0.01)
    assert december["yoy_pct"] == pytest.approx(509.9, abs=0.1)
    assert november["base_ratio"] == pytest.approx(2.397, abs=1e-3)
    assert december["base_ratio"] == pytest.approx(0.1437, abs=1e-4)
    assert november["flag"] and december["flag"]
    assert "base month 2023-11 is 2.40x the median" in november["note"]
    assert "anticipation months of B2" in november["note"]
    assert "base month 2023-12 is 0.14x the median" in december["note"]
    assert "first 3 months of B2" in december["note"]
    assert "current month 2024-12 is in the first 3 months of B5" in december["note"]
    # an ordinary month: Jun 2024 against Jun 2023, neither month unusual nor in a window
    assert not growth.loc["2024-06-01", "flag"]
    assert growth.loc["2024-06-01", "note"] == ""
    # quantity: 40,517,966 kg in Nov 2023 against the Nov 2022-Oct 2023 median, the mean of
    # 12,731,341 and 12,905,381 = 12,818,361 kg -> 3.161x (the "40.5 kt against ~12 kt")
    by_quantity = quality.yoy_growth_flags(series, "quantity").set_index("period")
    assert by_quantity.loc["2024-11-01", "base_ratio"] == pytest.approx(3.161, abs=1e-3)


def test_natural_graphite_growth_against_front_loading_is_flagged_bundled() -> None:
    _check_250410_growth(_natural_graphite(datasets.load("china_exports_monthly")))


def test_natural_graphite_growth_against_front_loading_is_flagged_raw(raw_dir: Path) -> None:
    raw = pd.read_csv(raw_dir / DEEP_DIVE, dtype={"hs6": str}, parse_dates=["period_dt"])
    raw = raw.rename(columns={"period_dt": "period", "hs6": "product", "val": "value_usd",
                              "qty": "quantity"})
    _check_250410_growth(_natural_graphite(raw))


def test_month_outliers_hand_values() -> None:
    # 12 months of 10, then 25 (2.5x the median 10) and 10 (median still 10)
    values = [10] * 12 + [25, 10]
    periods = pd.date_range("2022-01-01", periods=14, freq="MS")
    table = flows([("WLD", "A", p, v, 1) for p, v in zip(periods, values, strict=True)],
                  freq="M")
    outliers = quality.month_outliers(table).set_index("period")
    assert outliers.loc["2023-01-01", "ratio"] == pytest.approx(2.5)
    assert outliers.loc["2023-01-01", "outlier"]
    assert not outliers.loc["2023-02-01", "outlier"]
    # the first months have fewer than 6 months before them: no median, no outlier
    assert pd.isna(outliers.loc["2022-03-01", "trailing_median"])
    with pytest.raises(ParameterError, match="monthly"):
        quality.month_outliers(table.assign(freq="A"))


def test_japan_exposure_lists_the_world_284690_break_outside_the_compared_years() -> None:
    from research.indicators.exposure import quantity_breaks
    from research.reference.baskets import group_lines

    breaks = quantity_breaks(datasets.load("china_exports_annual"),
                             datasets.load("china_exports_monthly"), "JPN",
                             group_lines(["rare_earths"]))
    wits = breaks[breaks["source"].eq("WITS annual HS6")]
    # the 2016 world record derived in _check_284690_world; the split compares 2024 with 2023
    _check_284690_world(wits)
    assert not wits.loc[wits["partner_iso3"].eq("WLD"), "in_compared_window"].any()
