"""China's annual rare-earth and magnet exports by partner (WITS)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from research import datasets
from research.errors import SkippedDataWarning, SourceFormatError
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


# ------------------------------------------------------------------ a user's WITS export

EXPORT_HEADER = ["Reporter", "TradeFlow", "ProductCode", "Product Description", "Year",
                 "Partner", "Trade Value 1000USD", "Quantity", "Quantity Unit"]


def wits_export(long_rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of the long CSV laid out as WITS's own 'By HS6 Product' download."""
    return pd.DataFrame({
        "Reporter": long_rows["reporter"], "TradeFlow": long_rows["flow"],
        "ProductCode": long_rows["hs6"].astype(int),  # as Excel stores it: a number
        "Product Description": "Compounds, inorganic or organic, of rare-earth metals",
        "Year": long_rows["year"].astype(int), "Partner": long_rows["partner"],
        "Trade Value 1000USD": long_rows["export_value_1000usd"].astype(float),
        "Quantity": long_rows["quantity"].astype(float),
        "Quantity Unit": long_rows["quantity_unit"]})


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_wits_export_agrees_with_bundled_reader(long_csv: Path, flows: pd.DataFrame,
                                                tmp_path: Path, suffix: str) -> None:
    long_rows = pd.read_csv(long_csv, dtype=str)
    long_rows = long_rows[long_rows["hs6"].eq("284690")]
    path = tmp_path / f"WITS-By-HS6Product{suffix}"
    export = wits_export(long_rows)
    if suffix == ".csv":
        export.to_csv(path, index=False)
    else:
        export.to_excel(path, sheet_name="By-HS6Product", index=False)
    table = wits.read_wits_export(path)
    TRADE_FLOWS.validate(table)
    expected = flows[flows["product"].eq("284690")].reset_index(drop=True)
    columns = [c for c in TRADE_FLOWS.columns if c != "source"]
    pd.testing.assert_frame_equal(table[columns], expected[columns])
    # long CSV line 380: Japan 2010, 287135.94 thousand USD, 10,881,400 kg
    japan = _row(table, "JPN", "284690", 2010)
    assert (japan["value_usd"], japan["quantity"]) == (287135940.0, 10881400.0)
    assert set(table["source"]) == {f"UN Comtrade via WITS (file {path.name})"}


# Long CSV lines 2-4 (280530, 2010) in WITS's layout: Australia 66.8 thousand USD and
# 7,000 kg, Austria 336.18 and 4,210, Belgium 555.98 and 80,000.
EXPORT_ROWS = ["China,Export,280530,Rare-earth metals,2010,Australia,66.8,7000,Kg",
               "China,Export,280530,Rare-earth metals,2010,Austria,336.18,4210,Kg",
               "China,Export,280530,Rare-earth metals,2010,Belgium,555.98,80000,Kg"]


def write_export(tmp_path: Path, rows: list[str], header: list[str] = EXPORT_HEADER) -> Path:
    path = tmp_path / "WITS-By-HS6Product.csv"
    path.write_text("\n".join([",".join(header), *rows]) + "\n", encoding="utf-8")
    return path


def test_wits_export_small_file(tmp_path: Path) -> None:
    no_quantity = "China,Export,280530,Rare-earth metals,2011,Belgium,12.5,,No Quantity"
    table = wits.read_wits_export(write_export(tmp_path, [*EXPORT_ROWS, no_quantity]))
    assert table["partner_iso3"].tolist() == ["AUS", "AUT", "BEL", "BEL"]
    assert table["value_usd"].tolist() == [66800.0, 336180.0, 555980.0, 12500.0]
    assert table["quantity"].iloc[:3].tolist() == [7000.0, 4210.0, 80000.0]
    assert pd.isna(table["quantity"].iloc[3]) and set(table["quantity_unit"]) == {"kg"}


def test_wits_export_cut_short(tmp_path: Path) -> None:
    path = write_export(tmp_path, EXPORT_ROWS)
    text = path.read_text()
    path.write_text(text[: text.index("Belgium") + 12])  # ends "...,Belgium,555." (7 fields)
    with pytest.raises(SourceFormatError, match=r"WITS-By-HS6Product\.csv: row 4.*7 fields"):
        wits.read_wits_export(path)


def test_wits_xlsx_cut_short_and_wrong_sheet(tmp_path: Path) -> None:
    path = tmp_path / "WITS.xlsx"
    frame = pd.DataFrame([r.split(",") for r in EXPORT_ROWS], columns=EXPORT_HEADER)
    frame.to_excel(path, sheet_name="By-HS6Product", index=False)
    with pytest.raises(SourceFormatError, match="no sheet 'Sheet1'"):
        wits.read_wits_export(path, sheet="Sheet1")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceFormatError, match=r"WITS\.xlsx.*not a readable Excel workbook"):
        wits.read_wits_export(path)


@pytest.mark.parametrize(("row", "field", "value", "message"), [
    ("China,Export,280530,x,2010,Japan,66.8,7000,Item", "Quantity Unit", "Item", "not Kg"),
    ("China,Export,280530,x,2010,Japan,12.5k,7000,Kg", "Trade Value 1000USD", "12.5k",
     "not a number"),
    ("China,Re-Export,280530,x,2010,Japan,66.8,7000,Kg", "TradeFlow", "Re-Export",
     "not Export or Import"),
    ("China,Export,2805,x,2010,Japan,66.8,7000,Kg", "ProductCode", "2805", "HS6"),
    ("China,Export,280530,x,10,Japan,66.8,7000,Kg", "Year", "10", "4-digit"),
])
def test_wits_export_bad_cells(tmp_path: Path, row: str, field: str, value: str,
                               message: str) -> None:
    with pytest.raises(SourceFormatError, match=message) as caught:
        wits.read_wits_export(write_export(tmp_path, [EXPORT_ROWS[0], row]))
    assert (caught.value.field, caught.value.value, caught.value.row) == (field, value, 3)


def test_wits_export_missing_column_duplicates_and_empty(tmp_path: Path) -> None:
    header = [c for c in EXPORT_HEADER if c != "Partner"]
    rows = [",".join(r.split(",")[:5] + r.split(",")[6:]) for r in EXPORT_ROWS]
    with pytest.raises(SourceFormatError, match="missing column") as caught:
        wits.read_wits_export(write_export(tmp_path, rows, header))
    assert caught.value.field == "Partner"
    with pytest.raises(SourceFormatError, match=r"more than once \(rows \[2, 4\]\)"):
        wits.read_wits_export(write_export(tmp_path, [*EXPORT_ROWS[:2], EXPORT_ROWS[0]]))
    unspecified = "China,Export,280530,x,2010,Unspecified,1.0,1,Kg"
    with pytest.warns(SkippedDataWarning), pytest.raises(SourceFormatError, match="no rows"):
        wits.read_wits_export(write_export(tmp_path, [unspecified]))
    with pytest.raises(SourceFormatError, match="no data rows"):
        wits.read_wits_export(write_export(tmp_path, []))
