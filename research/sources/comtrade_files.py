"""UN Comtrade files as users save them from the Comtrade web site ("Get data" export).

The export (CSV, ``TradeData_<date>.csv``, or an XLSX with the same table) has one
column per field of the Comtrade API v1 data records, in the API's order and with the
API's names: typeCode, freqCode, refPeriodId, refYear, refMonth, period, reporterCode,
reporterISO, reporterDesc, flowCode, flowDesc, partnerCode, partnerISO, partnerDesc,
partner2Code, partner2ISO, partner2Desc, classificationCode, classificationSearchCode,
isOriginalClassification, cmdCode, cmdDesc, aggrLevel, isLeaf, customsCode, customsDesc,
mosCode, motCode, motDesc, qtyUnitCode, qtyUnitAbbr, qty, isQtyEstimated,
altQtyUnitCode, altQtyUnitAbbr, altQty, isAltQtyEstimated, netWgt, isNetWgtEstimated,
grossWgt, isGrossWgtEstimated, cifvalue, fobvalue, primaryValue, legacyEstimationFlag,
isReported, isAggregate. This layout is taken from the recorded API responses in
``shared/data/fixtures/comtrade_api`` (see their PROVENANCE.md, which lists every
field) and from exports seen in public repositories, whose header is exactly this list.
Headers are matched without regard to case, so ``PrimaryValue`` works as well.

Reading rules:

- value: ``primaryValue`` in current US$ (FOB for exports, CIF for imports, as reported);
- quantity: ``netWgt`` (Comtrade's net weight, always kg). Where netWgt is empty, ``qty``
  is used when ``qtyUnitAbbr`` is ``kg``; a row whose only quantity is in another unit
  (items, litres, ...) is an error, because the tidy table holds kilograms only; no
  quantity at all (``N/A``) gives NaN; ``quantity_unit`` is "kg" on every row, as in
  the bundled tables (the unit of the column, also where the value is missing);
- period: ``freqCode`` A -> 1 January of ``refYear``; M -> first day of the month
  (``refMonth``); ``period`` must agree (``2010`` or ``201003``);
- areas: reporter and partner by their Comtrade numeric codes
  (:func:`research.countries.from_comtrade_code`: 0 = World -> WLD, 490 "Other Asia,
  nes" -> TWN, 842 -> USA). Partners that are no country ("Areas, nes", "Bunkers",
  "Free Zones", "Special Categories", "..., nes") are left out with a
  :class:`~research.errors.SkippedDataWarning`; their trade stays inside World;
- product: six-digit ``cmdCode`` -> product_level "hs6"; ``TOTAL`` and 2- or 4-digit
  aggregates -> product_level "group" (the product is the Comtrade code);
- breakdowns: rows must be totals over second partner (partner2Code 0), mode of
  transport (motCode 0) and customs procedure (customsCode C00); an export broken down
  by these would count flows twice and is refused.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from research.countries import from_comtrade_code
from research.errors import SkippedDataWarning, SourceFormatError, UnknownCountryError
from research.sources.tabular import (
    FIRST_YEAR,
    LAST_YEAR,
    find_column,
    numbers,
    read_table_text,
)
from research.sources.wits import finish_flows, non_geographic

REQUIRED = ("freqCode", "refYear", "refMonth", "period", "reporterCode", "flowCode",
            "partnerCode", "cmdCode", "primaryValue")
FLOWS = {"X": "export", "M": "import"}
ANNUAL_MONTH = "52"  # refMonth of annual records
TOTALS = {"partner2Code": "0", "motCode": "0", "customsCode": "C00"}
NO_QUANTITY_UNITS = {"", "n/a", "na", "-1"}
# Comtrade partner codes that name no country: Bunkers, Free Zones, Special Categories,
# Areas, nes (partner list of the Comtrade reference files); other "..., nes" partners
# are recognised by their partnerDesc.
NON_GEOGRAPHIC_CODES = {"837", "838", "839", "899"}


def _integer_text(text: pd.Series) -> pd.Series:
    """'156', '156.0' (a code read from a spreadsheet as a float) -> '156'."""
    return text.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)


def _fail_first(bad: pd.Series, values: pd.Series, where: str, field: str,
                message: str) -> None:
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise SourceFormatError(where, message, field=field, value=values.iloc[position],
                                row=values.index[position])


def _areas(codes: pd.Series, names: pd.Series | None, where: str, field: str,
           allow_drop: bool) -> tuple[pd.Series, pd.Series]:
    """ISO3 per row and a mask of rows to drop (non-country partners)."""
    iso3, drop = {}, set()
    for code in codes.unique():
        try:
            iso3[code] = from_comtrade_code(code)
        except UnknownCountryError:
            rows = codes.eq(code)
            name = names[rows].iloc[0] if names is not None else ""
            if allow_drop and (code in NON_GEOGRAPHIC_CODES or non_geographic(name)):
                drop.add(code)
                continue
            raise SourceFormatError(where, "area code names no country; see "
                                    "research.countries.COMTRADE_CODES", field=field,
                                    value=f"{code} {name}".strip(),
                                    row=codes.index[int(rows.to_numpy().argmax())]) from None
    return codes.map(iso3), codes.isin(drop)


def _product(codes: pd.Series, levels: pd.Series | None, where: str) -> tuple[pd.Series,
                                                                               pd.Series]:
    """(product code, product_level) per row; restores leading zeros lost in spreadsheets."""
    text = codes.str.strip()
    upper = text.str.upper()
    digits = text.str.fullmatch(r"\d{1,6}")
    if levels is not None:
        width = pd.to_numeric(levels, errors="coerce")
        target = width.where(width.isin([2, 4, 6]))
    else:
        target = pd.Series(np.nan, index=text.index)
    odd = text.str.len().isin([1, 3, 5])
    target = target.fillna(text.str.len() + odd.astype(int))  # 5 digits -> lost a zero
    padded = pd.Series([c.zfill(int(w)) if d and w == w else c
                        for c, w, d in zip(text, target, digits, strict=True)], index=text.index)
    ok = upper.eq("TOTAL") | padded.str.fullmatch(r"\d{2}|\d{4}|\d{6}")
    _fail_first(~ok, codes, where, "cmdCode", "commodity code is not TOTAL or an HS code of "
                "2, 4 or 6 digits")
    product = padded.where(~upper.eq("TOTAL"), "TOTAL")
    level = pd.Series(np.where(product.str.len().eq(6) & ~upper.eq("TOTAL"), "hs6", "group"),
                      index=text.index)
    return product, level


def _periods(raw: pd.DataFrame, where: str) -> tuple[pd.Series, pd.Series]:
    freq = find_column(raw, "freqCode").str.upper()
    _fail_first(~freq.isin(["A", "M"]), find_column(raw, "freqCode"), where, "freqCode",
                "frequency is not A (annual) or M (monthly)")
    year = _integer_text(find_column(raw, "refYear"))
    month = _integer_text(find_column(raw, "refMonth"))
    period = _integer_text(find_column(raw, "period"))
    _fail_first(~year.str.fullmatch(r"\d{4}"), year, where, "refYear", "year is not 4 digits")
    _fail_first(~pd.to_numeric(year).between(FIRST_YEAR, LAST_YEAR), year, where, "refYear",
                f"year outside {FIRST_YEAR}-{LAST_YEAR}")
    annual = freq.eq("A")
    month_ok = month.str.fullmatch(r"\d{1,2}") & pd.to_numeric(month, errors="coerce").between(
        1, 12)
    _fail_first(~annual & ~month_ok, month, where, "refMonth", "month of a monthly record is "
                "not 1-12")
    _fail_first(annual & ~month.isin([ANNUAL_MONTH, ""]), month, where, "refMonth",
                f"month of an annual record is not {ANNUAL_MONTH}")
    expected = year.where(annual, year + month.str.zfill(2))
    _fail_first(period.ne(expected), period, where, "period",
                "period does not match refYear/refMonth")
    first = np.where(annual, year + "-01-01", year + "-" + month.str.zfill(2) + "-01")
    dates = pd.Series(pd.to_datetime(first, format="%Y-%m-%d"), index=raw.index).astype(
        "datetime64[ns]")
    return dates, freq


def _quantity(raw: pd.DataFrame, where: str) -> tuple[pd.Series, pd.Series]:
    """Net weight in kg (or qty when its unit is kg), NaN when there is none."""
    index = raw.index
    weight_text = find_column(raw, "netWgt")
    weight = (numbers(weight_text, where, "netWgt", nonnegative=True) if weight_text is not None
              else pd.Series(np.nan, index=index))
    qty_text, unit_text = find_column(raw, "qty"), find_column(raw, "qtyUnitAbbr")
    if qty_text is None:
        quantity = weight
    else:
        qty = numbers(qty_text, where, "qty", nonnegative=True)
        if unit_text is None:
            raise SourceFormatError(where, "a qty column without qtyUnitAbbr: the unit of the "
                                    "quantity is not stated", field="qtyUnitAbbr")
        unit = unit_text.str.strip().str.lower()
        is_kg = unit.eq("kg")
        other = qty.notna() & ~is_kg & ~unit.isin(NO_QUANTITY_UNITS) & weight.isna()
        _fail_first(other, unit_text, where, "qtyUnitAbbr", "the quantity is not in kg "
                    "and netWgt (kg) is empty: the kg quantity column cannot be filled")
        quantity = weight.where(weight.notna(), qty.where(is_kg))
    return quantity.astype("float64"), pd.Series("kg", index=index, dtype=object)


def read_comtrade_file(path: Path | str, *, sheet: str | None = None) -> pd.DataFrame:
    """A UN Comtrade web export (CSV or XLSX, API field names) as a tidy trade-flow table.

    Parameters
    ----------
    path : the file saved from comtradeplus.un.org ("Get data", then download), annual
        or monthly, any reporters, partners, flows X/M and commodities.
    sheet : the worksheet of an XLSX export (default: the first with the Comtrade header).

    Returns
    -------
    DataFrame in the :data:`~research.schemas.TRADE_FLOWS` layout, sorted by product
    level, product, reporter, flow, partner and period. See the module docstring for
    the rules.

    Raises
    ------
    SourceFormatError
        The file is damaged or cut short, a required column is missing, a code, period
        or number does not parse, a flow is not X or M, a quantity is in another unit
        than kg with no net weight, the rows are broken down by second partner, mode of
        transport or customs procedure, a key appears twice, or no rows are left; the
        message names the file, row, column and value.
    """
    path = Path(path)
    raw, where = read_table_text(path, REQUIRED, sheet=sheet)
    for field, total in TOTALS.items():
        text = find_column(raw, field)
        if text is not None:
            text = _integer_text(text)
            _fail_first(text.ne(total) & text.ne(""), text, where, field,
                        f"not the total ({total}): the export is broken down by {field}; "
                        "download totals only")
    flow_text = find_column(raw, "flowCode").str.upper()
    _fail_first(~flow_text.isin(list(FLOWS)), find_column(raw, "flowCode"), where, "flowCode",
                "flow is not X (export) or M (import); re-exports and re-imports are not read")
    period, freq = _periods(raw, where)
    product, level = _product(find_column(raw, "cmdCode"), find_column(raw, "aggrLevel"), where)
    value = numbers(find_column(raw, "primaryValue"), where, "primaryValue", nonnegative=True)
    quantity, unit = _quantity(raw, where)
    reporter, _ = _areas(_integer_text(find_column(raw, "reporterCode")),
                         find_column(raw, "reporterDesc"), where, "reporterCode", False)
    partner_names = find_column(raw, "partnerDesc")
    partner, dropped = _areas(_integer_text(find_column(raw, "partnerCode")), partner_names,
                              where, "partnerCode", True)
    if dropped.any():
        names = sorted(set(partner_names[dropped])) if partner_names is not None else []
        warnings.warn(f"{where}: {int(dropped.sum())} row(s) with partners that are not "
                      f"countries left out ({names}); their trade is inside the World row",
                      SkippedDataWarning, stacklevel=2)
    keep = ~dropped
    if not keep.any():
        raise SourceFormatError(where, "no rows left: every partner is a non-country",
                                field="partnerCode")
    flows = pd.DataFrame({
        "reporter_iso3": reporter, "partner_iso3": partner, "flow": flow_text.map(FLOWS),
        "product": product, "product_level": level, "period": period, "freq": freq,
        "value_usd": value, "quantity": quantity, "quantity_unit": unit,
        "source": f"UN Comtrade (file {path.name})",
    })[keep]
    return finish_flows(flows, where, ["product_level", "product", "reporter_iso3", "flow",
                                       "partner_iso3", "period"])


FILE_READERS = {"comtrade": read_comtrade_file}
