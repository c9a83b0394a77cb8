"""Report runner: a run folder per notebook, failures recorded, index lists every run."""

import json
import os

import nbformat
import pytest
from helpers import write_notebook
from typer.testing import CliRunner

from research import config
from research.cli import app
from research.errors import ParameterError
from research.files import sha256_file
from research.report.index import read_manifests
from research.report.runner import (
    SCHEDULER_VARIABLE,
    RunSpec,
    dask_scheduler,
    load_grid,
    notebook_content_sha256,
    run_all,
)

# Reads the bundled events table (so the run has one recorded input) and records which
# process started its kernel (the runner's process, a pool worker or a Dask worker).
EVENTS_CELLS = [
    'event_id = "B2"\nx = 1',
    "import os\nfrom research import datasets\n"
    "from research.report.outputs import record_headline, save_table\n"
    "events = datasets.load('events')\n"
    "row = save_table(events[events['event_id'] == event_id][['event_id', 'basket']], 'row')\n"
    "record_headline('x doubled', 2 * x, kernel_parent=os.getppid(),\n"
    "                blas_threads=os.environ.get('OPENBLAS_NUM_THREADS'))",
]


@pytest.mark.slow
def test_success_and_failure_are_both_recorded(tmp_path, monkeypatch):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    monkeypatch.setenv("RESEARCH_NOTEBOOKS_DIR", str(notebooks))
    monkeypatch.delenv("RESEARCH_USER_DIR", raising=False)
    write_notebook(notebooks / "ok.ipynb", EVENTS_CELLS)
    write_notebook(notebooks / "bad.ipynb", ["x = 1", "y = 2", "raise ValueError('boom')"])
    reports = tmp_path / "reports"
    specs = [RunSpec("good", "ok.ipynb", {"x": 21, "event_id": "B1"}, "Good"),
             RunSpec("broken", "bad.ipynb", {}, "Broken")]
    manifests = run_all(specs, reports_dir=reports, jobs=1)
    good, broken = manifests
    assert good["status"] == "succeeded"
    assert good["headline"]["estimate"] == 42  # 2 * the injected x = 21
    assert good["headline"]["kernel_parent"] == os.getpid()  # jobs=1 runs in this process
    assert (reports / "good" / "good.html").exists()
    assert (reports / "good" / "good.ipynb").exists()
    # B1 (gallium and germanium licensing) is one row of the events registry
    assert (reports / "good" / "tables" / "row.csv").read_text().splitlines()[1].startswith("B1,")
    # exactly the one file the notebook read, with the hash of the file on disk, and the
    # (absent) user files merged into events: the sha256 of nothing, the well-known
    # e3b0c442...b855
    events = config.data_dir() / "reference" / "events.parquet"
    assert good["inputs"] == {
        "reference/events.parquet": sha256_file(events),
        "$RESEARCH_USER_DIR": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}
    assert good["notebook_content_sha256"] == notebook_content_sha256(notebooks / "ok.ipynb")
    assert broken["inputs"] == {}
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
    # no temporary folders or input notes remain, and no absolute temporary path is kept
    assert sorted(p.name for p in reports.iterdir()) == ["broken", "good", "index.html"]
    assert not (reports / "good" / ".inputs.jsonl").exists()
    executed = (reports / "good" / "good.ipynb").read_text()
    assert str(reports) not in executed and str(tmp_path) not in executed


@pytest.mark.slow
def test_dask_cluster_runs_the_grid_and_reports_failures(tmp_path, monkeypatch):
    from distributed import Client, LocalCluster

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    monkeypatch.delenv("RESEARCH_USER_DIR", raising=False)
    write_notebook(notebooks / "ok.ipynb", EVENTS_CELLS)
    write_notebook(notebooks / "bad.ipynb", ["x = 1", "raise ValueError('boom')"])
    grid = tmp_path / "grid.toml"
    grid.write_text('[[run]]\nname = "b1"\nnotebook = "ok.ipynb"\n'
                    'parameters = { event_id = "B1", x = 2 }\n'
                    '[[run]]\nname = "broken"\nnotebook = "bad.ipynb"\n'
                    '[[run]]\nname = "b2"\nnotebook = "ok.ipynb"\n'
                    'parameters = { event_id = "B2", x = 3 }\n')
    reports = tmp_path / "reports"
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        worker_pids = set(client.run(os.getpid).values())
        # the notebooks folder is passed to the workers, not read from their environment
        monkeypatch.setenv("RESEARCH_NOTEBOOKS_DIR", str(notebooks))
        monkeypatch.setenv(SCHEDULER_VARIABLE, cluster.scheduler_address)
        result = CliRunner().invoke(app, ["report", "run", "--grid", str(grid),
                                          "--out", str(reports)])
    assert result.exit_code == 1, result.output  # one run failed
    output = " ".join(result.output.split())  # the console wraps long lines
    assert f"Dask scheduler {cluster.scheduler_address}" in output
    assert "broken failed" in output and "ValueError: boom" in output
    manifests = {m["name"]: m for m in read_manifests(reports)}
    assert sorted(manifests) == ["b1", "b2", "broken"]
    assert manifests["broken"]["status"] == "failed"
    for name, x in (("b1", 2), ("b2", 3)):
        assert manifests[name]["status"] == "succeeded"
        assert manifests[name]["headline"]["estimate"] == 2 * x
        # the kernel was started by a Dask worker process, not by this one
        assert manifests[name]["headline"]["kernel_parent"] in worker_pids
        # two one-thread workers on this host: each kernel gets half of its cores
        assert manifests[name]["headline"]["blas_threads"] == str(max(1, os.cpu_count() // 2))
        assert list(manifests[name]["inputs"]) == ["$RESEARCH_USER_DIR",
                                                   "reference/events.parquet"]
    assert 'href="b2/b2.html"' in (reports / "index.html").read_text()


def test_scheduler_comes_from_the_option_then_the_environment(monkeypatch):
    monkeypatch.delenv(SCHEDULER_VARIABLE, raising=False)
    assert dask_scheduler() is None
    monkeypatch.setenv(SCHEDULER_VARIABLE, "tcp://10.0.0.5:8786")
    assert dask_scheduler() == "tcp://10.0.0.5:8786"
    assert dask_scheduler("tcp://127.0.0.1:8786") == "tcp://127.0.0.1:8786"


def test_notebook_hash_ignores_outputs_and_metadata(tmp_path):
    path = tmp_path / "n.ipynb"
    write_notebook(path, ["x = 1", "print(x)"])
    before = notebook_content_sha256(path)
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    notebook.cells[1].execution_count = 7
    notebook.metadata["widgets"] = {"state": {}}
    nbformat.write(notebook, path)
    assert notebook_content_sha256(path) == before
    notebook.cells[1].source = "print(x + 1)"
    nbformat.write(notebook, path)
    assert notebook_content_sha256(path) != before
    path.write_text("{not json")
    with pytest.raises(ParameterError, match="n.ipynb: not a readable notebook"):
        notebook_content_sha256(path)


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
    assert {s.notebook for s in specs} >= {"trade_overview.ipynb", "ban_impact.ipynb",
                                          "japan_exposure.ipynb", "defense_spending.ipynb"}


def test_a_crashed_run_is_recorded_as_failed_and_the_rest_go_on(tmp_path, monkeypatch):
    import research.report.runner as runner

    reports = tmp_path / "reports"
    (reports / "lost").mkdir(parents=True)
    (reports / "lost" / "manifest.json").write_text('{"name": "lost", "status": "succeeded"}')
    (reports / ".lost.abcd1234").mkdir()  # the temporary folder a dead worker left behind
    done = []

    def fake_run_one(spec, *arguments):
        if spec.name == "lost":
            raise RuntimeError("worker died")
        return {"name": spec.name, "status": "succeeded"}

    monkeypatch.setattr(runner, "run_one", fake_run_one)
    specs = [RunSpec("lost", "a.ipynb", {"x": 1}, "Lost"), RunSpec("fine", "b.ipynb")]
    manifests = run_all(specs, reports_dir=reports, jobs=1, on_done=done.append)
    assert [m["status"] for m in manifests] == ["failed", "succeeded"]
    assert [m["name"] for m in done] == ["lost", "fine"]
    on_disk = json.loads((reports / "lost" / "manifest.json").read_text())
    assert on_disk["status"] == "failed" and on_disk["parameters"] == {"x": 1}
    assert on_disk["error"]["ename"] == "RuntimeError"
    assert "worker died" in on_disk["error"]["traceback"]
    assert sorted(p.name for p in reports.iterdir()) == ["index.html", "lost"]


def test_pooled_kernels_share_the_cores(monkeypatch):
    from research.report.runner import blas_threads

    monkeypatch.setattr("os.cpu_count", lambda: 8)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    assert blas_threads(2) == {"OPENBLAS_NUM_THREADS": "4", "OMP_NUM_THREADS": "4",
                               "MKL_NUM_THREADS": "4"}  # 8 cores / 2 kernels
    assert blas_threads(16)["OMP_NUM_THREADS"] == "1"  # never below one thread
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's setting is kept
    assert blas_threads(2)["OMP_NUM_THREADS"] == "3"
