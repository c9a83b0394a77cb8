"""The bundled table of valid HS6 subheadings (HS2022, HS2017, HS2012, HS2007)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from research import datasets
from research.errors import SourceFormatError
from research.reference import hs_codes

NAME = "hs6_codes"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return datasets.load(NAME)


def test_schema_and_counts(table: pd.DataFrame) -> None:
    hs_codes.HS6_CODES.validate(table)
    # hs_nomenclature PROVENANCE: 5,613 HS2022 subheadings; UN Comtrade lists: HS2017 5,388,
    # HS2007 5,053 six-digit codes
    assert table["in_hs2022"].sum() == 5613
    assert table["in_hs2017"].sum() == 5388
    assert table["in_hs2007"].sum() == 5053
    assert table["hs6"].is_monotonic_increasing


def test_codes_by_version(table: pd.DataFrame) -> None:
    rows = table.set_index("hs6")
    # PROVENANCE: 280530 is 1:1 HS2022<->HS2007/2012/2017
    assert tuple(rows.loc["280530", ["hs2017", "hs2012", "hs2007"]]) == ("1:1",) * 3
    # 854140 (photosensitive devices, LEDs) was split in HS2022: an older-version code
    assert not rows.loc["854140", "in_hs2022"] and rows.loc["854140", "in_hs2017"]
    assert rows.loc["854140", "hs2017"] == "absent"
    assert rows.loc["854140", "description"].startswith("Electrical apparatus; photosensitive")
    # 811230 is germanium in HS2002 only (PROVENANCE: WTO list caveat)
    assert hs_codes.unknown_codes(["811230", "811292"]) == ["811230"]


def test_relationships_match_the_basket_table(table: pd.DataFrame) -> None:
    # hs_baskets computes each line's relationship separately (baskets.hs_relationship)
    lines = datasets.load("hs_baskets", user=False).drop_duplicates("hs6").set_index("hs6")
    rows = table.set_index("hs6").loc[lines.index]
    columns = ["hs2017", "hs2012", "hs2007", "hs2017_codes", "hs2012_codes", "hs2007_codes"]
    pd.testing.assert_frame_equal(rows[columns], lines[columns], check_names=False)
    assert (rows["in_hs2022"] == lines["in_hs2022"]).all()


def test_comtrade_list_reader(tmp_path: Path) -> None:
    path = tmp_path / "classificationH5.json"
    path.write_text(json.dumps({"results": [
        {"id": "TOTAL", "text": "Total of all HS commodities", "parent": "#"},
        {"id": "01", "text": "01 - Animals; live", "parent": "TOTAL"},
        {"id": "010121", "text": "010121 - Horses; live, pure-bred breeding animals",
         "parent": "0101"}]}), encoding="utf-8")
    assert hs_codes.read_comtrade_list(path) == {
        "010121": "Horses; live, pure-bred breeding animals"}
    path.write_text(json.dumps({"results": [{"code": "010121"}]}), encoding="utf-8")
    with pytest.raises(SourceFormatError, match="classificationH5.json: row 0"):
        hs_codes.read_comtrade_list(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(SourceFormatError, match="not a classification list"):
        hs_codes.read_comtrade_list(path)

