"""Checked text tables from user CSV and XLSX files (research.sources.tabular)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from research.errors import DataNotFoundError, SourceFormatError, TextEncodingWarning
from research.sources import tabular


def test_csv_lines_encodings_and_trailing_commas(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    # cp1252 "ô" (0xF4), a quoted field spanning two lines, a blank line, trailing commas
    path.write_bytes(b'name,note,\n"C\xf4te d\'Ivoire","two\nlines",\n\nJapan,x,\n')
    with pytest.warns(TextEncodingWarning, match=r"a\.csv: not UTF-8 \(byte 0xf4 at offset 13\)"):
        table = tabular.read_csv_text(path)
    assert list(table.columns) == ["name", "note"]
    assert table["name"].tolist() == ["Côte d'Ivoire", "Japan"]
    assert table.index.tolist() == [2, 5]  # file lines where the rows start
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffDate,Value\n2024-01-01,1\n".encode())
    assert list(tabular.read_csv_text(bom).columns) == ["Date", "Value"]


@pytest.mark.parametrize(("data", "message"), [
    (b"a,b\n1,2\n3", r"row 3.*1 fields, the header has 2"),
    (b'a,b\n1,"open\n', r"quoted field"),
    (b"a,b\n1,2,3\n", r"row 2.*3 fields"),
    (b"a,a\n1,2\n", r"twice"),
    (b"a,,b\n1,2,3\n", r"empty column name"),
    (b"a,b\n", r"no data rows"),
    (b"", r"empty"),
    (b"a,b\n1,\x002\n", r"NUL"),
    (b"PK\x03\x04rest", r"Excel workbook"),
])
def test_csv_damage_is_named(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    with pytest.raises(SourceFormatError, match=message) as caught:
        tabular.read_csv_text(path)
    assert "bad.csv" in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="none.csv: file not found"):
        tabular.read_csv_text(tmp_path / "none.csv")


def test_xlsx_header_below_title_rows(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active["A1"] = "nothing here"
    sheet = book.create_sheet("Data")
    sheet["A1"] = "A title line"
    sheet.append([])
    sheet.append(["Product Code", "Value", None])
    sheet.append([10121, 2.5])  # HS 010121 stored as a number
    sheet.append([None, None])
    sheet.append([280530, 1e-3])
    path = tmp_path / "b.xlsx"
    book.save(path)
    table, title = tabular.read_xlsx_text(path, [("ProductCode", "HS6 Code"), "value"])
    assert title == "Data" and table.index.tolist() == [4, 6]  # worksheet rows
    assert table["Product Code"].tolist() == ["10121", "280530"]
    assert table["Value"].tolist() == ["2.5", "0.001"]
    with pytest.raises(SourceFormatError, match=r"b\.xlsx, sheet 'Data'.*missing \['Quantity'\]"):
        tabular.read_xlsx_text(path, ["Product Code", "Quantity"])
    table, where = tabular.read_table_text(path, ["Value"])
    assert where.endswith("b.xlsx, sheet 'Data'")


def test_numbers_name_row_field_and_value() -> None:
    text = pd.Series(["1.5", "", ".", "x"], index=[2, 3, 4, 5])
    with pytest.raises(SourceFormatError, match=r"f\.csv: row 5: field 'v': value 'x'"):
        tabular.numbers(text, "f.csv", "v", missing=("", "."))
    values = tabular.numbers(text.iloc[:3], "f.csv", "v", missing=("", "."))
    assert values.iloc[0] == 1.5 and values.iloc[1:].isna().all()
    with pytest.raises(SourceFormatError, match="negative"):
        tabular.numbers(pd.Series(["-1"]), "f.csv", "v", nonnegative=True)
    for infinite in ("inf", "-Infinity", "1e999"):  # never a value in a statistical file
        with pytest.raises(SourceFormatError, match=f"value '{infinite}': infinite"):
            tabular.numbers(pd.Series(["1", infinite]), "f.csv", "v")


@pytest.mark.parametrize(("codec", "name"), [("shift_jis", "Shift-JIS"), ("gbk", "GBK"),
                                             ("euc_kr", "EUC-KR")])
def test_double_byte_encodings_are_refused_not_read_as_cp1252(tmp_path: Path, codec: str,
                                                              name: str) -> None:
    # Shift-JIS 日本 is 93 FA 96 7B, which cp1252 decodes as "“ú–{" without an error
    words = {"shift_jis": "日本", "gbk": "中国", "euc_kr": "한국"}[codec]
    path = tmp_path / "wb.csv"
    path.write_bytes(f"Country Name,Value\n{words},1\n".encode(codec))
    with pytest.raises(SourceFormatError, match="wb.csv: field 'encoding'.*double-byte") as caught:
        tabular.read_csv_text(path)
    # short texts decode in several of these encodings; each candidate is named
    assert name == caught.value.value or name in caught.value.value


def test_bytes_neither_utf8_nor_cp1252_are_named(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(b"a,b\nx\x81y,1\n")  # 0x81 is undefined in cp1252
    with pytest.raises(SourceFormatError, match=r"neither UTF-8 nor Windows-1252 \(byte 0x81"):
        tabular.read_csv_text(path)


@pytest.mark.parametrize("day", ["1600-01-01", "9999-12-31", "2024-02-30", "24-01-01"])
def test_dates_outside_the_range_or_calendar_are_named(day: str) -> None:
    text = pd.Series(["2024-01-01", day], index=[2, 3])
    with pytest.raises(SourceFormatError, match=rf"f\.csv: row 3: field 'd': value '{day}'"):
        tabular.dates(text, "f.csv", "d")
    assert str(tabular.dates(text.iloc[:1], "f.csv", "d").dtype) == "datetime64[ns]"


def test_western_cp1252_is_read_with_a_warning_and_unrecognised_text_warns_too(
        tmp_path: Path) -> None:
    western = "Curaçao,Côte d'Ivoire,Zürich,São Tomé,Ñuñoa,España,Ærø – € “x”"
    path = tmp_path / "west.csv"
    path.write_bytes(f"name\n{western}\n".encode("cp1252").replace(b",", b";"))
    with pytest.warns(TextEncodingWarning, match="read as Windows-1252"):
        assert tabular.read_csv_text(path)["name"].iloc[0] == western.replace(",", ";")
    # Big5 "臺灣" (BB 4F C6 57) reads as cp1252 "»OÆW": not recognised, but never silent
    path.write_bytes("name\n臺灣\n".encode("big5"))
    with pytest.warns(TextEncodingWarning, match="not UTF-8"):
        tabular.read_csv_text(path)
