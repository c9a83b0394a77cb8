"""Checked text tables from user CSV and XLSX files (research.sources.tabular)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from research.errors import DataNotFoundError, SourceFormatError
from research.sources import tabular


def test_csv_lines_encodings_and_trailing_commas(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    # cp1252 "ô" (0xF4), a quoted field spanning two lines, a blank line, trailing commas
    path.write_bytes(b'name,note,\n"C\xf4te d\'Ivoire","two\nlines",\n\nJapan,x,\n')
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
