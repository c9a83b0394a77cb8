"""The 21 sections of the Harmonized System: an example ``research.sources`` plugin.

A third-party package joins the toolkit's data registry by naming a module in the
entry-point group ``research.sources`` (see this package's ``pyproject.toml``). The
module needs a ``DATASETS`` list of :class:`research.datasets.Dataset`; it may add
``FILE_READERS`` (source name -> function reading a user's file).

This one builds ``hs_sections`` (section, number, name, chapters) from the HS2022
nomenclature files ``trade/hs_nomenclature/sections.csv`` (which starts with a UTF-8
byte-order mark) and ``harmonized-system.csv`` (chapters per section), and keeps the
built Parquet file in its own folder (``data_dir``), not in the project's ``data/``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from research.datasets import Dataset
from research.errors import SourceFormatError
from research.schemas import Column, Schema

FOLDER = "trade/hs_nomenclature"
SECTIONS_FILE = "sections.csv"
NOMENCLATURE_FILE = "harmonized-system.csv"
ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50}

HS_SECTIONS = Schema(
    name="hs_sections",
    description="One row per section of the Harmonized System (HS2022).",
    columns={
        "section": Column("str", pattern=r"[IVXL]+", description="Roman numeral"),
        "number": Column("int", minimum=1),
        "name": Column("str"),
        "chapters": Column("str", pattern=r"\d{2}(-\d{2})?", description="first-last chapter"),
    },
    key=("section",),
)


def roman_number(text: str) -> int:
    """``"XIV"`` -> 14."""
    values = [ROMAN[c] for c in text]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v
               for i, v in enumerate(values))


def read_sections(path: Path | str, nomenclature: Path | str | None = None) -> pd.DataFrame:
    """Sections of ``sections.csv`` with their number and, given ``harmonized-system.csv``,
    their chapter range."""
    path = Path(path)
    table = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    if list(table.columns) != ["section", "name"]:
        raise SourceFormatError(str(path), "expected the columns section, name",
                                value=list(table.columns))
    bad = ~table["section"].str.fullmatch(r"[IVXL]+")
    if bad.any():
        raise SourceFormatError(str(path), "not a Roman numeral", field="section",
                                value=table.loc[bad, "section"].iloc[0],
                                row=int(bad.to_numpy().argmax()) + 2)
    table["number"] = table["section"].map(roman_number).astype("int64")
    table["name"] = table["name"].str.strip()
    table["chapters"] = None
    if nomenclature is not None:
        codes = pd.read_csv(nomenclature, dtype=str, usecols=["section", "hscode", "level"])
        chapters = codes[codes["level"].eq("2")].groupby("section")["hscode"].agg(
            lambda c: c.min() if c.min() == c.max() else f"{c.min()}-{c.max()}")
        table["chapters"] = table["section"].map(chapters)
    return table[["section", "number", "name", "chapters"]]


def build(raw_dir: Path) -> pd.DataFrame:
    """Build ``hs_sections`` from the raw nomenclature folder."""
    folder = Path(raw_dir) / FOLDER
    return read_sections(folder / SECTIONS_FILE, folder / NOMENCLATURE_FILE)


DATASETS = [
    Dataset(
        name="hs_sections",
        filename="hs_sections.parquet",
        title="Sections of the Harmonized System (HS2022) with their chapters",
        publisher="World Customs Organization, via datasets/harmonized-system",
        vintage="HS2022 (datasets/harmonized-system, commit 905e5a0f)",
        licence="ODC-PDDL-1.0",
        citation="World Customs Organization, Harmonized System 2022 nomenclature; "
                 "datasets/harmonized-system on GitHub.",
        raw_inputs=(f"{FOLDER}/{SECTIONS_FILE}", f"{FOLDER}/{NOMENCLATURE_FILE}"),
        build=build,
        schema=HS_SECTIONS,
        notes="Example plugin: see tests/plugin_example/pyproject.toml.",
        data_dir=Path(__file__).resolve().parent / "data",
    ),
]

FILE_READERS = {"hs_sections": read_sections}
