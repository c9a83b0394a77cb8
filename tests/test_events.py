"""Curated events table parsed from TIMELINE_NOTES.md plus the overlay."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from research.errors import ParameterError, SourceFormatError
from research.reference import events
from research.schemas import EVENTS


@pytest.fixture(scope="module")
def table(raw_dir: Path) -> pd.DataFrame:
    return events.build_events(raw_dir)


def event(table: pd.DataFrame, event_id: str) -> pd.Series:
    return table.set_index("event_id").loc[event_id]


@pytest.mark.shared
def test_schema_and_count(table: pd.DataFrame) -> None:
    EVENTS.validate(table)
    # Sections A (A1..A12), B (B1..B11), C (C1..C11): 12 + 11 + 11 = 34 rows, in order.
    expected = ([f"A{i}" for i in range(1, 13)] + [f"B{i}" for i in range(1, 12)]
                + [f"C{i}" for i in range(1, 12)])
    assert table.event_id.tolist() == expected


@pytest.mark.shared
def test_b1_gallium_germanium(table: pd.DataFrame) -> None:
    # B1 row: "ann. 2023-07-03, eff. 2023-08-01", "**No. 23 [2023]**", target "all";
    # products list Ga metal 8112929010 (HS6 811292) and Ge metal 8112921010.
    b1 = event(table, "B1")
    assert (b1.announced, b1.effective) == (pd.Timestamp("2023-07-03"), pd.Timestamp("2023-08-01"))
    assert b1.instrument_no == "No. 23 [2023]" and b1.authority == "MOFCOM & GAC"
    assert b1.targets == "ALL" and b1.event_type == "licensing"
    assert set(b1.basket.split(";")) == {"gallium", "germanium"}
    assert "811292" in b1.hs6.split(";")
    codes = b1.customs_codes.split(";")
    assert {"8112929010", "8112921010", "2825600002"} <= set(codes)
    assert all(len(c) == 10 and c.isdigit() for c in codes)
    # the typo 8110929010 is only in the pages cell, not the products cell
    assert "8110929010" not in codes
    urls = b1.source_urls.split(";")
    assert len(urls) == 5 and all(u.startswith("http") and " " not in u for u in urls)


@pytest.mark.shared
def test_b2_graphite(table: pd.DataFrame) -> None:
    b2 = event(table, "B2")
    assert (b2.announced, b2.effective) == (pd.Timestamp("2023-10-20"), pd.Timestamp("2023-12-01"))
    # The text cites "No. 50 of 2006" (the earlier measure); the 2023 number is not stated.
    assert pd.isna(b2.instrument_no)
    assert b2.basket == "graphite" and "250410" in b2.hs6


@pytest.mark.shared
def test_a2_japan_halt(table: pd.DataFrame) -> None:
    a2 = event(table, "A2")
    assert a2.date_text == "2010-09-21 (start), 2010-11-20 (GTA removal date)"
    assert (a2.effective, a2.end) == (pd.Timestamp("2010-09-21"), pd.Timestamp("2010-11-20"))
    assert pd.isna(a2.announced)
    assert (a2.targets, a2.basket, a2.event_type) == ("JPN", "rare_earths", "ban")


@pytest.mark.shared
def test_c6_and_b5(table: pd.DataFrame) -> None:
    c6 = event(table, "C6")
    assert c6.instrument_no == "No. 1 [2026]" and c6.effective == pd.Timestamp("2026-01-06")
    assert (c6.targets, c6.event_type, c6.basket) == ("JPN", "end-user ban", "dual_use_catalogue")
    assert pd.isna(c6.customs_codes)
    b5 = event(table, "B5")
    assert b5.instrument_no == "No. 46 [2024]" and b5.effective == pd.Timestamp("2024-12-03")
    assert b5.announced == pd.Timestamp("2024-12-03") and b5.targets == "USA"
    # clause 2 suspended by No. 72 [2025] (B11, 2025-11-09)
    assert b5.end == pd.Timestamp("2025-11-09")


@pytest.mark.shared
def test_suspensions_and_periods(table: pd.DataFrame) -> None:
    assert event(table, "B10").end == pd.Timestamp("2026-11-10")
    assert event(table, "B10").instrument_no == "No. 70 [2025]"
    b11 = event(table, "B11")
    # "suspends clause 2 of No. 46 (2024)": No. 46 is a reference, not B11's own number
    assert b11.end == pd.Timestamp("2026-11-27") and b11.instrument_no == "No. 72 [2025]"
    b8 = event(table, "B8")
    assert b8.instrument_no.split("; ") == [f"No. {n} [2025]" for n in (55, 56, 57, 58, 61, 62)]
    assert b8.end == pd.Timestamp("2025-11-07")
    a3 = event(table, "A3")
    assert (a3.date_text, a3.effective, a3.targets) == ("2010 (Oct)", pd.Timestamp("2010-10-01"),
                                                        "USA;EUN")
    a4 = event(table, "A4")
    assert (a4.effective, a4.end) == (pd.Timestamp("2010-01-01"), pd.Timestamp("2010-12-31"))
    # A12's products cell reads "same": the row above (A11)
    assert event(table, "A12").products == "rare earths, W, Mo, fluorspar"


def test_parsers_by_hand() -> None:
    assert events.parse_dates("ann. 2023-07-03, eff. 2023-08-01") == {
        "announced": "2023-07-03", "effective": "2023-08-01", "end": None}
    assert events.parse_dates("2024-12-03 (eff. immediately)") == {
        "announced": "2024-12-03", "effective": "2024-12-03", "end": None}
    assert events.parse_dates("2010-12-28 (ann.)")["announced"] == "2010-12-28"
    assert events.parse_dates("2010 full year") == {
        "announced": None, "effective": None, "end": None}
    assert events.parse_instruments("Announcement **No. 33 of 2024**: x", None) == "No. 33 [2024]"
    assert events.parse_instruments("(No. 50 of 2006)", "2023-10-20") is None
    assert events.parse_targets("US, EU", "test") == "USA;EUN"
    assert events.parse_targets("**Japan** (military end-use/users)", "test") == "JPN"
    assert events.parse_targets("all (extraterritorial)", "test") == "ALL"
    assert events.parse_codes("GaN 2850001901, 3818009001") == ("2850001901;3818009001",
                                                                "285000;381800")




@pytest.mark.shared
def test_get_event_and_load() -> None:
    assert len(events.load_events()) == 34
    assert events.get_event("C6").instrument_no == "No. 1 [2026]"
    with pytest.raises(ParameterError, match=r"'Z9'.*A1, A2.*C11"):
        events.get_event("Z9")


def corrupted_copy(raw_dir: Path, tmp_path: Path, old: str, new: str) -> Path:
    text = (raw_dir / events.TIMELINE_FILE).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "timeline.md"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.shared
def test_malformed_row_is_reported(raw_dir: Path, tmp_path: Path) -> None:
    path = corrupted_copy(raw_dir, tmp_path, "| B9 | 2025-10-30 | ", "| B9 | 2025-10-30 ")
    with pytest.raises(SourceFormatError, match=r"timeline.md: row \d+:.*expected 6 cells"):
        events.read_timeline(path)


@pytest.mark.shared
def test_missing_section_and_overlay_drift(raw_dir: Path, tmp_path: Path) -> None:
    path = corrupted_copy(raw_dir, tmp_path, "## C. 2025", "## Section C 2025")
    with pytest.raises(SourceFormatError, match="'## C. ...'"):
        events.read_timeline(path)
    parsed = events.read_timeline(raw_dir / events.TIMELINE_FILE)
    overlay = {k: v for k, v in events.OVERLAY.items() if k != "C11"}
    with pytest.raises(SourceFormatError, match="C11"):
        events.apply_overlay(parsed, overlay)


def test_registry_schema_widens_only_the_id() -> None:
    bundled = events.load_events(user=False)
    events.REGISTRY_EVENTS.validate(bundled)
    assert set(events.REGISTRY_EVENTS.columns) == set(EVENTS.columns)
    for name, column in EVENTS.columns.items():
        if name != "event_id":
            assert events.REGISTRY_EVENTS.columns[name] == column
    assert re.fullmatch(events.USER_EVENT_ID, "U_JP_WATCHLIST_2026")
    assert all(re.fullmatch(events.BUNDLED_EVENT_ID, i) for i in bundled["event_id"])
