"""HS6 baskets with HS2022 text, HS version correlations and scope caveats."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from research import datasets
from research.errors import ParameterError, SourceFormatError
from research.reference import baskets, dual_use
from research.sources.comtrade_monthly import GROUP_CODES

NAME = "hs_baskets"


@pytest.fixture(scope="module")
def table(raw_dir: Path) -> pd.DataFrame:
    return baskets.build(raw_dir)


def _row(table: pd.DataFrame, basket: str, hs6: str) -> pd.Series:
    found = table[table["basket"].eq(basket) & table["hs6"].eq(hs6)]
    assert len(found) == 1
    return found.iloc[0]


def test_basket_codes_and_names() -> None:
    assert baskets.basket_codes("rare_earths") == ["280530", "284610", "284690"]
    assert baskets.basket_codes("magnets") == ["850511"]
    assert baskets.basket_codes("comtrade_groups") == sorted(
        {"280530", "284690", "850511", "282560", "282590", "285000", "285390", "811292",
         "811299", "250410", "380110", "280461"})
    names = baskets.basket_names()
    for name in ("rare_earths", "magnets", "gallium", "germanium", "graphite", "antimony",
                 "tungsten", "comtrade_groups", "dual_use_catalogue"):
        assert name in names
    assert set(baskets.BASKET_GROUP.values()) <= set(GROUP_CODES)


def test_unknown_basket_lists_allowed_names() -> None:
    with pytest.raises(ParameterError, match="rare_earths"):
        baskets.basket_codes("rare earth")


def test_dual_use_basket_is_the_catalogue() -> None:
    # PROVENANCE of the catalogue: 409 distinct export HS6
    codes = baskets.basket_codes("dual_use_catalogue")
    assert codes == dual_use.catalogue_hs6("export") and len(codes) == 409


def test_descriptions_from_hs2022(table: pd.DataFrame) -> None:
    # harmonized-system.csv: VI,284610,Cerium compounds,2846,6
    assert _row(table, "rare_earths", "284610")["description"] == "Cerium compounds"
    assert table["in_hs2022"].all()


def test_relationships_from_un_tables(table: pd.DataFrame) -> None:
    # HS2022-HS2017 Correlations: "811292 811292 n:1" (Hf and Re split out in 2022)
    row = _row(table, "gallium", "811292")
    assert (row["hs2017"], row["hs2012"], row["hs2007"]) == ("n:1", "n:1", "n:1")
    # "280530 280530 1:1" in all three workbooks (PROVENANCE: 1:1 HS2022<->HS2007/2012/2017)
    row = _row(table, "rare_earths", "280530")
    assert (row["hs2017"], row["hs2012"], row["hs2007"]) == ("1:1", "1:1", "1:1")
    # "850511 850511 n:1"
    assert _row(table, "magnets", "850511")["hs2017"] == "n:1"
    # HS2022-HS2012 Correlations: 285390 -> 284800 and 285300, n:n
    row = _row(table, "gallium", "285390")
    assert row["hs2012"] == "n:n" and row["hs2012_codes"] == "284800;285300"


def test_catalogue_flag_and_scope(table: pd.DataFrame) -> None:
    # PROVENANCE: "NdFeB/SmCo magnet items carry no 8505.11 code"; 284610 is not listed
    assert not _row(table, "magnets", "850511")["in_dual_use_catalogue"]
    assert not _row(table, "rare_earths", "284610")["in_dual_use_catalogue"]
    assert _row(table, "rare_earths", "284690")["in_dual_use_catalogue"]
    assert _row(table, "magnets", "850511")["mixed_scope"]
    assert "indium" in _row(table, "gallium", "811292")["note"]


def test_comtrade_groups_rows(table: pd.DataFrame) -> None:
    rows = table[table["basket"].eq("comtrade_groups")]
    found = rows.groupby("product_group")["hs6"].apply(tuple).to_dict()
    assert found == {group: tuple(sorted(codes)) for group, codes in GROUP_CODES.items()}


def test_hs_relationship_absent_for_pre_2022_code(raw_dir: Path) -> None:
    correlations = baskets.read_correlations(
        raw_dir / baskets.FOLDER / baskets.CORRELATION_FILES["hs2017"])
    # 811230 (germanium, HS2002) is not an HS2022 subheading (WTO_HS6Codes_Raw caveat)
    assert baskets.hs_relationship(correlations, "811230") == ("absent", None)
    assert baskets.hs_relationship(correlations, "811231") == ("n:1", "811292")


def test_bundled_table_matches_schema() -> None:
    table = datasets.load(NAME)
    baskets.HS_BASKETS.validate(table)




def test_workbook_without_header_raises(tmp_path: Path) -> None:
    path = tmp_path / "HS2022toHS2017ConversionAndCorrelationTables.xlsx"
    book = Workbook()
    sheet = book.active
    sheet.title = "HS2022-HS2017 Correlations"
    for row in (["Between", None, None], ["HS2022", "HS2017", "Kind"], ["280530", "280530", "1:1"]):
        sheet.append(row)
    book.save(path)
    with pytest.raises(SourceFormatError, match="HS2022toHS2017") as error:
        baskets.read_correlations(path)
    assert error.value.field == "Relationship"


def test_unknown_relationship_raises(tmp_path: Path) -> None:
    path = tmp_path / "corr.xlsx"
    book = Workbook()
    sheet = book.active
    sheet.title = "HS2022-HS2017 Correlations"
    for row in (["Between", None, None], ["HS2022", "HS2017", "Relationship"],
                ["280530", "280530", "1:2"]):
        sheet.append(row)
    book.save(path)
    with pytest.raises(SourceFormatError) as error:
        baskets.read_correlations(path)
    assert error.value.value == ["1:2"]


def test_nomenclature_missing_column(raw_dir: Path, tmp_path: Path) -> None:
    source = raw_dir / baskets.FOLDER / baskets.NOMENCLATURE_FILE
    frame = pd.read_csv(source, dtype=str, nrows=10).drop(columns=["description"])
    path = tmp_path / baskets.NOMENCLATURE_FILE
    frame.to_csv(path, index=False)
    with pytest.raises(SourceFormatError, match="harmonized-system.csv") as error:
        baskets.read_hs2022_descriptions(path)
    assert error.value.field == "description"


def test_build_ignores_user_baskets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "b.yaml").write_text("baskets:\n  - name: ree_metals\n    product_group: "
                                   "rare_earths\n    lines: ['280530']\n", encoding="utf-8")
    monkeypatch.setenv("RESEARCH_USER_DIR", str(folder))
    assert baskets.BASKET_GROUP["ree_metals"] == "rare_earths"
    assert "ree_metals" in baskets.basket_names()
    assert "ree_metals" not in baskets.bundled_basket_names()
    # the data build's lines come from the bundled definitions only
    lines = baskets.basket_lines(dual_use.catalogue_hs6("export"))
    assert "ree_metals" not in set(lines["basket"])
    assert len(datasets.load("hs_baskets")) == len(datasets.load("hs_baskets", user=False)) + 1
