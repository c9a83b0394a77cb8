"""Estimators that say how a measure changed trade; each returns a :class:`Result`."""

from research.estimate.result import Result

__all__ = ["Result"]
