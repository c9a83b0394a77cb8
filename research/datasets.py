"""Registry of the bundled datasets: how each is built, where it lives, how to cite it.

Each source module declares ``DATASETS``, a list of :class:`Dataset`. The data
build (``research data build --raw DIR``) calls every dataset's ``build``
function on the raw files, checks the result against its schema, writes it
atomically under ``data/`` and rewrites ``data/SOURCES.md`` and
``data/sources.csv``. :func:`load` reads a bundled table back and checks it again.

Two extension points:

- **Third-party sources.** An installed package joins the registry by declaring a
  Python entry point in the group ``research.sources`` (:data:`ENTRY_POINT_GROUP`)
  that names a module with a ``DATASETS`` list (and optionally ``FILE_READERS``),
  the way papermill finds its engines. In the package's ``pyproject.toml``::

      [project.entry-points."research.sources"]
      acme = "acme_research.sources"

  :func:`source_modules` returns the built-in modules followed by these.
- **User rows.** A dataset with a ``user_rows`` function (the events and the HS
  baskets) gets the user's own rows from ``RESEARCH_USER_DIR`` merged in by
  :func:`load` (see :mod:`research.reference.user_files`).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

import pandas as pd

from research import config
from research.errors import DataNotFoundError, ParameterError, PluginError
from research.files import write_atomic, write_text_atomic
from research.provenance import record_input, record_user_files
from research.schemas import Schema

SOURCE_MODULES = (
    "research.sources.comtrade_monthly",
    "research.sources.wits",
    "research.sources.sipri",
    "research.sources.japan_budget",
    "research.sources.gravity",
    "research.sources.worldbank",
    "research.sources.fred",
    "research.sources.natural_earth",
    "research.reference.events",
    "research.reference.baskets",
    "research.reference.hs_codes",
    "research.reference.dual_use",
)

ENTRY_POINT_GROUP = "research.sources"

BUILD_COMMAND = "research data build --raw ../shared/data/raw"


@dataclass(frozen=True)
class Dataset:
    """A bundled table: its file, its build function and its citation.

    Attributes
    ----------
    name : registry name, used by :func:`load` and ``--only``.
    filename : path of the built Parquet file inside the data folder.
    title, publisher, vintage, licence, citation : written to ``SOURCES.md``.
    raw_inputs : files the build reads, relative to the raw folder.
    build : ``build(raw_dir) -> DataFrame``.
    schema : checked after every build and load.
    notes : free text for ``SOURCES.md``.
    user_rows : ``user_rows(table, user_dir) -> table`` adds the user's own rows
        (``RESEARCH_USER_DIR``) when :func:`load` reads the table.
    data_dir : folder of the built file for a dataset shipped by another package;
        ``None`` (default) is the project's data folder (``RESEARCH_DATA_DIR``).
    """

    name: str
    filename: str
    title: str
    publisher: str
    vintage: str
    licence: str
    citation: str
    raw_inputs: tuple[str, ...]
    build: Callable[[Path], pd.DataFrame]
    schema: Schema | None = None
    notes: str = ""
    user_rows: Callable[[pd.DataFrame, Path], pd.DataFrame] | None = None
    data_dir: Path | None = None

    def path(self, data_dir: Path | None = None) -> Path:
        """Where the built file lives (``data_dir`` overrides the dataset's own folder)."""
        return Path(data_dir or self.data_dir or config.data_dir()) / self.filename


def _entry_point_module(entry_point) -> ModuleType:
    where = (f"entry point {entry_point.name!r} = {entry_point.value!r} (group "
             f"{ENTRY_POINT_GROUP!r}"
             + (f", distribution {entry_point.dist.name}" if entry_point.dist else "") + ")")
    try:
        module = entry_point.load()
    except Exception as error:  # any import failure of third-party code
        raise PluginError(f"{where}: cannot import it: {type(error).__name__}: {error}"
                          ) from error
    if not isinstance(module, ModuleType):
        raise PluginError(f"{where}: must name a module, got {type(module).__name__}")
    datasets = getattr(module, "DATASETS", None)
    if not isinstance(datasets, list | tuple) or not all(isinstance(d, Dataset)
                                                          for d in datasets):
        raise PluginError(f"{where}: module {module.__name__} needs a DATASETS list of "
                          "research.datasets.Dataset")
    return module


@lru_cache(maxsize=1)
def source_modules() -> tuple[ModuleType, ...]:
    """The built-in source modules, then those of installed entry points.

    Built-in modules are :data:`SOURCE_MODULES`; third-party ones are found with
    ``importlib.metadata.entry_points(group="research.sources")`` and loaded in
    name order. Each has a ``DATASETS`` list and may have ``FILE_READERS``.
    ``source_modules.cache_clear()`` forgets them (after installing a package).

    Raises
    ------
    PluginError
        An entry point cannot be imported or its module has no ``DATASETS`` list.

    Examples
    --------
    >>> [m.__name__ for m in source_modules()][:2]
    ['research.sources.comtrade_monthly', 'research.sources.wits']
    """
    modules = [importlib.import_module(name) for name in SOURCE_MODULES]
    for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        module = _entry_point_module(entry_point)
        if module not in modules:
            modules.append(module)
    return tuple(modules)


@lru_cache(maxsize=1)
def registry() -> dict[str, Dataset]:
    """All registered datasets by name, built-in and from entry points.

    Raises
    ------
    PluginError
        Two modules register the same dataset name.

    Examples
    --------
    >>> registry()["events"].filename
    'reference/events.parquet'
    """
    found: dict[str, Dataset] = {}
    owner: dict[str, str] = {}
    for module in source_modules():
        for dataset in module.DATASETS:
            if dataset.name in found:
                raise PluginError(f"dataset {dataset.name!r} registered twice: by "
                                  f"{owner[dataset.name]} and {module.__name__}")
            found[dataset.name] = dataset
            owner[dataset.name] = module.__name__
    return found


def refresh() -> None:
    """Forget the cached source modules, registry and loaded tables (after installing a
    source package or rebuilding data)."""
    source_modules.cache_clear()
    registry.cache_clear()
    _load_cached.cache_clear()


def get(name: str) -> Dataset:
    """The dataset called ``name``; a ParameterError lists the known names."""
    datasets = registry()
    if name not in datasets:
        raise ParameterError(f"unknown dataset {name!r}; known: {sorted(datasets)}")
    return datasets[name]


def _read(path: Path) -> pd.DataFrame:
    if path.name.endswith(".geo.parquet"):
        import geopandas

        return geopandas.read_parquet(path)
    return pd.read_parquet(path, engine="pyarrow")


def build(names: Iterable[str] | None = None, raw_dir: Path | None = None,
          out_dir: Path | None = None, progress: Callable[[str], None] | None = None
          ) -> list[Path]:
    """Build the bundled datasets from the raw source files.

    Parameters
    ----------
    names : datasets to build (default: all).
    raw_dir : folder of raw source files (default ``config.raw_dir()``).
    out_dir : where to write (default ``config.data_dir()``, or the dataset's own
        ``data_dir`` for a dataset shipped by another package).
    progress : called with each dataset's name before it is built.

    Returns
    -------
    The paths written.
    """
    raw_dir = Path(raw_dir or config.raw_dir())
    explicit = Path(out_dir) if out_dir else None
    out_dir = explicit or config.data_dir()
    chosen = [get(n) for n in names] if names else list(registry().values())
    written = []
    for dataset in chosen:
        if progress:
            progress(dataset.name)
        for relative in dataset.raw_inputs:
            if not (raw_dir / relative).exists():
                raise DataNotFoundError(
                    f"{raw_dir / relative}: raw input of dataset {dataset.name!r} not found")
        frame = dataset.build(raw_dir)
        if dataset.schema is not None:
            dataset.schema.validate(frame, source=f"{dataset.name} (built from {raw_dir})")
        target = dataset.path(explicit)
        write_atomic(target, lambda p, f=frame, t=target: _write_as(f, p, t))
        written.append(target)
    if explicit is not None or any(d.data_dir is None for d in chosen):
        write_sources(out_dir)  # not when only datasets kept in their own folders were built
    load.cache_clear()
    return written


def _write_as(frame: pd.DataFrame, temporary: Path, target: Path) -> None:
    # The temporary file has a random suffix; pick the writer from the target's name.
    if target.name.endswith(".geo.parquet"):
        frame.to_parquet(temporary, index=False)
    elif target.suffix == ".parquet":
        pd.DataFrame(frame).to_parquet(temporary, index=False, engine="pyarrow",
                                       compression="zstd")
    else:  # pragma: no cover - a programming error in a registration
        raise ValueError(f"{target}: bundled tables are Parquet files")


def sources_table(bundled_only: bool = False) -> pd.DataFrame:
    """Publisher, vintage, licence and citation of every registered dataset.

    ``bundled_only`` keeps the datasets that live in the project's data folder
    (``data_dir`` unset), the ones ``SOURCES.md`` describes.
    """
    rows = [{
        "name": d.name, "file": f"data/{d.filename}" if d.data_dir is None else str(d.path()),
        "title": d.title,
        "publisher": d.publisher, "vintage": d.vintage, "licence": d.licence,
        "citation": d.citation, "raw_inputs": "; ".join(d.raw_inputs),
        "rebuild": f"{BUILD_COMMAND} --only {d.name}", "notes": d.notes,
    } for d in registry().values() if d.data_dir is None or not bundled_only]
    return pd.DataFrame(rows)


def write_sources(out_dir: Path) -> None:
    """Write ``sources.csv`` and ``SOURCES.md`` describing every bundled dataset."""
    table = sources_table(bundled_only=True)
    write_atomic(out_dir / "sources.csv",
                 lambda p: table.to_csv(p, index=False, lineterminator="\n"))
    lines = ["# Bundled data: sources, vintages, licences", "",
             f"Every file here is built from the raw files by `{BUILD_COMMAND}`.",
             "Never edit these files by hand; rebuild them.", ""]
    for row in table.itertuples():
        lines += [f"## `{row.file}`: {row.title}", "",
                  f"- Publisher: {row.publisher}", f"- Vintage: {row.vintage}",
                  f"- Licence: {row.licence}", f"- Citation: {row.citation}",
                  f"- Built from: {row.raw_inputs}", f"- Rebuild: `{row.rebuild}`"]
        if row.notes:
            lines.append(f"- Notes: {row.notes}")
        lines.append("")
    write_text_atomic(out_dir / "SOURCES.md", "\n".join(lines))


def _missing_hint() -> str:
    """How to get a missing bundled file back: rebuild it in the checkout; elsewhere
    point ``RESEARCH_DATA_DIR`` at a data folder or reinstall the package."""
    if config.in_checkout() or os.environ.get("RESEARCH_DATA_DIR"):
        return f"rebuild it with `{BUILD_COMMAND}`"
    return ("the installed package ships it in research/_bundled/data: reinstall the "
            "package, or set RESEARCH_DATA_DIR to a folder of built data")


@lru_cache(maxsize=32)
def _load_cached(name: str, data_dir: str) -> pd.DataFrame:
    dataset = get(name)
    path = dataset.path(Path(data_dir))
    if not path.exists():
        raise DataNotFoundError(f"{path}: bundled dataset {name!r} is missing; {_missing_hint()}")
    frame = _read(path)
    record_input(name, path, config.data_dir())  # inside a report run: note the input
    if dataset.schema is not None:
        dataset.schema.validate(frame, source=str(path))
    return frame


def load(name: str, *, user: bool = True) -> pd.DataFrame:
    """Read the bundled dataset ``name`` and check its schema. Returns a copy.

    Parameters
    ----------
    name : registry name, e.g. ``"events"``.
    user : merge the user's own rows from ``RESEARCH_USER_DIR`` into the datasets
        that take them (``events``, ``hs_baskets``); ``False`` gives the bundled
        table alone.

    Examples
    --------
    >>> load("events", user=False)["event_id"].head(3).tolist()
    ['A1', 'A2', 'A3']
    """
    dataset = get(name)
    frame = _load_cached(name, str(dataset.data_dir or config.data_dir())).copy()
    folder = config.user_dir() if user else None
    if user and dataset.user_rows is not None:
        record_user_files(folder)  # a report run notes them
    if folder is not None and dataset.user_rows is not None:
        frame = dataset.user_rows(frame, folder)
    return frame


load.cache_clear = _load_cached.cache_clear  # type: ignore[attr-defined]
