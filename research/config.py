"""Paths and environment settings, in one place.

Every path can be overridden by an environment variable, so that tests and
users can point the package at other folders without editing code.

| variable | default | what |
|---|---|---|
| ``RESEARCH_DATA_DIR`` | ``<repo>/data`` | bundled starter data (built by ``research data build``) |
| ``RESEARCH_RAW_DIR`` | ``<repo>/../shared/data/raw`` | raw source files, read only by the data build |
| ``RESEARCH_REPORTS_DIR`` | ``<repo>/reports`` | where report runs are written |
| ``RESEARCH_CACHE_DIR`` | ``~/.cache/research`` | download cache |
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _path(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    """Folder of the bundled starter data."""
    return _path("RESEARCH_DATA_DIR", REPO_ROOT / "data")


def raw_dir() -> Path:
    """Folder of the raw shared source files (only the data build reads it)."""
    return _path("RESEARCH_RAW_DIR", REPO_ROOT.parent / "shared" / "data" / "raw")


def fixtures_dir() -> Path:
    """Folder of recorded API responses (tests only)."""
    return raw_dir().parent / "fixtures"


def reports_dir() -> Path:
    """Folder the report runs are written to."""
    return _path("RESEARCH_REPORTS_DIR", REPO_ROOT / "reports")


def notebooks_dir() -> Path:
    """Folder of the parameterized notebooks."""
    return _path("RESEARCH_NOTEBOOKS_DIR", REPO_ROOT / "notebooks")


def cache_dir() -> Path:
    """Folder of the download cache."""
    return _path("RESEARCH_CACHE_DIR", Path.home() / ".cache" / "research")
