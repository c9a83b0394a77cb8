"""Japan's Ministry of Defense initial budget by fiscal year, parsed from the raw notes.

The figures are the Cabinet-approved initial budgets (before Diet passage and
supplementary budgets) read on news pages and written up as a markdown table in
``defense/JAPAN_DEFENSE_BUDGET_NOTES.md``. They are parsed from that table by code,
so a change in the notes shows up on rebuild. Japan's fiscal year runs April-March:
FY2026 is April 2026 to March 2027. SIPRI's series for Japan is defined more widely
and is larger (SIPRI FY2023 = 7.1575 tn yen against MoD's 6.8 tn).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pandas as pd

from research.datasets import Dataset
from research.errors import SourceFormatError
from research.schemas import Column, Schema

NOTES_FILE = "defense/JAPAN_DEFENSE_BUDGET_NOTES.md"
BASIS = "MoD initial budget, Cabinet-approved draft"
HEADER = ("fiscal year", "amount", "what / when", "page(s)")
AMOUNT = re.compile(r"¥\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<scale>tn|bn)\b")
SCALES = {"tn": Decimal(10) ** 12, "bn": Decimal(10) ** 9}
URL = re.compile(r"https?://\S+")

JAPAN_DEFENSE_BUDGET = Schema(
    name="japan_defense_budget",
    description="Japan's MoD initial defence budget by fiscal year (April-March), in yen.",
    columns={
        "fiscal_year": Column("int", minimum=1950, description="FY starting in April of this year"),
        "amount_jpy": Column("float", minimum=0, description="yen, current prices"),
        "basis": Column("str"),
        "note": Column("str", description="the amount and the what/when cells as written"),
        "source_urls": Column("str", description="';'-separated pages the figure was read on"),
    },
    key=("fiscal_year",),
    units={"amount_jpy": "JPY"},
)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _amount_jpy(text: str, source: str, row: int) -> float:
    match = AMOUNT.search(text)
    if match is None:
        raise SourceFormatError(source, "amount is not written as '¥N tn' or '¥N bn'",
                                field="amount", value=text, row=row)
    return float(Decimal(match["number"]) * SCALES[match["scale"]])


def read_budget_notes(path: Path | str) -> pd.DataFrame:
    """Parse the fiscal-year table of ``JAPAN_DEFENSE_BUDGET_NOTES.md``.

    Returns
    -------
    fiscal_year, amount_jpy (yen; the first '¥N tn' of the amount cell, so
    '¥7.95 tn (Kyodo rounds it to 7.9 tn)' gives 7.95e12), basis, note, source_urls.

    Raises
    ------
    SourceFormatError
        No table with the expected header, or a row whose fiscal year, amount or
        pages cannot be read; the message names the file and line.
    """
    path = Path(path)
    source = str(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(lines)
                  if tuple(c.lower() for c in _cells(line)) == HEADER), None)
    if start is None:
        raise SourceFormatError(source, f"no markdown table with header {list(HEADER)}")
    records = []
    for number, line in enumerate(lines[start + 2:], start=start + 3):
        if not line.strip().startswith("|"):
            break
        cells = _cells(line)
        if len(cells) != len(HEADER):
            raise SourceFormatError(source, f"expected {len(HEADER)} cells, got {len(cells)}",
                                    row=number, value=line)
        year_cell, amount_cell, what_cell, pages_cell = cells
        year = re.fullmatch(r"FY\s*(\d{4})", year_cell)
        if year is None:
            raise SourceFormatError(source, "fiscal year is not written as 'FYyyyy'",
                                    field="fiscal year", value=year_cell, row=number)
        urls = URL.findall(pages_cell)
        if not urls:
            raise SourceFormatError(source, "no page address", field="page(s)",
                                    value=pages_cell, row=number)
        records.append({"fiscal_year": int(year[1]),
                        "amount_jpy": _amount_jpy(amount_cell, source, number),
                        "basis": BASIS, "note": f"{amount_cell}: {what_cell}",
                        "source_urls": ";".join(urls)})
    if not records:
        raise SourceFormatError(source, "the fiscal-year table has no rows", row=start + 1)
    table = pd.DataFrame.from_records(records, columns=list(JAPAN_DEFENSE_BUDGET.columns))
    table = table.sort_values("fiscal_year").reset_index(drop=True)
    return table.astype({"fiscal_year": "int64", "amount_jpy": "float64"})


def build_japan_defense_budget(raw_dir: Path) -> pd.DataFrame:
    """The bundled table of MoD initial budgets (FY2023-FY2026)."""
    return read_budget_notes(Path(raw_dir) / NOTES_FILE)


DATASETS = [
    Dataset(
        name="japan_defense_budget",
        filename="defense/japan_defense_budget.parquet",
        title="Japan Ministry of Defense initial budget by fiscal year (yen)",
        publisher="Japan Ministry of Defense figures as reported by news pages (Kyodo, Japan "
                  "Times, TRT World and others)",
        vintage="FY2023-FY2026 initial budgets; FY2026 Cabinet draft of 2025-12-26",
        licence="Facts (budget amounts) read on public news pages; page addresses kept per row",
        citation="Japan Ministry of Defense initial budgets as reported on the pages in "
                 "source_urls; compiled in JAPAN_DEFENSE_BUDGET_NOTES.md",
        raw_inputs=(NOTES_FILE,),
        build=build_japan_defense_budget,
        schema=JAPAN_DEFENSE_BUDGET,
        notes=("Initial budgets as approved by Cabinet, before Diet passage and supplementary "
               "budgets; FY runs April-March. FY2024 is 7.95 tn yen (Kyodo rounds to 7.9). "
               "Not comparable with SIPRI's wider definition of Japan's spending."),
    ),
]
