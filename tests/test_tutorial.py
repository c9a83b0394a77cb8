"""The tutorial notebook runs on the bundled data and does what its text says."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from research import config

NOTEBOOK = config.REPO_ROOT / "notebooks" / "tutorial.ipynb"
BUILDER = config.REPO_ROOT / "docs" / "build_tutorial.py"


def outputs(notebook: nbformat.NotebookNode) -> str:
    """All text the executed cells printed or displayed."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output["text"])
            elif "data" in output:
                parts.append(output["data"].get("text/plain", ""))
            elif output.get("output_type") == "error":
                parts.append("\n".join(output["traceback"]))
    return "\n".join(parts)


def test_notebook_matches_its_builder(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("build_tutorial", BUILDER)
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    target = builder.main(tmp_path / "tutorial.ipynb")
    assert target.read_text(encoding="utf-8") == NOTEBOOK.read_text(encoding="utf-8"), \
        "notebooks/tutorial.ipynb is stale: run python docs/build_tutorial.py"
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "user_dir" in tagged[0].source
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")


@pytest.mark.slow
def test_tutorial_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import papermill

    folder = tmp_path / "mine"
    executed = tmp_path / "tutorial.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(executed), parameters={"user_dir": str(folder)},
                               cwd=str(tmp_path), kernel_name="python3", progress_bar=False)
    text = outputs(nbformat.read(executed, as_version=4))
    # the files it wrote are valid user files, seen by the registry
    assert sorted(p.name for p in folder.iterdir()) == [
        "TradeData_graphite_JPN_2023.csv", "graphite_announcement.toml", "japan_2026.yaml"]
    monkeypatch.setenv("RESEARCH_USER_DIR", str(folder))
    from research.reference import baskets, events

    watch = events.get_event("U_JP_WATCHLIST_2026")
    assert watch["effective"] == pd.Timestamp("2026-02-24") and watch["targets"] == "JPN"
    graphite = events.get_event("U_GRAPHITE_ANN")
    # B2's pages (TIMELINE_NOTES.md row B2) are cited by the user event
    assert graphite["source_urls"] == events.get_event("B2")["source_urls"]
    assert baskets.basket_codes("ree_downstream") == ["284690", "850511"]
    # what the text promises to show
    assert "34 bundled events; 36 with yours" in text
    assert "germanium.yaml:3: field 'hs6': value '811230': unknown HS code" in text
    assert ("event U_JP_WATCHLIST_2026 (2026-02) is after the last month of the trade data "
            "(2024-12)") in text
    assert "values read back equal the bundled ones: True" in text
    # bundled monthly table, 250410 to JPN: Oct 2023 4,472,675 USD, Nov 12,245,802, Dec 7,003:
    # Nov/Oct - 1 = +173.8%, Dec/Nov - 1 = -99.94%
    assert "Nov 2023 vs Oct: +174%, Dec vs Nov: -99.9%" in text
    assert "U_GRAPHITE_ANN (announced)" in text and "2023-10" in text
    assert "Traceback" not in text
