"""Notebook views: values checked against sums taken by hand from the raw CSV files."""

import pandas as pd
import pytest

from research import datasets
from research.errors import ParameterError
from research.overview import (
    basket_destinations,
    basket_monthly,
    defense_summary,
    importer_exposure,
    measures_on,
)


def test_japan_rare_earth_exposure_2024():
    exposure = importer_exposure("JPN", ["rare_earths"]).iloc[0]
    # awk over country_monthly_stats.csv: Rare Earths, Japan, 2024-01..2024-12, sum of val
    assert exposure["value_usd_latest"] == pytest.approx(346_179_781.0)
    # awk over overview_monthly.csv: Rare Earths, 2024, sum of total_value
    assert exposure["world_value_usd_latest"] == pytest.approx(3_521_764_816.0)
    assert exposure["share_latest"] == pytest.approx(346_179_781.0 / 3_521_764_816.0)


def test_basket_monthly_checks_destinations():
    with pytest.raises(ParameterError, match=r"\['THA'\].*graphite"):
        basket_monthly("graphite", ["JPN", "THA"])
    table = basket_monthly("graphite", ["JPN"], "2023-01", "2023-12")
    assert set(table["partner_iso3"]) == {"JPN", "WLD"}
    assert table["period"].min().strftime("%Y-%m") == "2023-01"


def test_destinations_use_the_most_complete_source():
    _, note = basket_destinations("rare_earths", 2024)
    assert note.startswith("WITS annual")
    _, note = basket_destinations("graphite", 2024)
    assert "monthly HS6" in note


def test_measures_on_a_basket():
    assert [m[1] for m in measures_on("graphite")] == ["B2"]


def test_defense_summary_japan_share():
    table = defense_summary(["JPN", "CHN"], 1990, 2024).set_index("iso3")
    # SIPRI share of GDP sheet, Japan 2024: 0.013714 (fraction) = 1.3714 %
    assert table.loc["JPN", "share_of_gdp_pct_2024"] == pytest.approx(1.3714, abs=1e-4)
    with pytest.raises(ParameterError, match="start_year"):
        defense_summary(["JPN"], 2024, 2020)


def test_latest_end_is_the_last_month_of_the_data():
    from research.overview import latest_month

    flows = datasets.load("china_exports_monthly")
    # the bundled monthly table ends in December 2024 (data/SOURCES.md)
    assert latest_month(flows) == pd.Timestamp("2024-12-01")
    latest = basket_monthly("graphite", ["JPN"], "2024-01", "latest", flows=flows)
    fixed = basket_monthly("graphite", ["JPN"], "2024-01", "2024-12", flows=flows)
    pd.testing.assert_frame_equal(latest, fixed)
    cut = flows[flows["period"] <= "2024-06-01"]
    assert basket_monthly("graphite", ["JPN"], "2024-01", "latest",
                          flows=cut)["period"].max() == pd.Timestamp("2024-06-01")


def test_graphite_growth_notes_name_the_front_loading_and_the_collapse():
    from research.overview import touching_events

    # B2 (licensing, basket graphite) and B5 (ban, graphite among its baskets) touch the
    # group; B4 (a legal text) does not count
    touching = set(touching_events("graphite")["event_id"])
    assert {"B2", "B5"} <= touching and "B4" not in touching
    table = basket_monthly("graphite", ["JPN"], "2024-01", "2024-12")
    world = table[table["partner_iso3"].eq("WLD")].set_index("period")
    # overview_monthly.csv, Graphite total_value: Dec 2022-Nov 2023 sorted, the middle pair
    # 128,448,676 and 129,055,617 -> median 128,752,146.5; Dec 2023 50,267,224 is 0.390x it.
    # Nov 2023 (176,007,888) is 1.367x its median (the same middle pair): not an outlier by
    # the 2x rule, but it is in B2's anticipation months (announced 2023-10-20).
    november, december = world.loc["2024-11-01"], world.loc["2024-12-01"]
    assert november["yoy_flag"] and december["yoy_flag"]
    # Nov 2024 (86,720,707) against Nov 2023-Oct 2024: middle pair 77,151,905 and 80,701,125
    # -> 1.10x, not an outlier either; so the note names only the B2 window
    assert "median" not in november["yoy_note"]
    assert "anticipation months of B2" in november["yoy_note"]
    assert "base month 2023-12 is 0.39x the median" in december["yoy_note"]
    # Jun 2024 against Jun 2023: no note
    assert not world.loc["2024-06-01", "yoy_flag"]
