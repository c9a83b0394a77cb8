"""SIPRI workbook reader and the bundled sipri_milex extract."""

from __future__ import annotations

import math
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from research import config
from research.errors import ParameterError, SourceFormatError
from research.schemas import MILITARY_EXPENDITURE
from research.sources import sipri

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def workbook(raw_dir: Path) -> Path:
    return raw_dir / sipri.SIPRI_FILE


@pytest.fixture(scope="module")
def extract(raw_dir: Path) -> pd.DataFrame:
    return sipri.build_sipri_milex(raw_dir)


def value(table: pd.DataFrame, iso3: str, measure: str, year: int) -> pd.Series:
    row = table[(table.iso3 == iso3) & (table.measure == measure) & (table.year == year)]
    assert len(row) == 1
    return row.iloc[0]


def test_extract_matches_schema(extract: pd.DataFrame) -> None:
    MILITARY_EXPENDITURE.validate(extract)


def test_extract_stays_under_sipri_limit(extract: pd.DataFrame) -> None:
    # 15 countries x 35 years (1990-2024) x 4 measures + Japan's 35 FY values
    # = 2,100 + 35 = 2,135 values, NaN cells included; SIPRI allows 3,500.
    assert len(extract) == 15 * 35 * 4 + 35
    assert sipri.check_value_limit(extract) <= 3500
    assert extract.groupby(["iso3", "measure"]).size().max() == 35


def test_value_limit_is_enforced() -> None:
    too_many = pd.DataFrame({"value": [0.0] * 3501})
    with pytest.raises(ParameterError, match="3501 data values"):
        sipri.check_value_limit(too_many)


def test_japan_spot_values(extract: pd.DataFrame) -> None:
    # Spot values from raw/defense/PROVENANCE.md (Japan): share of GDP 2024 = 0.013714,
    # 2023 = 0.011395 (a fraction, not percent); current US$ m 2024 = 55,273.9;
    # constant 2023 US$ m 2024 = 58,399.3.
    assert value(extract, "JPN", "share_of_gdp", 2024).value == pytest.approx(0.013714, abs=5e-7)
    assert value(extract, "JPN", "share_of_gdp", 2023).value == pytest.approx(0.011395, abs=5e-7)
    assert value(extract, "JPN", "current_usd", 2024).value == pytest.approx(55273.9, abs=0.05)
    constant = value(extract, "JPN", "constant_usd", 2024)
    assert constant.value == pytest.approx(58399.3, abs=0.05)
    assert constant.unit == "US$ m, constant 2023 prices"
    assert value(extract, "JPN", "share_of_gdp", 2024).unit == "fraction of GDP"


def test_japan_fiscal_year_yen(extract: pd.DataFrame) -> None:
    # JAPAN_DEFENSE_BUDGET_NOTES.md: SIPRI FY2023 = 7.1575 tn yen, FY2024 = 8.7764 tn yen.
    fy2023 = value(extract, "JPN", "local_currency_fy", 2023)
    assert fy2023.value == pytest.approx(7.1575e12)
    assert value(extract, "JPN", "local_currency_fy", 2024).value == pytest.approx(8.7764e12)
    assert "Yen" in fy2023.unit and "Apr-Mar" in fy2023.unit
    assert set(extract.loc[extract.measure == "local_currency_fy", "iso3"]) == {"JPN"}


def test_markers_stay_missing_not_zero(extract: pd.DataFrame) -> None:
    # Sheet 'Share of GDP': year header AR6 = 1990, so AW..BD are 1995..2002; row 123
    # (Viet Nam) holds '...' in AW123:BD123. Russia (row 158) has '...' in AR158 (1990).
    for year in range(1995, 2003):
        row = value(extract, "VNM", "share_of_gdp", year)
        assert math.isnan(row.value) and row.missing_marker == "..."
    russia = value(extract, "RUS", "share_of_gdp", 1990)
    assert math.isnan(russia.value) and russia.missing_marker == "..."
    assert extract.loc[extract.value.notna(), "missing_marker"].isna().all()


def test_artefact_zeros_become_missing(extract: pd.DataFrame, workbook: Path) -> None:
    # Sheet 'Current US$' holds the number 0.0 in AR108 (Korea, North, 1990) and AT158
    # (Russia, 1992) although Russia's 1992 constant-US$ figure is 47,566 m: not real zeros.
    raw = sipri.read_sipri_workbook(workbook, sheets=["current_usd"],
                                    countries=["Korea, North", "Russia"])
    assert value(raw, "PRK", "current_usd", 1990).value == 0.0
    assert value(raw, "RUS", "current_usd", 1992).value == 0.0
    for iso3, year in [("PRK", 1990), ("RUS", 1992)]:
        row = value(extract, iso3, "current_usd", year)
        assert math.isnan(row.value) and pd.isna(row.missing_marker)
    assert not (extract["value"] == 0).any()


def test_full_sheet_counts_and_region_rows(workbook: Path) -> None:
    # PROVENANCE: every country sheet has 174 country rows; Share of GDP holds 8,245
    # numbers, 4,739 '...' and 240 'xxx' (174 x 76 years = 13,224 = 8,245 + 4,739 + 240).
    share = sipri.read_sipri_workbook(workbook, sheets=["share_of_gdp"])
    assert share["country"].nunique() == 174
    assert len(share) == 174 * 76
    assert share["value"].notna().sum() == 8245
    assert share["missing_marker"].value_counts().to_dict() == {"...": 4739, "xxx": 240}
    assert not share["country"].isin(["East Asia", "Africa", "Western Europe"]).any()


def test_xxx_marker_and_former_states(workbook: Path) -> None:
    # Share of GDP: USSR (row 160) has 'xxx' in AT160 (1992); Yemen, North (row 198) has
    # 'xxx' in AR198 (1990).
    table = sipri.read_sipri_workbook(workbook, sheets=["share_of_gdp"],
                                      countries=["USSR", "Yemen, North"])
    ussr = value(table, "SUN", "share_of_gdp", 1992)
    north_yemen = value(table, "YAR", "share_of_gdp", 1990)
    assert math.isnan(ussr.value) and ussr.missing_marker == "xxx"
    assert math.isnan(north_yemen.value) and north_yemen.missing_marker == "xxx"


def test_countries_by_iso3_and_unknown(workbook: Path) -> None:
    table = sipri.read_sipri_workbook(workbook, sheets=["per_capita_usd"], countries=["JPN"])
    # Sheet 'Per capita', cell AM107 (Japan, 2024) = 445.502...
    assert value(table, "JPN", "per_capita_usd", 2024).value == pytest.approx(445.502, abs=1e-3)
    with pytest.raises(ParameterError, match="Atlantis"):
        sipri.read_sipri_workbook(workbook, sheets=["share_of_gdp"], countries=["Atlantis"])
    with pytest.raises(ParameterError, match="unknown SIPRI measure"):
        sipri.read_sipri_workbook(workbook, sheets=["share_of_gdp_pct"])


def test_rebuild_equals_committed_file(raw_dir: Path, tmp_path: Path) -> None:
    dataset = sipri.DATASETS[0]
    committed = dataset.path(config.data_dir())
    assert committed.exists(), f"{committed} missing: run the data build"
    rebuilt_path = dataset.path(tmp_path)
    rebuilt_path.parent.mkdir(parents=True)
    dataset.build(raw_dir).to_parquet(rebuilt_path, index=False)
    pd.testing.assert_frame_equal(pd.read_parquet(rebuilt_path), pd.read_parquet(committed))


@pytest.fixture(scope="module")
def corrupted(workbook: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy with the Per capita sheet removed, the Current US$ header cell renamed and
    Japan's 2024 share of GDP (cell BZ107) replaced by text."""
    book = openpyxl.load_workbook(workbook)
    del book["Per capita"]
    book["Current US$"]["A6"] = "Nation"
    book["Share of GDP"]["BZ107"] = "n/a"
    path = tmp_path_factory.mktemp("sipri") / "corrupted.xlsx"
    book.save(path)
    return path


def test_missing_sheet_is_reported(corrupted: Path) -> None:
    with pytest.raises(SourceFormatError, match=r"corrupted\.xlsx.*per_capita_usd"):
        sipri.read_sipri_workbook(corrupted, sheets=["per_capita_usd"])


def test_missing_country_header_is_reported(corrupted: Path) -> None:
    with pytest.raises(SourceFormatError, match=r"corrupted\.xlsx, sheet 'Current US\$'.*Country"):
        sipri.read_sipri_workbook(corrupted, sheets=["current_usd"], countries=["Japan"])


def test_non_numeric_cell_is_reported(corrupted: Path) -> None:
    with pytest.raises(SourceFormatError) as caught:
        sipri.read_sipri_workbook(corrupted, sheets=["share_of_gdp"], countries=["Japan"])
    message = str(caught.value)
    assert "corrupted.xlsx" in message and "'Share of GDP'" in message
    assert "BZ107" in message and "'n/a'" in message and "row 107" in message


def test_constant_sheet_found_by_pattern(corrupted: Path, tmp_path: Path) -> None:
    book = openpyxl.load_workbook(corrupted)
    book["Constant (2023) US$"].title = "Constant (2022) US$"
    path = tmp_path / "rebased.xlsx"
    book.save(path)
    table = sipri.read_sipri_workbook(path, sheets=["constant_usd"], countries=["Japan"])
    assert set(table["unit"]) == {"US$ m, constant 2022 prices"}
