"""Defence indicators: hand-computed values on small tables and on the bundled data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from research.errors import ParameterError
from research.indicators import defense
from research.sources import fred, japan_budget, sipri, worldbank


def milex_rows(rows: list[tuple]) -> pd.DataFrame:
    """A small MILITARY_EXPENDITURE-shaped table from (iso3, year, measure, value, marker)."""
    return pd.DataFrame({
        "iso3": [r[0] for r in rows], "country": [r[0].title() for r in rows],
        "year": np.array([r[1] for r in rows], dtype="int64"), "measure": [r[2] for r in rows],
        "value": [float(r[3]) for r in rows], "unit": "test",
        "missing_marker": [r[4] for r in rows], "source": "test"})


SMALL = milex_rows([
    ("JPN", 2020, "constant_usd", 100, None), ("JPN", 2021, "constant_usd", 110, None),
    ("JPN", 2022, "constant_usd", 99, None), ("JPN", 2024, "constant_usd", 120, None),
    ("KOR", 2022, "constant_usd", 50, None), ("KOR", 2023, "constant_usd", math.nan, "..."),
    ("JPN", 2023, "current_usd", 4000, None), ("JPN", 2023, "share_of_gdp", 0.01, None),
    ("KOR", 2023, "share_of_gdp", 0.025, None), ("JPN", 2023, "per_capita_usd", 300, None),
])
FX = pd.DataFrame({"country": "Japan", "iso3": "JPN", "currency": "JPY",
                   "year": np.array([2023], dtype="int64"), "rate": [150.0], "quote": "per USD"})
BUDGET = pd.DataFrame({"fiscal_year": np.array([2023, 2025], dtype="int64"),
                       "amount_jpy": [6e11, 7e11]})


def test_share_of_gdp_in_percent() -> None:
    shares = defense.share_of_gdp(SMALL)
    assert shares.set_index("iso3").share_of_gdp_pct.to_dict() == pytest.approx(
        {"JPN": 1.0, "KOR": 2.5})


def test_real_growth_by_hand() -> None:
    growth = defense.real_growth(SMALL).set_index(["iso3", "year"]).growth_pct
    # 100 -> 110: +10%; 110 -> 99: -10%; 2024 has no 2023 row: NaN; KOR 2023 is '...'.
    assert growth[("JPN", 2021)] == pytest.approx(10.0)
    assert growth[("JPN", 2022)] == pytest.approx(-10.0)
    assert math.isnan(growth[("JPN", 2020)]) and math.isnan(growth[("JPN", 2024)])
    assert math.isnan(growth[("KOR", 2023)])
    with pytest.raises(ParameterError, match="constant_usd"):
        defense.real_growth(SMALL, base="share_of_gdp")  # type: ignore[arg-type]


def test_real_growth_table_by_hand() -> None:
    growth = defense.real_growth_table(SMALL, ["KOR", "Japan"], 2021, 2023)
    # Countries in the order asked for (KOR first), years 2021-2023 only. KOR 2022 has no
    # 2021 row: NaN; KOR 2023 is SIPRI's '...': NaN with the marker kept. JPN 2023 has no
    # constant_usd row at all, so it is absent (not zero).
    assert growth[["iso3", "year"]].values.tolist() == [["KOR", 2022], ["KOR", 2023],
                                                        ["JPN", 2021], ["JPN", 2022]]
    assert growth["missing_marker"].tolist()[1] == "..."
    assert set(growth["basis"]) == {"real (constant prices)"}
    wide = defense.growth_by_year(growth)
    # the table a reader sees: numbers, not the basis label. JPN 110/100 - 1 = +10%,
    # 99/110 - 1 = -10%.
    assert list(wide.columns) == ["year", "Kor", "Jpn"]
    assert wide["year"].tolist() == [2021, 2022, 2023]
    assert wide["Jpn"].tolist()[:2] == pytest.approx([10.0, -10.0])
    assert all(pd.api.types.is_float_dtype(wide[c]) for c in ("Kor", "Jpn"))
    assert wide["Kor"].isna().all() and math.isnan(wide["Jpn"].iloc[2])
    with pytest.raises(ParameterError, match="first_year"):
        defense.real_growth_table(SMALL, ["JPN"], 2024, 2020)
    with pytest.raises(ParameterError, match="Atlantis"):
        defense.real_growth_table(SMALL, ["Atlantis"], 2020, 2024)


# SIPRI Military Expenditure Database 2025, sheet "Constant (2023) US$" (US$ m), read by
# hand from ../shared/data/raw/defense/SIPRI-Milex-data-1949-2024_2.xlsx:
#   Japan   2022: 41,782.520  2023: 48,189.109  2024: 58,399.280
#   China   2023: 296,821.378 2024: 317,561.042
#   Russia  2023: 109,203.625 2024: 150,533.997
#   Korea, North: '...' in every year
# Real growth = constant(t) / constant(t-1) - 1:
#   Japan 2024: 58,399.280 / 48,189.109 = 1.21188 -> +21.19%
#   Japan 2023: 48,189.109 / 41,782.520 = 1.15333 -> +15.33%
#   China 2024: 317,561.042 / 296,821.378 = 1.06987 -> +6.99%
#   Russia 2024: 150,533.997 / 109,203.625 = 1.37847 -> +37.85%
SIPRI_REAL_GROWTH_PCT = {("Japan", 2024): 21.19, ("Japan", 2023): 15.33,
                         ("China", 2024): 6.99, ("Russia", 2024): 37.85}


def _check_growth_table(milex: pd.DataFrame) -> None:
    countries = ["JPN", "CHN", "KOR", "TWN", "PRK", "USA", "RUS", "IND", "AUS"]  # the report's
    wide = defense.growth_by_year(defense.real_growth_table(milex, countries, 2015, 2024))
    assert wide["year"].tolist() == list(range(2015, 2025))
    assert list(wide.columns)[:3] == ["year", "Japan", "China"]
    numbers = wide.drop(columns=["year", "Korea, North"])
    assert all(pd.api.types.is_float_dtype(numbers[c]) for c in numbers)
    assert numbers.notna().all().all()
    assert wide["Korea, North"].isna().all()  # '...' stays missing, never 0
    by_year = wide.set_index("year")
    for (country, year), expected in SIPRI_REAL_GROWTH_PCT.items():
        assert by_year.at[year, country] == pytest.approx(expected, abs=0.005), (country, year)


@pytest.mark.shared
def test_growth_table_against_raw_workbook(raw_dir: Path) -> None:
    _check_growth_table(sipri.build_sipri_milex(raw_dir))


def test_growth_table_on_bundled_extract() -> None:
    from research import datasets

    _check_growth_table(datasets.load("sipri_milex", user=False))


def test_per_capita() -> None:
    assert defense.per_capita(SMALL).per_capita_usd.tolist() == [300.0]
    with pytest.raises(ParameterError, match="per_capita_usd"):
        defense.per_capita(SMALL[SMALL.measure != "per_capita_usd"])


def test_japan_budget_path_by_hand() -> None:
    path = defense.japan_budget_path(BUDGET, SMALL, FX, gdp_growth=0.05).set_index("fiscal_year")
    # GDP 2023 = 4,000 US$ m * 1e6 / 0.01 = 4e11 US$; x 150 yen = 6e13 yen.
    # FY2023: 6e11 / 6e13 = 1.0%; gap = 0.02 * 6e13 - 6e11 = 6e11.
    assert path.at[2023, "gdp_jpy"] == pytest.approx(6e13)
    assert path.at[2023, "share_of_gdp_pct"] == pytest.approx(1.0)
    assert path.at[2023, "gap_jpy"] == pytest.approx(6e11)
    # FY2025 projected two years at 5%: 6e13 * 1.05**2 = 6.615e13; 7e11 / 6.615e13 = 1.0582%.
    assert path.at[2025, "gdp_jpy"] == pytest.approx(6.615e13)
    assert path.at[2025, "share_of_gdp_pct"] == pytest.approx(100 * 7e11 / 6.615e13)
    assert "projected" in path.at[2025, "gdp_basis"] and "5%" in path.at[2025, "gdp_basis"]
    assert "projected" not in path.at[2023, "gdp_basis"]
    assert set(path.target_pct) == {2.0}
    assert list(path.reset_index().columns) == ["fiscal_year", "budget_jpy", "gdp_jpy",
                                                "gdp_basis", "share_of_gdp_pct", "target_pct",
                                                "gap_jpy", "gdp_year", "gdp_growth_assumed"]
    # FY2023 uses CY2023's observed GDP; FY2025 the CY2023 level grown at 5%.
    assert path.at[2023, "gdp_year"] == 2023 and math.isnan(path.at[2023, "gdp_growth_assumed"])
    assert path.at[2025, "gdp_year"] == 2023 and path.at[2025, "gdp_growth_assumed"] == 0.05
    path = path.reset_index()
    assert defense.gdp_assumption(path, 2023) == "GDP observed, CY2023"
    assert defense.gdp_assumption(path, 2025) == "GDP = CY2023 grown 5% a year nominal, assumed"
    flat = defense.japan_budget_path(BUDGET, SMALL, FX)
    assert defense.gdp_assumption(flat, 2025) == ("GDP held at its CY2023 level, 0% nominal "
                                                  "growth assumed")
    with pytest.raises(ParameterError, match="2024"):
        defense.gdp_assumption(flat, 2024)


def test_budget_share_sensitivity_by_hand() -> None:
    table = defense.budget_share_sensitivity(BUDGET, SMALL, FX, 2025, [0.0, 0.05])
    # GDP 2023 = 6e13 yen (above). Flat: 7e11 / 6e13 = 1.1667%; at 5% a year for two
    # years: 7e11 / (6e13 * 1.1025) = 7e11 / 6.615e13 = 1.0582%.
    assert table["gdp_growth_pct"].tolist() == [0.0, 5.0]
    assert table["share_of_gdp_pct"].tolist() == pytest.approx([100 * 7e11 / 6e13,
                                                               100 * 7e11 / 6.615e13])
    assert table["gdp_assumption"].str.contains("CY2023").all()
    # an observed year does not depend on the assumption: 6e11 / 6e13 = 1.0% on both rows
    observed = defense.budget_share_sensitivity(BUDGET, SMALL, FX, 2023, [0.0, 0.05])
    assert observed["share_of_gdp_pct"].tolist() == pytest.approx([1.0, 1.0])
    with pytest.raises(ParameterError, match="fiscal_year=2030"):
        defense.budget_share_sensitivity(BUDGET, SMALL, FX, 2030, [0.0])


def test_compare_countries() -> None:
    table = defense.compare_countries(SMALL, ["JPN", "Korea, South"], "share_of_gdp")
    assert table[["iso3", "value", "rank"]].values.tolist() == [["JPN", 1.0, 2], ["KOR", 2.5, 1]]
    with pytest.raises(ParameterError, match="measure"):
        defense.compare_countries(SMALL, ["JPN"], "gdp")
    with pytest.raises(ParameterError, match="CHN"):
        defense.compare_countries(SMALL, ["CHN"], "share_of_gdp")


@pytest.fixture(scope="module")
def bundled(raw_dir: Path) -> dict[str, pd.DataFrame]:
    return {"milex": sipri.build_sipri_milex(raw_dir),
            "budget": japan_budget.build_japan_defense_budget(raw_dir),
            "gdp": worldbank.build_worldbank_gdp(raw_dir),
            "fx": fred.build_fred_fx_annual(raw_dir)}


@pytest.mark.shared
def test_on_bundled_data(bundled: dict[str, pd.DataFrame]) -> None:
    milex = bundled["milex"]
    share = defense.share_of_gdp(milex).set_index(["iso3", "year"]).share_of_gdp_pct
    assert share[("JPN", 2024)] == pytest.approx(1.3714, abs=5e-5)  # 0.013714 (PROVENANCE)
    growth = defense.real_growth(milex).set_index(["iso3", "year"]).growth_pct
    # constant 2023 US$ m: 2024 = 58,399.3, 2023 = 48,189.1; 58399.3 / 48189.1 - 1 = 21.19%
    assert growth[("JPN", 2024)] == pytest.approx(21.19, abs=0.01)


@pytest.mark.shared
def test_japan_path_on_bundled_data(bundled: dict[str, pd.DataFrame]) -> None:
    sipri_path = defense.japan_budget_path(bundled["budget"], bundled["milex"], bundled["fx"])
    fy = sipri_path.set_index("fiscal_year")
    # SIPRI 2024: 55,273.9 US$ m / 0.013714 = 4.0305e12 US$; x 151.4551 JPY/USD
    # = 6.1044e14 yen. FY2024 budget 7.95e12 / 6.1044e14 = 1.302%.
    assert fy.at[2024, "gdp_jpy"] == pytest.approx(6.1044e14, rel=1e-4)
    assert fy.at[2024, "share_of_gdp_pct"] == pytest.approx(1.302, abs=0.001)
    # FY2026 projected flat from 2024: 9.04e12 / 6.1044e14 = 1.481%
    assert fy.at[2026, "share_of_gdp_pct"] == pytest.approx(1.481, abs=0.001)
    assert defense.gdp_assumption(sipri_path, 2026) == ("GDP held at its CY2024 level, 0% "
                                                        "nominal growth assumed")
    # at 3% a year: 6.1044e14 * 1.03**2 = 6.1044e14 * 1.0609 = 6.4761e14; 9.04e12 / that
    # = 1.396%
    grown = defense.budget_share_sensitivity(bundled["budget"], bundled["milex"],
                                             bundled["fx"], 2026, [0.0, 0.03])
    assert grown["share_of_gdp_pct"].tolist() == pytest.approx([1.481, 1.396], abs=0.001)
    wb_path = defense.japan_budget_path(bundled["budget"], bundled["milex"], bundled["fx"],
                                        gdp=bundled["gdp"]).set_index("fiscal_year")
    # World Bank 2023: 4.212945e12 US$ x 140.5001 = 5.9192e14 yen; 6.8e12 / that = 1.149%
    assert wb_path.at[2023, "share_of_gdp_pct"] == pytest.approx(1.149, abs=0.001)
    assert "World Bank" in wb_path.at[2023, "gdp_basis"]
    assert "projected" in wb_path.at[2024, "gdp_basis"]
