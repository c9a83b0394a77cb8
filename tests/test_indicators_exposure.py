"""Japan's exposure split into quantity and unit value, checked against the raw tables."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from research import datasets
from research.indicators import exposure, trade
from research.reference import baskets
from research.sources import comtrade_monthly, wits

GROUPS = ["rare_earths", "gallium_germanium", "graphite", "polysilicon"]

# Rare earths to Japan, monthly group panel (raw country_monthly_stats.csv, rows
# broad_group = "Rare Earths", partner_name = "Japan"), summed by hand over the months:
#   2023 val: 58,910,070 + 54,906,828 + 66,619,637 + 71,756,700 + 58,123,465 + 40,925,175
#             + 46,332,466 + 43,985,646 + 49,390,931 + 34,565,187 + 37,548,023 + 36,493,911
#             = 599,558,039 USD
#   2024 val: 39,610,340 + 23,676,629 + 39,605,081 + 20,516,162 + 28,623,491 + 31,410,412
#             + 26,794,048 + 23,742,745 + 29,235,205 + 27,060,998 + 23,764,270 + 32,140,400
#             = 346,179,781 USD
#   2023 qty: 1,180,208.570 + 733,588.656 + ... + 1,237,100 = 15,795,451.816 kg
#   2024 qty: 1,737,446.349 + 1,001,644 + ... + 1,364,216 = 17,851,151.387 kg
# value 346,179,781 / 599,558,039 = 0.57739 -> -42.26%
# quantity 17,851,151.387 / 15,795,451.816 = 1.13015 -> +13.01%
# unit value 346,179,781 / 17,851,151.387 = 19.393 USD/kg against
#            599,558,039 / 15,795,451.816 = 37.958 USD/kg; 19.393 / 37.958 = 0.51090 -> -48.91%
# log points: ln 0.57739 = -0.5492 = ln 1.13015 (+0.1223) + ln 0.51090 (-0.6716)
RARE_EARTHS = {"value_change_pct": -42.26, "quantity_change_pct": 13.01,
               "unit_value_change_pct": -48.91, "value_log_change": -0.5492,
               "quantity_log_change": 0.1223, "unit_value_log_change": -0.6716}

# The same group line by line, annual WITS (raw china_ree_exports_wits_2010_2024_long.csv,
# China -> Japan), USD and kg:
#   280530 2023: 198,761,950  5,768,440   2024: 58,231,290   4,975,850
#   284690 2023: 218,657,480  4,866,980   2024: 134,190,360  7,933,100
#   850511 2023: 182,056,140  5,155,330   2024: 153,758,140  4,940,780
# (the three lines add up to 599,475,570 USD and 346,179,790 USD: the monthly group to
# within 0.02%). Magnets' share of the value: 182,056,140 / 599,475,570 = 30.37% in 2023,
# 153,758,140 / 346,179,790 = 44.42% in 2024.
# Excluding magnets (280530 + 284690): value 417,419,430 -> 192,421,650 = -53.90%;
# quantity 10,635,420 -> 12,908,950 kg = +21.38%; unit value 39.248 -> 14.906 USD/kg
# = -62.02%. Compounds 284690: value 134,190,360 / 218,657,480 - 1 = -38.63%, quantity
# 7,933,100 / 4,866,980 - 1 = +63.00%. Metals 280530: value 58,231,290 / 198,761,950 - 1 = -70.70%, quantity
# 4,975,850 / 5,768,440 - 1 = -13.74%. Magnets 850511: value -15.54%, quantity
# 4,940,780 / 5,155,330 - 1 = -4.16%.
LINES = {"280530": (-70.70, -13.74), "284690": (-38.63, 63.00), "850511": (-15.54, -4.16),
         "rare_earths excl. magnets": (-53.90, 21.38)}


def _check(monthly: pd.DataFrame, annual: pd.DataFrame, lines: pd.DataFrame) -> None:
    groups = exposure.group_price_quantity(monthly, "JPN", lines).set_index("product")
    rare = groups.loc["rare_earths"]
    for column, expected in RARE_EARTHS.items():
        assert rare[column] == pytest.approx(expected, abs=0.005), column
    assert rare["value_usd_base"] == 599_558_039 and rare["value_usd_current"] == 346_179_781
    assert rare["driver"] == "unit value"
    assert "850511 magnets" in rare["product_label"] and rare["includes_magnets"]
    assert rare["mixed_scope_lines"] == "280530;284690;850511"
    assert rare["window"] == "2024-01 to 2024-12 against 2023-01 to 2023-12"
    assert not groups.loc["graphite", "includes_magnets"]
    by_line = exposure.line_price_quantity(annual, monthly, "JPN", lines)
    annual_lines = by_line[by_line["source"].eq("WITS annual HS6")].set_index("product")
    for product, (value, quantity) in LINES.items():
        assert annual_lines.at[product, "value_change_pct"] == pytest.approx(value, abs=0.005)
        assert annual_lines.at[product, "quantity_change_pct"] == pytest.approx(quantity,
                                                                                abs=0.005)
    magnets = annual_lines.loc["850511"]
    assert magnets["value_usd_base_share"] == pytest.approx(0.3037, abs=5e-5)
    assert magnets["value_usd_current_share"] == pytest.approx(0.4442, abs=5e-5)
    assert magnets["product_label"] == "850511 magnets (all metal permanent magnets)"
    assert not annual_lines.at["rare_earths excl. magnets", "includes_magnets"]
    # 811292 is one of six Ga/Ge lines: no share of the group is claimed for it
    hs6 = by_line[by_line["source"].eq("Comtrade monthly HS6")].set_index("product")
    assert math.isnan(hs6.at["811292", "value_usd_base_share"])
    assert set(hs6.index) == {"250410", "380110", "811292"}


@pytest.mark.shared
def test_rare_earths_split_against_raw_tables(raw_dir: Path) -> None:
    _check(comtrade_monthly.build(raw_dir), wits.build(raw_dir), baskets.group_lines(GROUPS))


def test_rare_earths_split_on_bundled_tables() -> None:
    _check(datasets.load("china_exports_monthly"), datasets.load("china_exports_annual"),
           baskets.group_lines(GROUPS, datasets.load("hs_baskets", user=False)))


def test_describe_rare_earths() -> None:
    groups = exposure.group_price_quantity(datasets.load("china_exports_monthly"), "JPN",
                                           baskets.group_lines(["rare_earths"]))
    (text,) = trade.describe_price_quantity(groups, "product_label")
    assert text.startswith("rare_earths incl. 850511 magnets")
    assert "value -42.3% = quantity +13.0% and unit value -48.9%" in text
    assert "(log points -0.549 = +0.122 - 0.672); driven by unit value." in text
