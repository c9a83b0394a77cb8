"""Export controls on dual-use goods: trade loaders, indicators, estimators and reports."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("research")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"


def __getattr__(name: str):
    """``research.etable``: :func:`research.report.etable.etable`, imported on first use
    (``import research`` stays light for the command line)."""
    if name == "etable":
        from research.report.etable import etable

        return etable
    raise AttributeError(f"module 'research' has no attribute {name!r}")
