"""China's monthly exports of critical minerals by partner, 2017-01 to 2024-12 (UN Comtrade).

The raw tables are the processed outputs of the public repository
qennis/ChinaCriticalMineralComtrade (committed 2025-12-15), built from UN Comtrade
monthly HS6 data (reporter China, flow exports). Three tables are read:

- ``country_monthly_stats.csv``: value and quantity by product group and partner,
  for the 8 partners the repository selected per group (``product_level`` "group");
- ``deep_dive_hs6_monthly.csv``: HS 250410, 380110 and 811292 by partner (about 40
  partners; ``product_level`` "hs6");
- ``overview_monthly.csv``: China's total per group, kept with ``partner_iso3`` "WLD".

Quantities: UN Comtrade gives no net weight for some lines (811292 in 2017, the
polysilicon group in 2017), which the repository stored as ``qty`` 0 (so its
``uv`` is ``inf``). The raw PROVENANCE calls these quantities "0/missing"; a
shipment with a positive value cannot weigh 0 kg, so a quantity of 0 with a
positive value becomes NaN here. Group quantities are sums over the group's HS6
lines, so they understate the weight when one line lacks weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from research.countries import normalize
from research.datasets import Dataset
from research.errors import SourceFormatError
from research.reference.tables import GROUP_CODES as GROUP_CODES  # HS6 lines of each group
from research.schemas import TRADE_FLOWS
from research.sources.tabular import read_csv_text

FOLDER = "trade/china_critical_minerals_comtrade_monthly"
PARTNER_FILE = "country_monthly_stats.csv"
HS6_FILE = "deep_dive_hs6_monthly.csv"
WORLD_FILE = "overview_monthly.csv"
SOURCE = "UN Comtrade via qennis/ChinaCriticalMineralComtrade (2025-12-15)"

# broad_group in the raw tables -> product name used in the tidy table.
GROUP_NAMES: dict[str, str] = {
    "Rare Earths": "rare_earths",
    "Gallium/Germanium": "gallium_germanium",
    "Graphite": "graphite",
    "Polysilicon": "polysilicon",
}

FIRST_MONTH = pd.Timestamp("2017-01-01")
LAST_MONTH = pd.Timestamp("2024-12-01")


def read_csv_checked(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    """Read a CSV and check that it has ``columns`` of the given kinds.

    Parameters
    ----------
    path : the CSV file.
    columns : column name -> kind, one of ``"str"``, ``"float"``, ``"month"``
        (ISO date, first of a month) or ``"hs6"`` (up to six digits, zero-padded).

    Returns
    -------
    The named columns, parsed: floats as float64, months as datetime64, HS6 as text.

    Raises
    ------
    SourceFormatError
        Naming the file, the field and the first bad row (1-based line of the file); a
        line with too few fields (a file cut short) or an unclosed quote is reported too.
    DataNotFoundError
        The file does not exist.
    """
    source = str(path)
    raw = read_csv_text(path)  # raises on damage: a line cut short, an open quote, no rows
    for name in columns:
        if name not in raw.columns:
            raise SourceFormatError(source, f"missing column; found {list(raw.columns)}",
                                    field=name)
    parsed = {}
    for name, kind in columns.items():
        text = raw[name].str.strip()
        if kind == "str":
            bad = text.eq("")
            values = text
        elif kind == "float":
            values = pd.to_numeric(text.where(text.ne("")), errors="coerce").astype("float64")
            bad = values.isna() & text.ne("")
            values = values.where(text.ne(""))
        elif kind == "month":
            values = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
            bad = values.isna() | values.dt.day.ne(1)
        elif kind == "hs6":
            bad = ~text.str.fullmatch(r"\d{4,6}")
            values = text.str.zfill(6)
        else:  # pragma: no cover - a programming error
            raise ValueError(f"unknown column kind {kind!r}")
        if bad.any():
            position = int(np.flatnonzero(bad.to_numpy())[0])
            raise SourceFormatError(source, f"not a valid {kind} value", field=name,
                                    value=raw[name].iloc[position], row=int(raw.index[position]))
        parsed[name] = values
    return pd.DataFrame(parsed).reset_index(drop=True)


def _check_nonnegative(frame: pd.DataFrame, column: str, source: str) -> None:
    values = frame[column]
    bad = values.lt(0) | np.isinf(values.to_numpy(dtype=float))
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise SourceFormatError(source, "negative or infinite number", field=column,
                                value=values.iloc[position], row=position + 2)


def _check_months(frame: pd.DataFrame, source: str) -> None:
    outside = ~frame["period"].between(FIRST_MONTH, LAST_MONTH)
    if outside.any():
        position = int(np.flatnonzero(outside.to_numpy())[0])
        raise SourceFormatError(source, "month outside 2017-01..2024-12", field="period_dt",
                                value=str(frame["period"].iloc[position].date()),
                                row=position + 2)


def _group_names(values: pd.Series, source: str) -> pd.Series:
    unknown = sorted(set(values) - set(GROUP_NAMES))
    if unknown:
        raise SourceFormatError(source, f"unknown product group; known: {sorted(GROUP_NAMES)}",
                                field="broad_group", value=unknown)
    return values.map(GROUP_NAMES)


def _quantity(value: pd.Series, quantity: pd.Series) -> pd.Series:
    """Comtrade quantity with 0 kg against a positive value turned into NaN (no weight given)."""
    return quantity.where(~(quantity.eq(0) & value.gt(0)))


def _tidy(partner: pd.Series, product: pd.Series, level: str, period: pd.Series,
          value: pd.Series, quantity: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({
        "reporter_iso3": "CHN",
        "partner_iso3": partner.to_numpy(),
        "flow": "export",
        "product": product.to_numpy(),
        "product_level": level,
        "period": period.to_numpy(),
        "freq": "M",
        "value_usd": value.to_numpy(dtype="float64"),
        "quantity": _quantity(value, quantity).to_numpy(dtype="float64"),
        "quantity_unit": "kg",
        "source": SOURCE,
    })


def _read_partner_table(path: Path, extra: dict[str, str]) -> tuple[pd.DataFrame, pd.Series]:
    """Read a by-partner monthly table with checked columns; return it and partner ISO3."""
    source = str(path)
    raw = read_csv_checked(path, {"period_dt": "month", "partner_name": "str", "val": "float",
                                  "qty": "float", **extra})
    raw = raw.rename(columns={"period_dt": "period"})
    for column in ("val", "qty"):
        _check_nonnegative(raw, column, source)
    _check_months(raw, source)
    partner = pd.Series(normalize(raw["partner_name"], source=source, field="partner_name"))
    return raw, partner


def read_partner_groups(path: Path) -> pd.DataFrame:
    """``country_monthly_stats.csv`` as tidy rows: group exports to the selected partners."""
    source = str(path)
    raw, partner = _read_partner_table(path, {"broad_group": "str"})
    return _tidy(partner, _group_names(raw["broad_group"], source), "group", raw["period"],
                 raw["val"], raw["qty"])


def read_partner_hs6(path: Path) -> pd.DataFrame:
    """``deep_dive_hs6_monthly.csv`` as tidy rows: HS6 exports by partner."""
    raw, partner = _read_partner_table(path, {"hs6": "hs6"})
    return _tidy(partner, raw["hs6"], "hs6", raw["period"], raw["val"], raw["qty"])


def read_world_groups(path: Path) -> pd.DataFrame:
    """``overview_monthly.csv`` as tidy rows: China's total exports per group (partner WLD)."""
    source = str(path)
    raw = read_csv_checked(path, {"period_dt": "month", "broad_group": "str",
                                  "total_value": "float", "total_qty": "float"})
    raw = raw.rename(columns={"period_dt": "period"})
    for column in ("total_value", "total_qty"):
        _check_nonnegative(raw, column, source)
    _check_months(raw, source)
    partner = pd.Series(["WLD"] * len(raw))
    return _tidy(partner, _group_names(raw["broad_group"], source), "group", raw["period"],
                 raw["total_value"], raw["total_qty"])


def read_comtrade_tables(folder: Path) -> pd.DataFrame:
    """The three monthly tables of ``folder`` as one tidy trade-flow table.

    Parameters
    ----------
    folder : the ``china_critical_minerals_comtrade_monthly`` folder of raw files.

    Returns
    -------
    DataFrame in the :data:`~research.schemas.TRADE_FLOWS` layout, freq "M", value in
    current USD, quantity in kg, sorted by product level, product, partner and month.
    """
    folder = Path(folder)
    frames = [read_partner_groups(folder / PARTNER_FILE),
              read_world_groups(folder / WORLD_FILE),
              read_partner_hs6(folder / HS6_FILE)]
    flows = pd.concat(frames, ignore_index=True)
    flows["period"] = flows["period"].astype("datetime64[ns]")
    flows = flows.sort_values(["product_level", "product", "partner_iso3", "period"],
                              kind="mergesort", ignore_index=True)
    key = list(TRADE_FLOWS.key)
    duplicated = flows.duplicated(key, keep=False)
    if duplicated.any():
        first = flows.loc[duplicated, key].iloc[0].to_dict()
        raise SourceFormatError(str(folder), "the same partner, product and month appears "
                                "twice", field=",".join(key), value=first)
    return flows


def build(raw_dir: Path) -> pd.DataFrame:
    """Build ``china_exports_monthly`` from the raw folder."""
    return read_comtrade_tables(Path(raw_dir) / FOLDER)


DATASETS = [
    Dataset(
        name="china_exports_monthly",
        filename="trade/china_exports_monthly.parquet",
        title="China's monthly exports of rare earths, gallium/germanium, graphite and "
              "polysilicon by partner, 2017-01 to 2024-12",
        publisher="UN Statistics Division (UN Comtrade)",
        vintage="UN Comtrade final monthly data as pulled by qennis/ChinaCriticalMineralComtrade "
                "(tables committed 2025-12-15, commit 44040f49)",
        licence="UN Comtrade terms of use (attribution); repository states no licence",
        citation="United Nations Statistics Division, UN Comtrade database, monthly HS "
                 "exports of China (reporter 156); processed tables from the GitHub "
                 "repository qennis/ChinaCriticalMineralComtrade (2025-12-15).",
        raw_inputs=(f"{FOLDER}/{PARTNER_FILE}", f"{FOLDER}/{HS6_FILE}", f"{FOLDER}/{WORLD_FILE}"),
        build=build,
        schema=TRADE_FLOWS,
        notes="Group rows (product rare_earths = HS 280530+284690+850511; gallium_germanium = "
              "282560+282590+285000+285390+811292+811299; graphite = 250410+380110; "
              "polysilicon = 280461) cover only the 8 partners the repository selected per "
              "group, plus China's world total per group (partner WLD). HS6 rows cover "
              "250410, 380110 and 811292 for about 40 partners, without a world row. "
              "Quantity 0 kg against a positive value (no weight reported: 811292 and "
              "polysilicon in 2017) is stored as NaN; group quantities sum HS6 lines and "
              "understate weight when a line lacks weights. Some 2017 quantities look "
              "estimated by Comtrade. Ends 2024-12: does not cover the 2025 controls.",
    ),
]
