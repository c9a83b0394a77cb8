"""China's 2026 dual-use import/export licence catalogue, reduced to HS6 by section.

The raw file is a third-party machine parse (repository
chycici/dual-use-export-control-catalog) of the 2026 《两用物项和技术进出口许可证管理目录》
issued by MOFCOM and the General Administration of Customs. Each of its 906 entries
has a catalogue type (出口 export / 进口 import), a control code (管制编码, null for
import entries) and a list of 10-digit Chinese customs codes (参考HS编码).

The parse is noisy: product names are often wrong and customs codes often sit one
row off (they belong to the neighbouring item). So the table is kept at HS6 and by
section, never by single control code:

- ``section`` is the control-code category, its first two characters (``1C``, ``3C``
  ...: category digit plus product group letter) for well-formed codes
  (``\\d[A-E]\\d{3}``); ``unparsed`` for junk control codes left by the parse
  (``UF6``, ``1``, ``N``, ``MPa``, customs-code-like values ...); ``none`` for
  import entries, which carry no control code.
- ``blocks`` names the critical-mineral blocks (see :data:`BLOCKS`) whose entries
  list the HS6 in that section, e.g. ``rare_earths_1C902-1C908``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from research import datasets
from research.datasets import Dataset
from research.errors import ParameterError, SourceFormatError
from research.schemas import HS6, Column, Schema

FOLDER = "trade/dual_use_catalog"
JSON_FILE = "2026年度两用物项进出口许可证检索索引.json"

CATALOGUE_TYPES = {"出口": "export", "进口": "import"}
CONTROL_CODE = re.compile(r"\d[A-E]\d{3}")
N_EXAMPLES = 5

# Critical-mineral blocks of the export list, by control-code prefix (PROVENANCE of the raw file).
BLOCKS: dict[str, tuple[str, ...]] = {
    "rare_earths_1C902-1C908": ("1C902", "1C903", "1C904", "1C905", "1C906", "1C907", "1C908"),
    "graphite_1C108": ("1C108",),
    "tungsten_molybdenum_1C117": ("1C117",),
    "gallium_3C001": ("3C001",),
    "germanium_3C002": ("3C002",),
    "antimony_3C003": ("3C003",),
    "indium_3C004": ("3C004",),
    "bismuth_6C001": ("6C001",),
    "tellurium_6C002": ("6C002",),
}

KEYS = {"目录类型": "catalogue_type", "管制编码": "control_code", "参考HS编码": "customs_codes",
        "序号": "serial"}

DUAL_USE_HS6 = Schema(
    name="dual_use_catalogue_hs6",
    description="One row per catalogue type, control-code section and HS6.",
    columns={
        "catalogue_type": Column("str", allowed=frozenset({"export", "import"})),
        "section": Column("str", description="control-code category (e.g. 1C), 'unparsed' "
                                             "or 'none' (import entries)"),
        "hs6": Column("str", pattern=HS6),
        "n_entries": Column("int", minimum=1, description="catalogue entries listing the HS6"),
        "n_customs_codes": Column("int", minimum=1, description="distinct 10-digit codes"),
        "customs_codes": Column("str", description="distinct 10-digit codes, ';'-separated"),
        "example_control_codes": Column("str", nullable=True,
                                        description=f"up to {N_EXAMPLES} control codes"),
        "blocks": Column("str", nullable=True, description="critical-mineral blocks, ';'"),
    },
    key=("catalogue_type", "section", "hs6"),
)


def _section(code: object, catalogue_type: str) -> str:
    if catalogue_type == "import" and code is None:
        return "none"
    if isinstance(code, str) and CONTROL_CODE.match(code):
        return code[:2]
    return "unparsed"


def _block(code: object) -> str | None:
    if not isinstance(code, str):
        return None
    for name, prefixes in BLOCKS.items():
        if code.startswith(prefixes):
            return name
    return None


def read_catalogue_entries(path: Path) -> pd.DataFrame:
    """The catalogue as one row per (entry, 10-digit customs code).

    Parameters
    ----------
    path : the catalogue JSON file.

    Returns
    -------
    DataFrame with ``entry`` (position in the file), ``catalogue_type``, ``serial``,
    ``control_code`` (None for import entries), ``section``, ``block``,
    ``customs_code`` and ``hs6``. Entries without customs codes are left out.
    """
    source = str(path)
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SourceFormatError(source, f"cannot read the JSON: {error}") from error
    if not isinstance(entries, list) or not entries:
        raise SourceFormatError(source, "expected a non-empty JSON array of entries")
    rows = []
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise SourceFormatError(source, "entry is not an object", row=position)
        for key in KEYS:
            if key not in entry:
                raise SourceFormatError(source, "missing key", field=key, row=position)
        catalogue_type = CATALOGUE_TYPES.get(entry["目录类型"])
        if catalogue_type is None:
            raise SourceFormatError(source, f"expected one of {sorted(CATALOGUE_TYPES)}",
                                    field="目录类型", value=entry["目录类型"], row=position)
        codes = entry["参考HS编码"]
        if not isinstance(codes, list):
            raise SourceFormatError(source, "expected a list of customs codes",
                                    field="参考HS编码", value=codes, row=position)
        control_code = entry["管制编码"]
        for code in codes:
            if not (isinstance(code, str) and re.fullmatch(r"\d{10}", code)):
                raise SourceFormatError(source, "customs code is not 10 digits",
                                        field="参考HS编码", value=code, row=position)
            rows.append({
                "entry": position, "catalogue_type": catalogue_type,
                "serial": str(entry["序号"]), "control_code": control_code,
                "section": _section(control_code, catalogue_type),
                "block": _block(control_code), "customs_code": code, "hs6": code[:6],
            })
    return pd.DataFrame(rows)


def _joined(values: pd.Series, limit: int | None = None) -> str | None:
    distinct = sorted({v for v in values if isinstance(v, str)})
    if limit is not None:
        distinct = distinct[:limit]
    return ";".join(distinct) if distinct else None


def catalogue_by_hs6(entries: pd.DataFrame) -> pd.DataFrame:
    """Reduce entry rows (from :func:`read_catalogue_entries`) to catalogue type x section x HS6."""
    grouped = entries.groupby(["catalogue_type", "section", "hs6"], sort=True)
    table = pd.DataFrame({
        "n_entries": grouped["entry"].nunique().astype("int64"),
        "n_customs_codes": grouped["customs_code"].nunique().astype("int64"),
        "customs_codes": grouped["customs_code"].agg(_joined),
        "example_control_codes": grouped["control_code"].agg(
            lambda v: _joined(v, N_EXAMPLES)),
        "blocks": grouped["block"].agg(_joined),
    }).reset_index()
    for column in ("catalogue_type", "section", "hs6", "customs_codes",
                   "example_control_codes", "blocks"):
        table[column] = table[column].astype("str").where(table[column].notna())
    return table


def build(raw_dir: Path) -> pd.DataFrame:
    """Build ``dual_use_catalogue`` from the raw folder."""
    return catalogue_by_hs6(read_catalogue_entries(Path(raw_dir) / FOLDER / JSON_FILE))


def catalogue_hs6(catalogue_type: str = "export") -> list[str]:
    """Distinct HS6 codes listed in the bundled catalogue table.

    Parameters
    ----------
    catalogue_type : ``"export"`` or ``"import"``.

    Returns
    -------
    Sorted six-digit codes (a screening list: a listed line also covers uncontrolled goods).
    """
    allowed = sorted(CATALOGUE_TYPES.values())
    if catalogue_type not in allowed:
        raise ParameterError(f"unknown catalogue_type {catalogue_type!r}; allowed: {allowed}")
    table = datasets.load("dual_use_catalogue")
    return sorted(set(table.loc[table["catalogue_type"].eq(catalogue_type), "hs6"]))


DATASETS = [
    Dataset(
        name="dual_use_catalogue",
        filename="reference/dual_use_catalogue_hs6.parquet",
        title="China's 2026 dual-use items import/export licence catalogue: HS6 lines by "
              "control-code section",
        publisher="PRC Ministry of Commerce (MOFCOM) and General Administration of Customs; "
                  "machine parse by chycici/dual-use-export-control-catalog",
        vintage="2026 catalogue; parse version 1.0 generated 2026-05-06 (commit 823ecadf)",
        licence="Chinese government document; the parsing repository's README says MIT "
                "(no LICENSE file)",
        citation="Ministry of Commerce and General Administration of Customs of the PRC, "
                 "两用物项和技术进出口许可证管理目录 (2026); HS index parsed in the GitHub "
                 "repository chycici/dual-use-export-control-catalog.",
        raw_inputs=(f"{FOLDER}/{JSON_FILE}",),
        build=build,
        schema=DUAL_USE_HS6,
        notes="The parse is noisy: product names are often wrong and customs codes often "
              "sit one row off (on the neighbouring control code), so the table is kept at "
              "HS6 and by section (first two characters of the control code, e.g. 1C; "
              "'unparsed' for junk control codes; 'none' for import entries, which have "
              "no control code), never by single control code. blocks names the "
              "critical-mineral blocks (e.g. rare_earths_1C902-1C908) listing the line. A "
              "listed line also covers uncontrolled goods, and unlisted goods can be "
              "controlled: a screening list, not a legal definition. Entries without "
              "customs codes (176, mostly software and technology) are not represented.",
    ),
]
