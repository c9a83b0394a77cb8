"""Execute notebooks with papermill and write each run's report folder.

A run folder ``reports/<name>/`` holds the executed notebook, an HTML copy
(code hidden), ``figures/*.png``, ``tables/*.csv``, ``headline.json`` and a
``manifest.json`` (parameters, input hashes, version, commit, times, status,
and for a failure the failing cell, its source and the traceback). A run is
written into a temporary folder and renamed into place, so an interrupted run
never leaves a half-written report; a failed run is kept and shown as failed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import tomllib
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from research import __version__, config, datasets
from research.errors import ParameterError
from research.files import sha256_file, write_text_atomic
from research.report.outputs import RUN_DIR_VARIABLE
from research.report.parameters import check_parameters


@dataclass(frozen=True)
class RunSpec:
    """One report run: a notebook and its parameters."""

    name: str
    notebook: str
    parameters: dict = field(default_factory=dict)
    title: str = ""


def default_grid_path() -> Path:
    """``reports.toml`` at the repository root."""
    return config.REPO_ROOT / "reports.toml"


def load_grid(path: Path | None = None) -> list[RunSpec]:
    """Read the report grid: ``[[run]]`` tables with name, notebook, title, parameters."""
    path = Path(path or default_grid_path())
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ParameterError(f"{path}: cannot read the report grid: {error}") from error
    specs = []
    for position, entry in enumerate(document.get("run", []), start=1):
        missing = [k for k in ("name", "notebook") if k not in entry]
        if missing:
            raise ParameterError(f"{path}: run #{position} lacks {missing}")
        specs.append(RunSpec(name=entry["name"], notebook=entry["notebook"],
                             parameters=dict(entry.get("parameters", {})),
                             title=entry.get("title", entry["name"])))
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ParameterError(f"{path}: duplicate run names {duplicates}")
    return specs


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=config.REPO_ROOT,
                             capture_output=True, text=True, timeout=10, check=True)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def input_hashes() -> dict[str, str]:
    """sha256 of every bundled data file the notebooks may read."""
    hashes = {}
    for dataset in datasets.registry().values():
        path = dataset.path()
        if path.exists():
            hashes[f"data/{dataset.filename}"] = sha256_file(path)
    return hashes


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _html(notebook_path: Path, html_path: Path, title: str) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    notebook = nbformat.read(notebook_path, as_version=4)
    notebook.metadata["title"] = title
    body, _ = exporter.from_notebook_node(notebook)
    write_text_atomic(html_path, body)


def _failure(error: BaseException) -> dict:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(error, PapermillExecutionError):
        return {"cell_index": error.cell_index, "execution_count": error.exec_count,
                "source": error.source, "ename": error.ename, "evalue": error.evalue,
                "traceback": "\n".join(error.traceback)}
    return {"cell_index": None, "source": None, "ename": type(error).__name__,
            "evalue": str(error), "traceback": traceback.format_exc()}


def run_one(spec: RunSpec, reports_dir: Path | None = None,
            notebooks_dir: Path | None = None) -> dict:
    """Execute one run and write its folder; returns the manifest (never raises on a
    notebook failure: the manifest's ``status`` is ``"failed"``)."""
    import papermill

    reports_dir = Path(reports_dir or config.reports_dir())
    notebooks_dir = Path(notebooks_dir or config.notebooks_dir())
    notebook = notebooks_dir / spec.notebook
    reports_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{spec.name}.", dir=reports_dir))
    manifest = {"name": spec.name, "title": spec.title, "notebook": spec.notebook,
                "notebook_sha256": sha256_file(notebook) if notebook.exists() else None,
                "parameters": spec.parameters, "inputs": input_hashes(),
                "package_version": __version__, "git_commit": _git_commit(),
                "started": _now(), "finished": None, "status": "running", "error": None,
                "outputs": {}}
    executed = work / f"{spec.name}.ipynb"
    previous = os.environ.get(RUN_DIR_VARIABLE)
    os.environ[RUN_DIR_VARIABLE] = str(work)
    try:
        if not notebook.exists():
            raise ParameterError(f"{notebook}: notebook of run {spec.name!r} not found")
        check_parameters(notebook, spec.parameters)
        papermill.execute_notebook(str(notebook), str(executed), parameters=spec.parameters,
                                   kernel_name="python3", progress_bar=False,
                                   cwd=str(notebooks_dir), report_mode=False)
        manifest["status"] = "succeeded"
    except Exception as error:  # noqa: BLE001 - every failure is recorded in the manifest
        manifest["status"] = "failed"
        manifest["error"] = _failure(error)
    finally:
        if previous is None:
            os.environ.pop(RUN_DIR_VARIABLE, None)
        else:
            os.environ[RUN_DIR_VARIABLE] = previous
    if executed.exists():
        try:
            _html(executed, work / f"{spec.name}.html", spec.title)
        except Exception as error:  # noqa: BLE001
            manifest["status"] = "failed"
            manifest["error"] = manifest["error"] or _failure(error)
    headline = work / "headline.json"
    if headline.exists():
        manifest["headline"] = json.loads(headline.read_text(encoding="utf-8"))
    manifest["outputs"] = sorted(str(p.relative_to(work)) for p in work.rglob("*")
                                 if p.is_file())
    manifest["finished"] = _now()
    write_text_atomic(work / "manifest.json", json.dumps(manifest, indent=2, default=str))
    _replace_folder(work, reports_dir / spec.name)
    return manifest


def _replace_folder(source: Path, target: Path) -> None:
    """Move ``source`` to ``target``, replacing an older run folder in two renames."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        if old.exists():
            shutil.rmtree(old)
        os.replace(target, old)
    os.replace(source, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def run_all(specs: list[RunSpec], reports_dir: Path | None = None, jobs: int = 1,
            on_done: Callable[[dict], None] | None = None) -> list[dict]:
    """Run every spec (in ``jobs`` processes), then write the index page.

    One failure does not stop the others. Returns the manifests in grid order.
    """
    from research.report.index import write_index

    reports_dir = Path(reports_dir or config.reports_dir())
    results: dict[str, dict] = {}
    if jobs <= 1:
        for spec in specs:
            results[spec.name] = run_one(spec, reports_dir)
            if on_done:
                on_done(results[spec.name])
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(run_one, spec, reports_dir): spec for spec in specs}
            for future in as_completed(futures):
                spec = futures[future]
                try:
                    manifest = future.result()
                except Exception as error:  # noqa: BLE001 - a crashed worker is a failed run
                    manifest = {"name": spec.name, "title": spec.title,
                                "notebook": spec.notebook, "parameters": spec.parameters,
                                "status": "failed", "error": _failure(error)}
                results[spec.name] = manifest
                if on_done:
                    on_done(manifest)
    write_index(reports_dir)
    return [results[s.name] for s in specs]
