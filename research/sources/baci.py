"""CEPII BACI bilateral trade by HS6 product: bulk CSV -> Parquet by year -> basket panels.

BACI (CEPII's reconciliation of UN Comtrade mirror flows) ships one CSV per year,
``BACI_HS17_Y2022_V202401.csv``, with the columns

- ``t``: year; ``i``: exporter, ``j``: importer (UN Comtrade / M49 numeric codes:
  842 USA, 251 France, 490 "Other Asia, nes" = Taiwan, see
  :func:`research.countries.from_comtrade_code`; some releases use ISO numbers, 840 USA);
- ``k``: HS6 product of the file's revision (HS17 = HS2017 ...); read as text and
  zero-padded, because a code such as 010121 often arrives as 10121 (legacy pseudo-codes
  such as ``9999AA`` of the HS92 files are kept as they are);
- ``v``: value in thousands of current US dollars (FOB); ``q``: quantity in metric tons,
  missing as empty or ``NA`` (possibly space-padded),

plus ``country_codes_V*.csv`` (country_code, country_name, country_iso2, country_iso3) and
``product_codes_HS*_V*.csv`` (code, description).

A year holds about ten million rows, so :func:`convert_to_parquet` converts the CSV files
once, streaming them through DuckDB (memory stays bounded; files larger than memory
work), into Parquet partitioned by year (hive layout ``t=2022/``), written to a temporary
folder that is renamed into place only when complete. :func:`basket_panel` then queries
that folder with DuckDB for a few HS6 lines and returns the tidy ``trade_flows`` layout:
reporter = exporter, flow ``export``, ``value_usd`` = v * 1000, ``quantity`` = q * 1000
kg, annual periods. :func:`read_baci` reads one CSV straight into that layout (the
``baci`` entry of ``research data read``).

Areas: a code is mapped by :func:`~research.countries.from_comtrade_code`; a code it does
not know but the release's country_codes file lists (e.g. 697 "Europe EFTA, nes", 711
"So. African Customs Union") is kept in the Parquet, gets no ISO3 and is left out of
panels with a :class:`~research.errors.SkippedDataWarning`; any other code is an
:class:`~research.errors.UnknownCountryError`. Bad input (missing column, a value that
is not a number, a line with too few fields, a file that does not end with a line
break, i.e. was cut short) raises :class:`~research.errors.SourceFormatError` naming the
file, field, value and, where DuckDB reports it, the line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pycountry

from research import config
from research.countries import from_comtrade_code, normalize, to_comtrade_code, to_iso3
from research.errors import (
    DataNotFoundError,
    ParameterError,
    SchemaError,
    SkippedDataWarning,
    SourceFormatError,
    UnknownCountryError,
)
from research.files import atomic_path, write_atomic
from research.hs import clean_codes
from research.schemas import TRADE_FLOWS
from research.sources.tabular import as_text

COLUMNS = ("t", "i", "j", "k", "v", "q")
KEY = ("t", "i", "j", "k")  # one row per year, exporter, importer and product
COUNTRY_COLUMNS = ("country_code", "country_name", "country_iso2", "country_iso3")
PRODUCT_COLUMNS = ("code", "description")
SOURCE = "CEPII BACI"
META_FILE = "_baci.json"
SCALE = 1000.0  # thousand USD -> USD; metric tons -> kg
_ERROR_TAG = "BACI|"
_NAME = re.compile(r"BACI_(HS\d\d)_Y(\d{4})_(V\d+\w*)\.csv$", re.IGNORECASE)


# --- reference files -------------------------------------------------------------------
def _read_text_csv(path: Path, required: Sequence[str]) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{path}: file not found")
    for encoding in ("utf-8-sig", "cp1252"):  # BACI reference files have been both
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
            break
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise SourceFormatError(str(path), f"not a readable CSV: {error}") from error
    else:
        raise SourceFormatError(str(path), "neither UTF-8 nor cp1252 text")
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise SourceFormatError(str(path), f"missing column(s); expected {list(required)}",
                                field=missing[0])
    return table


def read_country_codes(path: Path | str) -> pd.DataFrame:
    """A BACI ``country_codes_V*.csv``: ``code`` (int), ``name``, ``iso2``, ``iso3``.

    Raises
    ------
    SourceFormatError
        A column is missing, a code is not a whole number or appears twice.
    """
    table = _read_text_csv(Path(path), COUNTRY_COLUMNS)
    codes = table["country_code"].str.strip()
    bad = ~codes.str.fullmatch(r"\d{1,3}")
    if bad.any():
        raise SourceFormatError(str(path), "country code is not a number", field="country_code",
                                value=codes[bad].iloc[0], row=int(bad.idxmax()) + 2)
    out = pd.DataFrame({"code": codes.astype("int64"), "name": table["country_name"].str.strip(),
                        "iso2": table["country_iso2"].str.strip(),
                        "iso3": table["country_iso3"].str.strip()})
    twice = out["code"].duplicated()
    if twice.any():
        raise SourceFormatError(str(path), "country code listed twice", field="country_code",
                                value=int(out.loc[twice, "code"].iloc[0]))
    return out


def read_product_codes(path: Path | str) -> pd.DataFrame:
    """A BACI ``product_codes_HS*_V*.csv``: ``code`` (six-digit text) and ``description``.

    Codes that are not numbers (legacy pseudo-codes such as ``9999AA``) are kept as they
    are; numeric codes regain a lost leading zero.
    """
    table = _read_text_csv(Path(path), PRODUCT_COLUMNS)
    code = table["code"].str.strip()
    numeric = code.str.fullmatch(r"\d{5,6}")
    code = code.where(~numeric, code.str.zfill(6))
    return pd.DataFrame({"code": code, "description": table["description"].str.strip()})


def country_table(country_codes: Path | str | pd.DataFrame | None = None) -> pd.DataFrame:
    """Every BACI area code this module accepts: ``code``, ``iso3`` (missing = not a country).

    Codes 0-999 that :func:`~research.countries.from_comtrade_code` maps, plus the codes of
    ``country_codes`` (a path or :func:`read_country_codes` table) that it does not: those
    get the ISO3 their ``country_iso3``/``country_name`` normalizes to, else none (an
    aggregate such as 697 "Europe EFTA, nes").
    """
    rows = {}
    for code in range(1000):
        try:
            rows[code] = from_comtrade_code(code)
        except UnknownCountryError:
            continue
    if country_codes is not None:
        listed = (country_codes if isinstance(country_codes, pd.DataFrame)
                  else read_country_codes(country_codes))
        for code, iso3, name in zip(listed["code"], listed["iso3"], listed["name"],
                                    strict=True):
            if int(code) not in rows:
                rows[int(code)] = to_iso3(iso3) if iso3 else None
                rows[int(code)] = rows[int(code)] or to_iso3(name)
    return pd.DataFrame({"code": list(rows), "iso3": list(rows.values())},
                        ).astype({"code": "int32", "iso3": "object"})


def find_country_codes(folder: Path) -> Path | None:
    """The newest ``country_codes_V*.csv`` in ``folder``, if any."""
    found = sorted(Path(folder).glob("country_codes_V*.csv"))
    return found[-1] if found else None


# --- checking and typing the CSV -------------------------------------------------------
def _check_csv(path: Path) -> list[str]:
    """The file's column order, after checking the header and the final line break."""
    if not path.is_file():
        raise DataNotFoundError(f"{path}: file not found")
    with open(path, "rb") as handle:
        first = handle.readline()
        if not first.strip():
            raise SourceFormatError(str(path), "empty file: no BACI header t,i,j,k,v,q")
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(size - 1, 0))
        last = handle.read(1)
    header = [c.strip().strip('"').lstrip("\ufeff") for c in
              first.decode("utf-8", errors="replace").strip().split(",")]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise SourceFormatError(str(path), f"missing BACI column(s); header is {header}, "
                                f"expected {list(COLUMNS)}", field=missing[0])
    extra = [c for c in header if c not in COLUMNS]
    if extra:
        raise SourceFormatError(str(path), f"unexpected column(s) besides {list(COLUMNS)}",
                                field=extra[0])
    if last != b"\n":
        raise SourceFormatError(str(path), "file does not end with a line break: cut short "
                                "(truncated download or copy)?", field="(end of file)")
    return header


def _paths(csv_paths: Path | str | Iterable[Path | str]) -> list[Path]:
    if isinstance(csv_paths, (str, Path)):
        csv_paths = [csv_paths]
    paths = [Path(p) for p in csv_paths]
    if not paths:
        raise ParameterError("no BACI CSV file given")
    return paths


def _fail(column: str, test: str, value: str) -> str:
    """SQL raising a tagged error naming file, field and raw value when ``test`` fails."""
    return (f"CASE WHEN {test} THEN {value} ELSE error('{_ERROR_TAG}' || filename || "
            f"'|{column}|' || coalesce(CAST({column} AS VARCHAR), '<missing>') || '|END') END")


TYPES = {"t": "INTEGER", "i": "INTEGER", "j": "INTEGER", "k": "VARCHAR", "v": "DOUBLE",
         "q": "VARCHAR"}  # q is text: BACI writes missing quantities as (padded) NA


def _rows_sql(paths: list[Path], headers: list[list[str]]) -> str:
    """SQL for the typed, checked rows (t, i, j, k, v, q) of the CSV files.

    DuckDB's CSV reader parses t, i, j and v itself (a value that is not a number stops
    it with the line and column); the CASE expressions check ranges and k and q. Country
    codes are checked afterwards on the distinct codes (:func:`_country_map`), which is
    much cheaper than a join on every row.
    """
    if any(h != headers[0] for h in headers):
        raise SourceFormatError(str(paths[0]), "BACI files with different column orders",
                                field="header", value=[",".join(h) for h in headers])
    columns = "{" + ", ".join(f"'{c}': '{TYPES[c]}'" for c in headers[0]) + "}"
    files = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"
    read = (f"read_csv({files}, header = true, columns = {columns}, delim = ',', "
            "quote = '\"', nullstr = ['', 'NA'], auto_detect = false, strict_mode = true, "
            "null_padding = false, filename = true)")
    quantity = "TRY_CAST(q AS DOUBLE)"  # 'nan' and 'inf' cast too: isfinite refuses them
    return f"""
        SELECT
          {_fail("t", "t BETWEEN 1900 AND 2100", "t")} AS t,
          {_fail("i", "i IS NOT NULL", "i")} AS i,
          {_fail("j", "j IS NOT NULL", "j")} AS j,
          CASE WHEN regexp_full_match(k, '[0-9]{{5,6}}') THEN lpad(k, 6, '0')
               WHEN regexp_full_match(k, '[0-9]{{4}}[A-Z]{{2}}') THEN k
               ELSE error('{_ERROR_TAG}' || filename || '|k|' || coalesce(k, '<missing>')
                          || '|END') END AS k,
          {_fail("v", "isfinite(v) AND v >= 0", "v")} AS v,
          CASE WHEN isfinite({quantity}) AND {quantity} >= 0 THEN {quantity}
               WHEN q IS NULL OR trim(q) IN ('', 'NA') THEN NULL::DOUBLE
               ELSE error('{_ERROR_TAG}' || filename || '|q|' || q || '|END') END AS q
        FROM {read}"""


def _country_map(con: duckdb.DuckDBPyConnection, relation: str, countries: pd.DataFrame,
                 where: str) -> dict[int, str | None]:
    """ISO3 (or None for a listed non-country area) of every exporter/importer code used.

    Raises
    ------
    UnknownCountryError
        Naming every code that is neither known nor listed, and its field (i or j).
    """
    known = dict(zip(countries["code"].astype(int), countries["iso3"], strict=True))
    found: dict[int, str | None] = {}
    for field in ("i", "j"):
        codes = [int(c) for (c,) in con.execute(f"SELECT DISTINCT {field} FROM {relation}"
                                                ).fetchall()]
        unknown = sorted(c for c in codes if c not in known)
        if unknown:
            raise UnknownCountryError(where, "BACI country code(s) not known to "
                                      "research.countries and not in the country_codes file",
                                      field=field, value=unknown)
        found.update({c: known[c] for c in codes})
    return found


def _raise_from(error: duckdb.Error, paths: list[Path]) -> None:
    """Turn a DuckDB error into the package's named error (always raises)."""
    text = str(error)
    tagged = re.search(r"BACI\|(.*?)\|(\w+)\|(.*?)\|END", text, flags=re.S)
    if tagged:
        file, field, value = tagged.groups()
        raise SourceFormatError(file, MESSAGES[field], field=field, value=value) from None
    line = re.search(r"CSV Error on Line: (\d+)", text)
    file = re.search(r"file = (.*)", text)
    where = file.group(1).strip() if file else str(paths[0])
    row = int(line.group(1)) if line else None
    converting = re.search(r'converting column "(\w+)"\. Could not convert string "(.*?)"',
                           text)
    if converting:
        field, value = converting.groups()
        raise SourceFormatError(where, MESSAGES.get(field, "not a number"), field=field,
                                value=value, row=row) from None
    original = re.search(r"Original Line: (.*)", text)
    if line or "CSV" in text:
        raise SourceFormatError(where, "malformed or truncated CSV line: "
                                + text.splitlines()[-1 if not line else 0].strip()[:200],
                                field="line", value=original.group(1) if original else None,
                                row=row) from None
    raise SourceFormatError(str(paths[0]), f"DuckDB could not read the BACI file(s): "
                            f"{text.splitlines()[0][:300]}") from None


MESSAGES = {
    "t": "year is not a whole number between 1900 and 2100",
    "i": "exporter code is not a whole number",
    "j": "importer code is not a whole number",
    "k": "HS6 product is neither a five- or six-digit number nor a code like 9999AA",
    "v": "value (thousand USD) is not a finite non-negative number",
    "q": "quantity (tons) is not a finite non-negative number, empty or NA",
}


def _connect(memory_limit: str = "1GB", threads: int | None = None
             ) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    # spill to the system temp folder, not DuckDB's default ``.tmp`` in the working directory
    spill = Path(tempfile.gettempdir()) / f"research-duckdb-{os.getpid()}"
    con.execute(f"SET temp_directory = '{spill.as_posix()}'")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")  # lets COPY stream
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def _source_label(paths: list[Path]) -> str:
    names = sorted({m.group(1).upper() + " " + m.group(3).upper()
                    for p in paths if (m := _NAME.search(p.name))})
    return f"{SOURCE} ({', '.join(names)})" if names else SOURCE


# --- conversion and queries ------------------------------------------------------------
def convert_to_parquet(csv_paths: Path | str | Iterable[Path | str], out_dir: Path | str,
                       country_codes: Path | str | pd.DataFrame | None = None, *,
                       overwrite: bool = False, memory_limit: str = "1GB",
                       threads: int | None = None) -> Path:
    """Convert BACI CSV files once to Parquet partitioned by year (``out_dir/t=YYYY/``).

    Streams through DuckDB (bounded memory), writes into a temporary folder beside
    ``out_dir`` and renames it into place only when every file converted and every
    country code is known. Columns: i, j (codes), k (six-digit text), v (thousand USD),
    q (tons) and the partition key t; ``_baci.json`` records the source files, the row
    count and the ISO3 of every exporter/importer code (null for non-country areas).

    Parameters
    ----------
    csv_paths : one BACI CSV or several (e.g. every year of a release).
    out_dir : the Parquet folder to create.
    country_codes : the release's ``country_codes_V*.csv`` (path or table); default: the
        newest one beside the first CSV, if any.
    overwrite : replace an existing ``out_dir`` (else ParameterError).
    memory_limit, threads : DuckDB settings.

    Raises
    ------
    SourceFormatError, UnknownCountryError
        Bad input, naming the file, field and value (see the module docstring).
    """
    paths = _paths(csv_paths)
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise ParameterError(f"{out_dir} exists; pass overwrite=True to replace it")
    headers = [_check_csv(p) for p in paths]
    if country_codes is None:
        country_codes = find_country_codes(paths[0].parent)
    countries = country_table(country_codes)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    temporary = out_dir.parent / f".{out_dir.name}.tmp-{uuid.uuid4().hex[:8]}"
    con = _connect(memory_limit, threads)
    try:
        target = str(temporary).replace("'", "''")
        try:
            [(rows,)] = con.execute(
                f"COPY ({_rows_sql(paths, headers)}) TO '{target}' "
                "(FORMAT PARQUET, PARTITION_BY (t))").fetchall()  # snappy: zstd is slower
        except duckdb.Error as error:
            _raise_from(error, paths)
        if not rows:
            raise SourceFormatError(str(paths[0]), "no data rows (header only)")
        relation = f"read_parquet('{target}/t=*/*.parquet')"
        mapping = _country_map(con, relation, countries, str(paths[0]))
        meta = {"source": _source_label(paths), "files": [p.name for p in paths],
                "rows": int(rows),
                "country_codes": str(country_codes) if isinstance(country_codes,
                                                                  (str, Path)) else None,
                "countries": {str(code): iso3 for code, iso3 in sorted(mapping.items())}}
        (temporary / META_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        if out_dir.exists():
            old = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}"
            out_dir.rename(old)
            temporary.rename(out_dir)
            shutil.rmtree(old)
        else:
            temporary.rename(out_dir)
    finally:
        con.close()
        if temporary.exists():
            shutil.rmtree(temporary)
    return out_dir


def _flows_frame(raw: pd.DataFrame, mapping: dict[int, str | None], source: str,
                 where: str) -> pd.DataFrame:
    """Rows (i, j, k, t, v, q) -> trade_flows layout, summed per ISO3 pair, product, year.

    Raises
    ------
    SchemaError
        Two rows share (t, i, j, k): BACI has one row per year, exporter, importer and
        product, so a repeat is a damaged file, never summed.
    """
    repeated = raw.duplicated(list(KEY), keep=False)
    if repeated.any():
        first = {key: _plain(value) for key, value in raw.loc[repeated, list(KEY)].iloc[0].items()}
        raise SchemaError(where, f"{int(repeated.sum())} rows repeat a (t, i, j, k) key; BACI "
                          "has one row per year, exporter, importer and product (not summed)",
                          field="t,i,j,k", value=first)
    raw = raw.assign(exporter_iso3=raw["i"].map(mapping), importer_iso3=raw["j"].map(mapping))
    skipped = raw["exporter_iso3"].isna() | raw["importer_iso3"].isna()
    if skipped.any():
        codes = sorted(set(raw.loc[raw["exporter_iso3"].isna(), "i"])
                       | set(raw.loc[raw["importer_iso3"].isna(), "j"]))
        warnings.warn(f"{where}: {int(skipped.sum())} row(s) with areas that are not "
                      f"countries left out (BACI codes {codes})", SkippedDataWarning,
                      stacklevel=3)
        raw = raw[~skipped]
    # Several codes can name one country (840 and 842 both USA): sum them; a sum with a
    # missing quantity has none.
    grouped = raw.assign(q_missing=raw["q"].isna()).groupby(
        ["exporter_iso3", "importer_iso3", "k", "t"], sort=False).agg(
        v=("v", "sum"), q=("q", "sum"), q_missing=("q_missing", "any")).reset_index()
    flows = pd.DataFrame({
        "reporter_iso3": grouped["exporter_iso3"].to_numpy(),
        "partner_iso3": grouped["importer_iso3"].to_numpy(),
        "flow": "export",
        "product": grouped["k"].to_numpy(),
        "product_level": "hs6",
        "period": pd.to_datetime(grouped["t"].astype("int64").astype(str) + "-01-01"),
        "freq": "A",
        "value_usd": grouped["v"].to_numpy(dtype="float64") * SCALE,
        "quantity": grouped["q"].mask(grouped["q_missing"]).to_numpy(dtype="float64") * SCALE,
        "quantity_unit": "kg",
        "source": source,
    })
    flows = flows.sort_values(["product", "reporter_iso3", "partner_iso3", "period"],
                              kind="mergesort", ignore_index=True)
    flows = as_text(flows).astype({"period": "datetime64[ns]"})
    if flows.empty:
        return flows
    return TRADE_FLOWS.validate(flows, source=where)


def _plain(value: object) -> object:
    """A numpy scalar as the Python value, for readable error messages."""
    return value.item() if hasattr(value, "item") else value


def basket_panel(parquet_dir: Path | str, hs6_codes: Iterable, exporters: Iterable | None = None,
                 importers: Iterable | None = None, *, years: Iterable[int] | None = None,
                 threads: int | None = None) -> pd.DataFrame:
    """Exports of some HS6 lines from a :func:`convert_to_parquet` folder, tidy.

    Parameters
    ----------
    parquet_dir : folder written by :func:`convert_to_parquet`.
    hs6_codes : the basket (codes of the BACI file's HS revision).
    exporters, importers : ISO3 codes or names to keep (default: all).
    years : years to keep (default: all).

    Returns
    -------
    The ``trade_flows`` layout (:data:`research.schemas.TRADE_FLOWS`): reporter_iso3 =
    exporter, partner_iso3 = importer, flow "export", product, product_level "hs6",
    period (1 January), freq "A", value_usd (v * 1000), quantity (q * 1000, kg; missing
    when BACI has none), quantity_unit "kg", source. Rows of areas that are not countries
    are left out with a SkippedDataWarning.
    """
    folder = Path(parquet_dir)
    if not any(folder.glob("t=*/*.parquet")):
        raise DataNotFoundError(f"{folder}: no BACI Parquet partitions (t=YYYY/*.parquet); "
                                "run convert_to_parquet first")
    codes = sorted(set(clean_codes(hs6_codes, source="hs6_codes")))
    if not codes:
        raise ParameterError("empty HS6 basket")
    glob = str(folder / "t=*" / "*.parquet").replace("'", "''")
    relation = f"read_parquet('{glob}', hive_partitioning = true)"
    meta_path = folder / META_FILE
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    con = _connect(threads=threads)
    try:
        if "countries" in meta:
            mapping = {int(code): iso3 for code, iso3 in meta["countries"].items()}
        else:  # a folder written otherwise: check its codes now
            mapping = _country_map(con, relation, country_table(), str(folder))
        filters = [f"k IN ({', '.join(repr(c) for c in codes)})"]
        for column, values, name in (("i", exporters, "exporters"),
                                     ("j", importers, "importers")):
            if values is not None:
                wanted = set(normalize(list(values), source=name, field=name))
                chosen = sorted(c for c, iso3 in mapping.items() if iso3 in wanted) or [-1]
                filters.append(f"{column} IN ({', '.join(map(str, chosen))})")
        if years is not None:
            filters.append(f"t IN ({', '.join(str(int(y)) for y in years)})")
        raw = con.execute(f"SELECT i, j, k, t, v, q FROM {relation} "
                          f"WHERE {' AND '.join(filters)}").df()
    finally:
        con.close()
    return _flows_frame(raw, mapping, meta.get("source", SOURCE), str(folder))


def read_baci(path: Path | str) -> pd.DataFrame:
    """One BACI CSV file as a tidy ``trade_flows`` table (every row; for a basket of a
    large file convert to Parquet and use :func:`basket_panel`).

    The release's ``country_codes_V*.csv`` beside the file is used when present.
    """
    paths = _paths(path)
    headers = [_check_csv(p) for p in paths]
    countries = country_table(find_country_codes(paths[0].parent))
    con = _connect()
    try:
        try:
            raw = con.execute(_rows_sql(paths, headers)).df()
        except duckdb.Error as error:
            _raise_from(error, paths)
        if raw.empty:
            raise SourceFormatError(str(paths[0]), "no data rows (header only)")
        con.register("baci_rows", raw)
        mapping = _country_map(con, "baci_rows", countries, str(paths[0]))
    finally:
        con.close()
    return _flows_frame(raw, mapping, _source_label(paths), str(paths[0]))


# --- a file in BACI's layout -----------------------------------------------------------
# Exporters and importers of the sample: every ISO 3166-1 country with its UN Comtrade
# code (to_comtrade_code: 842 USA, 251 France, 381 Italy, 579 Norway, 699 India,
# 757 Switzerland, 490 Taiwan), as BACI writes them.
def sample_country_codes() -> list[int]:
    """Comtrade codes of every ISO 3166-1 country (249), sorted."""
    return sorted(to_comtrade_code(c.alpha_3) for c in pycountry.countries)


def write_country_codes_sample(path: Path | str, codes: Iterable[int] | None = None) -> Path:
    """A ``country_codes_V*.csv`` in BACI's layout for ``codes`` (default: all countries).

    Names and ISO codes come from ISO 3166-1 (pycountry); 490 is written as BACI does,
    ``Other Asia, nes`` with ISO3 ``S19``.
    """
    rows = []
    for code in sorted(set(codes) if codes is not None else sample_country_codes()):
        iso3 = from_comtrade_code(code)
        country = pycountry.countries.get(alpha_3=iso3)
        if code == 490:
            rows.append((490, "Other Asia, nes", "", "S19"))
        elif country is not None:
            rows.append((code, country.name, country.alpha_2, country.alpha_3))
    table = pd.DataFrame(rows, columns=list(COUNTRY_COLUMNS))
    return write_atomic(Path(path), lambda p: table.to_csv(p, index=False))


def default_sample_products(raw_dir: Path | str | None = None) -> list[str]:
    """HS2022 six-digit subheadings of ``harmonized-system.csv`` in the raw folder (5,613)."""
    path = Path(raw_dir or config.raw_dir()) / "trade/hs_nomenclature/harmonized-system.csv"
    if not path.is_file():
        raise DataNotFoundError(f"{path} not found: pass hs6_codes to the sample writer")
    table = pd.read_csv(path, dtype=str, usecols=["hscode", "level"])
    return sorted(table.loc[table["level"].eq("6"), "hscode"])


def write_baci_layout_sample(path: Path | str, n_rows: int, seed: int = 0,
                             years: Sequence[int] = (2021, 2022, 2023), *,
                             hs6_codes: Sequence[str] | None = None,
                             countries: Sequence[int] | None = None,
                             missing_quantity_share: float = 0.03,
                             chunk_rows: int = 1_000_000, progress=None) -> Path:
    """Write a synthetic file in BACI's exact CSV layout (``t,i,j,k,v,q``).

    Made-up flows with real codes: exporters and importers are Comtrade codes of real
    countries (:func:`sample_country_codes`), products real HS6 codes (default: the HS2022
    subheadings of the raw nomenclature, :func:`default_sample_products`). Each
    (t, i, j, k) appears once and rows are sorted by them, as in BACI. ``k`` is written
    as a number, so codes of chapters 01-09 lose their leading zero (readers pad it);
    ``v`` (thousand USD) is log-normal with three decimals; ``q`` (tons) is v divided by a
    log-normal unit value per product, three decimals, ``NA`` for a share of rows.

    Parameters
    ----------
    path : the CSV to write (atomically).
    n_rows : number of rows, spread evenly over ``years``.
    seed : random seed; the same arguments give the same file.
    progress : optional callable(rows_written) called after each chunk.
    """
    if n_rows < 1:
        raise ParameterError(f"n_rows must be positive, not {n_rows}")
    rng = np.random.default_rng(seed)
    products = np.array(sorted(set(hs6_codes)) if hs6_codes is not None
                        else default_sample_products(), dtype=object)
    product_int = np.array([int(p) for p in products], dtype=np.int64)
    country = np.array(sorted(set(countries)) if countries is not None
                       else sample_country_codes(), dtype=np.int64)
    n_c, n_p = len(country), len(products)
    if n_c < 2 or n_p < 1:
        raise ParameterError("need at least two countries and one product")
    per_year = np.full(len(years), n_rows // len(years))
    per_year[: n_rows % len(years)] += 1
    capacity = n_c * (n_c - 1) * n_p
    if per_year.max() > capacity:
        raise ParameterError(f"{per_year.max()} rows per year exceed the {capacity} "
                             "distinct exporter-importer-product combinations")
    unit_value = rng.lognormal(mean=1.0, sigma=1.2, size=n_p)  # thousand USD per ton
    written = 0
    with atomic_path(Path(path)) as temporary, open(temporary, "wb") as handle:
        handle.write((",".join(COLUMNS) + "\n").encode())
        for year, count in zip(years, per_year, strict=True):
            keys = _distinct_keys(rng, int(count), n_c, n_p)
            for start in range(0, len(keys), chunk_rows):
                chunk = keys[start:start + chunk_rows]
                pair, product = np.divmod(chunk, n_p)
                exporter, importer = np.divmod(pair, n_c)
                value = np.maximum(np.rint(rng.lognormal(3.0, 2.2, len(chunk)) * 1000), 1)
                tons = np.rint(value / unit_value[product])  # both in thousandths
                quantity = _thousandths(tons.astype(np.int64))
                missing = pa.array(rng.random(len(chunk)) < missing_quantity_share)
                table = pa.table({
                    "t": pa.array(np.full(len(chunk), year, dtype=np.int32)),
                    "i": pa.array(country[exporter]), "j": pa.array(country[importer]),
                    "k": pa.array(product_int[product]),
                    "v": _thousandths(value.astype(np.int64)),
                    "q": pc.if_else(missing, pa.scalar("NA"), quantity),
                })
                pa_csv.write_csv(table, handle, pa_csv.WriteOptions(include_header=False,
                                                                     quoting_style="none"))
                written += len(chunk)
                if progress is not None:
                    progress(written)
    return Path(path)


def _distinct_keys(rng: np.random.Generator, count: int, n_c: int, n_p: int) -> np.ndarray:
    """``count`` sorted distinct codes of (exporter, importer, product), exporter != importer."""
    keys = np.empty(0, dtype=np.int64)
    while len(keys) < count:
        draw = rng.integers(0, n_c * n_c * n_p, size=int((count - len(keys)) * 1.05) + 16,
                            dtype=np.int64)
        exporter, importer = np.divmod(draw // n_p, n_c)
        keys = np.sort(np.concatenate([keys, draw[exporter != importer]]))
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    if len(keys) > count:
        keys = np.delete(keys, rng.choice(len(keys), size=len(keys) - count, replace=False))
    return keys


def _thousandths(milli: np.ndarray) -> pa.Array:
    """Integers in thousandths as decimal text with three decimals (1234 -> "1.234")."""
    whole = pc.cast(pa.array(milli // 1000), pa.string())
    fraction = pc.utf8_lpad(pc.cast(pa.array(milli % 1000), pa.string()), 3, "0")
    return pc.binary_join_element_wise(whole, fraction, ".")


FILE_READERS = {"baci": read_baci}
