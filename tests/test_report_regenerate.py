"""Changed-only regeneration: reruns exactly the runs whose inputs changed, and why."""

import json
import shutil

import pandas as pd
import pytest
from helpers import write_notebook
from typer.testing import CliRunner

import research
from research import config
from research.cli import app
from research.files import sha256_file
from research.report.outputs import USER_FILES_INPUT, user_files_sha256
from research.report.regenerate import (
    Decision,
    plan,
    plan_table,
    read_manifest,
    regenerate,
    stale_reasons,
)
from research.report.runner import (
    MANIFEST_VERSION,
    TIME_FIELDS,
    RunSpec,
    notebook_content_sha256,
    without_times,
)

EVENT_CELLS = [
    'event_id = "B2"\nx = 1',
    "import pandas as pd\nfrom research import datasets\n"
    "from research.report.outputs import record_headline, save_table\n"
    "events = datasets.load('events')\n"
    "save_table(events[events['event_id'] == event_id][['event_id', 'basket']], 'row')\n"
    "save_table(pd.DataFrame({'v': [1 / 3, 0.1 + 0.2, x / 7]}), 'floats')\n"
    "record_headline('x doubled', 2 * x)",
]
MILEX_CELLS = [
    'country = "JPN"',
    "from research import datasets\nfrom research.report.outputs import save_table\n"
    "milex = datasets.load('sipri_milex')\n"
    "save_table(milex[milex['iso3'] == country].head(3), 'rows')",
]


# sha256 of no bytes at all (FIPS 180-2 test vector for the empty message)
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
# a user event in the form research.reference.user_files documents
USER_EVENTS = """events:
  - event_id: U_JP_WATCHLIST_2026
    announced: 2026-02-24
    effective: 2026-02-24
    event_type: entity listing
    targets: [JPN]
    basket: [dual_use_catalogue]
    authority: MOFCOM
    measure: Japanese entities added to the export control watch list.
    source_urls: [https://www.mofcom.gov.cn/]
"""


def _grid(path, x):
    path.write_text(f'[[run]]\nname = "ev"\nnotebook = "ev.ipynb"\n'
                    f'parameters = {{ event_id = "B1", x = {x} }}\n'
                    '[[run]]\nname = "milex"\nnotebook = "milex.ipynb"\n'
                    'parameters = { country = "JPN" }\n')


def _snapshot(reports):
    return {p.relative_to(reports).as_posix(): p.read_bytes()
            for p in sorted(reports.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path, monkeypatch):
    """Notebooks, a grid and a copy of the bundled data in tmp_path."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write_notebook(notebooks / "ev.ipynb", EVENT_CELLS)
    write_notebook(notebooks / "milex.ipynb", MILEX_CELLS)
    data = tmp_path / "data"
    shutil.copytree(config.data_dir(), data)
    monkeypatch.setenv("RESEARCH_NOTEBOOKS_DIR", str(notebooks))
    monkeypatch.setenv("RESEARCH_DATA_DIR", str(data))
    monkeypatch.delenv("RESEARCH_USER_DIR", raising=False)
    grid = tmp_path / "grid.toml"
    _grid(grid, 2)
    return tmp_path


@pytest.mark.slow
def test_only_changed_runs_rerun_and_outputs_are_deterministic(project, monkeypatch):
    reports, grid = project / "reports", project / "grid.toml"
    cli = CliRunner()

    def run(*extra):
        result = cli.invoke(app, ["report", "regenerate", "--grid", str(grid),
                                  "--out", str(reports), "--jobs", "1", *extra])
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())  # the console wraps long lines

    output = run()
    assert "rerun ev: no previous run" in output and "rerun milex: no previous run" in output
    ev = read_manifest(reports, "ev")
    assert ev["inputs"] == {  # no user folder: the user files hash as nothing (sha256 of b"")
        "reference/events.parquet": sha256_file(project / "data/reference/events.parquet"),
        USER_FILES_INPUT: EMPTY_SHA256}
    # stable float format, 12 significant digits: 1/3, 0.1 + 0.2 = 0.30000000000000004
    # and x / 7 = 2 / 7 = 0.285714285714...
    assert (reports / "ev/tables/floats.csv").read_text() == (
        "v\n0.333333333333\n0.3\n0.285714285714\n")
    first = _snapshot(reports)

    # nothing changed: a no-op that writes nothing
    output = run()
    assert "up to date ev" in output and "all 2 runs up to date" in output
    assert _snapshot(reports) == first

    # a parameter changed: only that run reruns
    _grid(grid, 3)
    output = run()
    assert "rerun ev: parameters changed: x" in output and "up to date milex" in output
    after = _snapshot(reports)
    assert {k for k in after if after[k] != first.get(k)} >= {"ev/manifest.json"}
    assert all(after[k] == first[k] for k in first if k.startswith("milex/"))
    assert read_manifest(reports, "ev")["headline"]["estimate"] == 6  # 2 * x = 2 * 3

    # a data file changed (same rows, another compression): only the run reading it reruns
    milex_file = project / "data/defense/sipri_milex.parquet"
    pd.read_parquet(milex_file).to_parquet(milex_file, index=False, compression="gzip")
    ev_before = (reports / "ev/manifest.json").read_bytes()
    output = run()
    assert "rerun milex: input changed: defense/sipri_milex.parquet" in output
    assert "up to date ev" in output
    assert (reports / "ev/manifest.json").read_bytes() == ev_before
    assert read_manifest(reports, "milex")["inputs"] == {
        "defense/sipri_milex.parquet": sha256_file(milex_file)}

    # the user's own events (RESEARCH_USER_DIR) are merged into events: only ev reruns
    user = project / "user"
    user.mkdir()
    (user / "mine.yaml").write_text(USER_EVENTS)
    monkeypatch.setenv("RESEARCH_USER_DIR", str(user))
    output = run()
    assert "rerun ev: input changed: $RESEARCH_USER_DIR" in output
    assert "up to date milex" in output
    inputs = read_manifest(reports, "ev")["inputs"]
    assert inputs[USER_FILES_INPUT] == user_files_sha256(user) != EMPTY_SHA256
    # checking the user file read the HS codes and the catalogue too: recorded as well
    assert {"reference/hs6_codes.parquet", "reference/dual_use_catalogue_hs6.parquet",
            "reference/events.parquet"} <= set(inputs)

    # forced: same inputs give the same manifests apart from the time fields and the
    # same tables, notebooks' HTML and headline files byte for byte
    before = _snapshot(reports)
    manifests = {n: read_manifest(reports, n) for n in ("ev", "milex")}
    output = run("--force")
    assert "rerun ev: --force" in output
    for name, old in manifests.items():
        new = read_manifest(reports, name)
        assert without_times(new) == without_times(old)
        assert new["started"] and new["finished"]
    again = _snapshot(reports)
    for key in before:  # run files; index.html shows the finishing times
        if "/" in key and key.endswith((".csv", ".html", "headline.json")):
            assert again[key] == before[key], key


def _fake_run(project, spec, replace: bool = False, **changes):
    """A manifest as the runner writes it for ``spec``, with the outputs on disk."""
    folder = project / "reports" / spec.name
    (folder / "tables").mkdir(parents=True, exist_ok=replace)
    (folder / "tables" / "row.csv").write_text("event_id,basket\nB1,gallium\n")
    for page in (f"{spec.name}.html", f"{spec.name}.ipynb"):  # the page the index links
        (folder / page).write_text("{}")
    events = project / "data/reference/events.parquet"
    manifest = {
        "manifest_version": MANIFEST_VERSION, "name": spec.name, "title": spec.title,
        "notebook": spec.notebook, "parameters": spec.parameters,
        "notebook_content_sha256": notebook_content_sha256(project / "notebooks/ev.ipynb"),
        "inputs": {"reference/events.parquet": sha256_file(events)},
        "package_version": research.__version__, "status": "succeeded", "error": None,
        "outputs": [f"{spec.name}.html", f"{spec.name}.ipynb", "tables/row.csv"],
        **{k: None for k in TIME_FIELDS}, **changes}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return manifest


def test_plan_explains_every_reason(project, monkeypatch):
    reports = project / "reports"
    spec = RunSpec("ev", "ev.ipynb", {"event_id": "B1", "x": 2}, "Event")
    other = RunSpec("new", "ev.ipynb", {}, "New")
    _fake_run(project, spec)
    decisions = plan([spec, other], reports)
    assert decisions == [Decision("ev"), Decision("new", ("no previous run",))]
    assert not decisions[0].rerun and decisions[1].rerun
    table = plan_table(decisions)
    assert table["action"].tolist() == ["up to date", "rerun"]
    assert [d.reasons for d in plan([spec], reports, force=True)] == [("--force",)]

    changed = RunSpec("ev", "ev.ipynb", {"event_id": "B2", "x": 2, "y": 1}, "Event v2")
    write_notebook(project / "notebooks/ev.ipynb", [*EVENT_CELLS, "print('more')"])
    (project / "data/reference/events.parquet").write_bytes(b"changed")
    (reports / "ev/tables/row.csv").unlink()
    installed = research.__version__
    monkeypatch.setattr(research, "__version__", "9.9.9")
    reasons = stale_reasons(changed, read_manifest(reports, "ev"), reports_dir=reports)
    assert reasons == ["notebook ev.ipynb changed", "parameters changed: event_id, y",
                       "title changed", f"package version {installed} -> 9.9.9",
                       "input changed: reference/events.parquet",
                       "output missing: tables/row.csv"]
    (project / "data/reference/events.parquet").unlink()
    assert "input missing: reference/events.parquet" in stale_reasons(
        changed, read_manifest(reports, "ev"), reports_dir=reports)


def test_failed_and_old_runs_always_rerun(project):
    reports = project / "reports"
    spec = RunSpec("ev", "ev.ipynb", {"event_id": "B1", "x": 2}, "Event")
    error = {"cell_index": 2, "ename": "ValueError", "evalue": "boom"}
    _fake_run(project, spec, status="failed", error=error)
    assert plan([spec], reports)[0].reasons == ("last run failed (cell 2: ValueError)",)
    early = {"cell_index": None, "ename": "ParameterError", "evalue": "unknown parameter"}
    _fake_run(project, spec, status="failed", error=early, replace=True)
    assert plan([spec], reports)[0].reasons == (
        "last run failed (before the notebook ran: ParameterError)",)
    (reports / "ev/manifest.json").write_text(json.dumps({"name": "ev", "status": "succeeded",
                                                          "inputs": {"data/x.parquet": "0"}}))
    assert plan([spec], reports)[0].reasons == (
        "manifest written by an older runner (no record of the files read)",)
    (reports / "ev/manifest.json").write_text("{truncated")
    (reason,) = plan([spec], reports)[0].reasons  # reruns, naming the file and the problem
    assert reason.startswith(f"corrupt manifest ({reports / 'ev/manifest.json'}: unreadable "
                             "or not JSON (JSONDecodeError")
    (reports / "ev/manifest.json").write_text(json.dumps({"name": "ev", "error": "boom"}))
    assert plan([spec], reports)[0].reasons == (
        f"corrupt manifest ({reports / 'ev/manifest.json'}: field 'error' = 'boom' is not "
        "a dict)",)


def test_nothing_to_rerun_writes_only_a_missing_index(project):
    reports = project / "reports"
    spec = RunSpec("ev", "ev.ipynb", {"event_id": "B1", "x": 2}, "Event")
    _fake_run(project, spec)
    decisions, manifests = regenerate([spec], reports)
    assert manifests == [] and not decisions[0].rerun
    assert 'href="ev/ev.html"' in (reports / "index.html").read_text()


def test_user_files_count_as_an_input(project, monkeypatch):
    reports = project / "reports"
    spec = RunSpec("ev", "ev.ipynb", {"event_id": "B1", "x": 2}, "Event")
    _fake_run(project, spec, inputs={USER_FILES_INPUT: EMPTY_SHA256})
    assert not plan([spec], reports)[0].rerun
    user = project / "user"
    user.mkdir()
    monkeypatch.setenv("RESEARCH_USER_DIR", str(user))
    assert not plan([spec], reports)[0].rerun  # an empty folder adds no rows either
    (user / "mine.yaml").write_text(USER_EVENTS)
    assert plan([spec], reports)[0].reasons == ("input changed: $RESEARCH_USER_DIR",)
    monkeypatch.setenv("RESEARCH_USER_DIR", str(project / "gone"))
    assert plan([spec], reports)[0].reasons == ("input missing: $RESEARCH_USER_DIR",)
