"""World Bank WDI indicators: readers for the two CSV layouts users bring, and a GDP extract.

Two layouts are read:

- the WDI bulk download ``API_<indicator>_DS2_en_csv_v2*.csv``: UTF-8 with a byte-order
  mark, 4 preamble lines, a wide table (``Country Name, Country Code, Indicator Name,
  Indicator Code, 1960 ...``) and a trailing comma on every line (an empty last column);
- the datahub long layout ``Country Name, Country Code, Year, Value``.

Both become one long table. Missing values are absent rows in the long layout and
empty cells in the bulk layout; empty cells are dropped, so the two agree.
The bundled ``worldbank_gdp`` extract holds GDP in current US$ (NY.GDP.MKTP.CD) for the
countries of the SIPRI extract except Taiwan, which the World Bank does not cover, and
North Korea, which the file lacks.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from research.datasets import Dataset
from research.errors import SourceFormatError
from research.schemas import ISO3, Column, Schema
from research.sources.sipri import BUNDLED_ISO3
from research.sources.tabular import (
    as_text,
    check_exists,
    check_text,
    first_bad,
    is_workbook,
    numbers,
    read_csv_text,
)

GDP_FILE = "defense/worldbank_gdp_current_usd_NY.GDP.MKTP.CD.csv"
GDP_INDICATOR = "NY.GDP.MKTP.CD"
FIRST_YEAR, LAST_YEAR = 1990, 2023
BULK_ID_COLUMNS = ("Country Name", "Country Code", "Indicator Name", "Indicator Code")
LONG_COLUMNS = ("Country Name", "Country Code", "Year", "Value")
BULK_PREAMBLE_LINES = 4
NO_UNIT = "not stated"
# Units of indicators read from the long layout, which does not carry the indicator name.
INDICATOR_UNITS = {"NY.GDP.MKTP.CD": "current US$",
                   "MS.MIL.XPND.GD.ZS": "% of GDP", "MS.MIL.XPND.CD": "current USD",
                   "MS.MIL.XPND.ZS": "% of general government expenditure",
                   "PA.NUS.FCRF": "LCU per US$, period average"}
# Countries of the SIPRI extract with no GDP rows in the World Bank file.
NOT_COVERED = {"TWN": "the World Bank does not cover Taiwan",
               "PRK": "no NY.GDP.MKTP.CD series for North Korea in the file"}

WORLDBANK_GDP = Schema(
    name="worldbank_gdp",
    description="GDP in current US$ (World Bank NY.GDP.MKTP.CD), one row per country and year.",
    columns={
        "iso3": Column("str", pattern=ISO3),
        "year": Column("int", minimum=1960),
        "gdp_usd": Column("float", minimum=0, description="current US$ (units, not millions)"),
    },
    key=("iso3", "year"),
    units={"gdp_usd": "current US$"},
)


def _units(names: pd.Series) -> pd.Series:
    """The unit in a WDI indicator name: its last parenthesis ("GDP (current US$)" ->
    "current US$", "Military expenditure (% of GDP)" -> "% of GDP"), else "not stated"."""
    found = names.str.extract(r"\(([^()]*)\)\s*$", expand=False)
    return found.fillna(NO_UNIT).astype(object)


def _checked_years(frame: pd.DataFrame, year_columns: list[str], source: str) -> None:
    if not year_columns:
        raise SourceFormatError(source, "no year columns in the header")
    bad = [c for c in year_columns if not 1900 <= int(c) <= 2100]
    if bad:
        raise SourceFormatError(source, "year column outside 1900-2100", field=bad[0])


def _check_codes(codes: pd.Series, source: str, field: str) -> None:
    bad = ~codes.str.fullmatch(r"[A-Z0-9]{3}")
    if bad.any():
        position = first_bad(bad)
        raise SourceFormatError(source, "country code is not 3 letters or digits", field=field,
                                value=codes.iloc[position], row=int(codes.index[position]))


def _no_duplicates(table: pd.DataFrame, key: list[str], lines: pd.Series,
                   source: str) -> None:
    duplicated = table.duplicated(key, keep=False)
    if duplicated.any():
        first = table[duplicated].iloc[0]
        same = lines[duplicated & (table[key] == first[key]).all(axis=1)].tolist()
        raise SourceFormatError(source, f"the same {', '.join(key)} appears more than once "
                                f"(lines {sorted(set(same))})", field=",".join(key),
                                value={k: str(first[k]) for k in key}, row=same[-1])


def read_worldbank_bulk(path: Path | str) -> pd.DataFrame:
    """Read a WDI bulk ``API_*.csv`` file (4 preamble lines, wide, trailing comma).

    Any indicator, and files holding several indicators (one row per country and
    indicator), are read.

    Returns
    -------
    country_code, country, indicator, year, value, unit (from the indicator name, e.g.
    "% of GDP" or "current US$"); one row per non-empty cell, sorted by country_code,
    indicator and year. Aggregates (WLD, EAS, ...) are kept.

    Raises
    ------
    SourceFormatError
        The preamble or header is not the WDI layout (e.g. a ``Metadata_*.csv`` file), a
        line is cut short, a cell is not a number, a country and indicator appear twice,
        or no cell holds a value.
    """
    path = Path(path)
    source = str(path)
    check_exists(path)
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        first = handle.readline()
    if not first.lstrip('"').startswith("Data Source"):
        raise SourceFormatError(source, "line 1 is not the WDI preamble '\"Data Source\",...' "
                                "(Metadata_*.csv files are not data files)", field="line 1",
                                value=first.strip()[:80])
    frame = read_csv_text(path, skip_lines=BULK_PREAMBLE_LINES)
    missing = [c for c in BULK_ID_COLUMNS if c not in frame.columns]
    if missing:
        raise SourceFormatError(source, f"line {BULK_PREAMBLE_LINES + 1} is not a WDI header "
                                f"with {list(BULK_ID_COLUMNS)}", field=missing[0])
    year_columns = [c for c in frame.columns if re.fullmatch(r"\d{4}", c)]
    _checked_years(frame, year_columns, source)
    _check_codes(frame["Country Code"], source, "Country Code")
    lines = pd.Series(frame.index, index=frame.index)
    _no_duplicates(frame, ["Country Code", "Indicator Code"], lines, source)
    frame = frame.assign(line=frame.index)
    long = frame.melt(id_vars=[*BULK_ID_COLUMNS, "line"], value_vars=year_columns,
                      var_name="year", value_name="raw")
    long = long[long["raw"].ne("")]
    if long.empty:
        raise SourceFormatError(source, "no cell holds a value")
    long.index = long["line"]
    values = numbers(long["raw"], source, "value",
                     fields=long["Country Code"] + " " + long["year"])
    table = pd.DataFrame({
        "country_code": long["Country Code"].to_numpy(), "country": long["Country Name"].to_numpy(),
        "indicator": long["Indicator Code"].to_numpy(), "year": long["year"].astype("int64").to_numpy(),
        "value": values.to_numpy(), "unit": _units(long["Indicator Name"]).to_numpy()})
    return as_text(table.sort_values(["country_code", "indicator", "year"]).reset_index(drop=True))


def read_worldbank_long(path: Path | str, indicator: str | None = None) -> pd.DataFrame:
    """Read the datahub long layout ``Country Name, Country Code, Year, Value``.

    Parameters
    ----------
    path : the CSV file.
    indicator : the WDI indicator code the file holds (the layout does not say); by
        default taken from the file name when it contains one (e.g. NY.GDP.MKTP.CD).

    Returns
    -------
    country_code, country, indicator, year, value, unit (known for the indicators in
    ``INDICATOR_UNITS``, else "not stated"), sorted by country_code and year.

    Raises
    ------
    SourceFormatError
        Other columns, a line cut short, a year or value that does not parse, a
        country-year twice, or no values.
    """
    path = Path(path)
    source = str(path)
    frame = read_csv_text(path)
    if tuple(frame.columns) != LONG_COLUMNS:
        raise SourceFormatError(source, f"expected columns {list(LONG_COLUMNS)}",
                                field="header", value=list(frame.columns))
    if indicator is None:
        found = re.search(r"[A-Z]{2}(?:\.[A-Z0-9]+){2,}", path.stem)
        indicator = found.group(0) if found else ""
    years = frame["Year"]
    bad_year = ~years.str.fullmatch(r"\d{4}")
    if bad_year.any():
        position = first_bad(bad_year)
        raise SourceFormatError(source, "year is not a 4-digit number", field="Year",
                                value=years.iloc[position], row=int(frame.index[position]))
    _check_codes(frame["Country Code"], source, "Country Code")
    lines = pd.Series(frame.index, index=frame.index)
    _no_duplicates(frame, ["Country Code", "Year"], lines, source)
    frame = frame[frame["Value"].ne("")]
    if frame.empty:
        raise SourceFormatError(source, "no row holds a value")
    table = pd.DataFrame({
        "country_code": frame["Country Code"], "country": frame["Country Name"],
        "indicator": indicator, "year": frame["Year"].astype("int64"),
        "value": numbers(frame["Value"], source, "Value",
                         fields="Value " + frame["Country Code"] + " " + frame["Year"]),
        "unit": INDICATOR_UNITS.get(indicator, NO_UNIT)})
    return as_text(table.sort_values(["country_code", "indicator", "year"]).reset_index(drop=True))


def reference_names(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with each ``country`` taken from the reference country table
    (:func:`research.countries.country_name`) where it knows the ``country_code``;
    codes it does not know (aggregates such as EAS) keep the file's name.

    A file's names are someone else's text (a name like ``=cmd|...`` would reach a
    spreadsheet); the code is checked, so the reference name is used when there is one.
    """
    from research.countries import country_name

    names = {code: country_name(code) for code in table["country_code"].unique()}
    known = {code: name for code, name in names.items() if name != code}
    reference = table["country_code"].map(known)
    return table.assign(country=reference.where(reference.notna(), table["country"]))


def read_worldbank_csv(path: Path | str, indicator: str | None = None) -> pd.DataFrame:
    """Read either World Bank CSV layout, telling them apart by the first line.

    See :func:`read_worldbank_bulk` and :func:`read_worldbank_long`; country names come
    from the reference table where it knows the code (:func:`reference_names`).
    """
    path = Path(path)
    check_exists(path)
    if is_workbook(path):
        raise SourceFormatError(str(path), "an Excel workbook: download the CSV version "
                                "(API_*.csv) of the World Bank data")
    check_text(path)
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        first = handle.readline()
    if first.startswith('"Data Source"') or first.startswith("Data Source"):
        return as_text(reference_names(read_worldbank_bulk(path)))
    if first.strip().split(",")[:4] == list(LONG_COLUMNS):
        return as_text(reference_names(read_worldbank_long(path, indicator=indicator)))
    raise SourceFormatError(str(path), "neither a WDI bulk API_*.csv file nor the long "
                            "'Country Name,Country Code,Year,Value' layout",
                            field="line 1", value=first.strip()[:80])


def build_worldbank_gdp(raw_dir: Path) -> pd.DataFrame:
    """GDP in current US$ for the SIPRI-extract countries, 1990-2023 (no TWN, PRK)."""
    path = Path(raw_dir) / GDP_FILE
    table = read_worldbank_long(path, indicator=GDP_INDICATOR)
    wanted = [c for c in BUNDLED_ISO3 if c not in NOT_COVERED]
    absent = sorted(set(wanted) - set(table["country_code"]))
    if absent:
        raise SourceFormatError(str(path), "countries missing", field="Country Code",
                                value=absent)
    keep = table["country_code"].isin(wanted) & table["year"].between(FIRST_YEAR, LAST_YEAR)
    table = table[keep]
    result = pd.DataFrame({"iso3": table["country_code"], "year": table["year"],
                           "gdp_usd": table["value"]})
    return result.sort_values(["iso3", "year"]).reset_index(drop=True)


DATASETS = [
    Dataset(
        name="worldbank_gdp",
        filename="defense/worldbank_gdp.parquet",
        title="GDP, current US$ (World Bank NY.GDP.MKTP.CD), 13 countries, 1990-2023",
        publisher="World Bank, World Development Indicators (packaged by datahub core/gdp)",
        vintage="datahub data/gdp.csv last changed 2024-10-21; latest year 2023",
        licence="World Bank data CC BY 4.0; datahub package ODC-PDDL-1.0",
        citation="World Bank, World Development Indicators, GDP (current US$) "
                 "NY.GDP.MKTP.CD, via https://github.com/datasets/gdp",
        raw_inputs=(GDP_FILE,),
        build=build_worldbank_gdp,
        schema=WORLDBANK_GDP,
        notes=("Same countries as the SIPRI extract except Taiwan (TWN), which World Bank "
               "data do not cover, and North Korea (PRK), absent from the file; for Taiwan "
               "use SIPRI's implied GDP (current US$ / share of GDP). Gaps are absent rows."),
    ),
]

FILE_READERS = {"worldbank": read_worldbank_csv}
