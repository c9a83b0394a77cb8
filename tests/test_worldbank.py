"""World Bank CSV readers (bulk API_*.csv and long layouts) and the worldbank_gdp extract."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from research.errors import SourceFormatError
from research.sources import worldbank

BULK_FILE = "defense/worldbank_API_MS.MIL.XPND.GD.ZS_DS2_en_csv_v2_2018-02-22.csv"


@pytest.fixture(scope="module")
def gdp(raw_dir: Path) -> pd.DataFrame:
    return worldbank.build_worldbank_gdp(raw_dir)


@pytest.mark.shared
def test_schema_and_coverage(gdp: pd.DataFrame) -> None:
    worldbank.WORLDBANK_GDP.validate(gdp)
    # 15 SIPRI-extract countries minus TWN (not in World Bank data) and PRK (absent from
    # the file) = 13 countries x 34 years (1990-2023) = 442 rows.
    assert len(gdp) == 13 * 34
    assert not gdp.iso3.isin(["TWN", "PRK"]).any()
    assert (gdp.year.min(), gdp.year.max()) == (1990, 2023)


@pytest.mark.shared
def test_values_from_file(gdp: pd.DataFrame) -> None:
    # Line 6465 of the raw file: "Japan,JPN,2023,4212945159781.403" (US$, not millions);
    # PROVENANCE: China 2023 = 1.7795e13.
    japan = gdp[(gdp.iso3 == "JPN") & (gdp.year == 2023)].gdp_usd.iloc[0]
    assert japan == pytest.approx(4212945159781.403)
    china = gdp[(gdp.iso3 == "CHN") & (gdp.year == 2023)].gdp_usd.iloc[0]
    assert china == pytest.approx(1.7795e13, rel=1e-4)




@pytest.mark.shared
def test_bulk_layout(raw_dir: Path) -> None:
    table = worldbank.read_worldbank_csv(raw_dir / BULK_FILE)
    # PROVENANCE: Japan 2016 = 0.9345 percent; data end in 2016, the 2017 column is empty;
    # 264 rows (countries and aggregates).
    japan = table[(table.country_code == "JPN") & (table.year == 2016)].value.iloc[0]
    assert japan == pytest.approx(0.9345, abs=5e-5)
    assert table.year.max() == 2016
    assert table.country_code.nunique() <= 264 and "WLD" in set(table.country_code)
    assert set(table.indicator) == {"MS.MIL.XPND.GD.ZS"}
    assert not table.columns.str.startswith("Unnamed").any()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8-sig")
    return path


BULK_SAMPLE = ('"Data Source","World Development Indicators",\n\n'
               '"Last Updated Date","2018-02-22",\n\n'
               '"Country Name","Country Code","Indicator Name","Indicator Code","2015","2016",\n'
               '"Japan","JPN","Military expenditure (% of GDP)","MS.MIL.XPND.GD.ZS","0.94","",\n'
               '"Korea, Rep.","KOR","Military expenditure (% of GDP)","MS.MIL.XPND.GD.ZS",'
               '"2.6","{korea_2016}",\n')


def test_bulk_sample_by_hand(tmp_path: Path) -> None:
    path = write(tmp_path / "API_sample.csv", BULK_SAMPLE.format(korea_2016="2.7"))
    table = worldbank.read_worldbank_bulk(path)
    # 4 cells, one empty (Japan 2016) dropped: 3 rows; the quoted comma name survives.
    assert table[["country_code", "year", "value"]].values.tolist() == [
        ["JPN", 2015, 0.94], ["KOR", 2015, 2.6], ["KOR", 2016, 2.7]]
    assert "Korea, Rep." in set(table.country)


def test_bulk_bad_cell_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "API_bad.csv", BULK_SAMPLE.format(korea_2016="n/a"))
    # preamble lines 1-4, header line 5, Japan line 6, Korea line 7
    with pytest.raises(SourceFormatError, match=r"API_bad.csv: row 7: field 'KOR 2016': "
                                                r"value 'n/a'"):
        worldbank.read_worldbank_bulk(path)


def test_long_layout_and_errors(tmp_path: Path) -> None:
    good = write(tmp_path / "gdp_NY.GDP.MKTP.CD.csv",
                 'Country Name,Country Code,Year,Value\n"Korea, Rep.",KOR,2023,1.7e12\n')
    table = worldbank.read_worldbank_csv(good)
    assert table.value.tolist() == [1.7e12] and set(table.indicator) == {"NY.GDP.MKTP.CD"}
    bad = write(tmp_path / "bad.csv", "Country Name,Country Code,Year,Value\nJapan,JPN,2023,x\n")
    with pytest.raises(SourceFormatError, match="row 2"):
        worldbank.read_worldbank_long(bad)
    other = write(tmp_path / "other.csv", "iso,year,gdp\nJPN,2023,1\n")
    with pytest.raises(SourceFormatError, match="neither"):
        worldbank.read_worldbank_csv(other)


def test_bulk_units_and_several_indicators(tmp_path: Path) -> None:
    # A bulk file may hold several indicators; the unit comes from each indicator's name.
    text = BULK_SAMPLE.format(korea_2016="2.7") + (
        '"Japan","JPN","GDP (current US$)","NY.GDP.MKTP.CD","4.44e12","5.0e12",\n')
    table = worldbank.read_worldbank_bulk(write(tmp_path / "API_two.csv", text))
    units = table.drop_duplicates("indicator").set_index("indicator")["unit"].to_dict()
    assert units == {"MS.MIL.XPND.GD.ZS": "% of GDP", "NY.GDP.MKTP.CD": "current US$"}
    assert len(table) == 3 + 2


@pytest.mark.shared
def test_bulk_unit_of_real_file(raw_dir: Path) -> None:
    # line 5 header, Indicator Name "Military expenditure (% of GDP)": percent, not fraction
    table = worldbank.read_worldbank_csv(raw_dir / BULK_FILE)
    assert set(table["unit"]) == {"% of GDP"}


def test_bulk_cut_short(tmp_path: Path) -> None:
    text = BULK_SAMPLE.format(korea_2016="2.7")
    # cut inside the Korea line (line 7): its 2016 field and the trailing comma are lost
    path = write(tmp_path / "API_cut.csv", text[: text.rindex('"2.6"') + 5])  # ends '"2.6"'
    with pytest.raises(SourceFormatError, match=r"API_cut\.csv: row 7.*5 fields.*cut short"):
        worldbank.read_worldbank_bulk(path)
    path = write(tmp_path / "API_open.csv", text[: text.rindex('"2.6"') + 3])  # ends '"2.'
    with pytest.raises(SourceFormatError, match=r"API_open\.csv.*quoted field"):
        worldbank.read_worldbank_bulk(path)


def test_bulk_wrong_files_duplicates_and_empty(tmp_path: Path) -> None:
    metadata = write(tmp_path / "Metadata_Country_API_x.csv",
                     '"Country Code","Region","IncomeGroup","SpecialNotes","TableName",\n'
                     '"JPN","East Asia & Pacific","High income","","Japan",\n')
    with pytest.raises(SourceFormatError, match="Metadata"):
        worldbank.read_worldbank_bulk(metadata)
    twice = BULK_SAMPLE.format(korea_2016="2.7") + (
        '"Japan","JPN","Military expenditure (% of GDP)","MS.MIL.XPND.GD.ZS","1.0","",\n')
    with pytest.raises(SourceFormatError, match=r"more than once \(lines \[6, 8\]\)"):
        worldbank.read_worldbank_bulk(write(tmp_path / "API_twice.csv", twice))
    empty = BULK_SAMPLE.format(korea_2016="").replace('"0.94"', '""').replace('"2.6"', '""')
    with pytest.raises(SourceFormatError, match="no cell holds a value"):
        worldbank.read_worldbank_bulk(write(tmp_path / "API_empty.csv", empty))
    header_only = BULK_SAMPLE.split('"Japan"')[0]
    with pytest.raises(SourceFormatError, match="no data rows"):
        worldbank.read_worldbank_bulk(write(tmp_path / "API_header.csv", header_only))


def test_long_layout_cut_short_and_duplicates(tmp_path: Path) -> None:
    header = "Country Name,Country Code,Year,Value\n"
    cut = write(tmp_path / "cut.csv", header + "Japan,JPN,2022,4.2e12\nJapan,JPN,20")
    with pytest.raises(SourceFormatError, match=r"cut\.csv: row 3.*3 fields"):
        worldbank.read_worldbank_long(cut)
    twice = write(tmp_path / "twice.csv", header + "Japan,JPN,2022,1\nJapan,JPN,2022,2\n")
    with pytest.raises(SourceFormatError, match=r"twice\.csv.*lines \[2, 3\]"):
        worldbank.read_worldbank_long(twice)
    workbook = tmp_path / "API.xlsx"
    pd.DataFrame({"a": [1]}).to_excel(workbook)
    with pytest.raises(SourceFormatError, match="Excel workbook"):
        worldbank.read_worldbank_csv(workbook)
