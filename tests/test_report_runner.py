"""Report runner: a run folder per notebook, failures recorded, index lists every run."""

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from research.errors import ParameterError
from research.report.index import read_manifests
from research.report.runner import RunSpec, load_grid, run_all


def _notebook(path, cells):
    notebook = new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.cells = [new_code_cell(c) for c in cells]
    notebook.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(notebook, path)


@pytest.mark.slow
def test_success_and_failure_are_both_recorded(tmp_path, monkeypatch):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    monkeypatch.setenv("RESEARCH_NOTEBOOKS_DIR", str(notebooks))
    _notebook(notebooks / "ok.ipynb", [
        "x = 1",
        "from research.report.outputs import record_headline\n"
        "record_headline('x doubled', 2 * x, 1.0, 3.0)"])
    _notebook(notebooks / "bad.ipynb", ["x = 1", "y = 2", "raise ValueError('boom')"])
    reports = tmp_path / "reports"
    specs = [RunSpec("good", "ok.ipynb", {"x": 21}, "Good"),
             RunSpec("broken", "bad.ipynb", {}, "Broken")]
    manifests = run_all(specs, reports_dir=reports, jobs=1)
    good, broken = manifests
    assert good["status"] == "succeeded"
    assert good["headline"]["estimate"] == 42  # 2 * the injected x = 21
    assert (reports / "good" / "good.html").exists()
    assert (reports / "good" / "good.ipynb").exists()
    assert broken["status"] == "failed"
    # papermill counts cells after injecting its parameters cell; the failing cell's
    # source is the third code cell written above
    assert broken["error"]["source"] == "raise ValueError('boom')"
    assert broken["error"]["ename"] == "ValueError"
    assert "boom" in broken["error"]["traceback"]
    on_disk = json.loads((reports / "broken" / "manifest.json").read_text())
    assert on_disk["status"] == "failed"
    index = (reports / "index.html").read_text()
    assert 'href="good/good.html"' in index and 'class="failed"' in index
    assert [m["name"] for m in read_manifests(reports)] == ["broken", "good"]
    # no temporary folders remain
    assert sorted(p.name for p in reports.iterdir()) == ["broken", "good", "index.html"]


def test_grid_errors_name_the_file(tmp_path):
    grid = tmp_path / "reports.toml"
    grid.write_text('[[run]]\nname = "a"\n')
    with pytest.raises(ParameterError, match=r"reports.toml: run #1 lacks \['notebook'\]"):
        load_grid(grid)
    grid.write_text('[[run]]\nname = "a"\nnotebook = "x.ipynb"\n[[run]]\nname = "a"\n'
                    'notebook = "y.ipynb"\n')
    with pytest.raises(ParameterError, match="duplicate run names"):
        load_grid(grid)


def test_default_grid_covers_the_required_reports():
    specs = load_grid()
    events = {s.parameters.get("event_id") for s in specs if s.notebook == "ban_impact.ipynb"}
    assert {"B2", "B1", "A2"} <= events
    assert {s.notebook for s in specs} == {"trade_overview.ipynb", "ban_impact.ipynb",
                                          "japan_exposure.ipynb", "defense_spending.ipynb"}
