"""SIPRI Military Expenditure Database: a workbook reader and the bundled extract.

The SIPRI Milex workbook has one sheet per measure. Each sheet starts with a few
lines of title and notes, so the header row (the row holding ``Country``) differs
from sheet to sheet; it is located, not assumed. Countries are grouped under
region and subregion heading rows (a name, no numbers), which are skipped.
SIPRI's missing markers stay visible: ``...`` (data unavailable) and ``xxx``
(country did not exist) become NaN with the marker kept in ``missing_marker``;
they never become zero. Shares are kept as SIPRI stores them, as fractions.

SIPRI's terms allow reproducing at most 10% of the database, defined as 3,500
data values, so the bundled extract is small and its build checks the count.
Font colour (blue = SIPRI estimate, red = highly uncertain) is not read.

One quirk is corrected in the bundled extract only: SIPRI's ``Current US$`` sheet holds
``0.0`` where the spending is unknown for North Korea 1990-2014 and Russia 1990 and
1992 (the constant-price or share sheets have ``...`` or a positive figure for the same
years, e.g. Russia 1992: constant US$ 47,566 m, 4.4% of GDP). All 15 extract countries
have armed forces, so a zero cannot be a reported zero: the extract stores these as NaN
with no marker (a NaN without a marker means "SIPRI wrote 0.0"). The reader itself
returns the cells as they are.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.utils import get_column_letter

from research.countries import normalize, to_iso3
from research.datasets import Dataset
from research.errors import ParameterError, SourceFormatError
from research.schemas import MILITARY_EXPENDITURE

SIPRI_FILE = "defense/SIPRI-Milex-data-1949-2024_2.xlsx"
CITATION = "SIPRI Military Expenditure Database 2025, https://www.sipri.org/databases/milex"
SOURCE_LABEL = "SIPRI Military Expenditure Database 2025"
MAX_VALUES = 3500  # SIPRI fair-use limit: 10% of the database = 3,500 data values
HEADER_SEARCH_ROWS = 30
MARKERS = {"...": "...", ". .": "...", "..": "...", "xxx": "xxx"}

# measure -> (regular expression for the sheet title, unit)
SHEETS: dict[str, tuple[str, str]] = {
    "constant_usd": (r"Constant \((?P<base>\d{4})\) US\$", "US$ m, constant {base} prices"),
    "current_usd": (r"Current US\$", "US$ m, current prices"),
    "share_of_gdp": (r"Share of GDP", "fraction of GDP"),
    "local_currency_fy": (r"Local currency financial years",
                          "{currency} (local currency), current prices, financial year {fiscal_year}"),
    "per_capita_usd": (r"Per capita", "US$ per person, current prices"),
    "share_of_government": (r"Share of Govt\.? spending",
                            "fraction of general government expenditure"),
}

# SIPRI names of former states that ISO 3166-1 no longer lists. The codes are the
# ISO 3166-3 alpha-3 codes of the former countries, except North Yemen, which has
# none of its own (its code passed to unified Yemen); "YAR" (Yemen Arab Republic)
# is used so that it does not collide with YEM.
FORMER_STATES = {
    "USSR": "SUN",
    "Czechoslovakia": "CSK",
    "German Democratic Republic": "DDR",
    "Yugoslavia": "YUG",
    "Yemen, North": "YAR",
}

# The bundled extract: SIPRI's spellings, main powers of East Asia and the Pacific
# plus the large spenders they are compared with.
COUNTRIES = (
    "Japan", "China", "Taiwan", "Korea, South", "Korea, North", "United States of America",
    "Russia", "India", "Australia", "Germany", "France", "United Kingdom", "Philippines",
    "Viet Nam", "Indonesia",
)
BUNDLED_ISO3 = ("AUS", "CHN", "DEU", "FRA", "GBR", "IDN", "IND", "JPN", "KOR", "PHL", "PRK",
                "RUS", "TWN", "USA", "VNM")
FIRST_YEAR, LAST_YEAR = 1990, 2024
BUNDLED_MEASURES = ("constant_usd", "current_usd", "share_of_gdp", "per_capita_usd")
JAPAN_ONLY_MEASURES = ("local_currency_fy",)


def _iso3(name: str, source: str) -> str:
    if name in FORMER_STATES:
        return FORMER_STATES[name]
    return normalize([name], source=source, field="Country")[0]


def _find_sheet(workbook: openpyxl.Workbook, path: Path, measure: str) -> tuple[str, dict]:
    pattern = SHEETS[measure][0]
    for title in workbook.sheetnames:
        match = re.fullmatch(pattern, title.strip())
        if match:
            return title, match.groupdict()
    raise SourceFormatError(str(path), f"no sheet for measure {measure!r} (title pattern "
                            f"{pattern!r}); sheets found: {workbook.sheetnames}", field="sheet")


def _year(cell: object) -> int | None:
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int | float) and not math.isnan(cell) and float(cell).is_integer():
        year = int(cell)
    elif isinstance(cell, str) and re.fullmatch(r"\d{4}", cell.strip()):
        year = int(cell.strip())
    else:
        return None
    return year if 1900 <= year <= 2100 else None


def _blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _cell_value(cell: object) -> tuple[float, str | None] | None:
    """(value, marker) of a data cell, or None if it is neither a number nor a marker."""
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return float(cell), None
    if isinstance(cell, str) and cell.strip() in MARKERS:
        return math.nan, MARKERS[cell.strip()]
    return None


def _read_sheet(workbook: openpyxl.Workbook, path: Path, measure: str,
                wanted: set[str] | None) -> list[dict]:
    title, groups = _find_sheet(workbook, path, measure)
    where = f"{path}, sheet {title!r}"
    rows = workbook[title].iter_rows(values_only=True)
    header, header_row = None, None
    for number, row in enumerate(rows, start=1):
        if any(isinstance(c, str) and c.strip() == "Country" for c in row):
            header, header_row = row, number
            break
        if number >= HEADER_SEARCH_ROWS:
            break
    if header is None:
        raise SourceFormatError(where, f"no header row with a 'Country' cell in the first "
                                f"{HEADER_SEARCH_ROWS} rows", field="Country")
    labels = [c.strip() if isinstance(c, str) else c for c in header]
    country_col = labels.index("Country")
    year_cols = {i: _year(c) for i, c in enumerate(header) if _year(c) is not None}
    if not year_cols:
        raise SourceFormatError(where, "header row has no year columns", row=header_row)
    currency_col = labels.index("Currency") if "Currency" in labels else None
    fiscal_col = next((i for i, c in enumerate(labels)
                       if isinstance(c, str) and c.startswith("Fiscal Year")), None)
    unit_template = SHEETS[measure][1]
    source = f"{SOURCE_LABEL}, sheet '{title}'"
    records = []
    for number, row in enumerate(rows, start=header_row + 1):
        if country_col >= len(row) or _blank(row[country_col]):
            continue
        name = str(row[country_col]).strip()
        cells = {i: (row[i] if i < len(row) else None) for i in year_cols}
        if all(_blank(c) for c in cells.values()):
            continue  # a region or subregion heading
        if wanted is not None and (FORMER_STATES.get(name) or to_iso3(name)) not in wanted:
            continue
        iso3 = _iso3(name, where)
        currency = str(row[currency_col]).strip() if currency_col is not None else ""
        fiscal_year = (str(row[fiscal_col]).strip() if fiscal_col is not None
                       and not _blank(row[fiscal_col]) else "Jan-Dec")
        unit = unit_template.format(base=groups.get("base", ""), currency=currency,
                                    fiscal_year=fiscal_year)
        for column, cell in cells.items():
            parsed = _cell_value(cell)
            if parsed is None:
                coordinate = f"{get_column_letter(column + 1)}{number}"
                raise SourceFormatError(
                    where, "cell is neither a number nor a SIPRI missing marker ('...', 'xxx')",
                    field=f"cell {coordinate} ({name}, {year_cols[column]})", value=cell,
                    row=number)
            records.append({"iso3": iso3, "country": name, "year": year_cols[column],
                            "measure": measure, "value": parsed[0], "unit": unit,
                            "missing_marker": parsed[1], "source": source})
    return records


def read_sipri_workbook(path: Path | str, sheets: Sequence[str] = BUNDLED_MEASURES,
                        countries: Iterable[str] | None = None) -> pd.DataFrame:
    """Read measures from a SIPRI Milex workbook into the MILITARY_EXPENDITURE layout.

    Parameters
    ----------
    path : the SIPRI workbook (``SIPRI-Milex-data-1949-2024_2.xlsx`` or a later release).
    sheets : measures to read, each naming the sheet it comes from (keys of ``SHEETS``:
        constant_usd, current_usd, share_of_gdp, local_currency_fy, per_capita_usd,
        share_of_government). The constant-price sheet is found by its title pattern
        ``Constant (YYYY) US$`` and the base year goes into ``unit``.
    countries : names (SIPRI's or any spelling ``research.countries`` knows) or ISO3 codes
        of the countries to keep (default: every country).

    Returns
    -------
    One row per country, year and measure: iso3, country (SIPRI's name), year, measure,
    value (NaN where SIPRI has a marker), unit, missing_marker, source. Sorted by iso3,
    measure and year.

    Raises
    ------
    SourceFormatError
        A sheet is missing, a sheet has no ``Country`` header, a data cell is neither a
        number nor a marker, or a requested country is absent; the message names the
        file, sheet and cell.
    ParameterError
        An unknown measure or country name was asked for.
    """
    path = Path(path)
    unknown = [s for s in sheets if s not in SHEETS]
    if unknown:
        raise ParameterError(f"unknown SIPRI measure(s) {unknown}; choose from {sorted(SHEETS)}")
    wanted = None
    if countries is not None:
        requested = {c: FORMER_STATES.get(c) or to_iso3(c) for c in countries}
        unmapped = sorted(c for c, code in requested.items() if code is None)
        if unmapped:
            raise ParameterError(f"unknown country name(s) {unmapped}")
        wanted = set(requested.values())
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise
    except Exception as error:  # a zip or XML error: not a workbook
        raise SourceFormatError(str(path), f"not a readable Excel workbook ({error})") from error
    try:
        records = [r for measure in sheets for r in _read_sheet(workbook, path, measure, wanted)]
    finally:
        workbook.close()
    table = pd.DataFrame.from_records(records, columns=list(MILITARY_EXPENDITURE.columns))
    if wanted is not None:
        absent = sorted(wanted - set(table["iso3"]))
        if absent:
            raise SourceFormatError(str(path), "requested countries not found in the workbook",
                                    field="Country", value=absent)
    table = table.sort_values(["iso3", "measure", "year"], kind="stable").reset_index(drop=True)
    return table.astype({"year": "int64", "value": "float64"})


def check_value_limit(table: pd.DataFrame, limit: int = MAX_VALUES) -> int:
    """Count the data values in a SIPRI extract and raise if SIPRI's terms are exceeded.

    Every row is one value cell of the workbook, NaN (a marker) included.

    Returns
    -------
    The number of values.

    Raises
    ------
    ParameterError
        More than ``limit`` values (3,500: SIPRI's "10% of the entire dataset").
    """
    count = int(len(table))
    if count > limit:
        raise ParameterError(f"SIPRI extract has {count} data values; SIPRI's terms allow at "
                             f"most {limit}: choose fewer countries, years or measures")
    return count


def build_sipri_milex(raw_dir: Path) -> pd.DataFrame:
    """The bundled SIPRI extract: 15 countries, 1990-2024, under 3,500 values.

    Measures constant_usd, current_usd, share_of_gdp and per_capita_usd for every
    country in ``COUNTRIES``, plus local_currency_fy (yen, April-March fiscal years)
    for Japan only.
    """
    path = Path(raw_dir) / SIPRI_FILE
    table = read_sipri_workbook(path, sheets=BUNDLED_MEASURES + JAPAN_ONLY_MEASURES,
                                countries=COUNTRIES)
    keep = (table["year"].between(FIRST_YEAR, LAST_YEAR)
            & (~table["measure"].isin(JAPAN_ONLY_MEASURES) | table["iso3"].eq("JPN")))
    table = table[keep].reset_index(drop=True)
    artefact_zero = table["value"].eq(0.0)
    table.loc[artefact_zero, "value"] = math.nan  # see the module docstring
    check_value_limit(table)
    return table


DATASETS = [
    Dataset(
        name="sipri_milex",
        filename="defense/sipri_milex.parquet",
        title="Military expenditure of 15 countries, 1990-2024 (SIPRI extract)",
        publisher="Stockholm International Peace Research Institute (SIPRI)",
        vintage="April 2025 release (data 1949-2024), file SIPRI-Milex-data-1949-2024_2.xlsx",
        licence=("SIPRI fair use: non-commercial use, SIPRI cited, at most 10% of the "
                 "database (3,500 data values) reproduced; the build checks the count"),
        citation=CITATION,
        raw_inputs=(SIPRI_FILE,),
        build=build_sipri_milex,
        schema=MILITARY_EXPENDITURE,
        notes=("Countries: " + ", ".join(COUNTRIES) + ". Measures constant_usd (US$ m, "
               "constant 2023 prices), current_usd (US$ m), share_of_gdp (fraction), "
               "per_capita_usd (current US$) for all; local_currency_fy (yen, FY Apr-Mar "
               "starting in the named year) for Japan only. '...' and 'xxx' are NaN with the "
               "marker kept. SIPRI's 0.0 current-US$ cells for North Korea 1990-2014 and "
               "Russia 1990 and 1992 (unknown spending) are NaN with no marker. "
               "SIPRI's estimate/uncertainty flags (font colour) are not kept. "
               "SIPRI's Japan series is wider than the MoD initial budget."),
    ),
]
