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


@pytest.fixture
def api_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Cache and updated-data folders in ``tmp_path``, no throttle, online mode.

    Returns ``use(transport)``, which makes ``transport`` the HTTP transport of every
    loader (a fake: no test touches the network).
    """
    from research import http
    from research.sources import comtrade_api

    monkeypatch.setattr(comtrade_api, "MIN_INTERVAL", 0.0)
    monkeypatch.setenv("RESEARCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RESEARCH_UPDATED_DIR", str(tmp_path / "updated"))
    monkeypatch.delenv("RESEARCH_OFFLINE", raising=False)

    def use(transport) -> None:
        monkeypatch.setattr(http, "default_transport", lambda: transport)

    return use
