"""The ``research`` command line: build bundled data, run reports, estimate."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from typer.core import TyperGroup

from research import config
from research.errors import ParameterError, ResearchError

_options = {"debug": False}  # global options of this invocation, set by the root callback


def _debug() -> bool:
    """Whether ``--debug`` was given (tracebacks shown instead of ``error:`` lines)."""
    return bool(_options["debug"])


def _message(error: BaseException) -> str:
    """An error as one line: a file-system error names its path and the system's reason."""
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename is not None else ""
        return f"{where}{error.strerror}"
    return str(error)


class _GuardedGroup(TyperGroup):
    """The root command: a ResearchError, or a file-system error on a path the user gave
    (a read-only folder, a folder where a file is expected), that no command caught
    prints ``error: <message>`` and exits 1; ``--debug`` shows the traceback instead."""

    def invoke(self, ctx):  # noqa: D102 - click's Group.invoke
        try:
            return super().invoke(ctx)
        except (ResearchError, OSError) as error:
            if _debug():
                raise
            console.print(f"[bold red]error:[/] {escape(_message(error))}")
            raise typer.Exit(code=1) from None


app = typer.Typer(help="Export controls on dual-use goods: data, estimates and reports.",
                  no_args_is_help=True, add_completion=False, cls=_GuardedGroup)
data_app = typer.Typer(help="Bundled starter data.", no_args_is_help=True)
report_app = typer.Typer(help="Report runs (papermill notebooks to HTML).", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(report_app, name="report")
estimate_app = typer.Typer(help="Estimators on a data file (CSV or Parquet).",
                           no_args_is_help=True)
app.add_typer(estimate_app, name="estimate")
user_app = typer.Typer(help="Your own events and baskets (YAML/TOML files in a folder).",
                       no_args_is_help=True)
app.add_typer(user_app, name="user")
console = Console(stderr=True)


def _print_version(value: bool) -> None:
    """``--version``: the installed package version (package metadata), then exit."""
    if value:
        from research import __version__

        typer.echo(f"research {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    user_dir: Path = typer.Option(
        None, "--user-dir", envvar="RESEARCH_USER_DIR", file_okay=False,
        help="folder of your own events and baskets (YAML/TOML), merged into the registry; "
             "sets RESEARCH_USER_DIR for this command and the notebooks it runs"),
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="print the toolkit version and exit"),
    debug: bool = typer.Option(False, "--debug",
                               help="show the Python traceback of an error instead of "
                                    "the one-line 'error:' message"),
) -> None:
    """Export controls on dual-use goods: data, estimates and reports."""
    _options["debug"] = debug
    if user_dir is not None:
        os.environ["RESEARCH_USER_DIR"] = str(Path(user_dir).expanduser().resolve())


def _fail(error: Exception) -> None:
    """Print ``error: <message>`` (markup in the message printed as text) and exit 1; with
    ``--debug`` raise ``error`` so that its traceback shows."""
    if _debug():
        raise error
    console.print(f"[bold red]error:[/] {escape(_message(error))}")
    raise typer.Exit(code=1)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)


@data_app.command("build")
def data_build(
    raw: Path = typer.Option(None, help="folder of raw source files (../shared/data/raw)"),
    out: Path = typer.Option(None, help="output folder (default: the bundled data/ folder)"),
    only: list[str] = typer.Option(None, help="build only these datasets"),
) -> None:
    """Build the bundled starter data from the raw source files."""
    from research import datasets

    try:
        names = only or list(datasets.registry())
        with _progress() as progress:
            task = progress.add_task("building data", total=len(names))

            def step(name: str) -> None:
                if names.index(name):
                    progress.advance(task)
                progress.update(task, description=f"building {name}")

            written = datasets.build(names=names, raw_dir=raw, out_dir=out, progress=step)
            progress.update(task, completed=len(names), description="built")
    except ResearchError as error:
        _fail(error)
    for path in written:
        console.print(f"wrote {path}")


@data_app.command("list")
def data_list(
    wide: bool = typer.Option(False, "--wide", help="every column (file, title, publisher, "
                              "vintage, licence, citation, rebuild, notes), nothing cut"),
    json: bool = typer.Option(False, "--json", help="print JSON records instead of a table"),
) -> None:
    """List the registered datasets with publisher, vintage and licence (80 columns)."""
    from research import datasets

    table = datasets.sources_table()
    if json:
        _echo_json(_json_records(table))
        return
    columns = list(table.columns) if wide else ["name", "publisher", "vintage", "licence"]
    rows = [[_cell(value) for value in row] for row in table[columns].itertuples(index=False)]
    typer.echo(text_table(columns, rows, wide=wide))
    if not wide:
        _note("--wide for files, titles, citations and notes; data/SOURCES.md in full")


@data_app.command("read")
def data_read(
    source: str = typer.Argument(..., help="file reader: sipri, wits, comtrade, worldbank, "
                                 "fred, ... (research.readers.file_readers())"),
    path: Path = typer.Argument(..., help="the downloaded file"),
    out: Path = typer.Option(..., "--out", help="output table: .parquet or .csv"),
) -> None:
    """Read a downloaded source file into its tidy table; write it as Parquet or CSV."""
    from research.files import check_output
    from research.readers import output_format, read_file, write_table

    try:
        output_format(out)  # refuse an unknown extension before reading anything
        check_output(out, [path])  # never a folder, never the file being read
        table = read_file(source, path)
        write_table(table, out)
    except ResearchError as error:
        _fail(error)
    console.print(f"wrote {out} ({len(table):,} rows)")


@data_app.command("pull")
def data_pull(
    reporter: str = typer.Option(None, help="reporter ISO3 (default: the bundled table's)"),
    partner: list[str] = typer.Option(None, help="partner ISO3, repeatable (WLD: world)"),
    hs: list[str] = typer.Option(None, help="HS6 code, repeatable (default: bundled lines)"),
    basket: list[str] = typer.Option(None, help="pull the HS6 lines of this basket, "
                                                 "repeatable; adds lines the bundled table lacks"),
    start: str = typer.Option(None, help="first period YYYY-MM (default: 12 months back)"),
    end: str = typer.Option(None, help="last period YYYY-MM (default: this month)"),
    freq: str = typer.Option("M", help="M (monthly table) or A (annual table)"),
    offline: bool = typer.Option(False, "--offline", help="use the cache only, never download"),
    refresh: bool = typer.Option(False, "--refresh", help="download again even if cached"),
    out: Path = typer.Option(None, help="updated-data folder (default: RESEARCH_UPDATED_DIR)"),
) -> None:
    """Pull new months from the UN Comtrade API into the cache and the updated-data folder."""
    import warnings

    from research.errors import ResearchWarning
    from research.refresh import update_comtrade

    try:
        codes = set(hs or [])
        if basket:
            from research.reference.baskets import basket_codes

            codes |= {code for name in basket for code in basket_codes(name)}
        with _progress() as progress, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResearchWarning)
            task = progress.add_task("Comtrade API calls", total=None)
            result = update_comtrade(
                reporter, partner or None, sorted(codes) or None, start=start, end=end,
                freq=freq, offline=True if offline else None, refresh=refresh, out_dir=out,
                new_series=bool(basket),
                progress=lambda done, total: progress.update(task, completed=done, total=total))
    except ResearchError as error:
        _fail(error)
    for warning in caught:
        if issubclass(warning.category, ResearchWarning):
            console.print(f"[yellow]warning:[/] {warning.message}")
    if result.fresh.empty:
        console.print("no records published for the periods asked; nothing written")
        return
    console.print(f"pulled {len(result.fresh)} rows; new periods: "
                  f"{', '.join(result.added_periods) or 'none'}; revisions: "
                  f"{len(result.revisions)}")
    console.print(f"wrote {result.out_dir} ({result.dataset} updated); use it with "
                  f"RESEARCH_DATA_DIR={result.out_dir}")


@data_app.command("status")
def data_status() -> None:
    """What the download cache holds: source, retrieval time, rows, size, integrity."""
    import pandas as pd
    from rich.table import Table

    from research.cache import cache_status

    status = cache_status()
    table = Table(title=f"download cache {config.cache_dir()}")
    for column in ("source", "retrieved (UTC)", "rows", "bytes", "ok"):
        table.add_column(column, no_wrap=True)
    table.add_column("from", overflow="fold")
    for row in status.itertuples():
        when = "?" if row.retrieved is pd.NaT else f"{row.retrieved:%Y-%m-%d %H:%M}"
        table.add_row(row.source, when, str(row.rows),
                      f"{row.bytes:,}", "yes" if row.ok else f"NO: {row.problem}",
                      str(row.url or row.query))
    Console(width=200).print(table)
    manifest = config.updated_dir() / "UPDATED.json"
    if manifest.exists():
        console.print(f"updated data: {manifest.parent} "
                      f"({manifest.read_text(encoding='utf-8')[:400]})")
    if status.empty:
        console.print("the cache is empty; `research data pull` fills it")


def _select(grid: Path | None, only: list[str] | None) -> list:
    from research.report.runner import load_grid

    specs = load_grid(grid)
    if only:
        unknown = sorted(set(only) - {s.name for s in specs})
        if unknown:
            raise ResearchError(f"unknown run name(s) {unknown}; "
                                f"known: {[s.name for s in specs]}")
        specs = [s for s in specs if s.name in only]
    return specs


def _run_reports(run, count: int, jobs: int, scheduler: str | None, out: Path | None) -> None:
    """Call ``run(jobs, on_done)`` under a progress bar; exit 1 when any run failed."""
    scheduler = _scheduler(scheduler)
    jobs = _jobs(jobs)
    where = f"Dask scheduler {scheduler}" if scheduler else f"{jobs} process(es)"
    failed = []
    with _progress() as progress:
        task = progress.add_task(f"running {count} reports on {where}", total=count)

        def done(manifest: dict) -> None:
            mark = "[green]ok[/]" if manifest["status"] == "succeeded" else "[red]FAILED[/]"
            progress.console.print(f"{mark} {manifest['name']}")
            if manifest["status"] != "succeeded":
                failed.append(manifest)
            progress.advance(task)

        try:
            run(jobs, scheduler, done)
        except ResearchError as error:
            _fail(error)
    index = Path(out or config.reports_dir()) / "index.html"
    console.print(f"index: {index}")
    for manifest in failed:
        error = manifest.get("error") or {}
        from research.report.index import failure_place

        console.print(f"[red]{manifest['name']} failed[/] {failure_place(error)}: "
                      f"{error.get('ename')}: {escape(str(error.get('evalue')))}")
    if failed:
        raise typer.Exit(code=1)


# options shared by the commands that run the report grid
GRID_OPTION = typer.Option(None, help="report grid (default: reports.toml)")
JOBS_OPTION = typer.Option(0, help="parallel processes (0: one per core, at most 4)")
SCHEDULER_OPTION = typer.Option(
    None, help="Dask scheduler address (tcp://host:8786); default $RESEARCH_DASK_SCHEDULER")
REPORTS_OPTION = typer.Option(None, help="reports folder (default: reports/)")
WAIT_OPTION = typer.Option(None, "--wait", min=0, help="seconds to wait while another run "
                           "holds the reports folder (default $RESEARCH_LOCK_WAIT or 0)")


def _scheduler(address: str | None) -> str | None:
    """The Dask scheduler (``--scheduler``, else ``$RESEARCH_DASK_SCHEDULER``), or None;
    exits with the install command when one is asked for and Dask is not installed."""
    import importlib.util

    from research.report.runner import SCHEDULER_VARIABLE, dask_scheduler

    scheduler = dask_scheduler(address)
    if scheduler and importlib.util.find_spec("distributed") is None:
        _fail(ResearchError(
            f"the Dask scheduler {scheduler!r} (--scheduler or {SCHEDULER_VARIABLE}) needs "
            "the optional extra 'dask', which is not installed: "
            "pip install 'research[dask]'"))
    return scheduler


def _jobs(jobs: int) -> int:
    """``--jobs``, where 0 means one process per core, at most 4."""
    return jobs or min(4, os.cpu_count() or 1)


def parameter_value(text: str):
    """A ``-p NAME VALUE`` value as papermill reads it: a number, ``True``/``False``/
    ``None``, a list or table in Python or JSON syntax, else the text itself."""
    import ast

    lowered = text.strip()
    if lowered in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[lowered]
    try:
        return ast.literal_eval(lowered)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def adhoc_spec(notebook: str, parameters: list[tuple[str, str]] | None,
               name: str | None = None):
    """One ad-hoc run of ``notebook`` with ``-p NAME VALUE`` parameters.

    The run is named ``--name`` or, by default, the notebook's stem followed by a short
    hash of its parameters, so different parameters never overwrite each other's report.
    """
    import hashlib
    import json

    from research.report.runner import RunSpec

    values = {}
    for key, raw in parameters or []:
        if key in values:
            raise ResearchError(f"parameter {key!r} is given twice (-p {key} ...)")
        values[key] = parameter_value(raw)
    stem = Path(notebook).stem
    if name is None:
        digest = hashlib.sha256(json.dumps(values, sort_keys=True, default=str)
                                .encode()).hexdigest()[:8]
        name = f"{stem}-{digest}"
    notebook = notebook if notebook.endswith(".ipynb") else f"{notebook}.ipynb"
    return RunSpec(name, Path(notebook).name if Path(notebook).parent == Path("notebooks")
                   else notebook, values, f"{stem} (ad hoc): " + ", ".join(
                       f"{k} = {v!r}" for k, v in values.items()))


def _pairs(args: list[str]) -> list[tuple[str, str]]:
    """``-p NAME VALUE`` (or ``--parameter NAME VALUE``) pairs from the extra arguments."""
    pairs, rest = [], list(args)
    while rest:
        flag = rest.pop(0)
        if flag not in ("-p", "--parameter") or len(rest) < 2:
            raise ResearchError(f"unexpected argument {flag!r}: give parameters as "
                                "-p NAME VALUE")
        pairs.append((rest.pop(0), rest.pop(0)))
    return pairs


@report_app.command("run", context_settings={"allow_extra_args": True,
                                             "ignore_unknown_options": True})
def report_run(
    ctx: typer.Context,
    notebook: str = typer.Argument(None, help="run this one notebook ad hoc (e.g. "
                                              "ban_impact) instead of the grid, with "
                                              "-p NAME VALUE for each parameter"),
    name: str = typer.Option(None, help="run name of the ad-hoc run (default: notebook "
                                        "stem and a hash of the parameters)"),
    grid: Path = GRID_OPTION,
    only: list[str] = typer.Option(None, help="run only these run names"),
    jobs: int = JOBS_OPTION,
    scheduler: str = SCHEDULER_OPTION,
    out: Path = REPORTS_OPTION,
    wait: float = WAIT_OPTION,
) -> None:
    """Execute every notebook run of the grid (or one NOTEBOOK with -p NAME VALUE ...) and
    rebuild reports/index.html."""
    from research.report.runner import run_all

    try:
        parameter = _pairs(ctx.args)
        if notebook:
            if only:
                raise ResearchError("--only selects runs of the grid; it does not go with "
                                    "an ad-hoc NOTEBOOK")
            specs = [adhoc_spec(notebook, parameter, name)]
        elif parameter or name:
            raise ResearchError("-p and --name need a NOTEBOOK: research report run "
                                "NOTEBOOK -p NAME VALUE")
        else:
            specs = _select(grid, only)
    except ResearchError as error:
        _fail(error)
    _run_reports(lambda j, s, done: run_all(specs, reports_dir=out, jobs=j, on_done=done,
                                            scheduler=s, wait=wait),
                 len(specs), jobs, scheduler, out)


@report_app.command("regenerate")
def report_regenerate(
    force: bool = typer.Option(False, "--force", help="rerun every run"),
    grid: Path = GRID_OPTION,
    only: list[str] = typer.Option(None, help="consider only these run names"),
    jobs: int = JOBS_OPTION,
    scheduler: str = SCHEDULER_OPTION,
    out: Path = REPORTS_OPTION,
    wait: float = WAIT_OPTION,
) -> None:
    """Rerun only changed runs (notebook, parameters, data, package version) and failed ones."""
    from research.report.regenerate import plan, regenerate

    try:
        specs = _select(grid, only)
        decisions = plan(specs, out, force=force)
    except ResearchError as error:
        _fail(error)
    for decision in decisions:
        if decision.rerun:
            console.print(f"rerun {decision.name}: {'; '.join(decision.reasons)}")
        else:
            console.print(f"[dim]up to date {decision.name}[/]")
    stale = [s for s, d in zip(specs, decisions, strict=True) if d.rerun]
    if not stale:
        regenerate(specs, out)  # writes the index page only if it is missing
        console.print(f"all {len(specs)} runs up to date")
        return
    _run_reports(lambda j, s, done: regenerate(stale, out, force=True, jobs=j, scheduler=s,
                                               on_done=done, wait=wait),
                 len(stale), jobs, scheduler, out)


@report_app.command("pdf")
def report_pdf(
    run: str = typer.Argument(..., help="run name (a folder in reports/)"),
    out: Path = typer.Option(None, help="PDF file (default: reports/RUN/RUN.pdf)"),
    reports: Path = REPORTS_OPTION,
) -> None:
    """Export a report's HTML page to an A4 PDF with headless Chromium."""
    from research.report.pdf import report_pdf as export

    try:
        console.print(f"wrote {export(run, reports, out)}")
    except ResearchError as error:
        _fail(error)


@report_app.command("index")
def report_index(out: Path = typer.Option(None, help="reports folder")) -> None:
    """Rebuild reports/index.html from the run manifests."""
    from research.report.index import write_index

    console.print(f"wrote {write_index(out)}")


def _warnings_as_lines(command):
    """Decorate an estimate command: the package's named warnings (CollinearityWarning,
    FewClustersWarning, ...) print as ``warning: <message>`` lines on stderr, after
    the command's output, instead of Python's ``file:line: Class`` form."""
    import functools

    @functools.wraps(command)
    def wrapped(*args, **kwargs):
        import warnings

        from research.errors import ResearchWarning

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResearchWarning)
            try:
                return command(*args, **kwargs)
            finally:
                for warning in caught:
                    if issubclass(warning.category, ResearchWarning):
                        console.print(f"[yellow]warning:[/] {escape(str(warning.message))}")
                    else:
                        warnings.showwarning(warning.message, warning.category,
                                             warning.filename, warning.lineno)

    return wrapped


def _read_table(path: Path):
    """A CSV or Parquet file as a DataFrame, chosen by extension; errors name the file."""
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise ResearchError(f"{path}: unknown file type {suffix!r}; expected .csv or .parquet")
    if not path.is_file():
        raise ResearchError(f"{path}: file not found")
    try:
        return pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except Exception as error:  # pandas raises many types for unreadable files
        raise ResearchError(f"{path}: cannot read the file: {error}") from error


@estimate_app.command("ppml")
@_warnings_as_lines
def estimate_ppml(
    data: Path = typer.Argument(..., help="CSV or Parquet file, one row per observation"),
    formula: str = typer.Option(..., help="'y ~ x1 + x2 | fe1 + fe2^fe3'"),
    cluster: str = typer.Option(None, help="column to cluster standard errors by"),
    json: bool = typer.Option(False, "--json", help="print the tidy table as JSON records"),
) -> None:
    """PPML with absorbed fixed effects (research.estimate.gravity.ppml)."""
    from research.estimate.gravity import ppml

    try:
        result = ppml(_read_table(data), formula, cluster=cluster)
    except ResearchError as error:
        _fail(error)
    if json:
        typer.echo(result.tidy().to_json(orient="records"))
    else:
        typer.echo(result.summary())


@estimate_app.command("did")
@_warnings_as_lines
def estimate_did(
    data: Path = typer.Argument(..., help="CSV or Parquet file, one row per unit and period"),
    outcome: str = typer.Option(..., help="outcome column"),
    unit: str = typer.Option(..., help="unit id column"),
    time: str = typer.Option(..., help="period column (numeric, e.g. year)"),
    cohort: str = typer.Option(..., help="first treated period column; 0 = never treated"),
    control: str = typer.Option("never", help="comparison units: never | notyet"),
    log: bool = typer.Option(False, "--log", help="estimate on log(outcome)"),
    json: bool = typer.Option(False, "--json", help="print the tidy table as JSON records"),
) -> None:
    """Staggered DiD of Callaway and Sant'Anna (research.estimate.did.callaway_santanna)."""
    from research.estimate.did import callaway_santanna

    try:
        result = callaway_santanna(_read_table(data), outcome=outcome, unit=unit, time=time,
                                   cohort=cohort, control=control, log=log)
    except ResearchError as error:
        _fail(error)
    if json:
        typer.echo(result.tidy().to_json(orient="records"))
    else:
        typer.echo(result.summary())


def _dates(frame, column: str, path: Path):
    """Column ``column`` of ``frame`` as dates; the error names the file, column and value."""
    import pandas as pd

    from research.errors import SourceFormatError

    if column not in frame.columns:
        raise SourceFormatError(str(path), f"no column {column!r}; columns: {list(frame.columns)}",
                                field=column)
    from research.estimate.panel import out_of_range

    text = frame[column].astype(str)
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    bad = parsed.isna() | out_of_range(parsed)
    if bad.any():  # unparsable, or beyond 1677-2262 (pandas 2 reads 1600 coarsely)
        row = int(bad.to_numpy().argmax())
        raise SourceFormatError(str(path), "not an ISO date such as 2023-12-01 or 2023-12",
                                field=column, value=text.iloc[row], row=row + _first_row(path))
    return parsed


def _columns(frame, columns: list, path: Path) -> None:
    """SourceFormatError naming ``path`` and the first of ``columns`` (None skipped) that
    ``frame`` lacks, listing the columns it has."""
    from research.errors import SourceFormatError

    for column in columns:
        if column is not None and column not in frame.columns:
            raise SourceFormatError(str(path), f"no such column; columns: "
                                    f"{list(frame.columns)}", field=column)


def _first_row(path: Path) -> int:
    """The row number of a table's first record: 2 in a CSV file (after the header)."""
    return 2 if path.suffix.lower() == ".csv" else 1


def _flags(frame, column: str, path: Path):
    """Column ``column`` as booleans from 1/0, true/false (any case) or 1.0/0.0; another
    value (``yes``, ``2``, an empty cell) names the file, row and value."""
    from research.errors import SourceFormatError

    text = frame[column].astype("string").str.strip().str.lower()
    flags = text.map({"1": True, "true": True, "1.0": True,
                      "0": False, "false": False, "0.0": False})
    bad = flags.isna()
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise SourceFormatError(str(path), "a treated flag must be 1/0 or true/false",
                                field=column, value=str(frame[column].iloc[row]),
                                row=row + _first_row(path))
    return flags.astype(bool)


def _emit(result, json: bool) -> None:
    typer.echo(result.tidy().to_json(orient="records") if json else result.summary())


@estimate_app.command("event-study")
@_warnings_as_lines
def estimate_event_study(
    data: Path = typer.Argument(..., help="CSV or Parquet file, one row per unit and period"),
    outcome: str = typer.Option(..., help="outcome column (non-negative for PPML)"),
    unit: str = typer.Option(..., help="unit id column (e.g. destination)"),
    time: str = typer.Option(..., help="period column: dates, first of month or year"),
    treated: str = typer.Option(..., help="column: 1/True for treated units, else 0/False"),
    event: str = typer.Option(..., help="first treated period, e.g. 2023-12-01"),
    freq: str = typer.Option("M", help="M (monthly) or A (annual) event time"),
    window_pre: int = typer.Option(-12, help="first event time kept"),
    window_post: int = typer.Option(12, help="last event time kept"),
    anticipation: int = typer.Option(0, help="periods before the event allowed to respond"),
    method: str = typer.Option("ppml", help="ppml | ols_log"),
    cluster: str = typer.Option(None, help="cluster column (default: the unit)"),
    json: bool = typer.Option(False, "--json", help="print the tidy table as JSON records"),
) -> None:
    """Event study with unit and period fixed effects (research.estimate.event_study)."""
    from research.estimate.event_study import event_study
    from research.estimate.panel import constant_within, numeric_column, timestamp, unique_rows

    try:
        start = timestamp(event, "--event")
        panel = _read_table(data)
        _columns(panel, [outcome, unit, time, treated, cluster], data)
        panel[time] = _dates(panel, time, data)
        panel[outcome] = numeric_column(panel, outcome, source=str(data),
                                        row_offset=_first_row(data))
        panel[treated] = _flags(panel, treated, data)
        unique_rows(panel, [unit, time], source=str(data))
        constant_within(panel, treated, unit, source=str(data),
                        meaning="a unit is either treated or a control")
        result = event_study(panel, outcome=outcome, unit=unit, time=time, treated=treated,
                             event=start, freq=freq.upper(), window=(window_pre, window_post),
                             anticipation=anticipation, cluster=cluster, method=method)
    except ResearchError as error:
        _fail(error)
    _emit(result, json)


@estimate_app.command("its")
@_warnings_as_lines
def estimate_its(
    data: Path = typer.Argument(..., help="CSV or Parquet file: one monthly series"),
    outcome: str = typer.Option(..., help="value column"),
    time: str = typer.Option(..., help="month column (dates)"),
    intervention: str = typer.Option(..., help="first month under the measure, YYYY-MM-DD"),
    anticipation: int = typer.Option(0, help="months before it left out of the fit"),
    log: bool = typer.Option(True, "--log/--no-log", help="model log(outcome)"),
    json: bool = typer.Option(False, "--json", help="print the tidy table as JSON records"),
) -> None:
    """Interrupted time series, SARIMAX with step, pulse and ramp (research.estimate.its)."""
    import pandas as pd

    from research.estimate.its import interrupted_time_series
    from research.estimate.panel import numeric_column, timestamp, unique_rows

    try:
        start = timestamp(intervention, "--intervention")
        frame = _read_table(data)
        _columns(frame, [outcome, time], data)
        months = _dates(frame, time, data)
        # a cell such as 12O45.3 is named, never read as a missing month
        values = numeric_column(frame, outcome, source=str(data), row_offset=_first_row(data))
        unique_rows(frame.assign(**{time: months}), [time], source=str(data))
        series = pd.Series(values.to_numpy(), index=pd.DatetimeIndex(months),
                           name=outcome).sort_index()
        series = series.asfreq("MS")
        result = interrupted_time_series(series, start, log=log,
                                         anticipation=anticipation, unit=outcome)
    except ResearchError as error:
        _fail(error)
    _emit(result, json)


@estimate_app.command("synth")
@_warnings_as_lines
def estimate_synth(
    data: Path = typer.Argument(..., help="CSV or Parquet file, one row per unit and period"),
    outcome: str = typer.Option(..., help="outcome column"),
    unit: str = typer.Option(..., help="unit id column"),
    time: str = typer.Option(..., help="period column (dates or numbers, e.g. years)"),
    treated_unit: str = typer.Option(..., help="the unit hit by the measure"),
    intervention: str = typer.Option(..., help="first treated period"),
    json: bool = typer.Option(False, "--json", help="print the tidy table as JSON records"),
) -> None:
    """Synthetic control with placebo-in-space p-value (research.estimate.synth)."""
    import pandas as pd

    from research.estimate.panel import timestamp
    from research.estimate.synth import synthetic_control

    try:
        panel = _read_table(data)
        _columns(panel, [outcome, unit, time], data)
        numeric = pd.api.types.is_numeric_dtype(panel[time])
        if numeric:
            if not intervention.lstrip("-").isdigit():
                raise ParameterError(f"--intervention {intervention!r}: column {time!r} of "
                                     f"{data} holds numbers, so give a number (e.g. 2020)")
            start = int(intervention)
        else:
            start = timestamp(intervention, "--intervention")
            panel[time] = _dates(panel, time, data)
        panel[unit] = panel[unit].astype(str)
        result = synthetic_control(panel, unit=unit, time=time, outcome=outcome,
                                   treated_unit=treated_unit, intervention=start)
    except ResearchError as error:
        _fail(error)
    _emit(result, json)


@user_app.command("check")
def user_check(
    folder: Path = typer.Argument(None, help="folder to check (default: --user-dir or "
                                             "RESEARCH_USER_DIR)"),
) -> None:
    """Validate the YAML/TOML files of a user folder and list the events and baskets found."""
    from research.reference import user_files

    folder = folder or config.user_dir()
    if folder is None:
        _fail(ResearchError("no folder given: pass DIR, --user-dir or set RESEARCH_USER_DIR"))
    try:
        data = user_files.read_user_dir(folder)
    except ResearchError as error:
        _fail(error)
    typer.echo(f"{len(data.files)} file(s) in {data.directory}: "
               + ", ".join(p.name for p in data.files))
    if not data.events.empty:
        typer.echo(data.events[["event_id", "announced", "effective", "event_type", "targets",
                                "basket"]].to_string(index=False))
    if not data.baskets.empty:
        lines = data.baskets.groupby("basket", sort=False).agg(
            product_group=("product_group", "first"), hs6=("hs6", ";".join))
        typer.echo(lines.reset_index().to_string(index=False))
    typer.echo(f"ok: {len(data.events)} event(s), {len(data.basket_names())} basket(s)")




@app.command("update")
def update_command(
    offline: bool = typer.Option(False, "--offline",
                                 help="use cached responses only (also: RESEARCH_OFFLINE=1)"),
    force: bool = typer.Option(False, "--force", help="rerun every report"),
    start: str = typer.Option(None, help="first month to pull, YYYY-MM (default: 12 months "
                                         "before the bundled data end, to catch revisions)"),
    end: str = typer.Option(None, help="last month to pull, YYYY-MM (default: this month)"),
    grid: Path = GRID_OPTION,
    jobs: int = JOBS_OPTION,
    scheduler: str = SCHEDULER_OPTION,
    out: Path = REPORTS_OPTION,
) -> None:
    """Pull new months, merge them, rerun the reports whose inputs changed, summarize."""
    import warnings

    from research.update import SUMMARY_MARKDOWN, update

    scheduler = _scheduler(scheduler)
    jobs = _jobs(jobs)
    with _progress() as progress:
        pulling = progress.add_task("pulling Comtrade months", total=None)
        running = progress.add_task("reports", total=None, visible=False)

        def pulled(done: int, total: int) -> None:
            progress.update(pulling, completed=done, total=total)

        def finished(manifest: dict) -> None:
            mark = "[green]ok[/]" if manifest["status"] == "succeeded" else "[red]FAILED[/]"
            progress.console.print(f"{mark} {manifest['name']}")
            progress.update(running, visible=True, description="reports rerun")
            progress.advance(running)

        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                summary = update(grid=grid, reports_dir=out, offline=offline or None,
                                 force=force, jobs=jobs, scheduler=scheduler,
                                 note=progress.console.print, on_done=finished,
                                 progress=pulled, start=start, end=end)
        except ResearchError as error:
            _fail(error)
    for warning in caught:
        console.print(f"[yellow]warning:[/] {warning.message}")
    reports = Path(out or config.reports_dir())
    console.print((reports / SUMMARY_MARKDOWN).read_text(encoding="utf-8"))
    if summary.failed:
        console.print(f"[red]failed runs:[/] {', '.join(summary.failed)}")
        raise typer.Exit(code=1)


# ---------------------------------------------------------------------------------------
# Listings: events, baskets (and `data list`) as plain text tables that fit 80 columns.

events_app = typer.Typer(help="Export-control events of the registry (bundled and yours).",
                         no_args_is_help=True)
app.add_typer(events_app, name="events")
baskets_app = typer.Typer(help="HS6 baskets of the registry (bundled and yours).",
                          no_args_is_help=True)
app.add_typer(baskets_app, name="baskets")

SCREEN_WIDTH = 80
MISSING_TEXT = "–"  # what a missing value prints as (never "nan" or "None")
ELLIPSIS = "…"
JSON_OPTION = typer.Option(False, "--json", help="print JSON records instead of a table")
WIDE_OPTION = typer.Option(False, "--wide", help="every column, nothing truncated (lines "
                                                 "may be wider than 80 columns)")


def _cell(value: object) -> str:
    """A value as terminal text: dates ``YYYY-MM-DD``, booleans yes/no, missing ``–``."""
    import pandas as pd

    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return MISSING_TEXT
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "yes" if value else "no"
    text = " ".join(str(value).split())
    return text or MISSING_TEXT


def _listed(value: object) -> str:
    """A ';'-separated registry cell (targets, baskets, codes) as ``a, b, c``."""
    text = _cell(value)
    return text if text == MISSING_TEXT else ", ".join(
        part.strip() for part in text.split(";") if part.strip())


def _clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal cells, ending in an ellipsis when cut."""
    from rich.cells import cell_len

    if cell_len(text) <= width:
        return text
    kept = text
    while kept and cell_len(kept) > width - 1:
        kept = kept[:-1]
    return kept.rstrip() + ELLIPSIS


def _pad(text: str, width: int, right: bool = False) -> str:
    from rich.cells import cell_len

    space = " " * max(0, width - cell_len(text))
    return space + text if right else text + space


def text_table(header: list[str], rows: list[list[str]], *, wide: bool = False,
               right: tuple[int, ...] = (), keep: tuple[int, ...] = (0,),
               width: int = SCREEN_WIDTH) -> str:
    """Rows of text cells as a plain table: a header, a rule, one line per row.

    Parameters
    ----------
    header : column titles.
    rows : cells as text (see :func:`_cell`).
    wide : keep every cell whole; otherwise the widest columns are narrowed, cells
        cut with an ellipsis, until each line fits ``width`` terminal cells.
    right : positions of right-aligned (numeric) columns.
    keep : positions of columns never cut (ids: the first column by default).
    width : the line width to fit, 80 by default.

    Returns
    -------
    str
        The table, lines joined by newlines, without trailing spaces.
    """
    from rich.cells import cell_len

    gap = 2
    widths = [max([cell_len(h)] + [cell_len(r[i]) for r in rows]) for i, h in enumerate(header)]
    if not wide:
        floor = [min(w, max(cell_len(h), 6)) for w, h in zip(widths, header, strict=True)]
        while sum(widths) + gap * (len(widths) - 1) > width:
            narrowable = [i for i, w in enumerate(widths) if w > floor[i] and i not in keep]
            if not narrowable:
                break
            widest = max(narrowable, key=lambda i: widths[i])
            widths[widest] -= 1

    def line(cells: list[str]) -> str:
        fitted = [_pad(cell if wide else _clip(cell, w), w, i in right)
                  for i, (cell, w) in enumerate(zip(cells, widths, strict=True))]
        return (" " * gap).join(fitted).rstrip()

    rule = (" " * gap).join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def _fields(pairs: list[tuple[str, str]], width: int = SCREEN_WIDTH) -> str:
    """``label  value`` lines, values wrapped to ``width``; web addresses are never cut."""
    import textwrap

    label_width = max(len(label) for label, _ in pairs) + 2
    lines = []
    for label, value in pairs:
        if value.startswith(("http://", "https://")):
            # one address a line, whole (a cut address cannot be opened): the only lines
            # that may pass the width
            lines.append(label)
            lines += [f"  {url}" for url in value.split()]
            continue
        wrapped = textwrap.wrap(value, width - label_width, break_on_hyphens=False) or [value]
        lines.append(label.ljust(label_width) + wrapped[0])
        lines += [" " * label_width + rest for rest in wrapped[1:]]
    return "\n".join(lines)


def _note(text: str, width: int = SCREEN_WIDTH) -> None:
    """Print a sentence wrapped to ``width`` columns."""
    import textwrap

    typer.echo(textwrap.fill(text, width, break_on_hyphens=False))


def _json_records(frame) -> list[dict]:
    """Rows as JSON-ready dicts: dates ``YYYY-MM-DD``, missing values ``null``."""
    import pandas as pd

    def plain(value: object) -> object:
        if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
            return None
        if isinstance(value, pd.Timestamp):
            return f"{value:%Y-%m-%d}"
        return value.item() if hasattr(value, "item") else value

    return [{key: plain(value) for key, value in record.items()}
            for record in frame.to_dict("records")]


def _echo_json(records: object) -> None:
    import json

    typer.echo(json.dumps(records, ensure_ascii=False))


@events_app.command("list")
def events_list(
    event_type: list[str] = typer.Option(None, "--type", help="only this event type, "
                                         "repeatable (ban, licensing, quota, ...)"),
    target: str = typer.Option(None, "--target", help="only events naming this target: "
                               "ISO3 code or country name; ALL for all-destination events"),
    wide: bool = WIDE_OPTION,
    json: bool = JSON_OPTION,
) -> None:
    """List the events: id, type, dates, targets and baskets (RESEARCH_USER_DIR included)."""
    from research.countries import normalize
    from research.reference.events import load_events

    try:
        events = load_events()
        if event_type:
            known = sorted(set(events["event_type"].dropna()))
            unknown = sorted(set(event_type) - set(known))
            if unknown:
                raise ParameterError(f"unknown event type(s) {', '.join(unknown)}; "
                                     f"known: {', '.join(known)}")
            events = events[events["event_type"].isin(event_type)]
        if target:
            code = "ALL" if target.upper() == "ALL" else normalize(
                [target], source="--target", field="target")[0]
            named = events["targets"].fillna("").str.split(";")
            events = events[named.map(lambda codes: code in codes)]
    except ResearchError as error:
        _fail(error)
    if json:
        _echo_json(_json_records(events))
        return
    header = ["id", "type", "announced", "effective", "targets", "baskets"]
    if wide:
        header += ["end", "authority", "instrument", "measure"]
    rows = []
    for event in events.itertuples(index=False):
        row = [_cell(event.event_id), _cell(event.event_type), _cell(event.announced),
               _cell(event.effective), _listed(event.targets), _listed(event.basket)]
        if wide:
            row += [_cell(event.end), _cell(event.authority), _cell(event.instrument_no),
                    _cell(event.measure)]
        rows.append(row)
    typer.echo(text_table(header, rows, wide=wide))
    _note(f"{len(rows)} event(s); `research events show ID` for one in full")


@events_app.command("show")
def events_show(
    event_id: str = typer.Argument(..., help="event id, e.g. B2, or one of yours"),
    json: bool = JSON_OPTION,
) -> None:
    """One event in full: dates, instrument, targets, baskets, products, measure, sources."""
    from research.reference.events import OVERLAY, get_event

    try:
        event = get_event(event_id)
    except ResearchError as error:
        _fail(error)
    if json:
        _echo_json(_json_records(event.to_frame().T)[0])
        return
    pairs = [(column, _listed(event[column]) if column in (
        "targets", "basket", "customs_codes", "hs6") else _cell(event[column]))
        for column in event.index if column != "source_urls"]
    why = OVERLAY.get(event_id, {}).get("why")
    if why:
        pairs.append(("curation note", _cell(why)))
    urls = _cell(event["source_urls"])
    pairs.append(("source_urls", " ".join(urls.replace(";", " ").split())))
    typer.echo(_fields(pairs))


def _load_baskets():
    from research import datasets

    return datasets.load("hs_baskets")


REVISIONS = ("hs2017", "hs2012", "hs2007")


@baskets_app.command("list")
def baskets_list(json: bool = JSON_OPTION) -> None:
    """List the baskets: HS6 lines, mixed-scope lines, HS revision breaks, product group."""
    import pandas as pd

    from research.reference.baskets import bundled_basket_names

    try:
        lines = _load_baskets()
    except ResearchError as error:
        _fail(error)
    bundled = set(bundled_basket_names())
    broken = lines[list(REVISIONS)].ne("1:1").any(axis=1)
    summary = pd.DataFrame({
        "basket": lines["basket"], "hs6": lines["hs6"], "mixed": lines["mixed_scope"],
        "broken": broken, "group": lines["product_group"]}).groupby("basket", sort=True).agg(
        lines=("hs6", "size"), mixed_scope=("mixed", "sum"), hs_breaks=("broken", "sum"),
        product_group=("group", lambda g: ", ".join(sorted(set(g.dropna()))) or None),
        hs6=("hs6", lambda g: ";".join(g)))
    summary["source"] = ["bundled" if name in bundled else "user" for name in summary.index]
    summary = summary.reset_index()
    if json:
        records = _json_records(summary)
        for record in records:
            record["hs6"] = record["hs6"].split(";")
        _echo_json(records)
        return
    header = ["basket", "lines", "mixed", "HS breaks", "monthly group", "source"]
    rows = [[row.basket, str(row.lines), str(row.mixed_scope), str(row.hs_breaks),
             _cell(row.product_group), row.source] for row in summary.itertuples(index=False)]
    typer.echo(text_table(header, rows, right=(1, 2, 3)))
    _note("mixed: lines that also hold uncontrolled goods; HS breaks: lines not 1:1 with "
          "HS2017, HS2012 or HS2007. `research baskets show NAME` for the lines.")


@baskets_app.command("show")
def baskets_show(
    name: str = typer.Argument(..., help="basket name, e.g. graphite, or one of yours"),
    wide: bool = WIDE_OPTION,
    json: bool = JSON_OPTION,
) -> None:
    """One basket's HS6 lines with mixed-scope flags, HS revision links and notes."""
    try:
        lines = _load_baskets()
        known = sorted(set(lines["basket"]))
        if name not in known:
            raise ParameterError(f"unknown basket {name!r}; known: {', '.join(known)}")
    except ResearchError as error:
        _fail(error)
    basket = lines[lines["basket"].eq(name)]
    if json:
        _echo_json(_json_records(basket))
        return
    groups = ", ".join(sorted(set(basket["product_group"].dropna()))) or MISSING_TEXT
    _note(f"basket {name}: {len(basket)} HS6 line(s), "
          f"{int(basket['mixed_scope'].sum())} mixed-scope; monthly group: {groups}")
    header = ["HS6", "mixed", "HS2022", "HS2017", "HS2012", "HS2007", "dual-use",
              "description"]
    if wide:
        header += [f"{v.upper()} codes" for v in REVISIONS] + ["note"]
    rows = []
    for line in basket.itertuples(index=False):
        row = [line.hs6, _cell(line.mixed_scope), _cell(line.in_hs2022),
               *(_cell(getattr(line, v)) for v in REVISIONS),
               _cell(line.in_dual_use_catalogue), _cell(line.description)]
        if wide:
            row += [_listed(getattr(line, f"{v}_codes")) for v in REVISIONS]
            row.append(_cell(line.note))
        rows.append(row)
    typer.echo(text_table(header, rows, wide=wide))
    _note("mixed: the line also holds uncontrolled goods; HS2017..HS2007: UN correlation "
          "of the HS2022 line (1:1, n:1, 1:n, n:n; absent: not an HS2022 line); dual-use: "
          "in the 2026 catalogue's export lines.")
    if wide:
        return
    breaks = basket[basket[list(REVISIONS)].ne("1:1").any(axis=1)]
    if not breaks.empty:
        typer.echo("\nHS revisions (lines not 1:1)")
        typer.echo(_fields([(line.hs6, "; ".join(
            f"{v.upper()} {getattr(line, v)} {_listed(getattr(line, f'{v}_codes'))}"
            for v in REVISIONS)) for line in breaks.itertuples(index=False)]))
    notes: dict[str, list[str]] = {}
    for line in basket.itertuples(index=False):
        notes.setdefault(_cell(line.note), []).append(line.hs6)
    typer.echo("\nnotes")
    pairs = []
    for note, codes in notes.items():
        if len(codes) <= 2:
            pairs.append((", ".join(codes), note))
        else:
            label = "all lines" if len(codes) == len(basket) else f"{len(codes)} lines"
            pairs.append((label, note if label == "all lines" else
                          f"({', '.join(codes)}) {note}"))
    typer.echo(_fields(pairs))


if __name__ == "__main__":  # pragma: no cover
    app()
