"""Registry of the bundled datasets: how each is built, where it lives, how to cite it.

Each source module declares ``DATASETS``, a list of :class:`Dataset`. The data
build (``research data build --raw DIR``) calls every dataset's ``build``
function on the raw files, checks the result against its schema, writes it
atomically under ``data/`` and rewrites ``data/SOURCES.md`` and
``data/sources.csv``. :func:`load` reads a bundled table back and checks it again.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from research import config
from research.errors import DataNotFoundError, ParameterError
from research.files import write_atomic, write_text_atomic
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
    "research.reference.dual_use",
)

BUILD_COMMAND = "research data build --raw ../shared/data/raw"


@dataclass(frozen=True)
class Dataset:
    """A bundled table: its file, its build function and its citation."""

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

    def path(self, data_dir: Path | None = None) -> Path:
        """Where the bundled file lives."""
        return (data_dir or config.data_dir()) / self.filename


@lru_cache(maxsize=1)
def registry() -> dict[str, Dataset]:
    """All registered datasets by name."""
    found: dict[str, Dataset] = {}
    for module_name in SOURCE_MODULES:
        module = importlib.import_module(module_name)
        for dataset in module.DATASETS:
            if dataset.name in found:
                raise ValueError(f"dataset {dataset.name!r} registered twice")
            found[dataset.name] = dataset
    return found


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
    out_dir : where to write (default ``config.data_dir()``).
    progress : called with each dataset's name before it is built.

    Returns
    -------
    The paths written.
    """
    raw_dir = Path(raw_dir or config.raw_dir())
    out_dir = Path(out_dir or config.data_dir())
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
        target = dataset.path(out_dir)
        write_atomic(target, lambda p, f=frame, t=target: _write_as(f, p, t))
        written.append(target)
    write_sources(out_dir)
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


def sources_table() -> pd.DataFrame:
    """Publisher, vintage, licence and citation of every bundled dataset."""
    rows = [{
        "name": d.name, "file": f"data/{d.filename}", "title": d.title,
        "publisher": d.publisher, "vintage": d.vintage, "licence": d.licence,
        "citation": d.citation, "raw_inputs": "; ".join(d.raw_inputs),
        "rebuild": f"{BUILD_COMMAND} --only {d.name}", "notes": d.notes,
    } for d in registry().values()]
    return pd.DataFrame(rows)


def write_sources(out_dir: Path) -> None:
    """Write ``sources.csv`` and ``SOURCES.md`` describing every dataset."""
    table = sources_table()
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


@lru_cache(maxsize=32)
def _load_cached(name: str, data_dir: str) -> pd.DataFrame:
    dataset = get(name)
    path = dataset.path(Path(data_dir))
    if not path.exists():
        raise DataNotFoundError(
            f"{path}: bundled dataset {name!r} is missing; rebuild it with `{BUILD_COMMAND}`")
    frame = _read(path)
    if dataset.schema is not None:
        dataset.schema.validate(frame, source=str(path))
    return frame


def load(name: str) -> pd.DataFrame:
    """Read the bundled dataset ``name`` and check its schema. Returns a copy."""
    return _load_cached(name, str(config.data_dir())).copy()


load.cache_clear = _load_cached.cache_clear  # type: ignore[attr-defined]
