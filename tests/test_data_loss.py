"""Issue 11, nothing lost: the user's input, the reports folder, the last good report and
earlier pulls survive hostile or failing commands.

Each hostile case asserts the named error, the exit code and, by hash snapshots of a
sandbox tree before and after, that nothing outside the output changed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from sandbox import snapshot
from typer.testing import CliRunner

from research import cli
from research.readers import file_readers
from research.report import runner
from research.report.index import write_index
from research.report.regenerate import stale_reasons
from research.report.runner import FAILURE_FILE, RunSpec, run_all, run_one

EXPORT_HTML = runner._html
USER_DOWNLOAD = "Period,Reporter,Partner,Value\n2024,CHN,JPN,1\n"


def invoke(*args: object):
    return CliRunner().invoke(cli.app, [str(a) for a in args])


def output_of(result) -> str:
    return " ".join(result.output.split())  # the console wraps long lines


# --- data read: never over the input, never into a folder ------------------------------------

def _same_file_variants(folder: Path) -> list[tuple[Path, Path]]:
    """(input, --out) pairs that name one file: same path, ./ path, absolute, a symbolic
    link and a hard link to it."""
    source = folder / "t.csv"
    (folder / "link.csv").symlink_to(source)
    os.link(source, folder / "hard.csv")
    return [(source, source), (source, folder / "." / "t.csv"), (source, source.absolute()),
            (source, folder / "link.csv"), (source, folder / "hard.csv"),
            (folder / "link.csv", source)]


@pytest.mark.parametrize("reader", sorted(file_readers()))
def test_data_read_refuses_to_overwrite_its_input(tmp_path: Path, reader: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "t.csv").write_text(USER_DOWNLOAD)
    monkeypatch.chdir(tmp_path)
    for source, out in [(Path("t.csv"), Path("t.csv")), *_same_file_variants(tmp_path)]:
        before = snapshot(tmp_path)
        result = invoke("data", "read", reader, source, "--out", out)
        assert result.exit_code == 1, (reader, out, result.output)
        assert "is the input file" in output_of(result)
        assert snapshot(tmp_path) == before  # the download is untouched, nothing written
        assert (tmp_path / "t.csv").read_text() == USER_DOWNLOAD


@pytest.mark.parametrize("out", ["folder.csv", "folder.parquet"])
def test_data_read_out_folder_is_a_named_error(tmp_path: Path, out: str) -> None:
    (tmp_path / "t.csv").write_text(USER_DOWNLOAD)
    (tmp_path / out).mkdir()
    (tmp_path / out / "keep.txt").write_text("kept")
    before = snapshot(tmp_path)
    result = invoke("data", "read", "comtrade", tmp_path / "t.csv", "--out", tmp_path / out)
    assert result.exit_code == 1, result.output
    assert "is a folder" in output_of(result) and "Traceback" not in result.output
    assert snapshot(tmp_path) == before


# --- the reports folder and the last good report -------------------------------------------

@pytest.fixture
def reports_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A notebooks folder with ``card.ipynb`` and a reports folder with one good run."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]),
                   notebooks / "card.ipynb")
    monkeypatch.setenv("RESEARCH_NOTEBOOKS_DIR", str(notebooks))
    monkeypatch.delenv("RESEARCH_USER_DIR", raising=False)
    return tmp_path


def fake_papermill(monkeypatch: pytest.MonkeyPatch, fail: BaseException | None) -> None:
    """papermill.execute_notebook without a kernel: copies the notebook and saves a table
    in the run folder, or raises ``fail``."""
    import papermill

    def execute(input_path, output_path, **_):
        if fail is not None:
            raise fail
        nbformat.write(nbformat.read(input_path, as_version=4), output_path)
        tables = Path(output_path).parent / "tables"
        tables.mkdir()
        (tables / "t.csv").write_text("a\n1\n")

    monkeypatch.setattr(papermill, "execute_notebook", execute)


def _good_run(reports: Path, notebooks: Path, monkeypatch) -> dict:
    fake_papermill(monkeypatch, None)
    manifest = run_one(RunSpec("card", "card.ipynb", {}, "Card"), reports, notebooks)
    assert manifest["status"] == "succeeded"
    return manifest


@pytest.mark.parametrize("name", [".", "", "..", "./", "../reports"])
def test_a_run_named_dot_leaves_the_reports_folder(reports_sandbox: Path, name: str,
                                                   monkeypatch) -> None:
    reports = reports_sandbox / "reports"
    _good_run(reports, reports_sandbox / "notebooks", monkeypatch)
    write_index(reports)
    grid = reports_sandbox / "grid.toml"
    grid.write_text(f'[[run]]\nname = {json.dumps(name)}\nnotebook = "card.ipynb"\n')
    before = snapshot(reports_sandbox)
    for command in ("run", "regenerate"):
        result = invoke("report", command, "--grid", grid, "--out", reports, "--jobs", "1")
        assert result.exit_code == 1, result.output
        assert "is not a valid run name" in output_of(result)
        assert snapshot(reports_sandbox) == before  # nothing renamed, nothing deleted


FAILURES = [
    pytest.param(OSError(28, "No space left on device"), id="full-disk"),
    pytest.param("cell", id="failing-cell"),
    pytest.param("html", id="html-export-fails"),
]


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_rerun_keeps_the_last_good_report(reports_sandbox: Path, failure,
                                                   monkeypatch) -> None:
    from papermill.exceptions import PapermillExecutionError

    reports, notebooks = reports_sandbox / "reports", reports_sandbox / "notebooks"
    good = _good_run(reports, notebooks, monkeypatch)
    kept = {o: (reports / "card" / o).read_bytes() for o in good["outputs"]}
    assert {"card.html", "card.ipynb", "tables/t.csv"} <= set(kept)
    if failure == "cell":
        fake_papermill(monkeypatch, PapermillExecutionError(
            1, 1, "raise ValueError('boom')", "ValueError", "boom", ["ValueError: boom"]))
    elif failure == "html":
        fake_papermill(monkeypatch, None)

        def broken_html(*_):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(runner, "_html", broken_html)
    else:
        fake_papermill(monkeypatch, failure)
    before = snapshot(reports_sandbox, outside=(reports,))
    [failed] = run_all([RunSpec("card", "card.ipynb", {}, "Card")], reports_dir=reports,
                       notebooks_dir=notebooks)
    assert failed["status"] == "failed"
    folder = reports / "card"
    # every output of the good run is still there, byte for byte (the manifest aside)
    for output, content in kept.items():
        if output != "manifest.json":
            assert (folder / output).read_bytes() == content, output
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "succeeded"
    assert manifest["last_failure"]["ename"] == failed["error"]["ename"]
    recorded = json.loads((folder / FAILURE_FILE).read_text())
    assert recorded["status"] == "failed" and recorded["error"] == failed["error"]
    # the index shows both: the good report's links and the failure
    index = (reports / "index.html").read_text()
    assert 'href="card/card.html"' in index and "last rerun failed" in index
    assert 'href="card/failure.json"' in index
    # regenerate reruns it, and says why
    reasons = stale_reasons(RunSpec("card", "card.ipynb", {}, "Card"), manifest,
                            reports_dir=reports, notebooks_dir=notebooks)
    assert reasons and reasons[0].startswith("last rerun failed")
    assert not [p for p in reports.iterdir() if p.name.startswith(".")]  # no leftovers
    assert snapshot(reports_sandbox, outside=(reports,)) == before
    # a later success replaces it all, the failure record included
    fake_papermill(monkeypatch, None)
    monkeypatch.setattr(runner, "_html", EXPORT_HTML)
    assert run_one(RunSpec("card", "card.ipynb", {}, "Card"), reports,
                   notebooks)["status"] == "succeeded"
    assert not (folder / FAILURE_FILE).exists()
    assert "last_failure" not in json.loads((folder / "manifest.json").read_text())


def test_a_crashed_worker_keeps_the_last_good_report(reports_sandbox: Path,
                                                     monkeypatch) -> None:
    reports, notebooks = reports_sandbox / "reports", reports_sandbox / "notebooks"
    good = _good_run(reports, notebooks, monkeypatch)

    def crash(spec, *arguments):
        raise RuntimeError("worker died")

    monkeypatch.setattr(runner, "run_one", crash)
    [failed] = run_all([RunSpec("card", "card.ipynb", {}, "Card")], reports_dir=reports)
    assert failed["status"] == "failed"
    assert all((reports / "card" / o).is_file() for o in good["outputs"])
    manifest = json.loads((reports / "card" / "manifest.json").read_text())
    assert manifest["status"] == "succeeded"
    assert manifest["last_failure"]["ename"] == "RuntimeError"


def test_a_failed_first_run_is_still_shown_as_failed(reports_sandbox: Path,
                                                     monkeypatch) -> None:
    """With no good report to keep, the failed run's folder is what there is."""
    reports, notebooks = reports_sandbox / "reports", reports_sandbox / "notebooks"
    fake_papermill(monkeypatch, OSError(28, "No space left on device"))
    [failed] = run_all([RunSpec("card", "card.ipynb")], reports_dir=reports,
                       notebooks_dir=notebooks)
    manifest = json.loads((reports / "card" / "manifest.json").read_text())
    assert failed["status"] == manifest["status"] == "failed"
    assert not (reports / "card" / FAILURE_FILE).exists()


# --- data pull: pulls in a row add up ------------------------------------------------------

def test_two_pulls_in_a_row_keep_both_partners(api_sandbox, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from test_refresh import ANSWERS, JPN, KOR, Transport

    api_sandbox(Transport())
    monkeypatch.setenv("COMTRADE_API_KEY", "test-key")
    common = ["data", "pull", "--hs", "250410", "--hs", "380110", "--start", "2025-01",
              "--end", "2025-01"]
    for partner in ("JPN", "KOR"):
        result = invoke(*common, "--partner", partner)
        assert result.exit_code == 0, result.output
    monthly = pd.read_parquet(tmp_path / "updated" / "trade" / "china_exports_monthly.parquet")
    new = monthly[monthly["period"].eq(pd.Timestamp("2025-01-01"))
                  & monthly["product_level"].eq("hs6")]
    # the fake API answers 2025-01 for JPN (250410, 380110) and KOR (250410 only)
    expected = {("JPN", code): value for (period, code, partner), (value, _) in ANSWERS.items()
                if period == "202501" and partner == JPN}
    expected |= {("KOR", code): value for (period, code, partner), (value, _) in ANSWERS.items()
                 if period == "202501" and partner == KOR}
    found = {(row.partner_iso3, row.product): row.value_usd for row in new.itertuples()}
    assert found == expected
    manifest = json.loads((tmp_path / "updated" / "UPDATED.json").read_text())
    assert len(manifest["history"]) == 1  # the first pull's notes are kept
    # a third pull repeating the first changes nothing it already held
    again = invoke(*common, "--partner", "JPN")
    assert again.exit_code == 0, again.output
    after = pd.read_parquet(tmp_path / "updated" / "trade" / "china_exports_monthly.parquet")
    pd.testing.assert_frame_equal(after, monthly)
