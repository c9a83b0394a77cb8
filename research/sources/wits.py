"""China's annual exports of HS 280530, 284690 and 850511 by partner, 2010-2024 (WITS).

The raw file is ``china_ree_exports_wits_2010_2024_long.csv``, a lossless reshape
(made while importing the data) of four workbooks of the public repository
semenko-vladimir/china-ree-export-policy, which hold manual WITS downloads
("WITS-By-HS6Product", reporter China, exports, all partners). Only partner-years
that WITS reported are present; a missing partner-year means "not reported", not 0.

Partner names are WITS names. "Other Asia, nes" is Taiwan. A few WITS spellings
are mapped here before :func:`research.countries.normalize` (see
:data:`WITS_NAMES`). The "Unspecified" partner (no country; 850511 in 2023 and
2024) is dropped from the partner rows; its value stays inside the World row.

The build checks that, for each product and year, the partner rows add up to the
World row (value and quantity) within :data:`SUM_TOLERANCE`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from research.countries import normalize
from research.datasets import Dataset
from research.errors import SourceFormatError
from research.schemas import TRADE_FLOWS
from research.sources.comtrade_monthly import read_csv_checked

FOLDER = "trade/china_ree_wits_annual"
LONG_FILE = "china_ree_exports_wits_2010_2024_long.csv"
SOURCE = "UN Comtrade via WITS (semenko-vladimir/china-ree-export-policy, accessed 2026-04)"
PRODUCTS = ("280530", "284690", "850511")
FIRST_YEAR, LAST_YEAR = 2010, 2024

# WITS partner names that research.countries does not know (please add to ALIASES).
WITS_NAMES: dict[str, str] = {
    "Ethiopia(excludes Eritrea)": "ETH",
    "Fm Sudan": "SDN",  # Sudan before the 2011 split; "Sudan" appears only from 2012
    "Occ.Pal.Terr": "PSE",
    "Serbia, FR(Serbia/Montenegro)": "SRB",  # WITS label for Serbia; Montenegro is separate
    "Turks and Caicos Isl.": "TCA",
}
UNSPECIFIED = "Unspecified"

# Partner sums may differ from the World row by rounding (WITS gives values in
# thousands of USD with two decimals; PROVENANCE finds differences below USD 100).
SUM_TOLERANCE = {"absolute": 1000.0, "relative": 1e-4}


def _check_world_sums(raw: pd.DataFrame, source: str) -> None:
    """Raise if partner rows do not add up to the World row of each product and year."""
    world = raw[raw["is_world_total"]].set_index(["hs6", "year"])
    if world.index.duplicated().any():
        first = world.index[world.index.duplicated()][0]
        raise SourceFormatError(source, "more than one World row", field="is_world_total",
                                value=first)
    partners = raw[~raw["is_world_total"]].groupby(["hs6", "year"])[
        ["export_value_usd", "quantity"]].sum(min_count=1)
    missing = partners.index.difference(world.index)
    if len(missing):
        raise SourceFormatError(source, "partner rows without a World row",
                                field="is_world_total", value=missing[0])
    joined = world[["export_value_usd", "quantity"]].join(
        partners.add_suffix("_partners"))
    for column in ("export_value_usd", "quantity"):
        total, summed = joined[column], joined[f"{column}_partners"].fillna(0.0)
        allowed = np.maximum(SUM_TOLERANCE["absolute"], SUM_TOLERANCE["relative"] * total.abs())
        off = (total - summed).abs() > allowed
        if off.any():
            where = joined.index[off.to_numpy()][0]
            raise SourceFormatError(
                source, f"partner rows sum to {summed[where]:,.0f} but the World row says "
                f"{total[where]:,.0f} (tolerance {allowed[where]:,.0f})", field=column,
                value={"hs6": where[0], "year": int(where[1])})


def read_wits_long(path: Path) -> pd.DataFrame:
    """The WITS long CSV as a tidy annual trade-flow table (partners and WLD rows).

    Parameters
    ----------
    path : ``china_ree_exports_wits_2010_2024_long.csv``.

    Returns
    -------
    DataFrame in the :data:`~research.schemas.TRADE_FLOWS` layout, freq "A", period
    1 January of the year, value in current USD (FOB, China-reported), quantity in kg.
    """
    source = str(path)
    raw = read_csv_checked(path, {
        "reporter": "str", "flow": "str", "hs6": "hs6", "year": "float", "partner": "str",
        "is_world_total": "float", "export_value_usd": "float", "quantity": "float",
        "quantity_unit": "str"})
    for column, expected in (("reporter", {"China"}), ("flow", {"Export"}),
                             ("quantity_unit", {"Kg"}), ("hs6", set(PRODUCTS))):
        unexpected = sorted(set(raw[column]) - expected)
        if unexpected:
            raise SourceFormatError(source, f"expected only {sorted(expected)}", field=column,
                                    value=unexpected)
    years = raw["year"]
    bad = years.isna() | years.ne(years.round()) | ~years.between(FIRST_YEAR, LAST_YEAR)
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise SourceFormatError(source, f"year outside {FIRST_YEAR}-{LAST_YEAR}", field="year",
                                value=years.iloc[position], row=position + 2)
    raw["year"] = years.astype("int64")
    flags = raw["is_world_total"]
    if not flags.isin([0.0, 1.0]).all():
        raise SourceFormatError(source, "expected 0 or 1", field="is_world_total",
                                value=sorted(set(flags) - {0.0, 1.0}))
    raw["is_world_total"] = flags.eq(1.0)
    for column in ("export_value_usd", "quantity"):
        values = raw[column]
        bad = values.lt(0) | np.isinf(values.to_numpy())
        if bad.any():
            position = int(np.flatnonzero(bad.to_numpy())[0])
            raise SourceFormatError(source, "negative or infinite number", field=column,
                                    value=values.iloc[position], row=position + 2)
    world_named = raw["partner"].eq("World")
    if not world_named.eq(raw["is_world_total"]).all():
        raise SourceFormatError(source, "is_world_total does not match partner 'World'",
                                field="is_world_total")
    _check_world_sums(raw, source)

    kept = raw[raw["partner"].ne(UNSPECIFIED)].reset_index(drop=True)
    names = kept["partner"].map(lambda name: WITS_NAMES.get(name, name))
    partner = normalize(names, source=source, field="partner")
    flows = pd.DataFrame({
        "reporter_iso3": "CHN",
        "partner_iso3": partner,
        "flow": "export",
        "product": kept["hs6"].to_numpy(),
        "product_level": "hs6",
        "period": pd.to_datetime(kept["year"].astype(str) + "-01-01").astype("datetime64[ns]"),
        "freq": "A",
        "value_usd": kept["export_value_usd"].to_numpy(dtype="float64"),
        "quantity": kept["quantity"].to_numpy(dtype="float64"),
        "quantity_unit": "kg",
        "source": SOURCE,
    })
    flows = flows.sort_values(["product", "partner_iso3", "period"], kind="mergesort",
                              ignore_index=True)
    key = list(TRADE_FLOWS.key)
    duplicated = flows.duplicated(key, keep=False)
    if duplicated.any():
        first = flows.loc[duplicated, key].iloc[0].to_dict()
        raise SourceFormatError(source, "two partner names map to the same country, product "
                                "and year", field="partner", value=first)
    return flows


def build(raw_dir: Path) -> pd.DataFrame:
    """Build ``china_exports_annual`` from the raw folder."""
    return read_wits_long(Path(raw_dir) / FOLDER / LONG_FILE)


DATASETS = [
    Dataset(
        name="china_exports_annual",
        filename="trade/china_exports_annual.parquet",
        title="China's annual exports of rare-earth metals (280530), rare-earth compounds "
              "(284690) and metal permanent magnets (850511) by partner, 2010-2024",
        publisher="UN Statistics Division (UN Comtrade), via the World Bank WITS",
        vintage="WITS downloads of April 2026 (semenko-vladimir/china-ree-export-policy, "
                "commit 47d63545)",
        licence="UN Comtrade terms of use (attribution); repository states no licence",
        citation="United Nations Statistics Division, UN Comtrade database, accessed through "
                 "World Bank WITS (World Integrated Trade Solution), China exports by HS6 "
                 "product and partner, 2010-2024; compiled in the GitHub repository "
                 "semenko-vladimir/china-ree-export-policy.",
        raw_inputs=(f"{FOLDER}/{LONG_FILE}",),
        build=build,
        schema=TRADE_FLOWS,
        notes="China-reported exports, current USD (FOB) and kg. Only partner-years that "
              "WITS reported (no zero filling); WLD rows are WITS's World totals, which the "
              "build checks against the partner sums (tolerance max(USD 1000, 0.01%)). "
              "'Other Asia, nes' = TWN; 'Fm Sudan' = SDN; 'Serbia, FR(Serbia/Montenegro)' "
              "= SRB; 'Unspecified' partner rows (850511, 2023-2024) dropped, kept in WLD. "
              "Reported zeros (value rounded to 0, quantity 0 kg on tiny shipments) are "
              "kept as 0. HS revisions are not harmonised: 850511 is n:1 HS2022->HS2017 and "
              "covers all metal permanent magnets. 2011 values carry the price spike.",
    ),
]
