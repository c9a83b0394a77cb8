"""Convert six-digit HS codes and trade flows between HS2007, HS2012, HS2017 and HS2022.

The UN Statistics Division publishes correlation tables between HS2022 and each older
revision (``HS2022toHS20xxConversionAndCorrelationTables.xlsx`` in
``raw/trade/hs_nomenclature``; sheet "Correlations": one row per HS2022 code and older
code that share goods, with the relationship ``1:1``, ``n:1``, ``1:n`` or ``n:n``).
There is no direct table between two older revisions, so a conversion between, say,
HS2007 and HS2017 goes **through HS2022**: it joins the two tables on the HS2022 code.
That path can add links a direct table would not have (HS2022 merged or regrouped some
older lines, e.g. the new e-waste heading 8549 draws from hundreds of older codes), so
such conversions always raise an :class:`~research.errors.HSConversionWarning`.

Relationships are read ``from:to``. In the UN tables (``HS2022:older``) the left side is
``n`` when the right-hand code has more than one HS2022 counterpart and the right side is
``n`` when the HS2022 code has more than one older counterpart; this degree rule
reproduces every label of the three UN tables and is used to label reversed and composed
correlations.

Value allocation in :func:`convert_flows`:

- ``1:1`` and ``n:1``: the whole value goes to the single target code (``n:1`` targets
  receive several source codes: sum them);
- ``1:n`` and ``n:n``: with ``allocation="equal"`` (default) the value is split equally
  among the source code's target codes (totals are preserved, the split is a crude
  assumption); with ``allocation="keep"`` every target row keeps the full value (not
  additive; for inspection). Either way the ``relationship`` and ``share`` columns flag it.

``n:1`` and ``n:n`` lines are series breaks (the target code also holds goods of other
source codes): :func:`convert_codes` and :func:`convert_flows` warn about them, naming the
codes. Example: HS2017 811292 (unwrought Ga, Ge, In, Nb, V, Hf, Re) became HS2022 811231
(hafnium), 811241 (rhenium) and 811292, so HS2022 811292 -> HS2017 811292 is ``n:1``.
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from research import config
from research.errors import (
    DataNotFoundError,
    HSConversionWarning,
    ParameterError,
    SourceFormatError,
)

FOLDER = "trade/hs_nomenclature"
CORRELATION_FILES = {
    "hs2017": "HS2022toHS2017ConversionAndCorrelationTables.xlsx",
    "hs2012": "HS2022toHS2012ConversionAndCorrelationTables.xlsx",
    "hs2007": "HS2022toHS2007ConversionAndCorrelationTables.xlsx",
}
RELATIONSHIPS = frozenset({"1:1", "n:1", "1:n", "n:n"})
REVISIONS = ("HS2007", "HS2012", "HS2017", "HS2022")
# UN Comtrade classification codes of the revisions (H3 = HS2007 ... H6 = HS2022).
COMTRADE_CLASSIFICATIONS = {"H3": "HS2007", "H4": "HS2012", "H5": "HS2017", "H6": "HS2022"}
ALLOCATIONS = ("equal", "keep")
_SEVERITY = {"1:1": 0, "1:n": 1, "n:1": 2, "n:n": 3}


def revision(name: str | int) -> str:
    """Canonical revision name: ``"hs2017"``, ``2017``, ``"H5"`` -> ``"HS2017"``.

    Raises
    ------
    ParameterError
        Not one of HS2007, HS2012, HS2017, HS2022.
    """
    text = str(name).strip().upper().replace(" ", "")
    text = COMTRADE_CLASSIFICATIONS.get(text, text)
    if text.isdigit():
        text = f"HS{text}"
    if text not in REVISIONS:
        raise ParameterError(f"unknown HS revision {name!r}; allowed: {list(REVISIONS)} "
                             f"(or {list(COMTRADE_CLASSIFICATIONS)})")
    return text


def read_correlations(path: Path) -> pd.DataFrame:
    """The "Correlations" sheet of a UN HS2022-to-older correspondence workbook.

    Returns
    -------
    DataFrame with columns ``hs2022``, ``older`` (six-digit text) and ``relationship``.

    Raises
    ------
    SourceFormatError
        The workbook cannot be read, has no Correlations sheet, an unexpected header, a
        code that is not six digits or an unknown relationship.
    """
    source = str(path)
    try:
        with pd.ExcelFile(path) as book:
            names = [name for name in book.sheet_names if name.strip().endswith("Correlations")]
            if not names:
                raise SourceFormatError(source, "no Correlations sheet; sheets: "
                                        f"{book.sheet_names}")
            sheet = pd.read_excel(book, sheet_name=names[0], header=None, dtype=str)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise SourceFormatError(source, f"cannot read the workbook: {error}") from error
    header = [str(v).strip() for v in sheet.iloc[1, :3]] if len(sheet) > 2 else []
    if len(header) < 3 or header[2] != "Relationship" or "2022" not in header[0]:
        raise SourceFormatError(source, "expected the header 'HS2022, HS20xx, Relationship' in "
                                "the second row", field="Relationship", value=header)
    table = sheet.iloc[2:, :3].copy()
    table.columns = ["hs2022", "older", "relationship"]
    table = table.dropna(how="all")
    for column in ("hs2022", "older"):
        text = table[column].astype(str).str.strip()
        bad = ~text.str.fullmatch(r"\d{5,6}")
        if bad.any():
            raise SourceFormatError(source, "code is not six digits", field=column,
                                    value=table.loc[bad, column].iloc[0])
        table[column] = text.str.zfill(6)
    table["relationship"] = table["relationship"].astype(str).str.strip()
    unknown = sorted(set(table["relationship"]) - RELATIONSHIPS)
    if unknown:
        raise SourceFormatError(source, f"expected one of {sorted(RELATIONSHIPS)}",
                                field="Relationship", value=unknown)
    return table.reset_index(drop=True)


def relationship_labels(pairs: pd.DataFrame, left: str, right: str) -> pd.Series:
    """``left:right`` relationship of each (distinct) code pair by the degree rule.

    The left side is ``n`` when the pair's right code has several left codes; the right
    side is ``n`` when the left code has several right codes.
    """
    lefts = pairs.groupby(right)[left].transform("nunique")
    rights = pairs.groupby(left)[right].transform("nunique")
    return lefts.gt(1).map({True: "n", False: "1"}) + ":" + rights.gt(1).map(
        {True: "n", False: "1"})


@lru_cache(maxsize=8)
def _hs2022_to(older: str, folder: str) -> pd.DataFrame:
    path = Path(folder) / CORRELATION_FILES[older.lower()]
    if not path.is_file():
        raise DataNotFoundError(f"UN HS correlation table not found: {path} (set "
                                "RESEARCH_RAW_DIR to the raw shared data folder)")
    return read_correlations(path).drop_duplicates(["hs2022", "older"], ignore_index=True)


def _folder(raw_dir: Path | str | None) -> str:
    return str(Path(raw_dir if raw_dir is not None else config.raw_dir()) / FOLDER)


def correlation(from_rev: str | int, to_rev: str | int,
                raw_dir: Path | str | None = None) -> pd.DataFrame:
    """Every code pair linking two HS revisions, with its ``from:to`` relationship.

    Parameters
    ----------
    from_rev, to_rev : revisions (``"HS2017"``, ``2017``, ``"H5"`` ...).
    raw_dir : the raw data folder (default :func:`research.config.raw_dir`).

    Returns
    -------
    DataFrame with columns ``from_code``, ``to_code``, ``relationship`` sorted by codes;
    ``attrs`` holds ``from_rev``, ``to_rev`` and ``via`` (``"HS2022"`` for a conversion
    between two older revisions, else ``None``). A table between two older revisions is
    large (HS2007 -> HS2017: about 1.1 million pairs, most through the e-waste heading
    8549) and takes a few seconds the first time; it is cached per process.
    """
    source, target = revision(from_rev), revision(to_rev)
    table = _correlation(source, target, _folder(raw_dir)).copy()
    table.attrs.update(from_rev=source, to_rev=target,
                       via="HS2022" if "HS2022" not in (source, target) else None)
    return table


@lru_cache(maxsize=16)
def _correlation(source: str, target: str, folder: str) -> pd.DataFrame:
    if source == target:
        codes = _codes(source, folder)
        return pd.DataFrame({"from_code": codes, "to_code": codes, "relationship": "1:1"})
    if "HS2022" in (source, target):
        older = target if source == "HS2022" else source
        pairs = _hs2022_to(older, folder)
        if source == "HS2022":
            table = pairs.rename(columns={"hs2022": "from_code", "older": "to_code"})
        else:
            table = pairs.rename(columns={"older": "from_code", "hs2022": "to_code"})
            table["relationship"] = table["relationship"].str[::-1]
        table = table[["from_code", "to_code", "relationship"]]
        return table.sort_values(["from_code", "to_code"], ignore_index=True)
    # Two older revisions: join both tables on the HS2022 code, in integers for speed.
    first = _hs2022_to(source.lower(), folder)
    second = _hs2022_to(target.lower(), folder)
    left = pd.DataFrame({"f": first["older"].astype("int64"),
                         "h": first["hs2022"].astype("int64")})
    right = pd.DataFrame({"h": second["hs2022"].astype("int64"),
                          "t": second["older"].astype("int64")})
    joined = left.merge(right, on="h")
    key = np.sort(joined["f"].to_numpy() * 1_000_000 + joined["t"].to_numpy())
    key = key[np.concatenate([[True], key[1:] != key[:-1]])]  # distinct pairs, sorted
    from_int, to_int = key // 1_000_000, key % 1_000_000
    to_count = np.bincount(to_int, minlength=1_000_000)  # codes are below 1,000,000
    from_count = np.bincount(from_int, minlength=1_000_000)
    kind = 2 * (to_count[to_int] > 1) + (from_count[from_int] > 1)
    labels = np.empty(1_000_000, dtype=object)  # six-digit text of every code present
    present = np.flatnonzero(to_count + from_count)
    labels[present] = [f"{code:06d}" for code in present]
    return pd.DataFrame({
        "from_code": pd.Series(labels[from_int], dtype="str"),
        "to_code": pd.Series(labels[to_int], dtype="str"),
        "relationship": pd.Series(np.array(["1:1", "1:n", "n:1", "n:n"], dtype=object)[kind],
                                  dtype="str"),
    })


def _codes(rev: str, folder: str) -> list[str]:
    """Six-digit codes of ``rev`` known to the UN correlation tables."""
    if rev == "HS2022":
        return sorted(set(_hs2022_to("hs2017", folder)["hs2022"]))
    return sorted(set(_hs2022_to(rev.lower(), folder)["older"]))


def clean_codes(codes: Iterable, source: str = "codes", field: str = "code") -> pd.Series:
    """HS6 codes as six-digit text; integers and 5-digit text regain the leading zero.

    Raises
    ------
    SourceFormatError
        A value is not a five- or six-digit number (named with ``source`` and ``field``).
    """
    text = pd.Series(list(codes), dtype="object").astype(str).str.strip()
    text = text.str.replace(r"\.0$", "", regex=True)
    bad = ~text.str.fullmatch(r"\d{5,6}")
    if bad.any():
        raise SourceFormatError(source, "HS code is not five or six digits", field=field,
                                value=sorted(set(text[bad]))[:20])
    return text.str.zfill(6)


def _short(codes: list[str], limit: int = 6) -> str:
    more = f" and {len(codes) - limit} more" if len(codes) > limit else ""
    return ", ".join(codes[:limit]) + more


def _warn_breaks(rows: pd.DataFrame, table: pd.DataFrame, allocation: str | None) -> None:
    """One HSConversionWarning naming the n:1 / n:n (and split 1:n) codes of ``rows``."""
    source, target, via = (table.attrs.get(k) for k in ("from_rev", "to_rev", "via"))
    parts = []
    flagged = rows[rows["relationship"].isin(["n:1", "n:n"])]
    targets = flagged.groupby("from_code", sort=True)["to_code"].agg(sorted)
    few = {code for codes in targets if len(codes) <= 3 for code in codes}
    near = table[table["to_code"].isin(few)].groupby("to_code")["from_code"].agg(sorted)
    for from_code, codes in targets.items():
        kinds = "/".join(sorted(set(flagged.loc[flagged["from_code"].eq(from_code),
                                                "relationship"])))
        if len(codes) > 3:
            parts.append(f"{from_code} -> {len(codes)} {target} codes ({kinds}: "
                         f"{_short(codes)})")
            continue
        for to_code in codes:
            others = [c for c in near[to_code] if c != from_code]
            parts.append(f"{from_code} -> {to_code} ({kinds}; {target} {to_code} also holds "
                         f"{source} {_short(others)})")
    if allocation == "equal":
        split = rows[rows["relationship"].isin(["1:n", "n:n"])]
        for from_code, size in split.groupby("from_code", sort=True).size().items():
            parts.append(f"{from_code} split equally over {size} {target} codes")
    if via and parts:
        parts.insert(0, f"converted through {via} (no direct {source}-{target} table), "
                        "which may add links a direct table would not have")
    if parts:
        warnings.warn(f"{source} -> {target} is not one-to-one: " + "; ".join(parts),
                      HSConversionWarning, stacklevel=3)


def convert_codes(codes: Iterable, from_rev: str | int, to_rev: str | int,
                  raw_dir: Path | str | None = None) -> pd.DataFrame:
    """Target codes of each source code, with relationship and equal-split share.

    Parameters
    ----------
    codes : six-digit HS codes of ``from_rev`` (ints or 5-digit text regain the zero).
    from_rev, to_rev : revisions (``"HS2022"``, ``2017`` ...).

    Returns
    -------
    DataFrame ``from_code``, ``to_code``, ``relationship``, ``share`` (1 / number of
    target codes of the source code), in the order of ``codes``.

    Raises
    ------
    ParameterError
        Codes that are not in ``from_rev``'s UN correlation table, all named.

    Warns
    -----
    HSConversionWarning
        For ``n:1`` and ``n:n`` lines and any conversion through HS2022.
    """
    wanted = clean_codes(codes, source=f"{revision(from_rev)} codes")
    table = correlation(from_rev, to_rev, raw_dir)
    unknown = sorted(set(wanted[~wanted.isin(table["from_code"].unique())]))
    if unknown:
        raise ParameterError(f"HS code(s) {unknown} are not {table.attrs['from_rev']} "
                             "subheadings of the UN correlation table")
    order = {code: i for i, code in enumerate(dict.fromkeys(wanted))}
    rows = table[table["from_code"].isin(list(order))].copy()
    rows["share"] = 1.0 / rows.groupby("from_code")["to_code"].transform("size")
    rows = rows.sort_values(["from_code", "to_code"], key=lambda c: c.map(order)
                            if c.name == "from_code" else c, ignore_index=True)
    rows.attrs.update(table.attrs)
    _warn_breaks(rows, table, allocation=None)
    return rows


def convert_flows(frame: pd.DataFrame, from_rev: str | int, to_rev: str | int, *,
                  code_column: str = "product", value_columns: Iterable[str] | None = None,
                  allocation: str = "equal", aggregate: bool = False,
                  raw_dir: Path | str | None = None) -> pd.DataFrame:
    """Re-code a flows table from one HS revision to another (allocation rule above).

    Parameters
    ----------
    frame : one row per flow; ``code_column`` holds six-digit codes of ``from_rev``.
    value_columns : additive columns to allocate (default: those of ``value_usd``,
        ``quantity``, ``value``, ``v``, ``q`` present).
    allocation : ``"equal"`` (split 1:n / n:n values equally) or ``"keep"`` (full value
        on every target row; not additive).
    aggregate : sum the allocated values per target code and the other columns;
        ``relationship`` becomes the most severe one of the summed rows.

    Returns
    -------
    The rows with ``code_column`` holding ``to_rev`` codes, the original code in
    ``<code_column>_<from_rev>`` (e.g. ``product_hs2022``), ``relationship`` and ``share``
    (without aggregate; one row per input row and target code).

    Raises
    ------
    SourceFormatError
        A code is not six digits or not in ``from_rev`` (all unknown codes named).
    ParameterError
        Unknown ``allocation``, missing ``code_column`` or no value column.
    """
    if allocation not in ALLOCATIONS:
        raise ParameterError(f"allocation must be one of {ALLOCATIONS}, not {allocation!r}")
    if code_column not in frame.columns:
        raise ParameterError(f"column {code_column!r} not in the flows table: "
                             f"{list(frame.columns)}")
    if value_columns is None:
        value_columns = [c for c in ("value_usd", "quantity", "value", "v", "q")
                         if c in frame.columns]
    value_columns = list(value_columns)
    missing = [c for c in value_columns if c not in frame.columns]
    if missing or not value_columns:
        raise ParameterError(f"value column(s) {missing or 'none'} not found in the flows "
                             f"table: {list(frame.columns)}")
    source, target = revision(from_rev), revision(to_rev)
    codes = clean_codes(frame[code_column], source="flows table", field=code_column)
    table = correlation(source, target, raw_dir)
    unknown = sorted(set(codes[~codes.isin(table["from_code"].unique())]))
    if unknown:
        raise SourceFormatError("flows table", f"not {source} subheadings of the UN "
                                "correlation table", field=code_column, value=unknown)
    original = f"{code_column}_{source.lower()}"
    flows = frame.copy()
    flows[code_column] = codes.to_numpy()
    links = table[table["from_code"].isin(codes.unique())].copy()
    links["share"] = 1.0 / links.groupby("from_code")["to_code"].transform("size")
    _warn_breaks(links, table, allocation=allocation)
    merged = flows.rename(columns={code_column: original}).merge(
        links.rename(columns={"from_code": original, "to_code": code_column}),
        on=original, how="left", validate="many_to_many")
    if allocation == "equal":
        for column in value_columns:
            merged[column] = merged[column] * merged["share"]
    if not aggregate:
        return merged.reset_index(drop=True)
    keys = [c for c in merged.columns
            if c not in {*value_columns, original, "share", "relationship"}]
    merged["_severity"] = merged["relationship"].map(_SEVERITY)
    grouped = merged.groupby(keys, dropna=False, sort=True)
    result = grouped[value_columns].sum(min_count=1)
    worst = grouped["_severity"].max()
    names = {v: k for k, v in _SEVERITY.items()}
    result["relationship"] = worst.map(names)
    return result.reset_index()
