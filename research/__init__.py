"""Export controls on dual-use goods: trade loaders, indicators, estimators and reports."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("research")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
