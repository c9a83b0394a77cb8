"""Tables formatted for people: separators, digits, no index, no "nan", no truncation."""

import re

import numpy as np
import pandas as pd
import pytest

from research.report.tables import (
    MISSING,
    column_decimals,
    format_number,
    format_table,
    shows_index,
    table_html,
)


def _cells(html: str) -> list[str]:
    """The text of every header and data cell of an HTML table, in order."""
    return [c.strip() for c in re.findall(r"<t[hd](?:\s[^>]*)?>(.*?)</t[hd]>", html, re.S)]


def test_separators_digits_and_missing():
    frame = pd.DataFrame({
        "value_usd": [-164_284_171.006, 6.8e12, np.nan],  # large: whole units, separators
        "share_pct": [1.634, 2.0, None],  # median 1.8 -> 10**0 -> 3 - 1 - 0 = 2 decimals
        "coefficient": [0.5571, 0.1024, 0.3],  # median 0.3 -> 10**-1 -> 3 decimals
        "year": [2023, 2024, 2025],  # a label: no thousands separator
        "n_obs": pd.array([28482, None, 5], dtype="Int64"),
    })
    cells = _cells(format_table(frame).to_html())
    assert cells[:5] == ["value_usd", "share_pct", "coefficient", "year", "n_obs"]
    assert cells[5:10] == ["-164,284,171", "1.63", "0.557", "2023", "28,482"]
    assert cells[10:15] == ["6,800,000,000,000", "2.00", "0.102", "2024", MISSING]
    assert cells[15:20] == [MISSING, MISSING, "0.300", "2025", "5"]
    assert not any(re.search(r"\bnan\b|\bNaN\b|<NA>|None", c) for c in cells)


def test_no_index_column_no_truncation_and_escaped_text():
    long_text = "unit and period of the series as the source reports them, " * 3
    frame = pd.DataFrame({"measure": [long_text, "<script>alert(1)</script>", None],
                          "<b>head</b>": [1, 2, 3]}, index=[7, 8, 9])
    html = format_table(frame).to_html()
    cells = _cells(html)
    assert len(cells) == 2 + 3 * 2  # two headers and the data: no index cells
    assert long_text.strip() in cells[2]  # the whole text, no "..."
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "&lt;b&gt;head&lt;/b&gt;" in html
    assert cells[6] == MISSING


def test_column_decimals_and_numbers_by_hand():
    assert column_decimals(pd.Series([0.557, 0.102])) == 3  # median 0.33: 3 - 1 + 1
    assert column_decimals(pd.Series([12.3, 45.6])) == 1  # median 29: 3 - 1 - 1
    assert column_decimals(pd.Series([1.0, 2.0, np.nan])) == 0  # whole numbers
    assert column_decimals(pd.Series([np.nan, np.nan])) == 0
    assert column_decimals(pd.Series([1e-9, 2e-9])) == 6  # at most 6 decimals
    assert format_number(-0.0001, 2) == "0.00"  # no "-0.00"
    assert format_number(float("inf")) == "∞"
    assert format_number(True) == "yes"
    assert format_number(None) == MISSING and format_number(pd.NA) == MISSING


def test_scale_labels_and_fixed_decimals():
    frame = pd.DataFrame({"budget_jpy": [6.8e12, 7.95e12], "p_value": [0.04, 0.5]})
    cells = _cells(format_table(frame, scale={"budget_jpy": 1e12, "absent": 10},
                                labels={"budget_jpy": "budget (yen tn)"},
                                decimals={"p_value": 2}).to_html())
    assert cells == ["budget (yen tn)", "p_value", "6.80", "0.04", "7.95", "0.50"]


def test_kernel_display_keeps_a_named_index_and_limits_rows():
    by_year = pd.DataFrame({"JPN": [1.76, np.nan]}, index=pd.Index([2015, 2016], name="year"))
    assert shows_index(by_year)
    assert _cells(table_html(by_year)) == ["year", "JPN", "2015", "1.76", "2016", MISSING]
    filtered = pd.DataFrame({"a": range(10)}).iloc[3:]
    assert not shows_index(filtered)  # row numbers left after filtering are noise
    long = pd.DataFrame({"a": range(300)})
    html = table_html(long, max_rows=5)
    assert "First 5 of 300 rows" in html and len(_cells(html)) == 1 + 5


def test_duplicate_columns_are_refused():
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(ValueError, match="duplicate column names"):
        format_table(frame)
