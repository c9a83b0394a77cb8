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

GDP_FILE = "defense/worldbank_gdp_current_usd_NY.GDP.MKTP.CD.csv"
GDP_INDICATOR = "NY.GDP.MKTP.CD"
FIRST_YEAR, LAST_YEAR = 1990, 2023
BULK_ID_COLUMNS = ("Country Name", "Country Code", "Indicator Name", "Indicator Code")
LONG_COLUMNS = ("Country Name", "Country Code", "Year", "Value")
BULK_PREAMBLE_LINES = 4
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


def _numbers(values: pd.Series, lines: pd.Series, fields: pd.Series,
             source: str) -> pd.Series:
    """Parse text cells as floats; raise naming the file line and column of a bad cell."""
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.str.strip().ne("")
    if bad.any():
        position = int(bad.to_numpy().nonzero()[0][0])
        raise SourceFormatError(source, "value is not a number", field=fields.iloc[position],
                                value=values.iloc[position], row=int(lines.iloc[position]))
    return numbers.astype("float64")


def read_worldbank_bulk(path: Path | str) -> pd.DataFrame:
    """Read a WDI bulk ``API_*.csv`` file (4 preamble lines, wide, trailing comma).

    Returns
    -------
    country_code, country, indicator, year, value; one row per non-empty cell,
    sorted by country_code and year. Aggregates (WLD, EAS, ...) are kept.

    Raises
    ------
    SourceFormatError
        The header is not on line 5 or lacks the id columns, or a cell is not a number.
    """
    path = Path(path)
    source = str(path)
    frame = pd.read_csv(path, skiprows=BULK_PREAMBLE_LINES, encoding="utf-8-sig", dtype=str,
                        keep_default_na=False)
    missing = [c for c in BULK_ID_COLUMNS if c not in frame.columns]
    if missing:
        raise SourceFormatError(source, f"line {BULK_PREAMBLE_LINES + 1} is not a WDI header "
                                f"with {list(BULK_ID_COLUMNS)}", field=missing[0])
    trailing = [c for c in frame.columns if c.startswith("Unnamed:")]
    for column in trailing:  # the empty column made by the trailing comma
        if frame[column].str.strip().ne("").any():
            raise SourceFormatError(source, "unnamed column is not empty", field=column)
    year_columns = [c for c in frame.columns if re.fullmatch(r"\d{4}", c)]
    if not year_columns:
        raise SourceFormatError(source, "no year columns in the header")
    # file line of each data row: the preamble, then the header, then the data
    frame["line"] = frame.index + BULK_PREAMBLE_LINES + 2
    long = frame.melt(id_vars=[*BULK_ID_COLUMNS, "line"], value_vars=year_columns,
                      var_name="year", value_name="raw")
    long = long[long["raw"].str.strip().ne("")]
    long["value"] = _numbers(long["raw"], long["line"], long["Country Code"] + " " + long["year"],
                             source)
    table = pd.DataFrame({
        "country_code": long["Country Code"], "country": long["Country Name"],
        "indicator": long["Indicator Code"], "year": long["year"].astype("int64"),
        "value": long["value"]})
    return table.sort_values(["country_code", "indicator", "year"]).reset_index(drop=True)


def read_worldbank_long(path: Path | str, indicator: str | None = None) -> pd.DataFrame:
    """Read the datahub long layout ``Country Name, Country Code, Year, Value``.

    Parameters
    ----------
    path : the CSV file.
    indicator : the WDI indicator code the file holds (the layout does not say); by
        default taken from the file name when it contains one (e.g. NY.GDP.MKTP.CD).

    Returns
    -------
    country_code, country, indicator, year, value, sorted by country_code and year.
    """
    path = Path(path)
    source = str(path)
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    if tuple(frame.columns) != LONG_COLUMNS:
        raise SourceFormatError(source, f"expected columns {list(LONG_COLUMNS)}",
                                field="header", value=list(frame.columns))
    if indicator is None:
        found = re.search(r"[A-Z]{2}(?:\.[A-Z0-9]+){2,}", path.stem)
        indicator = found.group(0) if found else ""
    years = frame["Year"].str.strip()
    bad_year = ~years.str.fullmatch(r"\d{4}")
    if bad_year.any():
        position = int(bad_year.to_numpy().nonzero()[0][0])
        raise SourceFormatError(source, "year is not a 4-digit number", field="Year",
                                value=frame["Year"].iloc[position], row=position + 2)
    frame["line"] = frame.index + 2  # the header is line 1
    empty = frame["Value"].str.strip().eq("")
    frame, years = frame[~empty], years[~empty]
    table = pd.DataFrame({
        "country_code": frame["Country Code"], "country": frame["Country Name"],
        "indicator": indicator, "year": years.astype("int64"),
        "value": _numbers(frame["Value"], frame["line"], "Value " + frame["Country Code"]
                          + " " + frame["Year"], source)})
    return table.sort_values(["country_code", "indicator", "year"]).reset_index(drop=True)


def read_worldbank_csv(path: Path | str, indicator: str | None = None) -> pd.DataFrame:
    """Read either World Bank CSV layout, telling them apart by the first line.

    See :func:`read_worldbank_bulk` and :func:`read_worldbank_long`.
    """
    path = Path(path)
    with open(path, encoding="utf-8-sig") as handle:
        first = handle.readline()
    if first.startswith('"Data Source"') or first.startswith("Data Source"):
        return read_worldbank_bulk(path)
    if first.strip().split(",")[:4] == list(LONG_COLUMNS):
        return read_worldbank_long(path, indicator=indicator)
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
