"""The ``research`` command line: build bundled data, run reports, estimate."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from research import config
from research.errors import ParameterError, ResearchError

app = typer.Typer(help="Export controls on dual-use goods: data, estimates and reports.",
                  no_args_is_help=True, add_completion=False)
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


@app.callback()
def main(
    user_dir: Path = typer.Option(
        None, "--user-dir", envvar="RESEARCH_USER_DIR", file_okay=False,
        help="folder of your own events and baskets (YAML/TOML), merged into the registry; "
             "sets RESEARCH_USER_DIR for this command and the notebooks it runs"),
) -> None:
    """Export controls on dual-use goods: data, estimates and reports."""
    if user_dir is not None:
        os.environ["RESEARCH_USER_DIR"] = str(Path(user_dir).expanduser().resolve())


def _fail(error: Exception) -> None:
    console.print(f"[bold red]error:[/] {error}")
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
def data_list() -> None:
    """List the bundled datasets with publisher, vintage and licence."""
    from research import datasets

    table = datasets.sources_table()[["name", "file", "publisher", "vintage", "licence"]]
    typer.echo(table.to_string(index=False))


@data_app.command("read")
def data_read(
    source: str = typer.Argument(..., help="file reader: sipri, wits, comtrade, worldbank, "
                                 "fred, ... (research.readers.file_readers())"),
    path: Path = typer.Argument(..., help="the downloaded file"),
    out: Path = typer.Option(..., "--out", help="output table: .parquet or .csv"),
) -> None:
    """Read a downloaded source file into its tidy table; write it as Parquet or CSV."""
    from research.readers import output_format, read_file, write_table

    try:
        output_format(out)  # refuse an unknown extension before reading anything
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
    from rich.table import Table

    from research.cache import cache_status

    status = cache_status()
    table = Table(title=f"download cache {config.cache_dir()}")
    for column in ("source", "retrieved (UTC)", "rows", "bytes", "ok"):
        table.add_column(column, no_wrap=True)
    table.add_column("from", overflow="fold")
    for row in status.itertuples():
        table.add_row(row.source, f"{row.retrieved:%Y-%m-%d %H:%M}", str(row.rows),
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
    from research.report.runner import dask_scheduler

    scheduler = dask_scheduler(scheduler)
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
        console.print(f"[red]{manifest['name']} failed[/] at cell {error.get('cell_index')}: "
                      f"{error.get('ename')}: {error.get('evalue')}")
    if failed:
        raise typer.Exit(code=1)


# options shared by the commands that run the report grid
GRID_OPTION = typer.Option(None, help="report grid (default: reports.toml)")
JOBS_OPTION = typer.Option(0, help="parallel processes (0: one per core, at most 4)")
SCHEDULER_OPTION = typer.Option(
    None, help="Dask scheduler address (tcp://host:8786); default $RESEARCH_DASK_SCHEDULER")
REPORTS_OPTION = typer.Option(None, help="reports folder (default: reports/)")


def _jobs(jobs: int) -> int:
    """``--jobs``, where 0 means one process per core, at most 4."""
    return jobs or min(4, os.cpu_count() or 1)


@report_app.command("run")
def report_run(
    grid: Path = GRID_OPTION,
    only: list[str] = typer.Option(None, help="run only these run names"),
    jobs: int = JOBS_OPTION,
    scheduler: str = SCHEDULER_OPTION,
    out: Path = REPORTS_OPTION,
) -> None:
    """Execute every notebook run of the grid and rebuild reports/index.html."""
    from research.report.runner import run_all

    try:
        specs = _select(grid, only)
    except ResearchError as error:
        _fail(error)
    _run_reports(lambda j, s, done: run_all(specs, reports_dir=out, jobs=j, on_done=done,
                                            scheduler=s),
                 len(specs), jobs, scheduler, out)


@report_app.command("regenerate")
def report_regenerate(
    force: bool = typer.Option(False, "--force", help="rerun every run"),
    grid: Path = GRID_OPTION,
    only: list[str] = typer.Option(None, help="consider only these run names"),
    jobs: int = JOBS_OPTION,
    scheduler: str = SCHEDULER_OPTION,
    out: Path = REPORTS_OPTION,
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
                                               on_done=done),
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
    text = frame[column].astype(str)
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    if parsed.isna().any():
        row = int(parsed.isna().to_numpy().argmax())
        raise SourceFormatError(str(path), "not an ISO date such as 2023-12-01 or 2023-12",
                                field=column, value=text.iloc[row], row=row + 2)
    return parsed


def _emit(result, json: bool) -> None:
    typer.echo(result.tidy().to_json(orient="records") if json else result.summary())


@estimate_app.command("event-study")
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

    try:
        panel = _read_table(data)
        panel[time] = _dates(panel, time, data)
        if treated not in panel.columns:
            raise ResearchError(f"{data}: no column {treated!r}; columns: {list(panel.columns)}")
        panel[treated] = panel[treated].astype(str).str.lower().isin(["1", "true", "1.0"])
        result = event_study(panel, outcome=outcome, unit=unit, time=time, treated=treated,
                             event=event, freq=freq.upper(), window=(window_pre, window_post),
                             anticipation=anticipation, cluster=cluster, method=method)
    except ResearchError as error:
        _fail(error)
    _emit(result, json)


@estimate_app.command("its")
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

    try:
        frame = _read_table(data)
        months = _dates(frame, time, data)
        if outcome not in frame.columns:
            raise ResearchError(f"{data}: no column {outcome!r}; columns: {list(frame.columns)}")
        series = pd.Series(pd.to_numeric(frame[outcome], errors="coerce").to_numpy(),
                           index=pd.DatetimeIndex(months), name=outcome).sort_index()
        if series.index.duplicated().any():
            raise ResearchError(f"{data}: column {time!r} repeats months; give one series")
        series = series.asfreq("MS")
        result = interrupted_time_series(series, intervention, log=log,
                                         anticipation=anticipation, unit=outcome)
    except ResearchError as error:
        _fail(error)
    _emit(result, json)


@estimate_app.command("synth")
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

    from research.estimate.synth import synthetic_control

    try:
        panel = _read_table(data)
        numeric = pd.api.types.is_numeric_dtype(panel[time]) if time in panel else False
        if numeric:
            if not intervention.lstrip("-").isdigit():
                raise ParameterError(f"--intervention {intervention!r}: column {time!r} of "
                                     f"{data} holds numbers, so give a number (e.g. 2020)")
            start = int(intervention)
        else:
            panel[time] = _dates(panel, time, data)
            start = pd.Timestamp(intervention)
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

    from research.report.runner import dask_scheduler
    from research.update import SUMMARY_MARKDOWN, update

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
                                 force=force, jobs=jobs, scheduler=dask_scheduler(scheduler),
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


if __name__ == "__main__":  # pragma: no cover
    app()
