"""SIPRI Military Expenditure Database: a workbook reader and the bundled extract.

The SIPRI Milex workbook has one sheet per measure. Each sheet starts with a few
lines of title and notes, so the header row (the row holding ``Country``) differs
from sheet to sheet and between releases; it is located, not assumed. Sheets are
found by title patterns that cover the releases seen so far: the constant-price
sheet carries its base year, which changes every release ("Constant (2023) US$",
"Constant (2019) USD"), and older releases write "USD" for "US$". Countries are
grouped under region and subregion heading rows (a name, no numbers), which are
skipped. SIPRI's missing markers stay visible: ``...`` (data unavailable) and ``xxx``
(country did not exist) become NaN with the marker kept in ``missing_marker``;
they never become zero.

Units are stated, never guessed: every row carries a ``unit``. The title lines above
the header are checked against the measure (a "Current US$" sheet whose title says
US$ billions, or a constant-price sheet whose title names another base year, is an
error). Shares are kept as SIPRI stores them: cells formatted as percentages hold
fractions (0.0137 shown as 1.37%), so the unit is "fraction of GDP"; a share sheet
whose numbers carry no percent format holds the percentages themselves and gets
"percent of GDP".

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
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.utils import get_column_letter

from research.countries import normalize, to_iso3
from research.datasets import Dataset
from research.errors import ParameterError, ResearchError, SkippedDataWarning, SourceFormatError
from research.schemas import MILITARY_EXPENDITURE
from research.sources.tabular import open_workbook

SIPRI_FILE = "defense/SIPRI-Milex-data-1949-2024_2.xlsx"
CITATION = "SIPRI Military Expenditure Database 2025, https://www.sipri.org/databases/milex"
SOURCE_LABEL = "SIPRI Military Expenditure Database 2025"
MAX_VALUES = 3500  # SIPRI fair-use limit: 10% of the database = 3,500 data values
HEADER_SEARCH_ROWS = 30
MARKERS = {"...": "...", ". .": "...", "..": "...", "xxx": "xxx"}

# measure -> (regular expression for the sheet title, unit). Titles are compared
# case-insensitively after collapsing white space.
SHEETS: dict[str, tuple[str, str]] = {
    "constant_usd": (r"constant ?(?:\((?P<base>\d{4})\))? ?us ?(?:\$|d)",
                     "US$ m, constant {base} prices"),
    "current_usd": (r"current ?us ?(?:\$|d)", "US$ m, current prices"),
    "share_of_gdp": (r"share of gdp", "{share} of GDP"),
    "local_currency_fy": (r"local currency financial years?",
                          "{currency} (local currency{scale}), current prices, financial year "
                          "{fiscal_year}"),
    "local_currency_cy": (r"local currency calendar years?",
                          "{currency} (local currency{scale}), current prices, calendar year"),
    "per_capita_usd": (r"per capita", "US$ per person, current prices"),
    "share_of_government": (r"share of govt\.? spending",
                            "{share} of general government expenditure"),
}
MONEY_MEASURES = ("constant_usd", "current_usd")
LOCAL_MEASURES = ("local_currency_fy", "local_currency_cy")
SHARE_MEASURES = ("share_of_gdp", "share_of_government")
# Sheets of the workbook that hold no country table.
OTHER_SHEETS = ("front page", "regional totals", "footnotes")

# Scale statements in the title lines above a sheet's header.
SCALES = {
    "million": re.compile(r"us ?\$ ?m\b|us ?\$ ?mn\b|millions? of|in millions", re.I),
    "billion": re.compile(r"us ?\$ ?bn?\b|billions? of|in billions", re.I),
    "thousand": re.compile(r"us ?\$ ?(?:k|'000)|thousands? of|in thousands", re.I),
}
TITLE_BASE_YEAR = re.compile(r"constant ?\(?(\d{4})\)?", re.I)
MONEY_WORDS = re.compile(r"us ?\$|\busd\b|local currency", re.I)

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


def _plain(title: str) -> str:
    return " ".join(title.split()).lower()


def _sheet_measure(title: str) -> tuple[str, dict] | None:
    """(measure, named groups) of a sheet title, or None for a sheet that is not known."""
    for measure, (pattern, _) in SHEETS.items():
        match = re.fullmatch(pattern, _plain(title))
        if match:
            return measure, match.groupdict()
    return None


def _find_sheet(workbook: openpyxl.Workbook, path: Path, measure: str) -> tuple[str, dict]:
    found = []
    for title in workbook.sheetnames:
        known = _sheet_measure(title)
        if known is not None and known[0] == measure:
            found.append((title, known[1]))
    if not found:
        raise SourceFormatError(str(path), f"no sheet for measure {measure!r} (title pattern "
                                f"{SHEETS[measure][0]!r}); sheets found: {workbook.sheetnames}",
                                field="sheet")
    if len(found) > 1:
        raise SourceFormatError(str(path), f"more than one sheet for measure {measure!r}",
                                field="sheet", value=[title for title, _ in found])
    return found[0]


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


def _cell_problem(parsed: tuple[float, str | None] | None) -> str | None:
    """What is wrong with a parsed data cell, or None: spending and its shares are finite
    and never below 0 (NaN only with a marker)."""
    if parsed is None:
        return "neither a number nor a SIPRI missing marker ('...', 'xxx')"
    value, marker = parsed
    if marker is not None:
        return None
    if math.isnan(value) or math.isinf(value):
        return "not a finite number"
    if value < 0:
        return "negative: military spending and its shares are never below 0"
    return None


def _title_units(measure: str, groups: dict, title_lines: list[tuple[str, str]],
                 where: str) -> dict[str, str]:
    """Check the sheet's title lines against the measure; return the unit's parts.

    Raises SourceFormatError when a title line states another unit than the measure has.
    """
    def fail(coordinate: str, text: str, message: str) -> None:
        raise SourceFormatError(where, message, field=f"title cell {coordinate}", value=text)

    parts = {"base": groups.get("base") or "", "scale": ""}
    for coordinate, text in title_lines:
        scales = [name for name, pattern in SCALES.items() if pattern.search(text)]
        if measure in MONEY_MEASURES and set(scales) - {"million"}:
            fail(coordinate, text, f"title states US$ {scales[0]}s; the {measure} sheet is "
                 "read as US$ millions")
        if measure == "per_capita_usd" and scales:
            fail(coordinate, text, f"title states {scales[0]}s; per capita figures are read "
                 "as US$ per person")
        if measure in LOCAL_MEASURES and scales:
            if set(scales) - {"million"}:
                fail(coordinate, text, f"title states {scales[0]}s of local currency; only "
                     "units or millions are read")
            parts["scale"] = ", millions"
        if measure in SHARE_MEASURES and MONEY_WORDS.search(text):
            fail(coordinate, text, f"title states a currency; the {measure} sheet is read as "
                 "a share")
        years = set(TITLE_BASE_YEAR.findall(text))
        if measure == "current_usd" and years:
            fail(coordinate, text, "title states constant prices on the current US$ sheet")
        if measure == "constant_usd" and years:
            if len(years) > 1 or (parts["base"] and years != {parts["base"]}):
                fail(coordinate, text, f"title states base year {sorted(years)}, the sheet "
                     f"name says {parts['base'] or 'none'}")
            parts["base"] = years.pop()
    if measure == "constant_usd" and not parts["base"]:
        raise SourceFormatError(where, "neither the sheet name nor its title states the base "
                                "year of the constant prices", field="sheet")
    return parts


def _share_unit(formats: dict[str, int], where: str) -> str:
    """'fraction' when the numbers are formatted as percentages, 'percent' when none is."""
    numbers = sum(formats.values())
    percent = sum(count for fmt, count in formats.items() if fmt and "%" in fmt)
    if numbers == 0 or percent >= 0.9 * numbers:
        return "fraction"
    if percent <= 0.1 * numbers:
        return "percent"
    raise SourceFormatError(where, f"{percent} of {numbers} numbers are formatted as "
                            "percentages and the rest are not: cannot tell fractions from "
                            "percentages", field="number format")


def _read_sheet(workbook: openpyxl.Workbook, path: Path, measure: str,
                wanted: set[str] | None, title: str | None = None,
                groups: dict | None = None) -> list[dict]:
    if title is None:
        title, groups = _find_sheet(workbook, path, measure)
    where = f"{path}, sheet {title!r}"
    try:
        return _read_rows(workbook[title].iter_rows(), where, title, measure, groups or {},
                          wanted)
    except ResearchError:
        raise
    except Exception as error:  # damaged sheet XML: openpyxl fails while streaming rows
        raise SourceFormatError(where, f"cannot read the sheet ({type(error).__name__}: "
                                f"{error}); the file may be damaged") from error


def _read_rows(rows, where: str, title: str, measure: str, groups: dict,
               wanted: set[str] | None) -> list[dict]:
    header, header_row, title_lines = None, None, []
    for number, cells in enumerate(rows, start=1):
        row = [cell.value for cell in cells]
        if any(isinstance(c, str) and c.strip() == "Country" for c in row):
            header, header_row = row, number
            break
        title_lines += [(cell.coordinate, cell.value.strip()) for cell in cells
                        if isinstance(cell.value, str) and cell.value.strip()]
        if number >= HEADER_SEARCH_ROWS:
            break
    if header is None:
        raise SourceFormatError(where, f"no header row with a 'Country' cell in the first "
                                f"{HEADER_SEARCH_ROWS} rows", field="Country")
    parts = _title_units(measure, groups, title_lines, where)
    labels = [c.strip() if isinstance(c, str) else c for c in header]
    country_col = labels.index("Country")
    year_cols = {i: _year(c) for i, c in enumerate(header) if _year(c) is not None}
    if not year_cols:
        raise SourceFormatError(where, "header row has no year columns", row=header_row)
    repeated = sorted({y for y in year_cols.values() if list(year_cols.values()).count(y) > 1})
    if repeated:
        raise SourceFormatError(where, "year appears twice in the header", row=header_row,
                                field="year", value=repeated[0])
    currency_col = labels.index("Currency") if "Currency" in labels else None
    if measure in LOCAL_MEASURES and currency_col is None:
        raise SourceFormatError(where, "local-currency sheet without a 'Currency' column",
                                row=header_row, field="Currency")
    fiscal_col = next((i for i, c in enumerate(labels)
                       if isinstance(c, str) and c.startswith("Fiscal Year")), None)
    source = f"{SOURCE_LABEL}, sheet '{title}'"
    records, formats, seen = [], {}, {}
    for number, cells in enumerate(rows, start=header_row + 1):
        row = [cell.value for cell in cells]
        if country_col >= len(row) or _blank(row[country_col]):
            continue
        name = str(row[country_col]).strip()
        cells_by_year = {i: (row[i] if i < len(row) else None) for i in year_cols}
        if all(_blank(c) for c in cells_by_year.values()):
            continue  # a region or subregion heading
        if wanted is not None and (FORMER_STATES.get(name) or to_iso3(name)) not in wanted:
            continue
        iso3 = _iso3(name, where)
        if iso3 in seen:
            raise SourceFormatError(where, f"country appears twice (rows {seen[iso3]} and "
                                    f"{number}, both {iso3})", field="Country", value=name,
                                    row=number)
        seen[iso3] = number
        currency = str(row[currency_col]).strip() if currency_col is not None else ""
        fiscal_year = (str(row[fiscal_col]).strip() if fiscal_col is not None
                       and fiscal_col < len(row) and not _blank(row[fiscal_col]) else "Jan-Dec")
        row_records = []
        for column, cell in cells_by_year.items():
            parsed = _cell_value(cell)
            problem = _cell_problem(parsed)
            if problem:
                coordinate = f"{get_column_letter(column + 1)}{number}"
                raise SourceFormatError(
                    where, f"cell is {problem}",
                    field=f"cell {coordinate} ({name}, {year_cols[column]})", value=cell,
                    row=number)
            if parsed[1] is None and measure in SHARE_MEASURES:
                fmt = getattr(cells[column], "number_format", None) or ""
                formats[fmt] = formats.get(fmt, 0) + 1
            row_records.append({"iso3": iso3, "country": name, "year": year_cols[column],
                                "measure": measure, "value": parsed[0],
                                "missing_marker": parsed[1], "source": source,
                                "currency": currency, "fiscal_year": fiscal_year})
        records += row_records
    if not records and wanted is None:
        raise SourceFormatError(where, "no country rows below the header", row=header_row)
    share = _share_unit(formats, where) if measure in SHARE_MEASURES else ""
    template = SHEETS[measure][1]
    for record in records:
        record["unit"] = template.format(base=parts["base"], scale=parts["scale"], share=share,
                                         currency=record.pop("currency"),
                                         fiscal_year=record.pop("fiscal_year"))
    return records


def read_sipri_workbook(path: Path | str, sheets: Sequence[str] | None = BUNDLED_MEASURES,
                        countries: Iterable[str] | None = None) -> pd.DataFrame:
    """Read measures from a SIPRI Milex workbook into the MILITARY_EXPENDITURE layout.

    Parameters
    ----------
    path : the SIPRI workbook (``SIPRI-Milex-data-1949-2024_2.xlsx``, an earlier or a later
        release).
    sheets : measures to read, each naming the sheet it comes from (keys of ``SHEETS``:
        constant_usd, current_usd, share_of_gdp, local_currency_fy, local_currency_cy,
        per_capita_usd, share_of_government), or None for every country sheet the workbook
        has. The constant-price sheet is found by its title pattern ``Constant (YYYY) US$``
        (or ``USD``) and the base year goes into ``unit``.
    countries : names (SIPRI's or any spelling ``research.countries`` knows) or ISO3 codes
        of the countries to keep (default: every country).

    Returns
    -------
    One row per country, year and measure: iso3, country (SIPRI's name), year, measure,
    value (NaN where SIPRI has a marker), unit, missing_marker ("..." or "xxx"), source.
    Sorted by iso3, measure and year.

    Raises
    ------
    SourceFormatError
        Not a readable workbook (e.g. cut short), a sheet is missing, a sheet has no
        ``Country`` header or no country rows, a title states another unit, a data cell
        is neither a number nor a marker, a country appears twice, or a requested
        country is absent; the message names the file, sheet and cell.
    ParameterError
        An unknown measure or country name was asked for.
    """
    path = Path(path)
    unknown = [s for s in (sheets or ()) if s not in SHEETS]
    if unknown:
        raise ParameterError(f"unknown SIPRI measure(s) {unknown}; choose from {sorted(SHEETS)}")
    wanted = None
    if countries is not None:
        requested = {c: FORMER_STATES.get(c) or to_iso3(c) for c in countries}
        unmapped = sorted(c for c, code in requested.items() if code is None)
        if unmapped:
            raise ParameterError(f"unknown country name(s) {unmapped}")
        wanted = set(requested.values())
    workbook = open_workbook(path)
    try:
        if sheets is None:
            records = []
            for title, measure, groups in _country_sheets(workbook, path):
                records += _read_sheet(workbook, path, measure, wanted, title, groups)
        else:
            records = [r for measure in sheets
                       for r in _read_sheet(workbook, path, measure, wanted)]
    finally:
        workbook.close()
    table = pd.DataFrame.from_records(records, columns=list(MILITARY_EXPENDITURE.columns))
    if wanted is not None:
        absent = sorted(wanted - set(table["iso3"]))
        if absent:
            raise SourceFormatError(str(path), "requested countries not found in the workbook",
                                    field="Country", value=absent)
    table = table.sort_values(["iso3", "measure", "year"], kind="stable").reset_index(drop=True)
    table = table.astype({"year": "int64", "value": "float64"})
    return MILITARY_EXPENDITURE.validate(table, source=str(path)) if len(table) else table


def _country_sheets(workbook: openpyxl.Workbook, path: Path) -> list[tuple[str, str, dict]]:
    """(title, measure, groups) of every known country sheet; warn about unknown sheets."""
    found, seen = [], {}
    for title in workbook.sheetnames:
        known = _sheet_measure(title)
        if known is None:
            if _plain(title) not in OTHER_SHEETS:
                warnings.warn(f"{path}: sheet {title!r} is not a known SIPRI country sheet and "
                              "was not read", SkippedDataWarning, stacklevel=4)
            continue
        measure, groups = known
        if measure in seen:
            raise SourceFormatError(str(path), f"more than one sheet for measure {measure!r}",
                                    field="sheet", value=[seen[measure], title])
        seen[measure] = title
        found.append((title, measure, groups))
    if not found:
        raise SourceFormatError(str(path), f"no SIPRI country sheet (e.g. 'Share of GDP', "
                                f"'Current US$'); sheets found: {workbook.sheetnames}",
                                field="sheet")
    return found


def read_sipri_file(path: Path | str) -> pd.DataFrame:
    """Every country sheet of a SIPRI Milex workbook, any release (see read_sipri_workbook)."""
    return read_sipri_workbook(path, sheets=None)


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

FILE_READERS = {"sipri": read_sipri_file}
