"""Named exceptions and warnings that users catch.

Every error says which file (or table), which field and which value is wrong.
"""

from __future__ import annotations


class ResearchError(Exception):
    """Base class of every error this package raises on purpose."""


class SourceFormatError(ResearchError):
    """A source file does not have the layout or content its loader expects."""

    def __init__(self, source: str, message: str, *, field: str | None = None,
                 value: object = None, row: object = None) -> None:
        parts = [str(source)]
        if row is not None:
            parts.append(f"row {row}")
        if field is not None:
            parts.append(f"field {field!r}")
        if value is not None:
            parts.append(f"value {value!r}")
        super().__init__(f"{': '.join(parts)}: {message}")
        self.source, self.field, self.value, self.row = source, field, value, row


class SchemaError(SourceFormatError):
    """A table does not match its declared schema."""


class UnknownCountryError(SourceFormatError):
    """Country names or codes that the normalizer cannot map to ISO3."""


class ParameterError(ResearchError, ValueError):
    """A function, notebook or command got a parameter value it cannot use."""


class DataNotFoundError(ResearchError, FileNotFoundError):
    """A bundled table or raw source file is missing."""


class EstimationError(ResearchError):
    """An estimator cannot produce an estimate from the data given."""


class ReportError(ResearchError):
    """A report run failed; the message names the notebook and failing cell."""


class ResearchWarning(UserWarning):
    """Base class of the package's named warnings."""


class SeparationWarning(ResearchWarning):
    """Observations separated in a Poisson model (all-zero fixed-effect groups) were dropped."""


class FewClustersWarning(ResearchWarning):
    """Cluster-robust inference with few clusters: standard errors may be too small."""


class IdentificationWarning(ResearchWarning):
    """The data cannot identify part of what was asked (for example no pre-period)."""
