"""Issue 11, hostile input to the estimators and the report commands, and concurrency.

The same conventions as ``test_hostile_inputs.py``: each case asserts the named error
(a ResearchError subclass whose message names the file or table, the column and the
value), the exit code of the command a user would type, and, by hash snapshots of a
sandbox before and after, that nothing outside the command's output changed. The
classes: no silent wrong output (estimators check their panels: repeated unit-period
rows, a treated flag that varies within a unit, cells that are not numbers), no raw
traceback (unparsable dates, constant series, unknown columns, an ``--out`` that is a
folder, a read-only reports folder, markup in a message; ``--debug`` shows the
traceback), and concurrency on a reports folder (a lock naming its holder, stale locks
taken over, leftovers of killed runs cleaned only when their owner is gone, the umask).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from sandbox import add_bystanders, flat, invoke, named_failure, snapshot

from research.errors import (
    EstimationError,
    PanelError,
    ParameterError,
    ResearchError,
)
from research.estimate.did import callaway_santanna
from research.estimate.event_study import event_study
from research.estimate.its import interrupted_time_series
from research.estimate.synth import synthetic_control
from research.report import lock as report_lock
from research.report.lock import (
    LOCK_FILE,
    ReportsLockedError,
    host_id,
    remove_leftovers,
    reports_lock,
    temporary_prefix,
)
from research.report.runner import RunSpec, run_all, run_one


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path with a bystander file and folder beside the input and the output."""
    add_bystanders(tmp_path)
    (tmp_path / "inputs").mkdir()
    monkeypatch.delenv("RESEARCH_USER_DIR", raising=False)
    monkeypatch.delenv("RESEARCH_LOCK_WAIT", raising=False)
    monkeypatch.setenv("RESEARCH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path



# --- seed panels: clean tables each case damages in one place -------------------------------

def event_panel() -> pd.DataFrame:
    """6 destinations x 30 months (2021-01 to 2023-06); d0-d2 treated from 2022-07."""
    rng = np.random.default_rng(11)
    months = pd.date_range("2021-01-01", periods=30, freq="MS").strftime("%Y-%m-%d")
    return pd.DataFrame([{"dest": f"d{u}", "month": m, "value": float(rng.poisson(100)),
                          "treated": int(u < 3)} for u in range(6) for m in months])


def did_panel() -> pd.DataFrame:
    """8 units x 2010-2017; units 0-2 first treated 2014, 3-4 in 2016, the rest never."""
    rng = np.random.default_rng(12)
    cohorts = [2014, 2014, 2014, 2016, 2016, 0, 0, 0]
    return pd.DataFrame([{"unit": u, "year": y, "y": float(rng.normal(10, 1)),
                          "first": cohorts[u]} for u in range(8) for y in range(2010, 2018)])


def its_series() -> pd.DataFrame:
    """72 months from 2018-01 of a noisy positive flow (intervention 2023-01)."""
    rng = np.random.default_rng(13)
    months = pd.date_range("2018-01-01", periods=72, freq="MS").strftime("%Y-%m-%d")
    return pd.DataFrame({"month": months, "value": (100 + rng.normal(0, 5, 72)).round(1)})


def synth_panel() -> pd.DataFrame:
    """5 countries x 2010-2021 (numbers as years)."""
    rng = np.random.default_rng(14)
    return pd.DataFrame([{"country": c, "year": y, "imports": float(rng.normal(50, 5))}
                         for c in ("JPN", "KOR", "DEU", "USA", "FRA")
                         for y in range(2010, 2022)])


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c: object for c in frame.columns})


def damaged(frame: pd.DataFrame, row: int, column: str, value: object) -> pd.DataFrame:
    out = as_text(frame)
    out.loc[row, column] = value
    return out


def repeated(frame: pd.DataFrame, row: int) -> pd.DataFrame:
    return pd.concat([frame, frame.iloc[[row]]], ignore_index=True)


def varying_flag(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.loc[3, "treated"] = 0  # d0 is treated in its other 29 months
    return out


def constant(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(value=5.0)


ES = ["estimate", "event-study", "--outcome", "value", "--unit", "dest", "--time", "month",
      "--treated", "treated"]
ITS = ["estimate", "its", "--outcome", "value", "--time", "month"]
SYNTH = ["estimate", "synth", "--unit", "country", "--time", "year", "--outcome", "imports",
         "--treated-unit", "JPN"]
DID = ["estimate", "did", "--outcome", "y", "--unit", "unit", "--time", "year",
       "--cohort", "first"]

# (case id, command, table, options after the file, regex the message must match)
CLI_CASES = [
    # no silent wrong output: the panel is checked before anything is fitted
    ("event-study-repeated-row", ES, repeated(event_panel(), 40), ["--event", "2022-07-01"],
     r"es\.csv: column 'dest, month': value \{'dest': 'd1', 'month': '2021-11-01'\}: "
     r"2 rows repeat"),
    ("event-study-treated-varies", ES, varying_flag(event_panel()), ["--event", "2022-07-01"],
     r"es\.csv: column 'treated': varies within unit dest='d0' \(values \[False, True\]"),
    ("event-study-treated-yes", ES, damaged(event_panel(), 7, "treated", "yes"),
     ["--event", "2022-07-01"], r"es\.csv: row 9: field 'treated': value 'yes'"),
    ("event-study-treated-2", ES, damaged(event_panel(), 7, "treated", 2),
     ["--event", "2022-07-01"], r"row 9: field 'treated': value '2'"),
    ("event-study-outcome-letter-o", ES, damaged(event_panel(), 5, "value", "12O45.3"),
     ["--event", "2022-07-01"], r"es\.csv: row 7: column 'value': value '12O45.3': not a number"),
    ("event-study-outcome-inf", ES, damaged(event_panel(), 5, "value", "inf"),
     ["--event", "2022-07-01"], r"row 7: column 'value': value 'inf': not a finite number"),
    ("event-study-month-words", ES, damaged(event_panel(), 5, "month", "June"),
     ["--event", "2022-07-01"], r"row 7: field 'month': value 'June': not an ISO date"),
    ("event-study-month-1600", ES, damaged(event_panel(), 5, "month", "1600-01-01"),
     ["--event", "2022-07-01"], r"field 'month': value '1600-01-01'"),
    ("its-letter-o", ITS, damaged(its_series(), 7, "value", "12O45.3"),
     ["--intervention", "2023-01-01"], r"its\.csv: row 9: column 'value': value '12O45.3': "
                                       r"not a number"),
    ("its-comma-decimal", ITS, damaged(its_series(), 0, "value", "101,5"),
     ["--intervention", "2023-01-01"], r"row 2: column 'value': value '101,5'"),
    ("its-minus-inf", ITS, damaged(its_series(), 3, "value", "-inf"),
     ["--intervention", "2023-01-01"], r"row 5: column 'value': value '-inf': not a finite"),
    ("its-repeated-month", ITS, damaged(its_series(), 4, "month", "2018-04-01"),
     ["--intervention", "2023-01-01"], r"its\.csv: column 'month': value \{'month': "
                                       r"'2018-04-01'\}: 2 rows repeat"),
    ("did-repeated-row", DID, repeated(did_panel(), 9), [],
     r"column 'unit, year': value \{'unit': 1, 'year': 2011\}: 2 rows repeat"),
    ("did-cohort-varies", DID, damaged(did_panel(), 0, "first", 2015), [],
     r"column 'first': varies within unit unit=0 \(values \[2014\.0, 2015\.0\]"),
    ("did-outcome-letter-o", DID, damaged(did_panel(), 3, "y", "1O.5"), [],
     r"column 'y': value '1O.5': not a number"),
    ("synth-repeated-row", SYNTH, repeated(synth_panel(), 2), ["--intervention", "2018"],
     r"column 'country, year': value \{'country': 'JPN', 'year': 2012\}: 2 rows repeat"),
    ("synth-outcome-letter-o", SYNTH, damaged(synth_panel(), 2, "imports", "5O"),
     ["--intervention", "2018"], r"column 'imports': value '5O': not a number"),
    # no raw traceback: dates, singular fits, unknown columns, markup
    ("event-study-event-month-13", ES, event_panel(), ["--event", "2022-13-45"],
     r"--event='2022-13-45' is not a date"),
    ("event-study-event-words", ES, event_panel(), ["--event", "next spring"],
     r"--event='next spring' is not a date"),
    ("event-study-event-1600", ES, event_panel(), ["--event", "1600-01-01"],
     r"--event='1600-01-01' is not a date"),
    ("event-study-event-9999", ES, event_panel(), ["--event", "9999-12-31"],
     r"--event='9999-12-31' is not a date"),
    ("event-study-unknown-column", [*ES[:3], "volume", *ES[4:]], event_panel(),
     ["--event", "2022-07-01"], r"es\.csv: field 'volume': no such column; columns: "
                                r"\['dest', 'month', 'value', 'treated'\]"),
    ("its-intervention-words", ITS, its_series(), ["--intervention", "notadate"],
     r"--intervention='notadate' is not a date"),
    ("its-intervention-month-13", ITS, its_series(), ["--intervention", "2023-13-01"],
     r"--intervention='2023-13-01' is not a date"),
    ("its-intervention-9999", ITS, its_series(), ["--intervention", "9999-01-01"],
     r"--intervention='9999-01-01' is not a date"),
    ("its-constant-log", ITS, constant(its_series()), ["--intervention", "2023-01-01"],
     r"series value: constant at 5 over the 60 pre-intervention months"),
    ("its-constant-levels", ITS, constant(its_series()),
     ["--intervention", "2023-01-01", "--no-log"], r"constant at 5 .* singular"),
    ("its-unknown-column", [*ITS[:3], "flow", *ITS[4:]], its_series(),
     ["--intervention", "2023-01-01"], r"field 'flow': no such column; columns: "
                                       r"\['month', 'value'\]"),
    ("synth-unknown-unit-column", [*SYNTH[:3], "nope", *SYNTH[4:]], synth_panel(),
     ["--intervention", "2018"], r"synth\.csv: field 'nope': no such column; columns: "
                                 r"\['country', 'year', 'imports'\]"),
    ("synth-unknown-time-column", [*SYNTH[:5], "period", *SYNTH[6:]], synth_panel(),
     ["--intervention", "2018"], r"field 'period': no such column"),
    ("synth-unknown-outcome", [*SYNTH[:7], "exports", *SYNTH[8:]], synth_panel(),
     ["--intervention", "2018"], r"field 'exports': no such column"),
    ("synth-markup-column", [*SYNTH[:3], "[/]", *SYNTH[4:]], synth_panel(),
     ["--intervention", "2018"], r"field '\[/\]': no such column"),
    ("synth-intervention-words", SYNTH, synth_panel().assign(
        year=lambda f: f["year"].astype(str) + "-01-01"), ["--intervention", "20x2-01-01"],
     r"--intervention='20x2-01-01' is not a date"),
    ("did-unknown-column", [*DID[:3], "emp", *DID[4:]], did_panel(), [],
     r"column 'emp': no such column"),
]
FILE_NAMES = {"event-study": "es.csv", "its": "its.csv", "synth": "synth.csv", "did": "did.csv"}


@pytest.mark.filterwarnings("ignore::research.errors.ResearchWarning")
@pytest.mark.parametrize(("command", "table", "options", "message"),
                         [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_estimate_command(sandbox: Path, command: list[str], table: pd.DataFrame,
                          options: list[str], message: str) -> None:
    path = sandbox / "inputs" / FILE_NAMES[command[1]]
    table.to_csv(path, index=False)
    before = snapshot(sandbox)
    result = invoke(*command[:2], path, *command[2:], *options)
    named_failure(result)
    assert re.search(message, flat(result.output)), flat(result.output)
    assert snapshot(sandbox) == before  # an estimate writes nothing


def test_the_clean_seed_files_estimate(sandbox: Path) -> None:
    """The seeds fit: each case above fails for its one damage, not for the seed."""
    files = {"es.csv": event_panel(), "did.csv": did_panel(), "synth.csv": synth_panel()}
    for name, table in files.items():
        table.to_csv(sandbox / "inputs" / name, index=False)
    before = snapshot(sandbox)
    for command, name, options in ((ES, "es.csv", ["--event", "2022-07-01"]),
                                   (DID, "did.csv", []),
                                   (SYNTH, "synth.csv", ["--intervention", "2018"])):
        result = invoke(*command[:2], sandbox / "inputs" / name, *command[2:], *options,
                        "--json")
        assert result.exit_code == 0, result.output
    assert snapshot(sandbox) == before


# --- the estimators themselves: the same checks without the command line ---------------------

def _es(panel: pd.DataFrame, **kwargs) -> None:
    event_study(panel, **{"outcome": "value", "unit": "dest", "time": "month",
                          "treated": "treated", "event": "2022-07-01", **kwargs})


LIBRARY_CASES = [
    ("event-study-repeated-row", lambda: _es(repeated(event_panel(), 40)), PanelError,
     r"panel: column 'dest, month': value \{'dest': 'd1', 'month': '2021-11-01'\}"),
    ("event-study-treated-varies", lambda: _es(varying_flag(event_panel())), PanelError,
     r"column 'treated': varies within unit dest='d0'"),
    ("event-study-treated-not-a-flag", lambda: _es(event_panel().assign(treated=2)),
     PanelError, r"row 0: column 'treated': value 2"),
    ("event-study-outcome-letter-o", lambda: _es(damaged(event_panel(), 5, "value",
                                                          "12O45.3")),
     PanelError, r"row 5: column 'value': value '12O45.3': not a number"),
    ("event-study-event-month-13", lambda: _es(event_panel(), event="2022-13-01"),
     ParameterError, r"event='2022-13-01' is not a date"),
    ("event-study-unknown-cluster", lambda: _es(event_panel(), cluster="region"), PanelError,
     r"column 'region': no such column"),
    ("did-repeated-row", lambda: callaway_santanna(
        repeated(did_panel(), 9), outcome="y", unit="unit", time="year", cohort="first"),
     PanelError, r"2 rows repeat a \(unit, year\) pair"),
    ("did-outcome-text", lambda: callaway_santanna(
        damaged(did_panel(), 3, "y", "n/a"), outcome="y", unit="unit", time="year",
        cohort="first"), PanelError, r"row 3: column 'y': value 'n/a'"),
    ("did-cluster-splits-a-unit", lambda: callaway_santanna(
        did_panel().assign(region=lambda f: f.index % 2), outcome="y", unit="unit",
        time="year", cohort="first", cluster="region"), PanelError,
     r"column 'region': varies within unit unit=0.*clusters must contain whole units"),
    ("synth-unknown-column", lambda: synthetic_control(
        synth_panel(), unit="iso3", time="year", outcome="imports", treated_unit="JPN",
        intervention=2018), PanelError,
     r"column 'iso3': no such column; columns: \['country', 'year', 'imports'\]"),
    ("synth-text-periods-date-intervention", lambda: synthetic_control(
        synth_panel().assign(year=lambda f: f["year"].astype(str)), unit="country",
        time="year", outcome="imports", treated_unit="JPN", intervention="2018-01-01"),
     PanelError, r"column 'year': periods of type (object|str) cannot be compared"),
    ("its-letter-o", lambda: interrupted_time_series(
        pd.Series(its_series()["value"].astype(object).where(lambda s: s.index != 7,
                                                             "12O45.3").to_numpy(),
                  index=pd.DatetimeIndex(its_series()["month"]), name="graphite"),
        "2023-01-01"), PanelError,
     r"series graphite: row 2018-08-01.*column 'value': value '12O45.3'"),
    ("its-constant", lambda: interrupted_time_series(
        pd.Series(5.0, index=pd.date_range("2018-01-01", periods=72, freq="MS"),
                  name="flat"), "2023-01-01"), EstimationError,
     r"series flat: constant at 5 over the 60 pre-intervention months"),
    ("its-intervention-words", lambda: interrupted_time_series(
        pd.Series(1.0, index=pd.date_range("2018-01-01", periods=72, freq="MS")),
        "someday"), ParameterError, r"intervention='someday' is not a date"),
]


@pytest.mark.filterwarnings("ignore::research.errors.ResearchWarning")
@pytest.mark.parametrize(("call", "error", "message"), [c[1:] for c in LIBRARY_CASES],
                         ids=[c[0] for c in LIBRARY_CASES])
def test_estimator(call, error: type, message: str) -> None:
    with pytest.raises(error) as caught:
        call()
    assert re.search(message, str(caught.value)), str(caught.value)


def test_its_exactly_periodic_series_is_a_named_singular_fit(sandbox: Path) -> None:
    """Not constant, but nothing left after seasonal differencing: the SARIMAX fit is
    singular (statsmodels' LinAlgError), named instead of a traceback."""
    months = pd.date_range("2018-01-01", periods=72, freq="MS")
    table = pd.DataFrame({"month": months.strftime("%Y-%m-%d"),
                          "value": np.tile(np.arange(1.0, 13.0), 6)})
    path = sandbox / "inputs" / "its.csv"
    table.to_csv(path, index=False)
    before = snapshot(sandbox)
    result = invoke(*ITS[:2], path, *ITS[2:], "--intervention", "2023-01-01", "--no-log")
    if result.exit_code == 0:  # statsmodels fitted it (a zero-variance model): no traceback
        assert "Traceback" not in result.output
    else:
        named_failure(result)
        assert re.search(r"singular|constant", flat(result.output)), result.output
    assert snapshot(sandbox) == before


# --- global error handling: --debug, markup, warnings -----------------------------------------

def test_debug_shows_the_traceback(sandbox: Path) -> None:
    path = sandbox / "inputs" / "its.csv"
    its_series().to_csv(path, index=False)
    result = invoke("--debug", *ITS[:2], path, *ITS[2:], "--intervention", "notadate")
    assert result.exit_code == 1
    assert isinstance(result.exception, ParameterError), result.exception  # not swallowed
    assert "error:" not in result.output


def test_an_uncaught_research_error_is_one_line(sandbox: Path, monkeypatch) -> None:
    """A ResearchError a command forgot to catch still becomes 'error:' and exit 1."""
    from research import datasets

    def broken():
        raise ResearchError("bundled table [bold]x[/bold]: damaged")

    monkeypatch.setattr(datasets, "sources_table", broken)
    before = snapshot(sandbox)
    result = invoke("data", "list")
    named_failure(result)
    assert "bundled table [bold]x[/bold]: damaged" in flat(result.output)  # markup as text
    assert snapshot(sandbox) == before
    result = invoke("--debug", "data", "list")
    assert isinstance(result.exception, ResearchError)


def test_ppml_collinear_regressor_is_a_note_not_an_error(sandbox: Path) -> None:
    rng = np.random.default_rng(15)
    table = pd.DataFrame({"i": rng.integers(0, 8, 200), "j": rng.integers(0, 8, 200),
                          "x1": rng.normal(size=200)})
    table["x2"] = 2 * table["x1"]  # collinear with x1
    table["y"] = rng.poisson(np.exp(1 + 0.3 * table["x1"]))
    path = sandbox / "inputs" / "ppml.csv"
    table.to_csv(path, index=False)
    before = snapshot(sandbox)
    result = invoke("estimate", "ppml", path, "--formula", "y ~ x1 + x2 | i + j")
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "Note: Regressor(s) ['x2'] omitted" in text
    assert "warning: regressor(s) ['x2'] omitted" in text  # a line, not Python's warning form
    assert "CollinearityWarning" not in text
    assert snapshot(sandbox) == before


# --- report commands: --out a file or folder, a read-only reports folder -------------------------

@pytest.fixture
def reports_sandbox(sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A notebooks folder with ``card.ipynb``, a grid running it, papermill without a
    kernel (copies the notebook, saves a table), and a reports folder with one good run."""
    import papermill

    notebooks = sandbox / "notebooks"
    notebooks.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]),
                   notebooks / "card.ipynb")
    monkeypatch.setenv("RESEARCH_NOTEBOOKS_DIR", str(notebooks))
    (sandbox / "grid.toml").write_text('[[run]]\nname = "card"\nnotebook = "card.ipynb"\n')

    def execute(input_path, output_path, **_):
        nbformat.write(nbformat.read(input_path, as_version=4), output_path)
        tables = Path(output_path).parent / "tables"
        tables.mkdir()
        (tables / "t.csv").write_text("a\n1\n")

    monkeypatch.setattr(papermill, "execute_notebook", execute)
    result = invoke("report", "run", "--grid", sandbox / "grid.toml", "--out",
                    sandbox / "reports", "--jobs", "1")
    assert result.exit_code == 0, result.output
    return sandbox


def report_run(sandbox: Path, out: Path, *extra: object):
    return invoke("report", "run", "--grid", sandbox / "grid.toml", "--out", out,
                  "--jobs", "1", *extra)


def test_report_pdf_out_is_a_folder(reports_sandbox: Path) -> None:
    before = snapshot(reports_sandbox)
    result = invoke("report", "pdf", "card", "--reports", reports_sandbox / "reports",
                    "--out", reports_sandbox / "bystander")
    named_failure(result)
    assert re.search(r"--out '.*bystander' is a folder", flat(result.output))
    assert snapshot(reports_sandbox) == before


@pytest.mark.parametrize("command", ["run", "regenerate"])
def test_reports_out_is_a_file(reports_sandbox: Path, command: str) -> None:
    before = snapshot(reports_sandbox)
    result = invoke("report", command, "--grid", reports_sandbox / "grid.toml", "--out",
                    reports_sandbox / "victim.txt", "--jobs", "1")
    named_failure(result)
    assert re.search(r"victim\.txt: (the reports folder is a file|.*Not a directory)",
                     flat(result.output)), result.output
    assert snapshot(reports_sandbox) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_reports_folder(reports_sandbox: Path) -> None:
    folder = reports_sandbox / "reports"
    before = snapshot(reports_sandbox)
    folder.chmod(0o555)
    try:
        result = report_run(reports_sandbox, folder)
    finally:
        folder.chmod(0o755)
    named_failure(result)
    assert "the reports folder is not writable" in flat(result.output)
    assert snapshot(reports_sandbox) == before


@pytest.mark.parametrize("where", ["access", "lock-file"])
def test_read_only_reports_folder_simulated(reports_sandbox: Path, monkeypatch,
                                            where: str) -> None:
    """The same as root, who may write anywhere: the folder refuses the lock file (EROFS,
    a read-only file system) or access() says it is not writable."""
    folder = reports_sandbox / "reports"
    if where == "access":
        monkeypatch.setattr(report_lock, "_writable", lambda *_: False)
        expected = r"reports: the reports folder is not writable"
    else:
        def read_only(*_args, **_kwargs):
            raise OSError(30, "Read-only file system")  # what os.open(O_EXCL) raises

        monkeypatch.setattr(report_lock, "_create", read_only)
        expected = r"cannot create the lock file of the reports folder: Read-only file system"
    before = snapshot(reports_sandbox)
    result = report_run(reports_sandbox, folder)
    named_failure(result)
    assert re.search(expected, flat(result.output)), result.output
    assert snapshot(reports_sandbox) == before


def test_reports_folder_that_cannot_be_created(reports_sandbox: Path) -> None:
    before = snapshot(reports_sandbox)
    result = report_run(reports_sandbox, reports_sandbox / "victim.txt" / "reports")
    named_failure(result)
    assert "cannot create the reports folder" in flat(result.output)
    assert snapshot(reports_sandbox) == before


# --- concurrency: one writer per reports folder ---------------------------------------------------

def _lock_record(pid: int, host: str | None = None, token: str = "t") -> str:
    return json.dumps({"pid": pid, "host": host or socket.gethostname(),
                       "started": "2024-01-01T00:00:00+00:00",
                       "command": "research report run", "token": token})


def _dead_pid() -> int:
    """The id of a process that has exited (started and reaped here)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def live_process():
    """A sleeping child process of this test (ended by its own id afterwards)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield child
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=10)


def test_a_live_lock_is_reported_with_its_pid(reports_sandbox: Path, live_process) -> None:
    folder = reports_sandbox / "reports"
    (folder / LOCK_FILE).write_text(_lock_record(live_process.pid))
    before = snapshot(reports_sandbox)
    for command in ("run", "regenerate"):
        extra = ["--force"] if command == "regenerate" else []
        result = invoke("report", command, *extra, "--grid", reports_sandbox / "grid.toml",
                        "--out", folder, "--jobs", "1", "--wait", "0.3")
        named_failure(result)
        text = flat(result.output)
        assert f"in use by process {live_process.pid} on {socket.gethostname()}" in text
        assert "since 2024-01-01T00:00:00+00:00 (research report run); waited 0.3 s" in text
        assert snapshot(reports_sandbox) == before  # the holder's lock and reports untouched
    with pytest.raises(ReportsLockedError) as caught:
        run_all([RunSpec("card", "card.ipynb")], reports_dir=folder)
    assert caught.value.holder.pid == live_process.pid
    live_process.send_signal(signal.SIGTERM)  # the holder dies: its lock is stale now
    live_process.wait(timeout=10)
    result = report_run(reports_sandbox, folder)
    assert result.exit_code == 0, result.output
    assert not (folder / LOCK_FILE).exists()


def test_a_stale_lock_with_a_dead_pid_is_taken_over(reports_sandbox: Path) -> None:
    folder = reports_sandbox / "reports"
    (folder / LOCK_FILE).write_text(_lock_record(_dead_pid()))
    result = report_run(reports_sandbox, folder)
    assert result.exit_code == 0, result.output
    assert not (folder / LOCK_FILE).exists()  # taken over, then released


def test_a_lock_from_another_host_is_never_taken_over(reports_sandbox: Path) -> None:
    folder = reports_sandbox / "reports"
    (folder / LOCK_FILE).write_text(_lock_record(_dead_pid(), host="build-7.example"))
    before = snapshot(reports_sandbox)
    result = report_run(reports_sandbox, folder)
    named_failure(result)
    assert "in use by process" in flat(result.output)
    assert "on build-7.example" in flat(result.output)
    assert snapshot(reports_sandbox) == before


def test_a_garbled_lock_counts_as_held_while_fresh(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / LOCK_FILE).write_text("")  # its writer is between create and write
    with pytest.raises(ReportsLockedError, match="a run whose lock file is being written"):
        with reports_lock(tmp_path, wait=0):
            pass
    monkeypatch.setattr(report_lock, "UNREADABLE_GRACE_SECONDS", 0.0)
    time.sleep(0.01)
    with reports_lock(tmp_path, wait=0) as me:  # older than the grace period: stale
        assert me.pid == os.getpid()
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_second_run_waits_for_the_first(tmp_path: Path) -> None:
    """Two threads: the second waits (up to --wait) and proceeds once the first is done;
    without waiting it is refused with the first one's pid."""
    order: list[str] = []
    held = threading.Event()

    def first() -> None:
        with reports_lock(tmp_path, wait=0):
            order.append("first in")
            held.set()
            time.sleep(0.6)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    held.wait(10)
    with pytest.raises(ReportsLockedError, match=f"process {os.getpid()} "):
        with reports_lock(tmp_path, wait=0):
            pass
    with reports_lock(tmp_path, wait=30):
        order.append("second in")
    thread.join()
    assert order == ["first in", "first out", "second in"]


def test_nested_locks_in_one_thread_hold_one_lock(tmp_path: Path) -> None:
    with reports_lock(tmp_path, wait=0) as outer:
        with reports_lock(tmp_path, wait=0):  # a regenerate inside an update
            pass
        assert report_lock.read_holder(tmp_path / LOCK_FILE).token == outer.token
    assert not (tmp_path / LOCK_FILE).exists()


LOCKED_WORK = """
import sys, time
from pathlib import Path
from research.report.lock import reports_lock
folder, log = Path(sys.argv[1]), Path(sys.argv[2])
for _ in range(3):
    with reports_lock(folder, wait=60):
        with log.open("a") as f:
            f.write("in\\n")
        time.sleep(0.15)
        with log.open("a") as f:
            f.write("out\\n")
"""


def test_two_processes_never_hold_the_folder_at_once(tmp_path: Path) -> None:
    folder, log = tmp_path / "reports", tmp_path / "log.txt"
    workers = [subprocess.Popen([sys.executable, "-c", LOCKED_WORK, str(folder), str(log)])
               for _ in range(2)]
    for worker in workers:
        assert worker.wait(timeout=120) == 0
    lines = log.read_text().split()
    assert lines == ["in", "out"] * 6  # strictly alternating: never two holders
    assert not (folder / LOCK_FILE).exists()


KILLED_RUN = """
import os, signal, sys
from pathlib import Path
from research.files import make_temp_dir
from research.report.lock import reports_lock, temporary_prefix
folder = Path(sys.argv[1])
with reports_lock(folder, wait=0):
    work = make_temp_dir(folder, temporary_prefix("card"))
    (work / "card.ipynb").write_text("half written")
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_later_run_cleans_what_a_killed_run_left(reports_sandbox: Path) -> None:
    folder = reports_sandbox / "reports"
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, str(folder)], check=False)
    assert killed.returncode == -signal.SIGKILL
    leftovers = [p for p in folder.iterdir() if p.name.startswith(".card.")]
    assert len(leftovers) == 1 and (folder / LOCK_FILE).exists()
    mine = folder / f"{temporary_prefix('card')}abcdefgh"  # a live owner: this process
    mine.mkdir()
    elsewhere = folder / f".card.{host_id('build-7.example')}-1.abcdefgh"
    elsewhere.mkdir()
    legacy = folder / ".card.k2j4h5g6"  # no owner recorded: never guessed at
    legacy.mkdir()
    before = snapshot(reports_sandbox, outside=(folder,))
    result = report_run(reports_sandbox, folder)
    assert result.exit_code == 0, result.output
    assert not leftovers[0].exists()  # its owner is dead
    assert mine.is_dir() and elsewhere.is_dir() and legacy.is_dir()
    assert not (folder / LOCK_FILE).exists()
    assert snapshot(reports_sandbox, outside=(folder,)) == before


def test_remove_leftovers_keeps_what_is_not_a_dead_runs_folder(tmp_path: Path) -> None:
    dead = _dead_pid()
    gone = tmp_path / f".card.{host_id()}-{dead}.abcdefgh"
    gone.mkdir()
    as_file = tmp_path / f".map.{host_id()}-{dead}.abcdefgh"
    as_file.write_text("a file, not a run folder")
    run = tmp_path / "card"
    run.mkdir()
    hidden = tmp_path / ".card.old"
    hidden.mkdir()
    assert remove_leftovers(tmp_path) == [gone]
    assert as_file.exists() and run.exists() and hidden.exists()


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o755), (0o027, 0o750), (0o002, 0o775)])
def test_run_folders_get_the_umask_mode(reports_sandbox: Path, umask: int, mode: int) -> None:
    previous = os.umask(umask)
    try:
        manifest = run_one(RunSpec("card", "card.ipynb"), reports_sandbox / "reports",
                           reports_sandbox / "notebooks")
    finally:
        os.umask(previous)
    assert manifest["status"] == "succeeded"
    assert (reports_sandbox / "reports" / "card").stat().st_mode & 0o777 == mode


def test_lock_wait_must_be_a_number(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RESEARCH_LOCK_WAIT", "soon")
    with pytest.raises(ParameterError, match="RESEARCH_LOCK_WAIT='soon'"):
        with reports_lock(tmp_path):
            pass
    with pytest.raises(ParameterError, match="--wait -1"):
        with reports_lock(tmp_path / "missing", wait=-1):
            pass
    assert not (tmp_path / "missing").exists()  # checked before anything is created
