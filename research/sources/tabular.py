"""Read the CSV and XLSX files users save from statistical web sites, as text, checked.

The file readers of :mod:`research.sources` parse their columns from the text
tables these functions return. Each data row keeps where it came from (the
1-based line of a CSV file, or the row of a worksheet) as the table's index, so
that a reader can name the file, row, column and value of a bad cell.

Structural damage is reported here, before any column is parsed: a CSV line
with fewer fields than the header (a file cut mid-line), a quoted field left
open at the end of the file, a workbook that is not a readable zip archive (an
XLSX cut short), a missing sheet or header row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

from research.errors import DataNotFoundError, SourceFormatError, TextEncodingWarning

ZIP_MAGIC = b"PK\x03\x04"
# Double-byte encodings recognised (and refused) when a file is not UTF-8: decoding them as
# cp1252 gives mojibake (Shift-JIS 日本 -> "“ú–{") without an error.
DOUBLE_BYTE = {"shift_jis": "Shift-JIS", "gbk": "GBK", "big5": "Big5", "euc_kr": "EUC-KR"}
HEADER_SEARCH_ROWS = 30
FIRST_YEAR, LAST_YEAR = 1900, 2100  # years a trade or spending statistic can be for


def fold(name: object) -> str:
    """A column name reduced to lower-case letters and digits ("Trade Value 1000USD" ->
    "tradevalue1000usd"), so that spacing and case variants of a header match."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def check_exists(path: Path) -> None:
    """Raise DataNotFoundError naming ``path`` when it is not a file."""
    if not path.is_file():
        raise DataNotFoundError(f"{path}: file not found")


def is_workbook(path: Path) -> bool:
    """True when the file starts like a zip archive (an XLSX workbook), whatever its name."""
    with open(path, "rb") as handle:
        return handle.read(4) == ZIP_MAGIC


def decode_text(data: bytes, source: str) -> str:
    """The text of a file's bytes: UTF-8 (with or without a byte-order mark), else
    Windows-1252 with a :class:`~research.errors.TextEncodingWarning`.

    Raises
    ------
    SourceFormatError
        NUL bytes (binary content or UTF-16), bytes that look like a double-byte East
        Asian encoding (every non-ASCII byte in a run of two or more, and the text
        decodes as Shift-JIS, GBK, Big5 or EUC-KR: the message names it), or bytes that
        are neither UTF-8 nor Windows-1252; field ``encoding``.
    """
    if b"\x00" in data:
        marked = ("UTF-32" if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")
                  else "UTF-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else None)
        raise SourceFormatError(source, f"{marked} text: save the file as UTF-8" if marked else
                                "binary content (NUL bytes): not a CSV text file (UTF-16 or "
                                "UTF-32 files must be saved as UTF-8)", field="encoding",
                                value=marked)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        where = error.start
    try:
        text: str | None = data.decode("cp1252")
    except UnicodeDecodeError as error:
        text, bad = None, error.start
    if text is None or _mojibake(text):
        fits = [name for codec, name in DOUBLE_BYTE.items() if _looks_like(data, codec)]
        if fits:
            raise SourceFormatError(source, f"not UTF-8: the text looks like a double-byte "
                                    f"East Asian encoding ({' or '.join(fits)}); save the "
                                    "file as UTF-8 and read it again", field="encoding",
                                    value=fits[0] if len(fits) == 1 else fits)
    if text is None:
        raise SourceFormatError(source, f"neither UTF-8 nor Windows-1252 (byte "
                                f"{data[bad]:#04x} at offset {bad}); save the file as UTF-8",
                                field="encoding", value=data[bad:bad + 8])
    warnings.warn(f"{source}: not UTF-8 (byte {data[where]:#04x} at offset {where}); "
                  "read as Windows-1252: check names with accents", TextEncodingWarning,
                  stacklevel=4)
    return text


_CJK = re.compile("[\u3000-\u30ff\u3100-\u318f\u3400-\u4dbf\u4e00-\u9fff"
                  "\uac00-\ud7af\uf900-\ufaff\uff01-\uff60\uffe0-\uffe6]+")


def _mojibake(text: str) -> bool:
    """True when most non-ASCII characters of a cp1252 decoding stand in runs of two or
    more, as double-byte text gives ("日本" -> "“ú–{"); accented Western words have them
    one at a time ("Curaçao")."""
    runs = [len(run) for run in re.findall(r"[^\x00-\x7f]+", text)]
    return sum(n for n in runs if n >= 2) * 2 > sum(runs)


def _looks_like(data: bytes, codec: str) -> bool:
    """True when ``data`` decodes as ``codec`` into East Asian text: every non-ASCII
    character is a CJK ideograph, kana, hangul or full-width form, and most stand in runs
    of two or more (a cp1252 "ç" between ASCII letters also decodes, as one stray ideograph)."""
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return False
    foreign = sum(1 for character in text if ord(character) > 0x7F)
    runs = [len(run) for run in _CJK.findall(text)]
    return foreign > 0 and sum(runs) == foreign and sum(n for n in runs if n >= 2) * 2 >= foreign


def check_text(path: Path) -> None:
    """Raise the :func:`decode_text` error early for a file whose first 64 KiB hold NUL
    bytes (UTF-16 or binary), before a reader sniffs its first line."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    if b"\x00" in head:
        decode_text(head, str(path))


def _decode(path: Path) -> str:
    return decode_text(path.read_bytes(), str(path))


def read_csv_text(path: Path | str, *, skip_lines: int = 0,
                  delimiter: str = ",") -> pd.DataFrame:
    """A CSV file as a table of stripped strings indexed by the file line of each row.

    Parameters
    ----------
    path : the CSV file (UTF-8 with or without a byte-order mark, or Windows-1252).
    skip_lines : lines before the header (e.g. the 4 preamble lines of a WDI file).
    delimiter : field separator.

    Returns
    -------
    One column per header name (duplicate or empty names are errors, except empty
    trailing columns left by a trailing comma, which are dropped), all values stripped
    text (dtype ``str``), missing fields never invented; blank lines are skipped.

    Raises
    ------
    SourceFormatError
        A line has fewer or more fields than the header (e.g. the file was cut
        mid-line), a quoted field is not closed, or the file has no data rows.
    """
    path = Path(path)
    check_exists(path)
    source = str(path)
    if is_workbook(path):
        raise SourceFormatError(source, "this is an Excel workbook (zip archive), not a CSV "
                                "file; save it as CSV or pass the .xlsx to an XLSX reader")
    text = _decode(path)
    lines = io.StringIO(text, newline="")
    for _ in range(skip_lines):
        lines.readline()
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise SourceFormatError(source, f"no header line after {skip_lines} preamble "
                                    "line(s): the file is empty")
        header_line = skip_lines + reader.line_num
        names = [cell.strip() for cell in header]
        while names and names[-1] == "":
            names.pop()  # a trailing comma after the last column name
        if "" in names:
            raise SourceFormatError(source, "empty column name in the header", row=header_line,
                                    field=f"column {names.index('') + 1}")
        folded = [fold(n) for n in names]
        duplicated = sorted({n for n, f in zip(names, folded, strict=True)
                             if folded.count(f) > 1})
        if duplicated:
            raise SourceFormatError(source, "column name appears twice in the header",
                                    row=header_line, field=duplicated[0])
        width = len(names)
        rows, numbers = [], []
        start = reader.line_num
        for record in reader:
            line = skip_lines + start + 1
            start = reader.line_num
            size = len(record)
            if size != width:
                if not any(cell.strip() for cell in record):
                    continue  # a blank line
                if size > width:
                    extra = record[width:]
                    if any(cell.strip() for cell in extra):
                        raise SourceFormatError(source, f"line has {size} fields, the header "
                                                f"has {width}", row=line, value=extra[0][:40])
                    record = record[:width]  # empty fields after a trailing comma
                else:
                    raise SourceFormatError(
                        source, f"line has {size} fields, the header has {width}: the file "
                        "may be cut short or the line malformed", row=line,
                        field=names[size], value=",".join(record)[-40:])
            rows.append(record)
            numbers.append(line)
    except csv.Error as error:
        raise SourceFormatError(source, f"malformed CSV ({error}): the file may be cut "
                                "short inside a quoted field", row=skip_lines + reader.line_num
                                ) from error
    frame = pd.DataFrame(rows, columns=names, index=pd.Index(numbers, name="line"), dtype="str")
    for name in names:
        frame[name] = frame[name].str.strip()
    frame = frame[~frame.eq("").all(axis=1)]  # lines of empty fields only
    if frame.empty:
        raise SourceFormatError(source, "the file has a header but no data rows")
    return frame


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def open_workbook(path: Path | str) -> openpyxl.Workbook:
    """Open an XLSX workbook read-only; a damaged or cut file becomes a SourceFormatError."""
    path = Path(path)
    check_exists(path)
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, EOFError) as error:
        raise SourceFormatError(str(path), f"not a readable Excel workbook "
                                f"({type(error).__name__}: {error}); the file may be cut "
                                "short or not be an .xlsx file") from error
    except Exception as error:  # openpyxl raises XML parser errors of several kinds
        raise SourceFormatError(str(path), f"not a readable Excel workbook "
                                f"({type(error).__name__}: {error})") from error


Required = Sequence[str | tuple[str, ...]]


def _alternatives(required: Required) -> list[tuple[str, ...]]:
    return [(name,) if isinstance(name, str) else tuple(name) for name in required]


def _missing(required: Required, header: Sequence[str]) -> list[str]:
    """Required names (first spelling of each) that no header cell matches."""
    present = {fold(h) for h in header if h}
    return [names[0] for names in _alternatives(required)
            if not any(fold(n) in present for n in names)]


def read_xlsx_text(path: Path | str, required: Required, *,
                   sheet: str | None = None) -> tuple[pd.DataFrame, str]:
    """The first worksheet table whose header row holds every ``required`` column, as text.

    Parameters
    ----------
    path : the workbook.
    required : header names that must all be present (compared by :func:`fold`); an
        item may be a tuple of accepted spellings.
    sheet : read this sheet only (default: the first sheet that has such a header).

    Returns
    -------
    The table (index = worksheet row numbers, values text, empty cells ``""``) and
    the sheet title.

    Raises
    ------
    SourceFormatError
        Not a readable workbook, the sheet is absent, no header row with the required
        columns in the first 30 rows of any sheet, or no data rows.
    """
    path = Path(path)
    source = str(path)
    book = open_workbook(path)
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise SourceFormatError(source, f"no sheet {sheet!r}; sheets: {book.sheetnames}",
                                    field="sheet", value=sheet)
        titles = [sheet] if sheet is not None else list(book.sheetnames)
        best: tuple[int, str, list[str]] = (-1, "", [])
        for title in titles:
            table = _sheet_table(book, path, title, required)
            if isinstance(table, pd.DataFrame):
                return table, title
            found, header = table
            if found > best[0]:
                best = (found, title, header)
    except SourceFormatError:
        raise
    except Exception as error:  # a sheet's XML is damaged: openpyxl fails while streaming
        raise SourceFormatError(source, f"cannot read the workbook ({type(error).__name__}: "
                                f"{error}); the file may be damaged") from error
    finally:
        book.close()
    _, title, header = best
    missing = _missing(required, header)
    where = f"{source}, sheet {title!r}" if title else source
    raise SourceFormatError(where, f"no header row with the columns "
                            f"{[names[0] for names in _alternatives(required)]} in the "
                            f"first {HEADER_SEARCH_ROWS} rows of "
                            f"{'sheet ' + repr(sheet) if sheet else 'any sheet'}; missing "
                            f"{missing}", field=missing[0] if missing else None)


def _sheet_table(book: openpyxl.Workbook, path: Path, title: str,
                 required: Required) -> pd.DataFrame | tuple[int, list[str]]:
    """The table of one sheet, or (how many required names the best row had, that row)."""
    rows = book[title].iter_rows(values_only=True)
    best: tuple[int, list[str]] = (0, [])
    count = len(_alternatives(required))
    for number, row in enumerate(rows, start=1):
        cells = [_cell_text(value) for value in row]
        found = count - len(_missing(required, cells))
        if found > best[0]:
            best = (found, cells)
        if found == count:
            return _rows_below(rows, number, cells, path, title)
        if number >= HEADER_SEARCH_ROWS:
            break
    return best


def _rows_below(rows, header_row: int, header: list[str], path: Path,
                title: str) -> pd.DataFrame:
    where = f"{path}, sheet {title!r}"
    names = list(header)
    while names and names[-1] == "":
        names.pop()
    keep = [i for i, name in enumerate(names) if name]
    columns = [names[i] for i in keep]
    folded = [fold(n) for n in columns]
    duplicated = sorted({n for n, f in zip(columns, folded, strict=True) if folded.count(f) > 1})
    if duplicated:
        raise SourceFormatError(where, "column name appears twice in the header",
                                row=header_row, field=duplicated[0])
    records, numbers = [], []
    for number, row in enumerate(rows, start=header_row + 1):
        cells = [_cell_text(row[i]) if i < len(row) else "" for i in keep]
        if not any(cells):
            continue
        records.append(cells)
        numbers.append(number)
    if not records:
        raise SourceFormatError(where, "the sheet has a header but no data rows", row=header_row)
    return pd.DataFrame(records, columns=columns, index=pd.Index(numbers, name="row"),
                        dtype=object)


def read_table_text(path: Path | str, required: Required, *,
                    sheet: str | None = None) -> tuple[pd.DataFrame, str]:
    """A CSV or XLSX file (told apart by content, not name) as a text table.

    Returns
    -------
    The table and the place to name in messages: the path, or "path, sheet 'name'".
    """
    path = Path(path)
    check_exists(path)
    if is_workbook(path):
        table, title = read_xlsx_text(path, required, sheet=sheet)
        return table, f"{path}, sheet {title!r}"
    table = read_csv_text(path)
    missing = _missing(required, list(table.columns))
    if missing:
        raise SourceFormatError(str(path), f"missing column(s) {missing}; header has "
                                f"{list(table.columns)}", field=missing[0])
    return table, str(path)


def find_column(table: pd.DataFrame, names: str | tuple[str, ...]) -> pd.Series | None:
    """The column of ``table`` whose folded name equals one of ``names``, or None."""
    for name in (names,) if isinstance(names, str) else names:
        for candidate in table.columns:
            if fold(candidate) == fold(name):
                return table[candidate]
    return None


def first_bad(bad: pd.Series | np.ndarray) -> int:
    """Position of the first True of a boolean mask."""
    return int(np.flatnonzero(np.asarray(bad))[0])


def numbers(text: pd.Series, where: str, field: str, *, missing: Sequence[str] = ("",),
            nonnegative: bool = False, fields: pd.Series | None = None) -> pd.Series:
    """Parse a text column as float64; ``missing`` strings become NaN.

    ``fields``, aligned with ``text``, names the field of each cell in messages (e.g.
    "KOR 2016" for a cell of a wide table); by default every cell is ``field``.

    Raises
    ------
    SourceFormatError
        Naming the row (the table index), the field and the first cell that is not a
        number, is infinite ("inf", or beyond float range such as "1e999"), or is
        negative when ``nonnegative``.
    """
    text = text.astype(str).str.strip()
    is_missing = text.isin(list(missing))
    values = pd.to_numeric(text.where(~is_missing), errors="coerce").astype("float64")
    bad = values.isna() & ~is_missing
    message = "not a number"
    if not bad.any():
        bad = pd.Series(np.isinf(values.to_numpy()), index=values.index)
        message = "infinite number (or beyond the range of a float)"
    if nonnegative and not bad.any():
        bad = values.lt(0)
        message = "negative number"
    if bad.any():
        position = first_bad(bad)
        name = fields.iloc[position] if fields is not None else field
        raise SourceFormatError(where, message, field=name, value=text.iloc[position],
                                row=text.index[position])
    return values


def dates(text: pd.Series, where: str, field: str, *,
          date_format: str = "%Y-%m-%d") -> pd.Series:
    """Parse a text column of dates (``datetime64[ns]``); every cell must hold one.

    Raises
    ------
    SourceFormatError
        Naming the row (the table index), the field and the first cell that is not a
        date in ``date_format`` or lies outside the range a table can hold
        (:data:`research.schemas.DATE_MIN` to ``DATE_MAX``: 1677-09-21 to 2262-04-11).
    """
    from research.schemas import DATE_MAX, DATE_MIN

    parsed = pd.to_datetime(text, format=date_format, errors="coerce")
    bad = parsed.isna()
    message = f"not a date {date_format.replace('%', '')}"
    if not bad.any():
        bad = parsed.lt(DATE_MIN) | parsed.gt(DATE_MAX)
        message = f"date outside {DATE_MIN:%Y-%m-%d} to {DATE_MAX:%Y-%m-%d}"
    if bad.any():
        position = first_bad(bad)
        raise SourceFormatError(where, message, field=field, value=text.iloc[position],
                                row=text.index[position])
    return parsed.astype("datetime64[ns]")


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its object columns as pandas' ``str`` dtype (missing stays missing),
    the dtype the bundled tables have when read back."""
    objects = [name for name, dtype in frame.dtypes.items() if pd.api.types.is_object_dtype(dtype)]
    return frame.astype(dict.fromkeys(objects, "str")) if objects else frame
