"""The ``research`` command line: build bundled data, run reports, estimate."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from research import config
from research.errors import ResearchError

app = typer.Typer(help="Export controls on dual-use goods: data, estimates and reports.",
                  no_args_is_help=True, add_completion=False)
data_app = typer.Typer(help="Bundled starter data.", no_args_is_help=True)
report_app = typer.Typer(help="Report runs (papermill notebooks to HTML).", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(report_app, name="report")
estimate_app = typer.Typer(help="Estimators on a data file (CSV or Parquet).",
                           no_args_is_help=True)
app.add_typer(estimate_app, name="estimate")
console = Console(stderr=True)


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


@report_app.command("run")
def report_run(
    grid: Path = typer.Option(None, help="report grid (default: reports.toml)"),
    only: list[str] = typer.Option(None, help="run only these run names"),
    jobs: int = typer.Option(0, help="parallel processes (0: one per core, at most 4)"),
    out: Path = typer.Option(None, help="reports folder (default: reports/)"),
) -> None:
    """Execute every notebook run of the grid and rebuild reports/index.html."""
    from research.report.runner import load_grid, run_all

    try:
        specs = load_grid(grid)
    except ResearchError as error:
        _fail(error)
    if only:
        unknown = sorted(set(only) - {s.name for s in specs})
        if unknown:
            _fail(ResearchError(f"unknown run name(s) {unknown}; "
                                f"known: {[s.name for s in specs]}"))
        specs = [s for s in specs if s.name in only]
    jobs = jobs or min(4, os.cpu_count() or 1)
    failed = []
    with _progress() as progress:
        task = progress.add_task(f"running {len(specs)} reports on {jobs} process(es)",
                                 total=len(specs))

        def done(manifest: dict) -> None:
            mark = "[green]ok[/]" if manifest["status"] == "succeeded" else "[red]FAILED[/]"
            progress.console.print(f"{mark} {manifest['name']}")
            if manifest["status"] != "succeeded":
                failed.append(manifest)
            progress.advance(task)

        run_all(specs, reports_dir=out, jobs=jobs, on_done=done)
    index = Path(out or config.reports_dir()) / "index.html"
    console.print(f"index: {index}")
    for manifest in failed:
        error = manifest.get("error") or {}
        console.print(f"[red]{manifest['name']} failed[/] at cell {error.get('cell_index')}: "
                      f"{error.get('ename')}: {error.get('evalue')}")
    if failed:
        raise typer.Exit(code=1)


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


if __name__ == "__main__":  # pragma: no cover
    app()
