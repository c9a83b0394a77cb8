"""Japan's MoD initial budget table parsed from JAPAN_DEFENSE_BUDGET_NOTES.md."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from research.errors import SourceFormatError
from research.sources import japan_budget

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def budget(raw_dir: Path) -> pd.DataFrame:
    return japan_budget.build_japan_defense_budget(raw_dir)


def test_schema(budget: pd.DataFrame) -> None:
    japan_budget.JAPAN_DEFENSE_BUDGET.validate(budget)


def test_amounts_from_notes(budget: pd.DataFrame) -> None:
    # Table in JAPAN_DEFENSE_BUDGET_NOTES.md: FY2023 ¥6.8 tn, FY2024 ¥7.95 tn (Kyodo
    # rounds to 7.9), FY2025 ¥8.7 tn, FY2026 ¥9.04 tn; 1 tn = 1e12.
    amounts = dict(zip(budget.fiscal_year, budget.amount_jpy, strict=True))
    assert amounts == {2023: 6.8e12, 2024: 7.95e12, 2025: 8.7e12, 2026: 9.04e12}
    assert set(budget.basis) == {"MoD initial budget, Cabinet-approved draft"}


def test_notes_and_urls(budget: pd.DataFrame) -> None:
    fy2026 = budget[budget.fiscal_year == 2026].iloc[0]
    # The FY2026 row cites three pages (trtworld, report.az, lapresse), ' ; '-separated.
    urls = fy2026.source_urls.split(";")
    assert len(urls) == 3 and urls[0] == "https://www.trtworld.com:443/article/f77205378ef1"
    assert "2025-12-26" in fy2026.note and fy2026.note.startswith("¥9.04 tn")




def corrupted_copy(raw_dir: Path, tmp_path: Path, old: str, new: str) -> Path:
    text = (raw_dir / japan_budget.NOTES_FILE).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "notes.md"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_missing_table_is_reported(raw_dir: Path, tmp_path: Path) -> None:
    path = corrupted_copy(raw_dir, tmp_path, "| fiscal year | amount |", "| year | amount |")
    with pytest.raises(SourceFormatError, match="notes.md.*no markdown table"):
        japan_budget.read_budget_notes(path)


def test_unreadable_amount_is_reported(raw_dir: Path, tmp_path: Path) -> None:
    path = corrupted_copy(raw_dir, tmp_path, "| FY2023 | ¥6.8 tn |", "| FY2023 | six tn |")
    with pytest.raises(SourceFormatError, match=r"notes.md: row \d+: field 'amount': "
                                                r"value 'six tn'"):
        japan_budget.read_budget_notes(path)


def test_bad_fiscal_year_is_reported(raw_dir: Path, tmp_path: Path) -> None:
    path = corrupted_copy(raw_dir, tmp_path, "| FY2025 |", "| 2025/26 |")
    with pytest.raises(SourceFormatError, match="fiscal year"):
        japan_budget.read_budget_notes(path)
