"""Structural-gravity panel of Yotov, Piermartini, Monteiro and Larch (2016), chapter 2.

69 countries, 1986-2006, aggregated manufacturing, international and
intra-national (exporter = importer) flows, with distance, contiguity, common
language, colonial ties and RTA dummies. Read from the CSV conversion of the
application file ``Chapter2Application2.dta`` (pandas ``read_stata`` -> CSV,
``year`` and ``pair_id`` cast to int).

Romania is coded ``ROM`` in the raw file (the pre-2002 ISO code); it is mapped to
``ROU`` here so that the panel joins the other tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from research.countries import normalize
from research.datasets import Dataset
from research.errors import SourceFormatError
from research.schemas import ISO3, Column, Schema
from research.sources.comtrade_monthly import read_csv_checked
from research.sources.tabular import FIRST_YEAR, LAST_YEAR

FOLDER = "trade/gravity_agtpa"
CSV_FILE = "Chapter2Application2.csv"

DUMMIES = ("CNTG", "LANG", "CLNY", "RTA")
MAX_EXACT_INTEGER = 2**53  # beyond it a float in the file is no longer an exact whole number

GRAVITY_PANEL = Schema(
    name="gravity_agtpa",
    description="One row per exporter, importer and year (Yotov et al. 2016 panel).",
    columns={
        "exporter": Column("str", pattern=ISO3),
        "importer": Column("str", pattern=ISO3),
        "pair_id": Column("int", minimum=1, description="id of the unordered country pair"),
        "year": Column("int", minimum=1986),
        "trade": Column("float", minimum=0, description="nominal USD million"),
        "DIST": Column("float", minimum=0, description="population-weighted distance, km"),
        "CNTG": Column("int", allowed=frozenset({0, 1}), description="contiguity"),
        "LANG": Column("int", allowed=frozenset({0, 1}), description="common official language"),
        "CLNY": Column("int", allowed=frozenset({0, 1}), description="colonial relationship"),
        "RTA": Column("int", allowed=frozenset({0, 1}), description="regional trade agreement"),
    },
    key=("exporter", "importer", "year"),
    units={"trade": "current USD million", "DIST": "km"},
)


def read_gravity_csv(path: Path) -> pd.DataFrame:
    """The AGTPA chapter-2 panel as a checked table (ROM mapped to ROU).

    Parameters
    ----------
    path : ``Chapter2Application2.csv``.

    Returns
    -------
    DataFrame with the :data:`GRAVITY_PANEL` columns, sorted by exporter, importer, year.
    """
    source = str(path)
    columns = {"exporter": "str", "importer": "str", "pair_id": "float", "year": "float",
               "trade": "float", "DIST": "float"} | {name: "float" for name in DUMMIES}
    raw = read_csv_checked(path, columns)
    for name in columns:
        if name in ("exporter", "importer"):
            continue
        values = raw[name]
        bad = values.isna() | values.lt(0) | np.isinf(values.to_numpy())
        if name in ("pair_id", "year") + DUMMIES:
            # whole numbers that an int64 holds exactly (1e30 would wrap to -2**63)
            bad |= values.ne(values.round()) | values.abs().gt(MAX_EXACT_INTEGER)
        if name == "year":
            bad |= ~values.between(FIRST_YEAR, LAST_YEAR)
        if name in DUMMIES:
            bad |= ~values.isin([0.0, 1.0])
        if bad.any():
            position = int(np.flatnonzero(bad.to_numpy())[0])
            raise SourceFormatError(source, "missing, negative or out-of-range number",
                                    field=name, value=values.iloc[position], row=position + 2)
    panel = pd.DataFrame({
        "exporter": normalize(raw["exporter"], source=source, field="exporter"),
        "importer": normalize(raw["importer"], source=source, field="importer"),
        "pair_id": raw["pair_id"].astype("int64"),
        "year": raw["year"].astype("int64"),
        "trade": raw["trade"].astype("float64"),
        "DIST": raw["DIST"].astype("float64"),
    } | {name: raw[name].astype("int64") for name in DUMMIES})
    panel = panel.sort_values(["exporter", "importer", "year"], kind="mergesort",
                              ignore_index=True)
    duplicated = panel.duplicated(["exporter", "importer", "year"], keep=False)
    if duplicated.any():
        first = panel.loc[duplicated, ["exporter", "importer", "year"]].iloc[0].to_dict()
        raise SourceFormatError(source, "the same exporter, importer and year appears twice",
                                field="exporter,importer,year", value=first)
    return GRAVITY_PANEL.validate(panel, source=source)


def build(raw_dir: Path) -> pd.DataFrame:
    """Build ``gravity_agtpa`` from the raw folder."""
    return read_gravity_csv(Path(raw_dir) / FOLDER / CSV_FILE)


DATASETS = [
    Dataset(
        name="gravity_agtpa",
        filename="trade/gravity_agtpa.parquet",
        title="Structural-gravity panel: manufacturing trade among 69 countries, 1986-2006 "
              "(Yotov et al. 2016, chapter 2 application 2)",
        publisher="WTO and UNCTAD (An Advanced Guide to Trade Policy Analysis)",
        vintage="2016 application files, as shipped by the R package tradepolicy "
                "(pachadotdev/tradepolicy, commit 342a6553)",
        licence="CC BY 4.0",
        citation="Yotov, Y. V., Piermartini, R., Monteiro, J.-A. and Larch, M. (2016). An "
                 "Advanced Guide to Trade Policy Analysis: The Structural Gravity Model. "
                 "Geneva: WTO and UNCTAD.",
        raw_inputs=(f"{FOLDER}/{CSV_FILE}",),
        build=build,
        schema=GRAVITY_PANEL,
        notes="trade is nominal USD million (AGTPA documentation); internal flows "
              "(exporter = importer, 1,449 rows) and 8,475 zero flows are kept, as "
              "structural gravity needs them. Annual 1986-2006; the book's applications "
              "keep every fourth year. Romania's raw code ROM is mapped to ROU. Ends 2006: "
              "for method validation, not for 2010 or 2025 questions.",
    ),
]

FILE_READERS = {"gravity": read_gravity_csv}
