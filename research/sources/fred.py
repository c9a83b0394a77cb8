"""US Federal Reserve exchange rates (H.10 / G.5A, as carried in FRED): readers and an extract.

The raw files are the datahub ``core/exchange-rates`` packages: ``yearly.csv``
(``Date,Country,Value``; Date is 1 January of the year; annual averages) and
``monthly.csv`` (``Date,Country,Exchange rate``), read by :func:`read_fred_rates`.
Files downloaded from FRED itself (``observation_date,<SERIES ID>,...``) are read by
:func:`read_fred_csv`, for any series.

Quote convention: the datahub README (and the raw PROVENANCE after it) says the rates
are currency units per US dollar *except* Australia, Euro, Ireland, New Zealand and
the United Kingdom, which the Fed quotes as US dollars per unit. The values in these
files contradict that: every series, those five included, is in currency units per
US dollar (datahub inverted them). Checks against well-known market levels: Euro
2008 = 0.6791 (the euro averaged about US$1.47, i.e. 0.68 EUR per USD), Euro 2024 =
0.9242 (about US$1.08 per euro), Australia 2008 = 1.1714 (about US$0.85 per AUD),
United Kingdom 2024-06 = 0.7864 (about US$1.27 per pound). So ``quote`` is
"per USD" for every row; the column stays so a conversion states its direction.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from research.countries import to_iso3
from research.datasets import Dataset
from research.errors import SourceFormatError
from research.schemas import ISO3, Column, Schema
from research.sources.tabular import as_text, numbers, read_csv_text
from research.sources.tabular import dates as parse_dates

YEARLY_FILE = "defense/fred_exchange_rates_yearly.csv"
PER_USD, USD_PER_UNIT = "per USD", "USD per unit"
# The series the Fed itself quotes as USD per unit; datahub's values for them are
# inverted to units per USD (see the module docstring), so they are "per USD" here too.
FED_USD_PER_UNIT = frozenset({"Australia", "Euro", "Ireland", "New Zealand", "United Kingdom"})
VALUE_COLUMNS = ("Value", "Exchange rate")  # yearly, monthly

# FRED/datahub country label -> ISO 4217 currency of the series
CURRENCIES = {
    "Australia": "AUD", "Austria": "ATS", "Belgium": "BEF", "Brazil": "BRL", "Canada": "CAD",
    "China": "CNY", "Denmark": "DKK", "Euro": "EUR", "Finland": "FIM", "France": "FRF",
    "Germany": "DEM", "Greece": "GRD", "Hong Kong": "HKD", "India": "INR", "Ireland": "IEP",
    "Italy": "ITL", "Japan": "JPY", "Malaysia": "MYR", "Mexico": "MXN", "Netherlands": "NLG",
    "New Zealand": "NZD", "Norway": "NOK", "Portugal": "PTE", "Singapore": "SGD",
    "South Africa": "ZAR", "South Korea": "KRW", "Spain": "ESP", "Sri Lanka": "LKR",
    "Sweden": "SEK", "Switzerland": "CHF", "Taiwan": "TWD", "Thailand": "THB",
    "United Kingdom": "GBP", "Venezuela": "VES",
}

# FRED's two-letter country codes in exchange-rate series IDs (DEXJPUS, DEXUSEU, ...).
FRED_CURRENCY_CODES = {
    "AL": "AUD", "BZ": "BRL", "CA": "CAD", "CH": "CNY", "DN": "DKK", "EU": "EUR",
    "HK": "HKD", "IN": "INR", "JP": "JPY", "KO": "KRW", "MA": "MYR", "MX": "MXN",
    "NO": "NOK", "NZ": "NZD", "SD": "SEK", "SF": "ZAR", "SI": "SGD", "SL": "LKR",
    "SZ": "CHF", "TA": "TWD", "TH": "THB", "UK": "GBP", "VZ": "VES",
}
FRED_DATE_COLUMNS = {"observation_date", "date"}
FRED_MISSING = ("", ".")

# The extract: rates for the currencies of the SIPRI-extract countries that the
# yearly file has (Euro for Germany and France). The yearly file has no United
# Kingdom row (the monthly file does); the US needs none; Russia, North Korea,
# Philippines, Vietnam and Indonesia are not in the Fed's H.10 list.
EXTRACT_COUNTRIES = ("Australia", "China", "Euro", "India", "Japan", "South Korea", "Taiwan")
FIRST_YEAR, LAST_YEAR = 1990, 2025

FRED_FX_ANNUAL = Schema(
    name="fred_fx_annual",
    description="Annual average exchange rates against the US dollar (Federal Reserve, FRED).",
    columns={
        "country": Column("str", description="FRED/datahub label, e.g. 'Japan', 'Euro'"),
        "iso3": Column("str", nullable=True, pattern=ISO3,
                       description="ISO3 of the country; missing for the euro area"),
        "currency": Column("str", pattern=r"[A-Z]{3}", description="ISO 4217"),
        "year": Column("int", minimum=1950),
        "rate": Column("float", minimum=0),
        "quote": Column("str", allowed=frozenset({PER_USD, USD_PER_UNIT})),
    },
    key=("country", "year"),
    units={"rate": "see quote: currency units per USD, or USD per currency unit"},
)


FRED_RATES = Schema(
    name="fred_rates",
    description="A datahub exchange-rates file as read by read_fred_rates.",
    columns={
        "date": Column("date"),
        "country": Column("str"),
        "currency": Column("str", pattern=r"[A-Z]{3}"),
        "rate": Column("float", minimum=0),
        "quote": Column("str", allowed=frozenset({PER_USD, USD_PER_UNIT})),
    },
    key=("country", "date"),
)

FRED_SERIES = Schema(
    name="fred_series",
    description="A FRED download (fredgraph.csv) as read by read_fred_csv, long.",
    columns={
        "date": Column("date"),
        "series_id": Column("str", pattern=r"[A-Za-z0-9_.]+"),
        "value": Column("float"),
        "unit": Column("str", nullable=True),
    },
    key=("series_id", "date"),
)


def quote_of(country: str) -> str:
    """Quote of a datahub series: 'per USD' for all, including the Fed's USD-per-unit ones."""
    del country  # every datahub series is in currency units per US dollar
    return PER_USD


def read_fred_rates(path: Path | str) -> pd.DataFrame:
    """Read a datahub exchange-rates file, yearly or monthly layout.

    Returns
    -------
    date (first day of the period), country, currency, rate, quote; sorted by
    country and date.

    Raises
    ------
    SourceFormatError
        Unexpected header, a line cut short, a date that is not YYYY-MM-DD, a rate that
        is not a positive number, a country with no known currency, a country and date
        twice, or no rows.
    """
    path = Path(path)
    source = str(path)
    frame = read_csv_text(path)
    columns = list(frame.columns)
    if len(columns) != 3 or columns[:2] != ["Date", "Country"] or columns[2] not in VALUE_COLUMNS:
        raise SourceFormatError(source, "expected columns Date, Country and Value (yearly) or "
                                "Exchange rate (monthly)", field="header", value=columns)
    value_column = columns[2]
    dates = parse_dates(frame["Date"], source, "Date")
    rates = pd.to_numeric(frame[value_column], errors="coerce")
    bad = rates.isna() | rates.le(0) | np.isinf(rates)
    if bad.any():
        first = bad[bad].index[0]
        raise SourceFormatError(source, "an exchange rate must be a finite positive number",
                                field=value_column, value=frame.loc[first, value_column],
                                row=int(first))
    unknown = sorted(set(frame["Country"]) - set(CURRENCIES))
    if unknown:
        raise SourceFormatError(source, "no currency known for these series; add them to "
                                "research.sources.fred.CURRENCIES", field="Country", value=unknown)
    twice = frame.duplicated(["Country", "Date"], keep=False)
    if twice.any():
        lines = twice[twice].index
        raise SourceFormatError(source, f"the same country and date appear more than once "
                                f"(lines {list(lines[:2])})", field="Country,Date",
                                value=f"{frame.loc[lines[0], 'Country']} "
                                f"{frame.loc[lines[0], 'Date']}", row=int(lines[1]))
    table = pd.DataFrame({"date": dates, "country": frame["Country"],
                          "currency": frame["Country"].map(CURRENCIES),
                          "rate": rates.astype("float64"),
                          "quote": frame["Country"].map(quote_of)})
    table = as_text(table.sort_values(["country", "date"]).reset_index(drop=True))
    return FRED_RATES.validate(table, source=source)


def series_unit(series_id: str) -> str | None:
    """Quote of a Fed exchange-rate series from its FRED ID, None for other series.

    ``DEXJPUS``/``EXJPUS``/``AEXJPUS`` (daily, monthly, annual) are "JPY per USD";
    ``DEXUSEU``/``EXUSEU``/``AEXUSEU`` are "USD per EUR" (FRED's naming: the currency
    after EX is the one quoted per unit of the last).
    """
    match = re.fullmatch(r"A?D?EX([A-Z]{2})([A-Z]{2})", series_id.split("_")[0])
    if not match:
        return None
    first, second = match.groups()
    if second == "US" and first in FRED_CURRENCY_CODES:
        return f"{FRED_CURRENCY_CODES[first]} per USD"
    if first == "US" and second in FRED_CURRENCY_CODES:
        return f"USD per {FRED_CURRENCY_CODES[second]}"
    return None


def read_fred_csv(path: Path | str) -> pd.DataFrame:
    """Read a CSV downloaded from FRED (``fredgraph.csv``): any series, any frequency.

    The layout is a date column (``observation_date``, or ``DATE`` in files saved before
    2024) and one column per series, named by its FRED ID (``DEXJPUS``; ALFRED vintages
    add a suffix, ``DEXJPUS_20240101``). Missing observations are ``.`` (older files)
    or empty; they are left out, so gaps are absent rows.

    Returns
    -------
    date, series_id, value, unit; unit is the quote of the Fed's exchange-rate series
    ("JPY per USD", "USD per EUR", see :func:`series_unit`) and missing for other series,
    as the file does not state units. Sorted by series_id and date.

    Raises
    ------
    SourceFormatError
        No date column or no series column, a line cut short, a date that is not
        YYYY-MM-DD, a value that is not a number, a date twice, or no values.
    """
    path = Path(path)
    source = str(path)
    frame = read_csv_text(path)
    date_column = frame.columns[0]
    if date_column.lower() not in FRED_DATE_COLUMNS:
        raise SourceFormatError(source, f"first column is not the FRED date column "
                                f"({sorted(FRED_DATE_COLUMNS)})", field="header",
                                value=list(frame.columns))
    series = list(frame.columns[1:])
    if not series:
        raise SourceFormatError(source, "no series column after the date column",
                                field="header", value=list(frame.columns))
    bad_names = [s for s in series if not re.fullmatch(r"[A-Za-z0-9_.]+", s)]
    if bad_names:
        raise SourceFormatError(source, "column name is not a FRED series ID",
                                field="header", value=bad_names[0])
    dates = parse_dates(frame[date_column], source, date_column)
    twice = dates.duplicated(keep=False)
    if twice.any():
        lines = twice[twice].index
        raise SourceFormatError(source, f"the same date appears more than once (lines "
                                f"{list(lines[:2])})", field=date_column,
                                value=frame.loc[lines[0], date_column], row=int(lines[1]))
    parts = []
    for series_id in series:
        values = numbers(frame[series_id], source, series_id, missing=FRED_MISSING)
        if series_unit(series_id) is not None and values.le(0).any():
            first = values.index[values.le(0).to_numpy()][0]
            raise SourceFormatError(source, f"an exchange rate ({series_unit(series_id)}) "
                                    "must be positive", field=series_id,
                                    value=frame.loc[first, series_id], row=int(first))
        present = values.notna()
        parts.append(pd.DataFrame({"date": dates[present], "series_id": series_id,
                                   "value": values[present],
                                   "unit": series_unit(series_id)}))
    table = pd.concat(parts, ignore_index=True)
    if table.empty:
        raise SourceFormatError(source, "no observation holds a value")
    table = as_text(table.sort_values(["series_id", "date"]).reset_index(drop=True))
    return FRED_SERIES.validate(table, source=source)


def build_fred_fx_annual(raw_dir: Path) -> pd.DataFrame:
    """Annual average rates 1990-2025 for the currencies of the SIPRI-extract countries."""
    path = Path(raw_dir) / YEARLY_FILE
    rates = read_fred_rates(path)
    not_january = rates["date"].dt.strftime("%m-%d").ne("01-01")
    if not_january.any():
        raise SourceFormatError(str(path), "yearly file has a date that is not 1 January",
                                field="Date", value=str(rates.loc[not_january, "date"].iloc[0]))
    absent = sorted(set(EXTRACT_COUNTRIES) - set(rates["country"]))
    if absent:
        raise SourceFormatError(str(path), "series missing", field="Country", value=absent)
    rates = rates.assign(year=rates["date"].dt.year.astype("int64"))
    keep = rates["country"].isin(EXTRACT_COUNTRIES) & rates["year"].between(FIRST_YEAR, LAST_YEAR)
    rates = rates[keep]
    iso3 = [None if c == "Euro" else to_iso3(c) for c in rates["country"]]
    table = pd.DataFrame({"country": rates["country"], "iso3": iso3,
                          "currency": rates["currency"], "year": rates["year"],
                          "rate": rates["rate"], "quote": rates["quote"]})
    return table.sort_values(["country", "year"]).reset_index(drop=True)


DATASETS = [
    Dataset(
        name="fred_fx_annual",
        filename="defense/fred_fx_annual.parquet",
        title="Annual average exchange rates against the US dollar, 7 currencies, 1990-2025",
        publisher="Board of Governors of the Federal Reserve System (H.10/G.5A) via FRED, "
                  "packaged by datahub core/exchange-rates",
        vintage="datahub data/yearly.csv last changed 2026-03-03; latest year 2025",
        licence="ODC-PDDL-1.0 (datahub; source data public domain)",
        citation="Board of Governors of the Federal Reserve System, Foreign Exchange Rates "
                 "(H.10/G.5A), via FRED and https://github.com/datasets/exchange-rates",
        raw_inputs=(YEARLY_FILE,),
        build=build_fred_fx_annual,
        schema=FRED_FX_ANNUAL,
        notes=("Quote: currency units per USD for every row, Australia and Euro included: "
               "the datahub README says those two are USD per unit, but the values are per "
               "USD (Euro 2024 = 0.9242 EUR per USD). Euro covers Germany and France from 1999. No UK row "
               "in the yearly file; no H.10 rate for Russia, North Korea, the Philippines, "
               "Vietnam or Indonesia; the US needs none."),
    ),
]

FILE_READERS = {"fred": read_fred_csv, "fred_datahub": read_fred_rates}
