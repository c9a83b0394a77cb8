"""Paths and environment settings, in one place.

Every path can be overridden by an environment variable, so that tests and
users can point the package at other folders without editing code.

| variable | default | what |
|---|---|---|
| ``RESEARCH_DATA_DIR`` | ``<repo>/data`` | bundled starter data (built by ``research data build``) |
| ``RESEARCH_RAW_DIR`` | ``<repo>/../shared/data/raw`` | raw source files, read only by the data build |
| ``RESEARCH_REPORTS_DIR`` | ``<repo>/reports`` | where report runs are written |
| ``RESEARCH_NOTEBOOKS_DIR`` | ``<repo>/notebooks`` | the parameterized notebooks |
| ``RESEARCH_CACHE_DIR`` | ``~/.cache/research`` | download cache |
| ``RESEARCH_USER_DIR`` | unset | your own events and baskets (YAML/TOML), merged into the registry |
| ``RESEARCH_UPDATED_DIR`` | ``<cache>/updated`` | bundled tables with freshly pulled months merged in |
| ``RESEARCH_OFFLINE`` | unset | ``1`` (or true/yes): never download; use only the cache |

``<repo>`` is the repository checkout (an editable install). An installed wheel has no
checkout: its data, notebooks and report grid ship inside the package
(``research/_bundled/``, copied there by ``setup.py`` at build time and found with
:mod:`importlib.resources`), and reports go to ``./reports`` in the current folder.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def in_checkout() -> bool:
    """True when the package runs from the repository checkout (an editable install or
    the source tree), False for an installed wheel.

    Examples
    --------
    >>> in_checkout() == (REPO_ROOT / "pyproject.toml").is_file()
    True
    """
    return ((REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "reports.toml").is_file()
            and (REPO_ROOT / "research" / "config.py").is_file())


def bundled_dir() -> Path:
    """Folder of what ships with the package: ``<repo>`` in the checkout, else the
    wheel's ``research/_bundled`` (holding ``data/``, ``notebooks/``, ``reports.toml``)."""
    if in_checkout():
        return REPO_ROOT
    return Path(str(resources.files("research").joinpath("_bundled")))


def _path(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    """Folder of the bundled starter data.

    Examples
    --------
    >>> import os
    >>> data_dir() == (Path(os.environ["RESEARCH_DATA_DIR"]).resolve()
    ...                if os.environ.get("RESEARCH_DATA_DIR") else bundled_dir() / "data")
    True
    """
    return _path("RESEARCH_DATA_DIR", bundled_dir() / "data")


def raw_dir() -> Path:
    """Folder of the raw shared source files (only the data build reads it)."""
    return _path("RESEARCH_RAW_DIR", REPO_ROOT.parent / "shared" / "data" / "raw")


def fixtures_dir() -> Path:
    """Folder of recorded API responses (tests only)."""
    return raw_dir().parent / "fixtures"


def reports_dir() -> Path:
    """Folder the report runs are written to: ``<repo>/reports`` in the checkout,
    else ``reports`` in the current folder."""
    default = REPO_ROOT / "reports" if in_checkout() else Path.cwd() / "reports"
    return _path("RESEARCH_REPORTS_DIR", default)


def notebooks_dir() -> Path:
    """Folder of the parameterized notebooks."""
    return _path("RESEARCH_NOTEBOOKS_DIR", bundled_dir() / "notebooks")


def grid_file() -> Path:
    """The default report grid, ``reports.toml`` (the checkout's, or the wheel's copy)."""
    return bundled_dir() / "reports.toml"


def cache_dir() -> Path:
    """Folder of the download cache."""
    return _path("RESEARCH_CACHE_DIR", Path.home() / ".cache" / "research")


def updated_dir() -> Path:
    """Folder of the updated data (bundled tables with pulled months merged in)."""
    return _path("RESEARCH_UPDATED_DIR", cache_dir() / "updated")


def offline() -> bool:
    """True when ``RESEARCH_OFFLINE`` is set to 1, true or yes: downloads are refused."""
    return os.environ.get("RESEARCH_OFFLINE", "").strip().lower() in {"1", "true", "yes"}


def user_dir() -> Path | None:
    """Folder of the user's own events and baskets (``RESEARCH_USER_DIR``), or ``None``.

    See :mod:`research.reference.user_files`.

    Examples
    --------
    >>> import os
    >>> saved = os.environ.pop("RESEARCH_USER_DIR", None)
    >>> user_dir() is None
    True
    >>> os.environ["RESEARCH_USER_DIR"] = "~/my_events"
    >>> user_dir() == Path.home().resolve() / "my_events"
    True
    >>> del os.environ["RESEARCH_USER_DIR"]
    >>> if saved is not None:
    ...     os.environ["RESEARCH_USER_DIR"] = saved
    """
    value = os.environ.get("RESEARCH_USER_DIR", "").strip()
    return Path(value).expanduser().resolve() if value else None
