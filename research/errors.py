"""Named exceptions and warnings that users catch.

Every error says which file (or table), which field and which value is wrong.
"""

from __future__ import annotations


class ResearchError(Exception):
    """Base class of every error this package raises on purpose."""


def _located(source: str, message: str, kind: str, field: str | None, value: object,
             row: object) -> str:
    """``source: row R: <kind> 'F': value V: message``, leaving out what is not known."""
    parts = [str(source)]
    if row is not None:
        parts.append(f"row {row}")
    if field is not None:
        parts.append(f"{kind} {field!r}")
    if value is not None:
        parts.append(f"value {value!r}")
    return f"{': '.join(parts)}: {message}"


class SourceFormatError(ResearchError):
    """A source file does not have the layout or content its loader expects."""

    def __init__(self, source: str, message: str, *, field: str | None = None,
                 value: object = None, row: object = None) -> None:
        super().__init__(_located(source, message, "field", field, value, row))
        self.source, self.field, self.value, self.row = source, field, value, row


class SchemaError(SourceFormatError):
    """A table does not match its declared schema."""


class UnknownCountryError(SourceFormatError):
    """Country names or codes that the normalizer cannot map to ISO3."""


class UserFileError(SourceFormatError):
    """A user events/baskets file (``RESEARCH_USER_DIR``) is invalid.

    The message starts with ``file:line`` and names the field and value; ``path``
    and ``line`` (1-based, ``None`` when unknown) are kept as attributes.
    """

    def __init__(self, path: object, message: str, *, line: int | None = None,
                 field: str | None = None, value: object = None) -> None:
        super().__init__(f"{path}:{line}" if line else str(path), message, field=field,
                         value=value)
        self.path, self.line = str(path), line


class ParameterError(ResearchError, ValueError):
    """A function, notebook or command got a parameter value it cannot use."""


class DataNotFoundError(ResearchError, FileNotFoundError):
    """A bundled table or raw source file is missing."""


class PluginError(ResearchError):
    """A third-party data source (entry point of group ``research.sources``) cannot be used."""


class FetchError(ResearchError):
    """A download failed: a non-retryable HTTP status, an API error message or retries exhausted.

    Carries the URL, the HTTP status (``None`` when no response came back) and the
    server's own message.
    """

    def __init__(self, url: str, message: str, *, status: int | None = None,
                 server_message: str | None = None, attempts: int | None = None) -> None:
        parts = [str(url)]
        if status is not None:
            parts.append(f"HTTP {status}")
        parts.append(message)
        if server_message:
            parts.append(f"server said: {server_message}")
        if attempts is not None and attempts > 1:
            parts.append(f"after {attempts} attempts")
        super().__init__(": ".join(parts))
        self.url, self.status, self.server_message = url, status, server_message
        self.attempts = attempts


class OfflineError(DataNotFoundError):
    """Offline mode (``RESEARCH_OFFLINE=1`` or ``offline=True``) and the data asked for is not cached."""


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


class CacheWarning(ResearchWarning):
    """A cache entry was corrupt or truncated; it was deleted and will be fetched again."""


class RevisionWarning(ResearchWarning):
    """Freshly downloaded data changed values already held for past periods (revisions)."""


class SkippedDataWarning(ResearchWarning):
    """A file reader left out part of a file on purpose (a sheet it does not know, partners
    that are not countries); the message names the file and what was left out."""


class TextEncodingWarning(ResearchWarning):
    """A text file was not UTF-8 and was decoded as another encoding (named in the
    message): check names with accents."""


class CoverageWarning(ResearchWarning):
    """Newly added periods lack series that the bundled table has (a partial pull)."""


class IdentificationWarning(ResearchWarning):
    """The data cannot identify part of what was asked (for example no pre-period)."""


class HSConversionWarning(ResearchWarning):
    """An HS revision conversion is not one-to-one (n:1 or n:n lines, or a path through
    HS2022): the converted series breaks or mixes goods; the message names the codes."""


class ConvergenceError(EstimationError):
    """An iterative estimator stopped before its convergence criterion was met.

    The message says which loop (``what``), after how many iterations or sweeps, the
    criterion it reached against the tolerance asked for and, for fixed-effect
    demeaning, the fixed effect that converged slowest.
    """

    def __init__(self, message: str, *, what: str = "", iterations: int | None = None,
                 reached: float | None = None, tolerance: float | None = None,
                 fixed_effect: str | None = None) -> None:
        super().__init__(message)
        self.what, self.iterations, self.reached = what, iterations, reached
        self.tolerance, self.fixed_effect = tolerance, fixed_effect


class CollinearityWarning(ResearchWarning):
    """Regressors collinear with the fixed effects or with each other were dropped; their
    estimates are reported as missing."""


class PanelError(ParameterError):
    """A table given to an estimator breaks its layout: a missing column, repeated
    unit-period rows, a treatment that varies within a unit, a cell that is not a number.

    The message names the table (``source``), the column (``field``), the value and,
    where there is one, the row; they are kept as attributes.
    """

    def __init__(self, source: str, message: str, *, field: str | None = None,
                 value: object = None, row: object = None) -> None:
        super().__init__(_located(source, message, "column", field, value, row))
        self.source, self.field, self.value, self.row = source, field, value, row
