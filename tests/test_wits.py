"""China's annual rare-earth and magnet exports by partner (WITS)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from research import datasets
from research.errors import SourceFormatError
from research.schemas import TRADE_FLOWS
from research.sources import wits

NAME = "china_exports_annual"
HEADER = ("reporter,flow,hs6,year,partner,is_world_total,export_value_1000usd,"
          "export_value_usd,quantity,quantity_unit,source_file,source_sheet,wits_file")


@pytest.fixture(scope="module")
def long_csv(raw_dir: Path) -> Path:
    return raw_dir / wits.FOLDER / wits.LONG_FILE


@pytest.fixture(scope="module")
def flows(long_csv: Path) -> pd.DataFrame:
    return wits.read_wits_long(long_csv)


def _row(flows: pd.DataFrame, partner: str, product: str, year: int) -> pd.Series:
    found = flows[flows["partner_iso3"].eq(partner) & flows["product"].eq(product)
                  & flows["period"].eq(pd.Timestamp(f"{year}-01-01"))]
    assert len(found) == 1
    return found.iloc[0]


def test_partner_value_and_quantity(flows: pd.DataFrame) -> None:
    # long CSV line 380: China,Export,284690,2010,Japan,0,287135.94,287135940.0,10881400.0,Kg
    # (PROVENANCE: "HS 284690 to Japan: about 10.9 kt in 2010")
    row = _row(flows, "JPN", "284690", 2010)
    assert row["value_usd"] == 287135940.0
    assert row["quantity"] == 10881400.0
    assert (row["freq"], row["product_level"], row["quantity_unit"]) == ("A", "hs6", "kg")


def test_world_rows(flows: pd.DataFrame) -> None:
    # line 23: China,Export,280530,2010,World,1,178674.8,178674800.0,6262290.0,Kg
    row = _row(flows, "WLD", "280530", 2010)
    assert row["value_usd"] == 178674800.0 and row["quantity"] == 6262290.0
    # 3 products x 15 years (PROVENANCE: "plus 15 World rows per code")
    assert flows["partner_iso3"].eq("WLD").sum() == 45


def test_partner_names_mapped(flows: pd.DataFrame) -> None:
    # line 458: 284690,2012,"Other Asia, nes",0,2695.82,2695820.0,11031.0 -> Taiwan
    assert _row(flows, "TWN", "284690", 2012)["value_usd"] == 2695820.0
    # line 1137: 850511,2010,Fm Sudan,0,12.6,12600.0,2918.0 -> Sudan
    assert _row(flows, "SDN", "850511", 2010)["value_usd"] == 12600.0


def test_unspecified_partner_dropped(flows: pd.DataFrame) -> None:
    # 3,478 data rows; 2 have partner "Unspecified" (850511 in 2023 and 2024, grep -c)
    assert len(flows) == 3478 - 2
    assert flows["partner_iso3"].str.fullmatch(r"[A-Z]{3}").all()


def test_partner_sum_equals_world(flows: pd.DataFrame) -> None:
    # python csv over the raw file: the 21 partner rows of 280530 in 2010 sum to
    # USD 178,674,790 against the World row's 178,674,800.
    partners = flows[flows["product"].eq("280530") & flows["period"].eq(pd.Timestamp("2010"))
                     & flows["partner_iso3"].ne("WLD")]
    assert len(partners) == 21
    assert partners["value_usd"].sum() == pytest.approx(178674790.0)


def test_bundled_table_matches_schema() -> None:
    table = datasets.load(NAME)
    TRADE_FLOWS.validate(table)
    assert set(table["product"]) == {"280530", "284690", "850511"}
    assert table["period"].dt.year.between(2010, 2024).all()


@pytest.mark.slow
def test_rebuild_equals_committed(raw_dir: Path, tmp_path: Path) -> None:
    [written] = datasets.build(names=[NAME], raw_dir=raw_dir, out_dir=tmp_path)
    committed = datasets.get(NAME).path()
    pd.testing.assert_frame_equal(pd.read_parquet(written), pd.read_parquet(committed))


def _write(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / wits.LONG_FILE
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _line(partner: str, world: int, value: float, quantity: float) -> str:
    return (f"China,Export,280530,2010,{partner},{world},{value / 1000},{value},{quantity},Kg,"
            "f.xlsx,s,w.xlsx")


def test_world_mismatch_raises(tmp_path: Path) -> None:
    # partners 1,000,000 + 500,000 = 1,500,000 against a World row of 2,000,000
    path = _write(tmp_path, [_line("Japan", 0, 1_000_000.0, 10.0),
                             _line("Germany", 0, 500_000.0, 5.0),
                             _line("World", 1, 2_000_000.0, 15.0)])
    with pytest.raises(SourceFormatError, match=wits.LONG_FILE) as error:
        wits.read_wits_long(path)
    assert error.value.field == "export_value_usd"


def test_rounding_within_tolerance_passes(tmp_path: Path) -> None:
    # the World row differs by USD 10, as in the raw file
    path = _write(tmp_path, [_line("Japan", 0, 1_000_000.0, 10.0),
                             _line("World", 1, 1_000_010.0, 10.0)])
    flows = wits.read_wits_long(path)
    assert list(flows["partner_iso3"]) == ["JPN", "WLD"]


def test_missing_column_and_bad_cell(long_csv: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(long_csv, nrows=5)
    path = tmp_path / wits.LONG_FILE
    frame.drop(columns=["quantity"]).to_csv(path, index=False)
    with pytest.raises(SourceFormatError, match=wits.LONG_FILE) as error:
        wits.read_wits_long(path)
    assert error.value.field == "quantity"
    frame["export_value_usd"] = frame["export_value_usd"].astype(object)
    frame.loc[2, "export_value_usd"] = "12,5k"
    frame.to_csv(path, index=False)
    with pytest.raises(SourceFormatError) as error:
        wits.read_wits_long(path)
    assert error.value.field == "export_value_usd" and error.value.row == 4
