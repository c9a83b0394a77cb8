"""The dataset registry: names, paths, loading, sources table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from research import config, datasets
from research.errors import DataNotFoundError, ParameterError, SchemaError


def test_every_module_registers_and_every_bundled_file_exists() -> None:
    names = list(datasets.registry())
    assert len(names) == len(set(names))
    for module in datasets.source_modules():
        assert module.DATASETS, module.__name__
    for dataset in datasets.registry().values():
        assert dataset.path().is_file(), f"{dataset.path()}: rebuild with the data build"
        assert dataset.path() == config.data_dir() / dataset.filename


def test_get_unknown_lists_names() -> None:
    with pytest.raises(ParameterError, match=r"unknown dataset 'event'.*'events'"):
        datasets.get("event")


def test_load_checks_schema_and_returns_a_copy() -> None:
    first = datasets.load("events")
    first.loc[0, "measure"] = "changed"
    assert datasets.load("events").loc[0, "measure"] != "changed"


def test_sources_table_matches_sources_csv() -> None:
    written = pd.read_csv(config.data_dir() / "sources.csv", dtype=str, keep_default_na=False)
    table = datasets.sources_table(bundled_only=True).fillna("")
    assert written["name"].tolist() == table["name"].tolist()
    assert (written["rebuild"] == "research data build --raw ../shared/data/raw --only "
            + written["name"]).all()


def test_missing_and_corrupt_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESEARCH_DATA_DIR", str(tmp_path))
    datasets.load.cache_clear()
    with pytest.raises(DataNotFoundError, match="events.parquet.*research data build"):
        datasets.load("events")
    # a table that breaks its schema: an event id the bundled pattern refuses
    bundled = pd.read_parquet(config.REPO_ROOT / "data" / "reference" / "events.parquet")
    bundled.loc[0, "event_id"] = "Z1"
    (tmp_path / "reference").mkdir()
    bundled.to_parquet(tmp_path / "reference" / "events.parquet", index=False)
    with pytest.raises(SchemaError, match=r"events.parquet: row 0: field 'event_id': value 'Z1'"):
        datasets.load("events")
    datasets.load.cache_clear()


def test_own_data_dir(tmp_path: Path) -> None:
    dataset = datasets.get("events")
    moved = datasets.Dataset(**{**dataset.__dict__, "data_dir": tmp_path})
    assert moved.path() == tmp_path / "reference" / "events.parquet"
    assert moved.path(Path("/x")) == Path("/x/reference/events.parquet")


@pytest.mark.slow
@pytest.mark.shared
@pytest.mark.parametrize("name", list(datasets.registry()))
def test_rebuild_equals_committed(name: str, raw_dir: Path, tmp_path: Path) -> None:
    """Every bundled table rebuilds from the raw files byte for byte (data/SOURCES.md)."""
    [written] = datasets.build(names=[name], raw_dir=raw_dir, out_dir=tmp_path)
    assert written.read_bytes() == datasets.get(name).path().read_bytes()
