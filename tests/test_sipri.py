"""SIPRI workbook reader and the bundled sipri_milex extract."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from research.errors import DataNotFoundError, ParameterError, SkippedDataWarning, SourceFormatError
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




@pytest.fixture(scope="module")
def corrupted(workbook: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy with the Per capita sheet removed, the Current US$ header cell renamed,
    Japan's 2024 share of GDP (cell BZ107) replaced by text and the constant-price sheet
    renamed to another base year."""
    book = openpyxl.load_workbook(workbook)
    del book["Per capita"]
    book["Constant (2023) US$"].title = "Constant (2022) US$"
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


def test_renamed_constant_sheet_must_agree_with_its_title(corrupted: Path) -> None:
    # The copy's sheet is renamed "Constant (2022) US$" but its title cell A1 still says
    # "in constant (2023) US$ m.": the sheet contradicts itself. (A consistent rename is
    # read: test_old_constant_sheet_name.)
    with pytest.raises(SourceFormatError, match=r"title cell A1.*base year \['2023'\]"):
        sipri.read_sipri_workbook(corrupted, sheets=["constant_usd"], countries=["Japan"])



# ---------------------------------------------------------------- every sheet, any vintage


@pytest.fixture(scope="module")
def every_sheet(workbook: Path) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkippedDataWarning)  # Front page etc. are known
        return sipri.read_sipri_file(workbook)


def test_every_country_sheet_is_read(every_sheet: pd.DataFrame) -> None:
    MILITARY_EXPENDITURE.validate(every_sheet)
    # PROVENANCE: 7 country sheets, each with 174 country rows; years 1949-2024 (76)
    # except Per capita and Share of Govt. spending (1988-2024, 37).
    sizes = every_sheet.groupby("measure").size().to_dict()
    assert sizes == {"constant_usd": 174 * 76, "current_usd": 174 * 76,
                     "local_currency_cy": 174 * 76, "local_currency_fy": 174 * 76,
                     "share_of_gdp": 174 * 76, "per_capita_usd": 174 * 37,
                     "share_of_government": 174 * 37}
    assert every_sheet.groupby("measure")["iso3"].nunique().eq(174).all()
    # PROVENANCE: Constant US$ has 8,329 numbers, 4,655 '...' and 240 'xxx'.
    constant = every_sheet[every_sheet.measure == "constant_usd"]
    assert constant["value"].notna().sum() == 8329
    assert constant["missing_marker"].value_counts().to_dict() == {"...": 4655, "xxx": 240}


def test_every_sheet_spot_values(every_sheet: pd.DataFrame) -> None:
    # Read by hand with openpyxl from SIPRI-Milex-data-1949-2024_2.xlsx:
    # 'Share of GDP'!BZ107 (Japan, 2024) = 0.013713968958063434, format 0.00% -> fraction
    share = value(every_sheet, "JPN", "share_of_gdp", 2024)
    assert share.value == pytest.approx(0.013714, abs=5e-7)
    assert share.unit == "fraction of GDP"
    # 'Current US$'!BZ107 (Japan, 2024) = 55273.90431670826 (US$ m)
    current = value(every_sheet, "JPN", "current_usd", 2024)
    assert current.value == pytest.approx(55273.9, abs=0.05)
    assert current.unit == "US$ m, current prices"
    # 'Local currency calendar years'!CA108 (Japan, 2024) = 8371675000000.0, B108 'Yen'
    yen = value(every_sheet, "JPN", "local_currency_cy", 2024)
    assert yen.value == 8371675000000.0
    assert yen.unit == "Yen (local currency), current prices, calendar year"
    # 'Share of Govt. spending'!AN109 (Japan, 2024) = 0.03250563532806726, format 0.00%
    government = value(every_sheet, "JPN", "share_of_government", 2024)
    assert government.value == pytest.approx(0.0325056, abs=5e-8)
    assert government.unit == "fraction of general government expenditure"
    # 'Local currency calendar years'!AT161 (USSR, 1991) = '...', AU161 (1992) = 'xxx';
    # 'Current US$'!AS160 (USSR, 1991) = '...', AT160 (1992) = 'xxx'.
    for measure in ("local_currency_cy", "current_usd"):
        assert value(every_sheet, "SUN", measure, 1991).missing_marker == "..."
        assert value(every_sheet, "SUN", measure, 1992).missing_marker == "xxx"
        assert math.isnan(value(every_sheet, "SUN", measure, 1992).value)


def sipri_sheet(book: openpyxl.Workbook, title: str, lines: list[str], header_row: int,
                header: list, rows: list[list], percent: bool = False) -> None:
    """Add a sheet laid out like SIPRI's: title lines, a header row, country rows."""
    sheet = book.create_sheet(title)
    for number, text in enumerate(lines, start=1):
        sheet.cell(number, 1, text)
    for column, label in enumerate(header, start=1):
        sheet.cell(header_row, column, label)
    for number, row in enumerate(rows, start=header_row + 2):  # a blank row, as SIPRI has
        for column, cell in enumerate(row, start=1):
            if cell is not None:
                written = sheet.cell(number, column, cell)
                if percent and isinstance(cell, float):
                    written.number_format = "0.00%"


YEARS = [2021, 2022, 2023]
COUNTRY_ROWS = [["East Asia"], ["Japan", "56", 1.0, 2.0, 3.0],
                ["Korea, South", "58", "...", 5.0, 6.0], ["USSR", "", "xxx", "xxx", "xxx"]]


def vintage_book(path: Path) -> Path:
    """An older/newer release: other sheet names, header rows and percent shares."""
    book = openpyxl.Workbook()
    book.active.title = "Front page"
    # header on row 9 (row 6 in the 2024 release), an empty column B as SIPRI has
    sipri_sheet(book, "Constant (2023) US$",
                ["Military expenditure by country, in constant (2023) US$ m., 2021-2023",
                 "Figures are in US $m., at constant 2023 prices and exchange rates",
                 '". ." = data unavailable. "xxx" = country did not exist.'], 9,
                ["Country", None, "Notes", *YEARS],
                [[r[0], None, *r[1:]] for r in COUNTRY_ROWS])
    # the pre-2021 spelling "USD" and year headers stored as text, header on row 4
    sipri_sheet(book, "Current USD", ["Military expenditure by country, in millions of US$ "
                                      "at current prices and exchange rates"], 4,
                ["Country", "Notes", *map(str, YEARS)], COUNTRY_ROWS)
    # shares written as percentages (1.0 = 1%), no percent number format
    sipri_sheet(book, "Share of GDP", ["Military expenditure by country as percentage of "
                                       "gross domestic product"], 5,
                ["Country", "Notes", *YEARS], COUNTRY_ROWS)
    # shares stored as fractions with a percent format (as in the 2024 release)
    sipri_sheet(book, "Share of Govt. spending", ["Military expenditure by country as "
                                                  "percentage of government spending"], 7,
                ["Country", "Notes", "Reporting year", *YEARS],
                [[r[0], r[1] if len(r) > 1 else None, None, *(c / 100 if isinstance(c, float)
                                                              else c for c in r[2:])]
                 for r in COUNTRY_ROWS], percent=True)
    sipri_sheet(book, "Local currency calendar years",
                ["Military expenditure by country, in local currency"], 6,
                ["Country", "Currency", "Notes", *YEARS],
                [["East Asia"], ["Japan", "Yen", "56", 5.0e12, 5.1e12, 6.8e12]])
    book.create_sheet("Footnotes")
    book.create_sheet("Our notes")
    book.save(path)
    return path


def test_other_vintage_layout(tmp_path: Path) -> None:
    path = vintage_book(tmp_path / "SIPRI-Milex-data-1988-2023.xlsx")
    with pytest.warns(SkippedDataWarning, match="'Our notes'"):
        table = sipri.read_sipri_file(path)
    MILITARY_EXPENDITURE.validate(table)
    units = table.drop_duplicates("measure").set_index("measure")["unit"].to_dict()
    assert units["constant_usd"] == "US$ m, constant 2023 prices"
    assert units["current_usd"] == "US$ m, current prices"
    assert units["share_of_gdp"] == "percent of GDP"
    assert units["share_of_government"] == "fraction of general government expenditure"
    assert units["local_currency_cy"] == "Yen (local currency), current prices, calendar year"
    # Constant sheet: header on row 9, blank row 10, 'East Asia' row 11, Japan row 12 with
    # 1.0 / 2.0 / 3.0 in D12:F12 (2021-2023); Korea, South D13 = '...'.
    assert value(table, "JPN", "constant_usd", 2023).value == 3.0
    korea = value(table, "KOR", "constant_usd", 2021)
    assert math.isnan(korea.value) and korea.missing_marker == "..."
    assert value(table, "SUN", "current_usd", 2022).missing_marker == "xxx"
    assert value(table, "JPN", "share_of_gdp", 2022).value == 2.0  # 2%, written as 2.0
    assert value(table, "JPN", "share_of_government", 2022).value == pytest.approx(0.02)
    assert value(table, "JPN", "local_currency_cy", 2023).value == 6.8e12
    assert len(table) == 3 * 3 * 4 + 3  # 3 countries x 3 years x 4 sheets + Japan's yen


def test_old_constant_sheet_name(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sipri_sheet(book, "Constant (2019) USD",
                ["Military expenditure by country, in constant (2019) US$ m., 1949-2020"], 5,
                ["Country", "Notes", *YEARS], COUNTRY_ROWS)
    book.save(tmp_path / "old.xlsx")
    table = sipri.read_sipri_workbook(tmp_path / "old.xlsx", sheets=["constant_usd"])
    assert set(table["unit"]) == {"US$ m, constant 2019 prices"}


def one_sheet(tmp_path: Path, title: str, lines: list[str], rows: list[list] = COUNTRY_ROWS,
              percent: bool = False) -> Path:
    book = openpyxl.Workbook()
    sipri_sheet(book, title, lines, 4, ["Country", "Notes", *YEARS], rows, percent=percent)
    path = tmp_path / "sipri.xlsx"
    book.save(path)
    return path


@pytest.mark.parametrize(("title", "line", "measure", "says"), [
    ("Current US$", "Figures are in US$ b., at current prices", "current_usd", "billion"),
    ("Constant (2023) US$", "Figures are in US$ m., at constant 2022 prices", "constant_usd",
     "base year"),
    ("Share of GDP", "Military expenditure in US$ m.", "share_of_gdp", "currency"),
    ("Per capita", "Figures are in millions of current US$", "per_capita_usd", "million"),
])
def test_title_with_another_unit(tmp_path: Path, title: str, line: str, measure: str,
                                 says: str) -> None:
    path = one_sheet(tmp_path, title, ["Military expenditure by country", line])
    with pytest.raises(SourceFormatError, match=says) as caught:
        sipri.read_sipri_workbook(path, sheets=[measure])
    assert caught.value.field == "title cell A2" and caught.value.value == line
    assert "sipri.xlsx" in str(caught.value) and repr(title) in str(caught.value)


def test_mixed_share_formats_are_refused(tmp_path: Path) -> None:
    # Japan's three numbers carry a percent format, Korea's two do not: 3 of 5
    rows = [["Japan", "", 0.01, 0.02, 0.03]]
    book_path = one_sheet(tmp_path, "Share of GDP", ["as percentage of GDP"], rows,
                          percent=True)
    book = openpyxl.load_workbook(book_path)
    book["Share of GDP"].append(["Korea, South", "", "...", 2.5, 2.6])
    book.save(book_path)
    with pytest.raises(SourceFormatError, match="3 of 5 numbers"):
        sipri.read_sipri_workbook(book_path, sheets=["share_of_gdp"])


def test_duplicate_country_and_empty_sheet(tmp_path: Path) -> None:
    rows = [["Korea, South", "", 1.0, 2.0, 3.0], ["South Korea", "", 1.0, 2.0, 3.0]]
    path = one_sheet(tmp_path, "Current US$", [], rows)
    # header row 4, blank row 5, rows 6 and 7
    with pytest.raises(SourceFormatError, match=r"rows 6 and 7.*KOR") as caught:
        sipri.read_sipri_workbook(path, sheets=["current_usd"])
    assert caught.value.row == 7
    path = one_sheet(tmp_path, "Current US$", [], [["East Asia"]])
    with pytest.raises(SourceFormatError, match="no country rows"):
        sipri.read_sipri_workbook(path, sheets=["current_usd"])


def test_workbook_without_country_sheets(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Front page"
    book.save(tmp_path / "empty.xlsx")
    with pytest.raises(SourceFormatError, match="no SIPRI country sheet"):
        sipri.read_sipri_file(tmp_path / "empty.xlsx")


def test_truncated_and_missing_workbook(workbook: Path, tmp_path: Path) -> None:
    data = workbook.read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceFormatError, match=r"cut\.xlsx.*not a readable Excel workbook"):
        sipri.read_sipri_file(cut)
    with pytest.raises(DataNotFoundError, match="nothing.xlsx"):
        sipri.read_sipri_file(tmp_path / "nothing.xlsx")


@pytest.mark.parametrize(("cell", "says"), [
    (-5.0, "negative"),  # spending is never below 0
    # openpyxl writes inf and nan as text cells or as numbers, by version
    (float("inf"), "not a finite number|neither a number"),
    (float("-inf"), "not a finite number|neither a number"),
    (float("nan"), "not a finite number|neither a number"),  # NaN only with a marker
])
def test_negative_and_non_finite_spending_is_named(tmp_path: Path, cell: float,
                                                   says: str) -> None:
    rows = [["Japan", "56", 1.0, cell, 3.0]]
    path = one_sheet(tmp_path, "Current US$", ["Military expenditure by country, in millions "
                                               "of US$ at current prices"], rows)
    with pytest.raises(SourceFormatError, match=says) as caught:
        sipri.read_sipri_workbook(path, sheets=["current_usd"])
    # header on row 4, a blank row 5, Japan on row 6: 2022 is column D
    assert caught.value.field == "cell D6 (Japan, 2022)" and caught.value.row == 6
    assert "sipri.xlsx" in str(caught.value)
