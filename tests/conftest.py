"""Shared fixtures: the raw shared data folder, skipped with a reason when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from research import config


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    """``../shared/data/raw``; tests that need it skip, saying why, when it is absent."""
    path = config.raw_dir()
    if not path.is_dir():
        pytest.skip(f"raw shared data not found at {path} (set RESEARCH_RAW_DIR); "
                    "this test reads the original source files")
    return path


@pytest.fixture(scope="session")
def fixtures_dir(raw_dir: Path) -> Path:
    """``../shared/data/fixtures`` (recorded API responses)."""
    path = raw_dir.parent / "fixtures"
    if not path.is_dir():
        pytest.skip(f"recorded API fixtures not found at {path}")
    return path
