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

:func:`read_wits_export` reads the file a user saves from WITS itself ("Download" of a
"Trade Data" query by HS6 product, CSV or XLSX, sheet ``By-HS6Product``) with the
columns ``Reporter, TradeFlow, ProductCode, Product Description, Year, Partner,
Trade Value 1000USD, Quantity, Quantity Unit``, for any reporter, partners, products
and years, into the same table.
"""

from __future__ import annotations

import re
import warnings
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd

from research.countries import normalize, to_iso3
from research.datasets import Dataset
from research.errors import SkippedDataWarning, SourceFormatError
from research.schemas import TRADE_FLOWS
from research.sources.comtrade_monthly import read_csv_checked
from research.sources.tabular import FIRST_YEAR as FIRST_TRADE_YEAR
from research.sources.tabular import LAST_YEAR as LAST_TRADE_YEAR
from research.sources.tabular import as_text, find_column, numbers, read_table_text

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


# Columns of a WITS export (accepted spellings; compared without case, spaces or
# punctuation). Quantity and its unit are optional.
EXPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "reporter": ("Reporter", "Reporter Name"),
    "flow": ("TradeFlow", "Trade Flow Name"),
    "product": ("ProductCode", "Product Code", "HS6 Code"),
    "year": ("Year",),
    "partner": ("Partner", "Partner Name"),
    "value": ("Trade Value 1000USD", "TradeValue in 1000 USD", "Trade Value (US$ Thousand)"),
}
QUANTITY_COLUMNS = {"quantity": ("Quantity",), "unit": ("Quantity Unit", "QtyUnit")}
FLOWS = {"export": "export", "import": "import"}
# Quantity units that mean "no quantity given" (the quantity cell is then empty or 0).
NO_QUANTITY = {"", "no quantity", "n/a", "na"}
# WITS/Comtrade partners that are not a country: left out, their trade stays in World.
NON_GEOGRAPHIC = {"unspecified", "areas, nes", "bunkers", "free zones", "special categories",
                  "neutral zone", "other", "not specified"}


def non_geographic(name: str) -> bool:
    """True for a partner that names no country ("Unspecified", "Bunkers", "Europe EU, nes")
    and that research.countries does not map (so "Other Asia, nes" = Taiwan stays)."""
    if to_iso3(name) is not None:
        return False
    folded = " ".join(name.lower().split())
    return folded in NON_GEOGRAPHIC or bool(re.search(r"\bn\.?e\.?s\.?$", folded))


def _thousands_to_usd(text: pd.Series, where: str, field: str) -> pd.Series:
    """Values in thousands of USD (text) -> USD, exact for decimal text (1032.38 -> 1032380)."""
    numbers(text, where, field, nonnegative=True)  # raises naming the first bad cell
    def convert(cell: str) -> float:
        try:
            return float(Decimal(cell) * 1000) if cell else np.nan
        except InvalidOperation:  # pragma: no cover - numbers() accepted it
            return float(cell) * 1000
    return text.map(convert).astype("float64")


def read_wits_export(path: Path | str, *, sheet: str | None = None) -> pd.DataFrame:
    """A WITS "Trade Data" download by HS6 product (CSV or XLSX) as a tidy trade-flow table.

    Parameters
    ----------
    path : the file saved from WITS (e.g. ``WITS-By-HS6Product.xlsx`` or a CSV with the
        same columns); any reporters, partners, HS6 products and years.
    sheet : the worksheet to read (default: the first with the WITS columns).

    Returns
    -------
    DataFrame in the :data:`~research.schemas.TRADE_FLOWS` layout: freq "A", period
    1 January of the year, value in current USD (WITS gives thousands; converted
    exactly), quantity in kg (NaN where WITS gives no quantity), partner "World" as WLD
    and "Other Asia, nes" as TWN. Partners that are no country ("Unspecified",
    "Bunkers", "..., nes") are left out with a :class:`SkippedDataWarning`: their trade
    is still inside the World row. Unlike the bundled build, partner rows are not
    checked against World (an export may hold only some partners).

    Raises
    ------
    SourceFormatError
        The file is damaged or cut short, a column is missing, a year, code or number
        does not parse, a trade flow is not Export/Import, a quantity unit is not Kg,
        a reporter, partner, product and year appear twice, or no rows are left; the
        message names the file (and sheet), row, column and value.
    """
    path = Path(path)
    raw, where = read_table_text(path, list(EXPORT_COLUMNS.values()), sheet=sheet)
    cols = {key: find_column(raw, names) for key, names in EXPORT_COLUMNS.items()}
    flow_text = cols["flow"].str.lower()
    bad = ~flow_text.isin(FLOWS)
    if bad.any():
        raise SourceFormatError(where, "trade flow is not Export or Import (re-exports and "
                                "gross flows are not read)", field="TradeFlow",
                                value=cols["flow"][bad].iloc[0], row=raw.index[bad.argmax()])
    years = cols["year"]
    bad = ~years.str.fullmatch(r"\d{4}")
    if bad.any():
        raise SourceFormatError(where, "year is not a 4-digit number", field="Year",
                                value=years[bad].iloc[0], row=raw.index[bad.argmax()])
    bad = ~pd.to_numeric(years).between(FIRST_TRADE_YEAR, LAST_TRADE_YEAR)
    if bad.any():
        raise SourceFormatError(where, f"year outside {FIRST_TRADE_YEAR}-{LAST_TRADE_YEAR}",
                                field="Year", value=years[bad].iloc[0],
                                row=raw.index[bad.argmax()])
    codes = cols["product"].where(cols["product"].str.len() != 5, "0" + cols["product"])
    bad = ~codes.str.fullmatch(r"\d{6}")
    if bad.any():
        raise SourceFormatError(where, "product code is not an HS6 code (6 digits)",
                                field="ProductCode", value=cols["product"][bad].iloc[0],
                                row=raw.index[bad.argmax()])
    value = _thousands_to_usd(cols["value"], where, "Trade Value 1000USD")
    quantity, unit = _kg_quantity(raw, where)

    partners = cols["partner"]
    dropped = partners.map(non_geographic)
    if dropped.any():
        warnings.warn(f"{where}: {int(dropped.sum())} row(s) with partners that are not "
                      f"countries left out ({sorted(set(partners[dropped]))}); their trade "
                      "is inside the World row", SkippedDataWarning, stacklevel=2)
    keep = ~dropped.to_numpy()
    if not keep.any():
        raise SourceFormatError(where, "no rows left: every partner is a non-country",
                                field="Partner")
    kept_partners = partners[keep]
    names = kept_partners.map(lambda name: WITS_NAMES.get(name, name))
    flows = pd.DataFrame({
        "reporter_iso3": normalize(cols["reporter"][keep], source=where, field="Reporter"),
        "partner_iso3": normalize(names, source=where, field="Partner"),
        "flow": flow_text[keep].map(FLOWS).to_numpy(),
        "product": codes[keep].to_numpy(),
        "product_level": "hs6",
        "period": pd.to_datetime(years[keep] + "-01-01").astype("datetime64[ns]").to_numpy(),
        "freq": "A",
        "value_usd": value[keep].to_numpy(),
        "quantity": quantity[keep].to_numpy(),
        "quantity_unit": unit[keep].to_numpy(),
        "source": f"UN Comtrade via WITS (file {path.name})",
    }, index=raw.index[keep])
    return finish_flows(flows, where, ["product", "reporter_iso3", "flow", "partner_iso3",
                                       "period"])


def _kg_quantity(raw: pd.DataFrame, where: str) -> tuple[pd.Series, pd.Series]:
    """Quantity in kg (NaN where none is given) and its unit, "kg" on every row as in the
    bundled table; any other unit is an error."""
    quantity_text = find_column(raw, QUANTITY_COLUMNS["quantity"])
    unit_text = find_column(raw, QUANTITY_COLUMNS["unit"])
    kg = pd.Series("kg", index=raw.index, dtype=object)
    if quantity_text is None:
        return pd.Series(np.nan, index=raw.index, dtype="float64"), kg
    quantity = numbers(quantity_text, where, "Quantity", nonnegative=True)
    if unit_text is None:
        raise SourceFormatError(where, "a Quantity column without a Quantity Unit column: "
                                "the unit is not stated", field="Quantity Unit")
    units = unit_text.str.strip().str.lower()
    none_given = units.isin(NO_QUANTITY)
    wrong = ~units.eq("kg") & ~(none_given & (quantity.isna() | quantity.eq(0)))
    if wrong.any():
        raise SourceFormatError(where, "quantity unit is not Kg: only kilograms fit the kg "
                                "quantity column", field="Quantity Unit",
                                value=unit_text[wrong].iloc[0], row=raw.index[wrong.argmax()])
    return quantity.where(~none_given), kg


def finish_flows(flows: pd.DataFrame, where: str, order: list[str]) -> pd.DataFrame:
    """Sort a trade-flow table, reject duplicate keys (naming both file rows), validate it."""
    key = list(TRADE_FLOWS.key)
    duplicated = flows.duplicated(key, keep=False)
    if duplicated.any():
        first = flows[duplicated].iloc[0]
        same = flows.index[duplicated & (flows[key] == first[key]).all(axis=1)].tolist()
        raise SourceFormatError(where, f"the same reporter, partner, flow, product and period "
                                f"appears more than once (rows {same})", field=",".join(key),
                                value={k: str(first[k]) for k in key}, row=same[1])
    flows = flows.sort_values(order, kind="mergesort").reset_index(drop=True)
    flows = as_text(flows).astype({"period": "datetime64[ns]"})
    return TRADE_FLOWS.validate(flows, source=where)


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

FILE_READERS = {
    "wits": read_wits_export,
    "wits_long": read_wits_long,
}
