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


if __name__ == "__main__":  # pragma: no cover
    app()
