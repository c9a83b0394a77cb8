"""China's 2026 dual-use licence catalogue, reduced to HS6 by section."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from research import datasets
from research.errors import ParameterError, SourceFormatError
from research.reference import dual_use

NAME = "dual_use_catalogue"


@pytest.fixture(scope="module")
def json_path(raw_dir: Path) -> Path:
    return raw_dir / dual_use.FOLDER / dual_use.JSON_FILE


@pytest.fixture(scope="module")
def table(json_path: Path) -> pd.DataFrame:
    return dual_use.catalogue_by_hs6(dual_use.read_catalogue_entries(json_path))


def _row(table: pd.DataFrame, kind: str, section: str, hs6: str) -> pd.Series:
    found = table[table["catalogue_type"].eq(kind) & table["section"].eq(section)
                  & table["hs6"].eq(hs6)]
    assert len(found) == 1
    return found.iloc[0]


def test_distinct_hs6_match_provenance(table: pd.DataFrame) -> None:
    # PROVENANCE: "Export: 702 distinct 10-digit codes, 409 distinct HS6"; import 109 HS6.
    export = table[table["catalogue_type"].eq("export")]
    assert export["hs6"].nunique() == 409
    assert table.loc[table["catalogue_type"].eq("import"), "hs6"].nunique() == 109
    codes = {c for cell in export["customs_codes"] for c in cell.split(";")}
    assert len(codes) == 702


def test_rare_earth_metals_row(table: pd.DataFrame) -> None:
    # Export entries listing 2805 30 (python json over the raw file):
    # 1C111.b.1.h [2805301510], 1C902.a.1 [2805301910], 1C903.a.1 [2805301910],
    # 1C904.a.1 [2805301300], 1C905.a.1 [2805301200], 1C906.a.1 [2805301910],
    # 1C907.a.1 [2805301800], 1C908.a.1 [2805301700]: 8 entries, 6 distinct codes.
    row = _row(table, "export", "1C", "280530")
    assert row["n_entries"] == 8 and row["n_customs_codes"] == 6
    assert row["example_control_codes"] == "1C111.b.1.h;1C902.a.1;1C903.a.1;1C904.a.1;1C905.a.1"
    assert row["blocks"] == "rare_earths_1C902-1C908"


def test_row_shift_shows_in_blocks(table: pd.DataFrame) -> None:
    # 3C002.f (GeCl4) carries antimony-ore codes 2617101000 and 2617109001 (one row off);
    # 3C003.a carries 2617109090: 2 entries, 3 codes, two blocks.
    row = _row(table, "export", "3C", "261710")
    assert row["n_entries"] == 2 and row["n_customs_codes"] == 3
    assert row["blocks"] == "antimony_3C003;germanium_3C002"


def test_junk_control_codes_are_unparsed(table: pd.DataFrame) -> None:
    # export 序号 58 has 管制编码 "UF6" and codes 8414599020, 8414804910, 8419500030
    row = _row(table, "export", "unparsed", "841459")
    assert "UF6" in row["example_control_codes"]
    # all 152 import entries have a null control code
    assert set(table.loc[table["catalogue_type"].eq("import"), "section"]) == {"none"}


def test_catalogue_hs6_reads_bundled_table() -> None:
    export = dual_use.catalogue_hs6()
    assert len(export) == 409 and "280530" in export and "850511" not in export
    assert len(dual_use.catalogue_hs6("import")) == 109
    with pytest.raises(ParameterError, match="export"):
        dual_use.catalogue_hs6("both")


def test_bundled_table_matches_schema() -> None:
    table = datasets.load(NAME)
    dual_use.DUAL_USE_HS6.validate(table)




def _write(json_path: Path, tmp_path: Path, edit) -> Path:
    entries = json.loads(json_path.read_text(encoding="utf-8"))[:5]
    edit(entries)
    path = tmp_path / dual_use.JSON_FILE
    path.write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")
    return path


def test_missing_key(json_path: Path, tmp_path: Path) -> None:
    path = _write(json_path, tmp_path, lambda e: e[2].pop("参考HS编码"))
    with pytest.raises(SourceFormatError, match=dual_use.JSON_FILE) as error:
        dual_use.read_catalogue_entries(path)
    assert error.value.field == "参考HS编码" and error.value.row == 2


def test_bad_customs_code(json_path: Path, tmp_path: Path) -> None:
    path = _write(json_path, tmp_path, lambda e: e[1].update({"参考HS编码": ["38151200"]}))
    with pytest.raises(SourceFormatError) as error:
        dual_use.read_catalogue_entries(path)
    assert error.value.field == "参考HS编码" and error.value.value == "38151200"


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / dual_use.JSON_FILE
    path.write_text("[{", encoding="utf-8")
    with pytest.raises(SourceFormatError, match="cannot read the JSON"):
        dual_use.read_catalogue_entries(path)
