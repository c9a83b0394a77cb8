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
                                                "gap_jpy"]


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
    wb_path = defense.japan_budget_path(bundled["budget"], bundled["milex"], bundled["fx"],
                                        gdp=bundled["gdp"]).set_index("fiscal_year")
    # World Bank 2023: 4.212945e12 US$ x 140.5001 = 5.9192e14 yen; 6.8e12 / that = 1.149%
    assert wb_path.at[2023, "share_of_gdp_pct"] == pytest.approx(1.149, abs=0.001)
    assert "World Bank" in wb_path.at[2023, "gdp_basis"]
    assert "projected" in wb_path.at[2024, "gdp_basis"]
