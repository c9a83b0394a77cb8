"""UN Comtrade web exports (CSV/XLSX with the API's field names) as trade-flow tables."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from research.errors import SkippedDataWarning, SourceFormatError
from research.schemas import TRADE_FLOWS
from research.sources import comtrade_files, comtrade_monthly

FIXTURE = "comtrade_api/data_v1_get_C_A_HS-60a6ad.json"


@pytest.fixture(scope="module")
def records(fixtures_dir: Path) -> pd.DataFrame:
    """The 4 recorded API records (China with Argentina and Germany, 2010, TOTAL), one
    column per API field in the API's order: the layout of the web export."""
    data = json.loads((fixtures_dir / FIXTURE).read_text(encoding="utf-8"))["data"]
    return pd.DataFrame(data)


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def flow(table: pd.DataFrame, partner: str, direction: str) -> pd.Series:
    found = table[table.partner_iso3.eq(partner) & table.flow.eq(direction)]
    assert len(found) == 1
    return found.iloc[0]


def test_recorded_records_as_csv(records: pd.DataFrame, tmp_path: Path) -> None:
    table = comtrade_files.read_comtrade_file(write_csv(records, tmp_path / "TradeData.csv"))
    TRADE_FLOWS.validate(table)
    # fixture: X to Germany fobvalue = primaryValue = 68,047,133,397; M from Germany
    # cifvalue = 74,251,272,075; X to Argentina 6,115,764,185; M 6,804,128,143.
    assert flow(table, "DEU", "export").value_usd == 68047133397.0
    assert flow(table, "DEU", "import").value_usd == 74251272075.0
    assert flow(table, "ARG", "export").value_usd == 6115764185.0
    assert flow(table, "ARG", "import").value_usd == 6804128143.0
    assert set(table.reporter_iso3) == {"CHN"} and set(table.period) == {pd.Timestamp("2010")}
    assert set(table["product"]) == {"TOTAL"} and set(table.product_level) == {"group"}
    # qtyUnitAbbr "N/A", qty and netWgt null: no quantity
    assert table.quantity.isna().all() and set(table.quantity_unit) == {"kg"}
    assert set(table.freq) == {"A"}


def test_xlsx_and_capitalised_header(records: pd.DataFrame, tmp_path: Path) -> None:
    expected = comtrade_files.read_comtrade_file(write_csv(records, tmp_path / "a.csv"))
    path = tmp_path / "TradeData.xlsx"
    records.to_excel(path, index=False)
    columns = [c for c in TRADE_FLOWS.columns if c != "source"]
    pd.testing.assert_frame_equal(comtrade_files.read_comtrade_file(path)[columns],
                                  expected[columns])
    capital = records.rename(columns=lambda c: c[0].upper() + c[1:])  # PrimaryValue, ...
    pd.testing.assert_frame_equal(
        comtrade_files.read_comtrade_file(write_csv(capital, tmp_path / "b.csv"))[columns],
        expected[columns])


def monthly_records(deep_dive: pd.DataFrame) -> pd.DataFrame:
    """Rows of the qennis monthly HS6 table rendered as Comtrade monthly records (reporter
    156 China, partner 392 Japan, flow X); a stored quantity of 0 is rendered as no
    weight (netWgt and qty empty), which is what the repository's 0 stands for."""
    periods = pd.to_datetime(deep_dive["period_dt"])
    no_weight = deep_dive["qty"].astype(float).eq(0)
    weight = deep_dive["qty"].where(~no_weight, "")
    return pd.DataFrame({
        "typeCode": "C", "freqCode": "M",
        "refPeriodId": periods.dt.strftime("%Y%m%d"), "refYear": periods.dt.year,
        "refMonth": periods.dt.month, "period": periods.dt.strftime("%Y%m"),
        "reporterCode": 156, "reporterISO": "CHN", "reporterDesc": "China",
        "flowCode": "X", "flowDesc": "Export", "partnerCode": 392, "partnerISO": "JPN",
        "partnerDesc": "Japan", "partner2Code": 0, "classificationCode": "H5",
        "cmdCode": deep_dive["hs6"], "aggrLevel": 6, "customsCode": "C00", "motCode": 0,
        "qtyUnitCode": 8, "qtyUnitAbbr": "kg", "qty": weight, "netWgt": weight,
        "primaryValue": deep_dive["val"]})


def test_monthly_records_agree_with_bundled_reader(raw_dir: Path, tmp_path: Path) -> None:
    source = raw_dir / comtrade_monthly.FOLDER / comtrade_monthly.HS6_FILE
    deep_dive = pd.read_csv(source, dtype=str)
    japan = deep_dive[deep_dive.partner_name.eq("Japan")
                      & deep_dive.period_dt.isin(["2017-01-01", "2017-02-01"])]
    table = comtrade_files.read_comtrade_file(
        write_csv(monthly_records(japan), tmp_path / "monthly.csv"))
    bundled = comtrade_monthly.read_partner_hs6(source)
    bundled = bundled[bundled.partner_iso3.eq("JPN")
                      & bundled.period.isin(pd.to_datetime(["2017-01-01", "2017-02-01"]))]
    bundled = bundled.astype({"period": "datetime64[ns]"})  # as read_comtrade_tables does
    columns = [c for c in TRADE_FLOWS.columns if c != "source"]
    order = ["product", "period"]
    pd.testing.assert_frame_equal(table[columns].sort_values(order).reset_index(drop=True),
                                  bundled[columns].sort_values(order).reset_index(drop=True))
    # deep_dive line 26: 2017-01-01,Japan,250410,6946346.0,4165329.806
    row = table[table["product"].eq("250410") & table.period.eq(pd.Timestamp("2017-01-01"))]
    assert (row.value_usd.iloc[0], row.quantity.iloc[0]) == (6946346.0, 4165329.806)
    # line 28: 811292 with qty 0.0 (no weight given) -> NaN
    row = table[table["product"].eq("811292") & table.period.eq(pd.Timestamp("2017-01-01"))]
    assert row.value_usd.iloc[0] == 775312.0 and math.isnan(row.quantity.iloc[0])
    assert set(table.freq) == {"M"}


def small(**changes: object) -> pd.DataFrame:
    """One monthly record (HS 280530, China to Japan, 2024-03) with fields changed."""
    record = {"typeCode": "C", "freqCode": "M", "refPeriodId": 20240301, "refYear": 2024,
              "refMonth": 3, "period": "202403", "reporterCode": 156, "reporterISO": "CHN",
              "flowCode": "X", "partnerCode": 392, "partnerDesc": "Japan",
              "partner2Code": 0, "cmdCode": "280530", "aggrLevel": 6, "customsCode": "C00",
              "motCode": 0, "qtyUnitAbbr": "kg", "qty": 1500.0, "netWgt": 1500.0,
              "primaryValue": 90000.0}
    return pd.DataFrame([record | changes])


@pytest.mark.parametrize(("changes", "field", "value", "message"), [
    ({"qtyUnitAbbr": "u", "netWgt": None}, "qtyUnitAbbr", "u", "not in kg"),
    ({"primaryValue": "90k"}, "primaryValue", "90k", "not a number"),
    ({"primaryValue": -5.0}, "primaryValue", "-5.0", "negative"),
    ({"flowCode": "RX"}, "flowCode", "RX", "not X"),
    ({"motCode": 2100}, "motCode", "2100", "broken down"),
    ({"period": "202404"}, "period", "202404", "does not match"),
    ({"refMonth": 13, "period": "202413"}, "refMonth", "13", "not 1-12"),
    ({"freqCode": "Q"}, "freqCode", "Q", "not A"),
    ({"cmdCode": "28053"}, None, None, None),  # 5 digits: a lost leading zero, "028053"
    ({"reporterCode": 999}, "reporterCode", "999", "names no country"),
])
def test_bad_cells(tmp_path: Path, changes: dict, field: str | None, value: str | None,
                   message: str | None) -> None:
    path = write_csv(pd.concat([small(), small(partnerCode=410, partnerDesc="Rep. of Korea",
                                               **changes)]), tmp_path / "TradeData.csv")
    if message is None:
        table = comtrade_files.read_comtrade_file(path)
        assert set(table["product"]) == {"280530", "028053"}
        return
    with pytest.raises(SourceFormatError, match=message) as caught:
        comtrade_files.read_comtrade_file(path)
    assert (caught.value.field, caught.value.value, caught.value.row) == (field, value, 3)


def test_quantity_rules(tmp_path: Path) -> None:
    # net weight wins whatever the unit of qty; kg qty fills in for an empty netWgt
    frame = pd.concat([small(qtyUnitAbbr="u", qty=12.0, netWgt=300.0),
                       small(partnerCode=410, netWgt=None, qty=700.0),
                       small(partnerCode=842, qtyUnitAbbr="N/A", qty=None, netWgt=None)])
    table = comtrade_files.read_comtrade_file(write_csv(frame, tmp_path / "q.csv"))
    quantities = table.set_index("partner_iso3")["quantity"]
    assert quantities["JPN"] == 300.0 and quantities["KOR"] == 700.0
    assert math.isnan(quantities["USA"])


def test_cut_short_missing_column_duplicates_and_empty(tmp_path: Path) -> None:
    path = write_csv(pd.concat([small(), small(partnerCode=410)]), tmp_path / "t.csv")
    text = path.read_text()
    path.write_text(text[: text.rindex("\n", 0, len(text) - 1) + 30])  # third line cut
    with pytest.raises(SourceFormatError, match=r"t\.csv: row 3.*fields.*cut short"):
        comtrade_files.read_comtrade_file(path)
    path = write_csv(small().drop(columns="primaryValue"), tmp_path / "t.csv")
    with pytest.raises(SourceFormatError, match="missing column") as caught:
        comtrade_files.read_comtrade_file(path)
    assert caught.value.field == "primaryValue"
    path = write_csv(pd.concat([small(), small()]), tmp_path / "t.csv")
    with pytest.raises(SourceFormatError, match=r"more than once \(rows \[2, 3\]\)"):
        comtrade_files.read_comtrade_file(path)
    path = write_csv(small(partnerCode=899, partnerDesc="Areas, nes"), tmp_path / "t.csv")
    with pytest.warns(SkippedDataWarning, match="Areas, nes"), \
            pytest.raises(SourceFormatError, match="no rows left"):
        comtrade_files.read_comtrade_file(path)
    path = write_csv(small().iloc[:0], tmp_path / "t.csv")
    with pytest.raises(SourceFormatError, match="no data rows"):
        comtrade_files.read_comtrade_file(path)


def test_non_country_partner_left_out_and_trailing_commas(tmp_path: Path) -> None:
    frame = pd.concat([small(), small(partnerCode=839, partnerDesc="Special Categories")])
    path = write_csv(frame, tmp_path / "t.csv")
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line + "," for line in lines) + "\n")  # a trailing comma
    with pytest.warns(SkippedDataWarning, match="Special Categories"):
        table = comtrade_files.read_comtrade_file(path)
    assert table.partner_iso3.tolist() == ["JPN"]


def test_xlsx_cut_short(records: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "TradeData.xlsx"
    records.to_excel(path, index=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceFormatError, match="not a readable Excel workbook"):
        comtrade_files.read_comtrade_file(path)
