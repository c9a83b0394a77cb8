"""Trade indicators on small hand-made tables with hand-computed answers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from research.errors import ParameterError
from research.indicators import trade
from research.schemas import TRADE_FLOWS
from research.sources import comtrade_monthly


def flows(rows: list[tuple], freq: str = "M", level: str = "hs6") -> pd.DataFrame:
    """Rows of (partner, product, period, value, quantity) as a tidy trade-flow table."""
    frame = pd.DataFrame(rows, columns=["partner_iso3", "product", "period", "value_usd",
                                        "quantity"])
    frame = frame.assign(reporter_iso3="CHN", flow="export", product_level=level, freq=freq,
                         quantity_unit="kg", source="hand-made")
    frame["period"] = pd.to_datetime(frame["period"])
    frame[["value_usd", "quantity"]] = frame[["value_usd", "quantity"]].astype(float)
    return frame[list(TRADE_FLOWS.columns)]


def test_shares_use_world_row_when_present() -> None:
    table = flows([("JPN", "280530", "2024-01-01", 30, 1), ("USA", "280530", "2024-01-01", 20, 1),
                   ("WLD", "280530", "2024-01-01", 100, 5)])
    shares = trade.destination_shares(table).set_index("partner_iso3")
    # 30 / 100 and 20 / 100: the other 50 went to unlisted partners
    assert shares.loc["JPN", "share"] == pytest.approx(0.3)
    assert shares.loc["USA", "share"] == pytest.approx(0.2)
    assert set(shares["denominator"]) == {"world"}
    assert "WLD" not in shares.index


def test_shares_fall_back_to_partner_sum() -> None:
    table = flows([("JPN", "250410", "2024-01-01", 30, 1), ("KOR", "250410", "2024-01-01", 10, 1)])
    shares = trade.destination_shares(table).set_index("partner_iso3")
    # 30 / (30 + 10) = 0.75, 10 / 40 = 0.25
    assert shares.loc["JPN", "share"] == pytest.approx(0.75)
    assert shares.loc["KOR", "share"] == pytest.approx(0.25)
    assert set(shares["denominator"]) == {"partners"}


def test_hhi_hand_values() -> None:
    table = flows([("JPN", "A", "2024-01-01", 50, 1), ("KOR", "A", "2024-01-01", 50, 1),
                   ("WLD", "A", "2024-01-01", 400, 1),
                   ("JPN", "B", "2024-01-01", 30, 1), ("KOR", "B", "2024-01-01", 10, 1),
                   ("USA", "C", "2024-01-01", 7, 1),
                   ("JPN", "D", "2024-01-01", 7, 1), ("KOR", "D", "2024-01-01", np.nan, 1)])
    hhi = trade.destination_hhi(table).set_index("product")["hhi"]
    assert hhi["A"] == pytest.approx(0.5)  # 0.5^2 + 0.5^2, the world row left out
    assert hhi["B"] == pytest.approx(0.625)  # 0.75^2 + 0.25^2
    assert hhi["C"] == pytest.approx(1.0)  # a single partner
    assert math.isnan(hhi["D"])  # one partner value missing


def test_yoy_growth_monthly_and_annual() -> None:
    monthly = flows([("JPN", "A", "2023-01-01", 100, 1), ("JPN", "A", "2024-01-01", 150, 1),
                     ("JPN", "A", "2024-02-01", 80, 1), ("JPN", "A", "2022-03-01", 0, 0),
                     ("JPN", "A", "2023-03-01", 5, 1)])
    growth = trade.yoy_growth(monthly).set_index("period")["yoy_pct"]
    assert growth[pd.Timestamp("2024-01-01")] == pytest.approx(50.0)  # 150 / 100 - 1
    assert math.isnan(growth[pd.Timestamp("2024-02-01")])  # no 2023-02 row
    assert math.isnan(growth[pd.Timestamp("2023-03-01")])  # base of 0, never inf
    annual = flows([("JPN", "A", "2010-01-01", 200, 1), ("JPN", "A", "2011-01-01", 100, 1)],
                   freq="A")
    growth = trade.yoy_growth(annual).set_index("period")["yoy_pct"]
    assert growth[pd.Timestamp("2011-01-01")] == pytest.approx(-50.0)  # 100 / 200 - 1


def test_rolling_sum_needs_every_month() -> None:
    table = flows([("JPN", "A", "2024-01-01", 1, 1), ("JPN", "A", "2024-02-01", 2, 1),
                   ("JPN", "A", "2024-03-01", 3, 1), ("JPN", "A", "2024-04-01", 4, 1),
                   ("KOR", "A", "2024-01-01", 1, 1), ("KOR", "A", "2024-02-01", 2, 1),
                   ("KOR", "A", "2024-04-01", 4, 1)])
    rolled = trade.rolling_sum(table, months=3)
    japan = rolled[rolled["partner_iso3"].eq("JPN")].set_index("period")["value_usd_sum_3m"]
    assert japan.isna().tolist()[:2] == [True, True]
    assert japan[pd.Timestamp("2024-03-01")] == 6.0  # 1 + 2 + 3
    assert japan[pd.Timestamp("2024-04-01")] == 9.0  # 2 + 3 + 4
    korea = rolled[rolled["partner_iso3"].eq("KOR")].set_index("period")["value_usd_sum_3m"]
    assert math.isnan(korea[pd.Timestamp("2024-04-01")])  # March is missing
    assert len(rolled) == len(table)


def test_rolling_sum_rejects_annual_rows_and_bad_window() -> None:
    annual = flows([("JPN", "A", "2010-01-01", 1, 1)], freq="A")
    with pytest.raises(ParameterError, match="monthly"):
        trade.rolling_sum(annual)
    with pytest.raises(ParameterError, match="positive integer"):
        trade.rolling_sum(flows([("JPN", "A", "2010-01-01", 1, 1)]), months=0)


def test_unit_values_never_infinite() -> None:
    table = flows([("JPN", "A", "2024-01-01", 100, 50), ("JPN", "B", "2024-01-01", 100, 0),
                   ("JPN", "C", "2024-01-01", 100, np.nan)])
    values = trade.unit_values(table).set_index("product")["unit_value_usd_per_kg"]
    assert values["A"] == 2.0  # 100 USD / 50 kg
    assert math.isnan(values["B"]) and math.isnan(values["C"])


def test_import_dependence() -> None:
    exports = flows([("JPN", "280530", "2024-01-01", 40, 1), ("KOR", "280530", "2024-01-01", 9, 1),
                     ("WLD", "280530", "2024-01-01", 100, 1)], freq="A")
    totals = pd.DataFrame({"reporter_iso3": ["JPN", "KOR"], "partner_iso3": ["WLD", "WLD"],
                           "flow": ["import", "import"], "product": ["280530", "280530"],
                           "period": pd.to_datetime(["2024-01-01", "2024-01-01"]),
                           "value_usd": [160.0, 0.0]})
    result = trade.import_dependence(exports, totals).set_index("importer_iso3")
    assert result.loc["JPN", "dependence"] == pytest.approx(0.25)  # 40 / 160
    assert math.isnan(result.loc["KOR", "dependence"])  # total of 0
    assert result.loc["JPN", "exporter_iso3"] == "CHN" and len(result) == 2


def test_aggregate_basket_sums_and_propagates_missing() -> None:
    table = flows([("JPN", "280530", "2024-01-01", 10, 1), ("JPN", "284690", "2024-01-01", 20, 2),
                   ("JPN", "850511", "2024-01-01", 1000, 3),
                   ("KOR", "280530", "2024-01-01", 5, np.nan), ("KOR", "284690", "2024-01-01", 6, 1)])
    basket = trade.aggregate_basket(table, ["280530", "284690"], name="rare_earths")
    TRADE_FLOWS.validate(basket)
    japan = basket[basket["partner_iso3"].eq("JPN")].iloc[0]
    assert japan["value_usd"] == 30.0 and japan["quantity"] == 3.0  # 10 + 20, 1 + 2
    korea = basket[basket["partner_iso3"].eq("KOR")].iloc[0]
    assert korea["value_usd"] == 11.0 and math.isnan(korea["quantity"])
    assert set(basket["product"]) == {"rare_earths"}
    with pytest.raises(ParameterError, match="six-digit"):
        trade.aggregate_basket(table, ["2805"])


def test_missing_column_is_a_parameter_error() -> None:
    table = flows([("JPN", "A", "2024-01-01", 1, 1)]).drop(columns=["partner_iso3"])
    with pytest.raises(ParameterError, match="partner_iso3"):
        trade.destination_shares(table)


def test_yoy_on_real_monthly_rows(raw_dir: Path) -> None:
    table = comtrade_monthly.read_comtrade_tables(raw_dir / comtrade_monthly.FOLDER)
    growth = trade.yoy_growth(table[table["product"].eq("811292")])
    row = growth[growth["partner_iso3"].eq("JPN")
                 & growth["period"].eq(pd.Timestamp("2023-12-01"))].iloc[0]
    # deep_dive_hs6_monthly.csv: 2023-12-01,Japan,811292,395396.0 and 2022-12-01,Japan,811292,239444.0
    assert row["yoy_pct"] == pytest.approx((395396.0 / 239444.0 - 1) * 100)


def test_trailing_windows() -> None:
    before, latest = trade.trailing_windows("2024-12-01")
    assert latest == (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-01"))
    assert before == (pd.Timestamp("2023-01-01"), pd.Timestamp("2023-12-01"))
    before, latest = trade.trailing_windows("2024-05-17", months=3)  # day ignored
    assert latest == (pd.Timestamp("2024-03-01"), pd.Timestamp("2024-05-01"))
    assert before == (pd.Timestamp("2023-03-01"), pd.Timestamp("2023-05-01"))
    with pytest.raises(ParameterError, match="months"):
        trade.trailing_windows("2024-12-01", months=13)


def test_price_quantity_split_by_hand() -> None:
    table = flows([
        ("JPN", "280530", "2023-01-01", 60, 2), ("JPN", "280530", "2023-02-01", 40, 3),
        ("JPN", "280530", "2024-01-01", 30, 4), ("JPN", "280530", "2024-02-01", 20, 2),
        ("JPN", "850511", "2023-01-01", 10, 1), ("JPN", "850511", "2024-01-01", math.nan, 1),
        ("JPN", "250410", "2023-01-01", 5, 0), ("JPN", "250410", "2024-01-01", 5, 1),
    ])
    split = trade.price_quantity_split(table, ("2023-01", "2023-02"), ("2024-01", "2024-02"))
    split = split.set_index("product")
    row = split.loc["280530"]
    # value 100 -> 50 (-50%), quantity 5 -> 6 kg (+20%), unit value 20 -> 8.333 USD/kg
    # (-58.33%); ln 0.5 = -0.6931 = ln 1.2 (+0.1823) + ln(8.333/20) (-0.8755)
    assert (row["value_usd_base"], row["value_usd_current"]) == (100, 50)
    assert row["value_change_pct"] == pytest.approx(-50.0)
    assert row["quantity_change_pct"] == pytest.approx(20.0)
    assert row["unit_value_change_pct"] == pytest.approx(100 * (50 / 6 / 20 - 1))
    assert row["value_log_change"] == pytest.approx(math.log(0.5))
    assert row["quantity_log_change"] + row["unit_value_log_change"] == pytest.approx(
        row["value_log_change"])
    assert row["driver"] == "unit value"
    # a missing value in the window gives NaN (not 0) and no driver
    assert math.isnan(split.at["850511", "value_usd_current"])
    assert pd.isna(split.at["850511", "driver"])
    # a zero base quantity: no unit value, no split (never inf); value 5 -> 5 is 0%
    assert math.isnan(split.at["250410", "unit_value_base"])
    assert split.at["250410", "value_change_pct"] == pytest.approx(0.0)
    assert pd.isna(split.at["250410", "driver"])
    with pytest.raises(ParameterError, match="starts"):
        trade.price_quantity_split(table, ("2023-02", "2023-01"), ("2024-01", "2024-02"))


def test_within_shares_by_hand() -> None:
    table = pd.DataFrame({"group": ["a", "a", "b", "b"], "value_usd_base": [30.0, 70, 5, math.nan],
                          "value_usd_current": [1.0, 3, 2, 2]})
    shares = trade.within_shares(table, ["group"])
    # a: 30 / 100, 70 / 100; 1 / 4, 3 / 4. b: a missing base value leaves both NaN.
    assert shares["value_usd_base_share"].tolist()[:2] == pytest.approx([0.3, 0.7])
    assert shares["value_usd_current_share"].tolist() == pytest.approx([0.25, 0.75, 0.5, 0.5])
    assert shares["value_usd_base_share"].iloc[2:].isna().all()
