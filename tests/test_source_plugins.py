"""Third-party data sources join the registry through the ``research.sources`` entry point.

The worked example is the package in ``tests/plugin_example``. Instead of pip-installing
it into a virtual environment (slow), each test writes the ``.dist-info`` folder pip
would write (``METADATA`` and an ``entry_points.txt`` generated from the example's own
``pyproject.toml``) into a temporary folder on ``sys.path``; ``importlib.metadata``
finds installed distributions exactly that way.
"""

from __future__ import annotations

import shutil
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from research import datasets
from research.errors import PluginError

EXAMPLE = Path(__file__).parent / "plugin_example"
PACKAGE = "research_hs_sections"


def install(site: Path, name: str, entry_points: dict[str, str]) -> None:
    """Write the dist-info of distribution ``name`` with ``research.sources`` entry points."""
    info = site / f"{name.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n",
                                   encoding="utf-8")
    lines = [f"[{datasets.ENTRY_POINT_GROUP}]"] + [f"{k} = {v}" for k, v in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty site-packages folder on sys.path; caches are cleared before and after."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    datasets.refresh()
    yield folder
    for module in [m for m in sys.modules if m.startswith((PACKAGE, "broken_source"))]:
        del sys.modules[module]
    monkeypatch.undo()
    datasets.refresh()


def install_example(site: Path) -> None:
    shutil.copytree(EXAMPLE / PACKAGE, site / PACKAGE)
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    install(site, project["name"], project["entry-points"][datasets.ENTRY_POINT_GROUP])


def test_builtin_modules_come_first() -> None:
    names = [module.__name__ for module in datasets.source_modules()]
    assert names[:len(datasets.SOURCE_MODULES)] == list(datasets.SOURCE_MODULES)


@pytest.mark.shared
def test_example_plugin_registers_builds_and_loads(site: Path, raw_dir: Path) -> None:
    install_example(site)
    modules = [module.__name__ for module in datasets.source_modules()]
    assert modules[-1] == PACKAGE
    dataset = datasets.get("hs_sections")
    assert dataset.data_dir == site / PACKAGE / "data"
    # it is listed, with its own folder, but not written into the project's SOURCES.md
    listed = datasets.sources_table().set_index("name")
    assert listed.loc["hs_sections", "file"] == str(site / PACKAGE / "data" / "hs_sections.parquet")
    assert "hs_sections" not in set(datasets.sources_table(bundled_only=True)["name"])

    [written] = datasets.build(names=["hs_sections"], raw_dir=raw_dir)
    assert written == site / PACKAGE / "data" / "hs_sections.parquet"
    sections = datasets.load("hs_sections")
    # sections.csv: 21 sections (PROVENANCE: "section,name, 21 sections", UTF-8 BOM)
    assert len(sections) == 21 and sections["section"].iloc[0] == "I"
    row = sections.set_index("section")
    # WCO HS2022 structure: Section XV "Base metals" is chapters 72-83, XXI is chapter 97
    assert row.loc["XV", "name"] == "Base metals and articles of base metal"
    assert (row.loc["XV", "number"], row.loc["XV", "chapters"]) == (15, "72-83")
    assert (row.loc["XXI", "number"], row.loc["XXI", "chapters"]) == (21, "97")
    # the file reader the plugin exposes reads the same file
    module = sys.modules[PACKAGE]
    frame = module.FILE_READERS["hs_sections"](raw_dir / "trade/hs_nomenclature/sections.csv")
    pd.testing.assert_series_equal(frame["name"], sections["name"])
    # and `research data read hs_sections PATH` finds it through the same registry
    from research import readers

    assert PACKAGE in readers.reader_modules()
    via_registry = readers.read_file("hs_sections", raw_dir / "trade/hs_nomenclature/sections.csv")
    pd.testing.assert_frame_equal(via_registry, frame)


def test_broken_entry_point_names_itself(site: Path) -> None:
    install(site, "broken-source", {"broken": "broken_source_missing_module"})
    with pytest.raises(PluginError, match=r"'broken'.*broken-source.*cannot import"):
        datasets.registry()


def test_module_without_datasets_is_refused(site: Path) -> None:
    (site / "broken_source_empty.py").write_text("X = 1\n", encoding="utf-8")
    install(site, "broken-source", {"empty": "broken_source_empty"})
    with pytest.raises(PluginError, match="needs a DATASETS list"):
        datasets.source_modules()


def test_duplicate_dataset_name_is_refused(site: Path) -> None:
    (site / "broken_source_clash.py").write_text(
        "from research.reference.events import DATASETS\n", encoding="utf-8")
    install(site, "broken-source", {"clash": "broken_source_clash"})
    with pytest.raises(PluginError, match=r"'events' registered twice.*broken_source_clash"):
        datasets.registry()
