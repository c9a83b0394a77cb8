"""Registry of file readers: a file a user downloaded in, a tidy table out.

Convention: any source module may define ``FILE_READERS``, a dict from a reader name
to a function ``(path) -> DataFrame`` that reads one file of that source into the same
tidy table as the bundled data and raises the named errors of
:mod:`research.errors` on bad input. :func:`file_readers` collects them from the
modules :func:`reader_modules` names; :func:`read_file` calls one by name.

A module named in :data:`READER_MODULES` that does not exist yet (``research.sources.baci``
while it is being written) is skipped; asking for a reader then says which module is
missing. Any other import error is raised, so a broken module is never hidden.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from research.errors import DataNotFoundError, ParameterError, SourceFormatError
from research.files import write_atomic, write_csv

Reader = Callable[[Path], pd.DataFrame]

READER_MODULES = (
    "research.sources.sipri",
    "research.sources.wits",
    "research.sources.comtrade_files",
    "research.sources.worldbank",
    "research.sources.fred",
    "research.sources.gravity",
    "research.sources.baci",
)
OUTPUT_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


def reader_modules() -> tuple[str, ...]:
    """Names of the modules whose ``FILE_READERS`` are collected.

    The built-in :data:`READER_MODULES`, then every source module a third-party
    package registers under the ``research.sources`` entry-point group
    (see :func:`research.datasets.source_modules`).
    """
    from research.datasets import source_modules

    plugins = [m.__name__ for m in source_modules() if m.__name__ not in READER_MODULES]
    return READER_MODULES + tuple(plugins)


def _collect() -> tuple[dict[str, Reader], dict[str, str]]:
    """(reader name -> function, missing module -> reason)."""
    readers: dict[str, Reader] = {}
    owners: dict[str, str] = {}
    missing: dict[str, str] = {}
    for name in reader_modules():
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:  # the module exists but one of its imports does not
                raise
            missing[name] = f"module {name} not found"
            continue
        found = getattr(module, "FILE_READERS", {})
        if not isinstance(found, dict):
            raise TypeError(f"{name}.FILE_READERS must be a dict of name -> function")
        for reader_name, function in found.items():
            if not callable(function):
                raise TypeError(f"{name}.FILE_READERS[{reader_name!r}] is not callable")
            if reader_name in readers:
                raise ValueError(f"file reader {reader_name!r} defined by both "
                                 f"{owners[reader_name]} and {name}")
            readers[reader_name], owners[reader_name] = function, name
    return readers, missing


def file_readers() -> dict[str, Reader]:
    """Every registered file reader by name."""
    return _collect()[0]


def unavailable_modules() -> dict[str, str]:
    """Reader modules that could not be imported because they do not exist, with why."""
    return _collect()[1]


def read_file(source: str, path: Path | str) -> pd.DataFrame:
    """Read a downloaded file with the reader called ``source``.

    Parameters
    ----------
    source : a reader name, one of ``file_readers()`` (e.g. "sipri", "wits", "comtrade",
        "worldbank", "fred").
    path : the file.

    Returns
    -------
    The reader's tidy table.

    Raises
    ------
    ParameterError
        ``source`` is not a registered reader; the message lists the known ones and any
        reader module that is missing.
    DataNotFoundError
        ``path`` is not a file.
    SourceFormatError
        The file does not have the source's layout or content (named file, sheet, row,
        column and value).

    Examples
    --------
    A FRED download (``fredgraph.csv``) of the yen per dollar rate:

    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "fredgraph.csv"
    >>> _ = path.write_text("observation_date,DEXJPUS\\n2024-01-02,141.8\\n2024-01-03,.\\n",
    ...                     encoding="utf-8")
    >>> read_file("fred", path)[["date", "series_id", "value", "unit"]]
            date series_id  value         unit
    0 2024-01-02   DEXJPUS  141.8  JPY per USD
    """
    readers, missing = _collect()
    if source not in readers:
        note = "".join(f"; not available: {reason}" for reason in missing.values())
        raise ParameterError(f"unknown file source {source!r}; known: {sorted(readers)}{note}")
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{path}: file not found")
    table = readers[source](path)
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise SourceFormatError(str(path), f"reader {source!r} returned no rows")
    return table


def output_format(path: Path | str) -> str:
    """'parquet' or 'csv' from the extension of ``path``; ParameterError otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise ParameterError(f"{path}: unknown output type {suffix or '(no extension)'!r}; "
                             f"use one of {sorted(OUTPUT_FORMATS)}")
    return OUTPUT_FORMATS[suffix]


def write_table(table: pd.DataFrame, path: Path | str) -> Path:
    """Write ``table`` as Parquet or CSV (by extension), atomically: on failure nothing
    is left at ``path``. CSV is for spreadsheets: text cells that would run as a
    formula get a leading ``'`` (:func:`research.files.write_csv`)."""
    kind = output_format(path)
    if kind == "parquet":
        return write_atomic(Path(path), lambda p: table.to_parquet(p, index=False))
    return write_csv(table, Path(path))
