"""Property tests over every file reader: damaged, re-encoded or extreme input gives a
named error (a ResearchError) or a valid table; never another exception or a hang.

Each reader starts from a small valid seed (tests/reader_seeds.py) and hypothesis
mutates it: cut at any byte, bytes flipped, the text re-encoded (UTF-16, Shift-JIS,
cp1252 ...) or a number replaced by an extreme one (1e309, -inf, nan, 400 nines).
Examples are bounded and derandomized so CI stays fast and repeatable.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reader_seeds import seeds

from research.errors import ResearchError
from research.readers import file_readers, read_file
from research.schemas import DATE_MAX, DATE_MIN, TRADE_FLOWS

SEEDS = seeds()
EXTREME_NUMBERS = ["1e308", "1e309", "-1e309", "inf", "-inf", "nan", "NaN", "-0", "1e-320",
                   "9" * 400, "-1", "0x10", "1_000", "", "1,5", "１２"]
ENCODINGS = ["utf-16", "utf-32", "utf-8-sig", "cp1252", "shift_jis", "gbk", "latin-1",
             "euc_kr"]
NUMBER = re.compile(rb"(?<![A-Za-z_.])\d+(?:\.\d+)?(?![A-Za-z_])")
PROPERTY_SETTINGS = settings(max_examples=40, deadline=5000, derandomize=True, database=None,
                             suppress_health_check=[HealthCheck.too_slow])


def test_every_reader_has_a_seed() -> None:
    assert set(SEEDS) == set(file_readers())


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` cut, with flipped bytes, re-encoded, or with an extreme number."""
    kind = draw(st.sampled_from(["cut", "flip", "encode", "number", "insert"]))
    if kind == "cut":
        return data[:draw(st.integers(0, len(data)))]
    if kind == "flip":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 6))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    if kind == "encode":
        text = data.decode("utf-8", errors="replace")
        codec = draw(st.sampled_from(ENCODINGS))
        word = draw(st.sampled_from(["日本", "中国", "Côte d'Ivoire", "한국", "Zürich", ""]))
        at = draw(st.integers(0, len(text)))
        return (text[:at] + word + text[at:]).encode(codec, errors="replace")
    if kind == "number":
        spans = [m.span() for m in NUMBER.finditer(data)]
        if not spans:
            return data
        start, end = draw(st.sampled_from(spans))
        return data[:start] + draw(st.sampled_from(EXTREME_NUMBERS)).encode() + data[end:]
    lines = data.split(b"\n")  # repeat or drop a line
    at = draw(st.integers(0, len(lines) - 1))
    if draw(st.booleans()):
        lines.insert(at, lines[at])
    else:
        del lines[at]
    return b"\n".join(lines)


def check_table(table: pd.DataFrame, where: str) -> None:
    """What every table a reader returns must hold: rows, finite numbers, dates a table
    can store, and the trade-flow schema for trade tables."""
    assert isinstance(table, pd.DataFrame) and len(table), where
    for name in table.columns:
        column = table[name]
        if pd.api.types.is_float_dtype(column):
            assert not np.isinf(column.to_numpy()).any(), f"{where}: inf in {name}"
        if pd.api.types.is_datetime64_any_dtype(column):
            present = column.dropna()
            assert present.between(DATE_MIN, DATE_MAX).all(), f"{where}: date in {name}"
    if set(TRADE_FLOWS.columns) <= set(table.columns):
        TRADE_FLOWS.validate(table, source=where)


def read_or_named_error(source: str, name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            table = read_file(source, path)
        except ResearchError as error:
            assert str(error), "a named error says what is wrong"
            return
        check_table(table, f"{source} reading {data[:200]!r}")


@pytest.mark.timeout(300)
@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("source", sorted(SEEDS))
def test_damaged_input_gives_a_named_error_or_a_valid_table(source: str) -> None:
    name, seed = SEEDS[source]
    read_or_named_error(source, name, seed)  # the seed itself reads

    @PROPERTY_SETTINGS
    @given(data=mutated(seed))
    def check(data: bytes) -> None:
        read_or_named_error(source, name, data)

    check()
