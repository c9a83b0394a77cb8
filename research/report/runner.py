"""Execute notebooks with papermill and write each run's report folder.

A run folder ``reports/<name>/`` holds the executed notebook, an HTML copy (code
hidden), ``figures/*.png``, ``tables/*.csv``, ``headline.json`` and a
``manifest.json``: parameters, the notebook's content hash, the sha256 of every data
file the run read, the package version and those of :data:`MAIN_LIBRARIES`, commit,
times, status, and for a failure the failing cell, its source and the traceback. A
run is written into a temporary folder and renamed into place, so an interrupted run
never leaves a half-written report. A failed run never replaces the last good report
(a successful run whose outputs are all there): those outputs stay, and the failure
is recorded beside them (``failure.json``, and ``last_failure`` in the manifest);
without a good report the failed run's folder is kept and shown as failed.

Run names must match :data:`RUN_NAME` (one safe folder name) and notebooks must lie
inside the notebooks folder, so that a hostile grid cannot make a run read, write or
remove anything outside the reports folder.

Runs go serially, on a local process pool (``jobs``) or on a Dask distributed
cluster (``scheduler``, or the ``RESEARCH_DASK_SCHEDULER`` variable). Manifests are
deterministic: the same inputs give the same manifest apart from the
:data:`TIME_FIELDS` (and ``git_commit`` when the repository moved on).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import tomllib
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import research
from research import config
from research.errors import ParameterError, ReportError
from research.files import make_temp_dir, sha256_file, write_text_atomic
from research.report.lock import remove_leftovers, reports_lock, temporary_prefix
from research.report.outputs import INPUTS_FILE, RUN_DIR_VARIABLE, read_inputs
from research.report.page import PAGE_CSS, finish_page
from research.report.parameters import check_parameters, check_values

SCHEDULER_VARIABLE = "RESEARCH_DASK_SCHEDULER"
MANIFEST_VERSION = 2
TIME_FIELDS = ("started", "finished", "duration_seconds")
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
FAILURE_FILE = "failure.json"
# the libraries whose versions each manifest records (``library_versions``)
MAIN_LIBRARIES = ("pandas", "numpy", "scipy", "statsmodels", "papermill", "matplotlib")


def check_run_name(name: object, where: str = "report grid") -> str:
    """``name`` when it is a safe run (folder) name; ParameterError otherwise.

    A run name is one folder name: a letter or digit, then up to 99 letters, digits,
    ``_``, ``.`` or ``-`` (so never ``""``, ``.``, ``..``, a path or a hidden name).
    """
    if not isinstance(name, str) or not RUN_NAME.fullmatch(name):
        raise ParameterError(f"{where}: field 'name' = {name!r} is not a valid run name: "
                             "use 1 to 100 letters, digits, '_', '.' or '-', starting "
                             "with a letter or digit")
    return name


def run_folder(reports_dir: Path, name: str) -> Path:
    """The folder of run ``name`` in ``reports_dir``; ParameterError when it would not
    be a direct child of ``reports_dir`` (an unsafe name or a symbolic link out)."""
    check_run_name(name)
    root = Path(reports_dir).resolve()
    folder = root / name
    if folder.resolve().parent != root and not folder.is_symlink():
        raise ParameterError(f"{reports_dir}: run name {name!r} resolves outside the "
                             "reports folder")
    return folder


def notebook_file(notebooks_dir: Path, notebook: object, where: str = "report grid") -> Path:
    """The notebook file ``notebook`` (relative) inside ``notebooks_dir``.

    Raises ParameterError, naming the field and value, when ``notebook`` is not a
    relative ``.ipynb`` path or resolves outside ``notebooks_dir``.
    """
    if (not isinstance(notebook, str) or not notebook.endswith(".ipynb")
            or Path(notebook).is_absolute() or "\x00" in notebook):
        raise ParameterError(f"{where}: field 'notebook' = {notebook!r} must be the "
                             "relative path of a .ipynb file in the notebooks folder")
    root = Path(notebooks_dir).resolve()
    path = (root / notebook).resolve()
    if root not in path.parents:
        raise ParameterError(f"{where}: field 'notebook' = {notebook!r} resolves outside "
                             f"the notebooks folder {root}")
    return path


@dataclass(frozen=True)
class RunSpec:
    """One report run: a notebook and its parameters.

    Raises ParameterError for a name that is not :data:`RUN_NAME`, a notebook that is
    not a relative path, parameters that are not a table or a title that is not text.
    """

    name: str
    notebook: str
    parameters: dict = field(default_factory=dict)
    title: str = ""

    def __post_init__(self) -> None:
        check_run_name(self.name)
        if not isinstance(self.notebook, str) or Path(self.notebook).is_absolute():
            raise ParameterError(f"run {self.name!r}: field 'notebook' = {self.notebook!r} "
                                 "must be a relative path in the notebooks folder")
        if not isinstance(self.parameters, dict):
            raise ParameterError(f"run {self.name!r}: field 'parameters' = "
                                 f"{self.parameters!r} must be a table of name = value")
        if not isinstance(self.title, str):
            raise ParameterError(f"run {self.name!r}: field 'title' = {self.title!r} "
                                 "must be text")


def default_grid_path() -> Path:
    """``reports.toml`` at the repository root (an installed wheel: its bundled copy)."""
    return config.grid_file()


def load_grid(path: Path | None = None) -> list[RunSpec]:
    """Read the report grid: ``[[run]]`` tables with name, notebook, title, parameters."""
    path = Path(path or default_grid_path())
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ParameterError(f"{path}: cannot read the report grid: {error}") from error
    specs = []
    runs = document.get("run", [])
    if not isinstance(runs, list):
        raise ParameterError(f"{path}: field 'run' = {runs!r} must be [[run]] tables")
    for position, entry in enumerate(runs, start=1):
        where = f"{path}: run #{position}"
        if not isinstance(entry, dict):
            raise ParameterError(f"{where}: {entry!r} is not a table")
        missing = [k for k in ("name", "notebook") if k not in entry]
        if missing:
            raise ParameterError(f"{where} lacks {missing}")
        name = check_run_name(entry["name"], where)
        expected = {"notebook": str, "title": str, "parameters": dict}
        for key, kind in expected.items():
            if key in entry and not isinstance(entry[key], kind):
                what = "text" if kind is str else "a table (name = value)"
                raise ParameterError(f"{where} ({name}): field {key!r} = {entry[key]!r} "
                                     f"must be {what}")
        notebook_file(config.notebooks_dir(), entry["notebook"], f"{where} ({name})")
        specs.append(RunSpec(name=name, notebook=entry["notebook"],
                             parameters=dict(entry.get("parameters", {})),
                             title=entry.get("title", name)))
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ParameterError(f"{path}: duplicate run names {duplicates}")
    return specs


def _git_commit() -> str | None:
    if not config.in_checkout():  # an installed wheel: any enclosing repository is not ours
        return None
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=config.REPO_ROOT,
                             capture_output=True, text=True, timeout=10, check=True)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def notebook_content_sha256(path: Path) -> str:
    """sha256 of what determines a notebook's run: kernel, cell types, sources and tags.

    Outputs, execution counts and other metadata (which Jupyter rewrites on every
    save) are left out, so saving a notebook unchanged keeps its hash.
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        cells = [{"type": c["cell_type"],
                  "source": "".join(c["source"]) if isinstance(c["source"], list)
                  else c["source"],
                  "tags": sorted(c.get("metadata", {}).get("tags", []))}
                 for c in document["cells"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ParameterError(f"{path}: not a readable notebook: {error}") from error
    kernel = document.get("metadata", {}).get("kernelspec", {}).get("name")
    payload = json.dumps({"kernel": kernel, "cells": cells}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def without_times(manifest: dict) -> dict:
    """The manifest without its :data:`TIME_FIELDS` (for comparing two runs)."""
    return {k: v for k, v in manifest.items() if k not in TIME_FIELDS}


def library_versions() -> dict[str, str | None]:
    """Installed version of each of :data:`MAIN_LIBRARIES` (None when one is missing)."""
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str | None] = {}
    for name in MAIN_LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _dumps(manifest: dict) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n"


# nbconvert's lab page without what it loads from a CDN (require.js, MathJax, Mermaid,
# the widget manager): a report is one self-contained file that works offline
OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
# and with the page style of research.report.page (tables wrap, nothing scrolls in print)
OFFLINE_TEMPLATE += ("{% block extra_css %}{{ super() }}<style>" + PAGE_CSS
                     + "</style>{% endblock extra_css %}\n")
REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?\s*(?:https?:)?//", re.IGNORECASE)


def html_exporter():
    """An nbconvert HTMLExporter for reports: code hidden, nothing loaded from the network."""
    import jinja2
    from nbconvert import HTMLExporter

    return HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                        exclude_output_prompt=True, template_file="offline.html.j2",
                        extra_loaders=[jinja2.DictLoader({"offline.html.j2": OFFLINE_TEMPLATE})])


def _html(notebook_path: Path, html_path: Path, title: str) -> None:
    import nbformat

    exporter = html_exporter()
    notebook = nbformat.read(notebook_path, as_version=4)
    notebook.metadata["title"] = title
    body, _ = exporter.from_notebook_node(notebook)
    found = REMOTE_SCRIPT.search(body)
    if found:
        raise ReportError(f"{html_path.name}: the HTML export would load a script from the "
                          f"network ({found.group(0)!r}); reports must be self-contained")
    write_text_atomic(html_path, body)


def _normalize_executed(executed: Path, spec: RunSpec) -> None:
    """Make the executed notebook reproducible: papermill's absolute (temporary) paths
    become relative ones and its injected cell gets a fixed id instead of a random one."""
    import nbformat

    notebook = nbformat.read(executed, as_version=4)
    papermill = notebook.metadata.get("papermill", {})
    papermill["input_path"] = f"notebooks/{spec.notebook}"
    papermill["output_path"] = f"{spec.name}.ipynb"
    for cell in notebook.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = "injected-parameters"
    nbformat.write(notebook, executed)


def _failure(error: BaseException) -> dict:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(error, PapermillExecutionError):
        return {"cell_index": error.cell_index, "execution_count": error.exec_count,
                "source": error.source, "ename": error.ename, "evalue": error.evalue,
                "traceback": "\n".join(error.traceback)}
    return {"cell_index": None, "source": None, "ename": type(error).__name__,
            "evalue": str(error),
            "traceback": "".join(traceback.format_exception(error))}


# run at kernel start: pandas shows full cells and warnings print without file paths
KERNEL_SETUP = "__import__('research.report.tables', fromlist=['_']).configure_kernel()"


def _kernel_manager_class(env: dict[str, str]):
    """A kernel manager class whose kernels get ``env`` on top of this process's variables.

    The run folder and data folder go to the kernel this way, never through
    ``os.environ``, so that several runs can share a process (Dask worker threads).
    """
    from jupyter_client.manager import AsyncKernelManager

    class RunKernelManager(AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw):
            kw["env"] = {**(kw.get("env") or os.environ), **env}
            # the kernel's own start-up log (e.g. ipykernel's warning that a local kernel
            # talks over TCP) is noise in batch runs; the notebook's warnings still show
            kw["extra_arguments"] = [*kw.get("extra_arguments", []),
                                     "--IPKernelApp.log_level=ERROR",
                                     f"--IPKernelApp.exec_lines={KERNEL_SETUP}"]
            return await super()._async_pre_start_kernel(**kw)

        async def _async_interrupt_kernel(self):
            # papermill shuts the kernel down after the last cell, and jupyter_client
            # interrupts it first; the idle kernel then logs "KeyboardInterrupt caught in
            # kernel" in successful runs. Nothing runs at shutdown, so skip the interrupt.
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

    return RunKernelManager


def run_one(spec: RunSpec, reports_dir: Path | None = None,
            notebooks_dir: Path | None = None, data_dir: Path | None = None,
            env: dict[str, str] | None = None) -> dict:
    """Execute one run and write its folder; returns the manifest (never raises on a
    notebook failure: the manifest's ``status`` is ``"failed"``).

    ``env`` adds variables to the kernel's environment (the kernel otherwise inherits
    this process's); the run and data folders are always set.
    """
    import papermill

    reports_dir = Path(reports_dir or config.reports_dir())
    notebooks_dir = Path(notebooks_dir or config.notebooks_dir())
    data_dir = Path(data_dir or config.data_dir())
    reports_dir.mkdir(parents=True, exist_ok=True)
    target = run_folder(reports_dir, spec.name)
    work = make_temp_dir(reports_dir, temporary_prefix(spec.name))  # umask mode, not 0700
    clock = time.monotonic()
    manifest = {"manifest_version": MANIFEST_VERSION, "name": spec.name, "title": spec.title,
                "notebook": spec.notebook, "notebook_sha256": None,
                "notebook_content_sha256": None, "parameters": spec.parameters,
                "inputs": {}, "package_version": research.__version__,
                "library_versions": library_versions(), "git_commit": _git_commit(),
                "started": _now(), "finished": None, "duration_seconds": None,
                "status": "running", "error": None, "outputs": []}
    executed = work / f"{spec.name}.ipynb"
    env = {**(env or {}), RUN_DIR_VARIABLE: str(work), "RESEARCH_DATA_DIR": str(data_dir),
           "RESEARCH_NOTEBOOKS_DIR": str(notebooks_dir)}
    try:
        notebook = notebook_file(notebooks_dir, spec.notebook, f"run {spec.name!r}")
        if not notebook.exists():
            raise ParameterError(f"{notebook}: notebook of run {spec.name!r} not found")
        manifest["notebook_sha256"] = sha256_file(notebook)
        manifest["notebook_content_sha256"] = notebook_content_sha256(notebook)
        check_parameters(notebook, spec.parameters)
        check_values(notebook, spec.parameters, data_dir)
        papermill.execute_notebook(str(notebook), str(executed), parameters=spec.parameters,
                                   kernel_name="python3", progress_bar=False,
                                   cwd=str(notebooks_dir), report_mode=False,
                                   kernel_manager_class=_kernel_manager_class(env))
        manifest["status"] = "succeeded"
    except Exception as error:  # noqa: BLE001 - every failure is recorded in the manifest
        manifest["status"] = "failed"
        manifest["error"] = _failure(error)
    if executed.exists():
        try:
            _normalize_executed(executed, spec)
            finish_page(executed, {**manifest, "inputs": read_inputs(work)}, spec.notebook)
            _html(executed, work / f"{spec.name}.html", spec.title)
        except Exception as error:  # noqa: BLE001
            manifest["status"] = "failed"
            manifest["error"] = manifest["error"] or _failure(error)
    manifest["inputs"] = read_inputs(work)
    (work / INPUTS_FILE).unlink(missing_ok=True)
    headline = work / "headline.json"
    if headline.exists():
        manifest["headline"] = json.loads(headline.read_text(encoding="utf-8"))
    manifest["outputs"] = sorted(p.relative_to(work).as_posix() for p in work.rglob("*")
                                 if p.is_file())
    manifest["finished"] = _now()
    manifest["duration_seconds"] = round(time.monotonic() - clock, 1)
    _publish(work, target, manifest)
    return manifest


def last_good_manifest(folder: Path) -> dict | None:
    """The manifest of the successful report in ``folder`` when every output it lists
    is there, else None (no report, a failed one, or one missing files)."""
    try:
        manifest = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("status") != "succeeded":
        return None
    outputs = manifest.get("outputs")
    if not isinstance(outputs, list) or not outputs:
        return None
    root = Path(folder).resolve()
    for output in outputs:
        path = (root / str(output)).resolve()
        if root not in path.parents or not path.is_file():
            return None
    return manifest


def _publish(work: Path, target: Path, manifest: dict) -> None:
    """Put a finished run in place.

    A success (or a failure with no good report to keep) replaces ``target`` with
    ``work``. A failure over a good report keeps that report's outputs: the failed
    manifest goes to ``failure.json`` beside them and the good manifest gets a
    ``last_failure`` summary; ``work`` is then removed.
    """
    previous = None if manifest["status"] == "succeeded" else last_good_manifest(target)
    if previous is None:
        write_text_atomic(work / "manifest.json", _dumps(manifest))
        _replace_folder(work, target)
        return
    try:
        error = manifest.get("error") or {}
        write_text_atomic(target / FAILURE_FILE, _dumps(manifest))
        previous["last_failure"] = {
            "file": FAILURE_FILE, "finished": manifest.get("finished"),
            "parameters": manifest.get("parameters"),
            "cell_index": error.get("cell_index"), "ename": error.get("ename"),
            "evalue": None if error.get("evalue") is None else str(error["evalue"])[:1000]}
        write_text_atomic(target / "manifest.json", _dumps(previous))
    finally:
        _remove_tree(work)


def _remove_tree(path: Path, *, ignore_errors: bool = False) -> None:
    """Remove a run's own folder; a symbolic link is unlinked, never followed."""
    if path.is_symlink():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, ignore_errors=ignore_errors)


def _replace_folder(source: Path, target: Path) -> None:
    """Move ``source`` to ``target``, replacing an older run folder in two renames.

    Both must be entries of the same folder (the reports folder): nothing else is
    ever renamed or removed.
    """
    if source.resolve().parent != target.parent.resolve() or target.name in ("", ".", ".."):
        raise ReportError(f"{target}: refusing to replace a folder outside the reports "
                          f"folder {source.resolve().parent}")
    old = None
    if target.exists() or target.is_symlink():
        old = target.with_name(f".{target.name}.old")
        _remove_tree(old)
        os.replace(target, old)
    os.replace(source, target)
    if old is not None:
        _remove_tree(old, ignore_errors=True)


def _crashed(spec: RunSpec, reports_dir: Path, error: BaseException) -> dict:
    """Record a run whose worker died (the notebook never reported back) as failed."""
    target = run_folder(reports_dir, spec.name)
    for leftover in reports_dir.glob(f".{spec.name}.*"):
        if re.fullmatch(re.escape(f".{spec.name}.") + r"(?:[0-9a-f]{8}-[0-9]+\.)?[a-z0-9_]{8}",
                        leftover.name):
            _remove_tree(leftover, ignore_errors=True)  # the dead worker's temporary folder
    manifest = {"manifest_version": MANIFEST_VERSION, "name": spec.name, "title": spec.title,
                "notebook": spec.notebook, "parameters": spec.parameters, "inputs": {},
                "package_version": research.__version__,
                "library_versions": library_versions(), "started": None,
                "finished": _now(), "duration_seconds": None, "status": "failed",
                "error": _failure(error), "outputs": ["manifest.json"]}
    work = make_temp_dir(reports_dir, temporary_prefix(spec.name))
    _publish(work, target, manifest)
    return manifest


def dask_scheduler(address: str | None = None) -> str | None:
    """The Dask scheduler to use: ``address``, else ``RESEARCH_DASK_SCHEDULER``, else None."""
    return address or os.environ.get(SCHEDULER_VARIABLE) or None


def _run_dask(specs: list[RunSpec], scheduler: str, arguments: tuple,
              finish: Callable[[RunSpec, Callable[[], dict]], None]) -> None:
    import uuid

    from distributed import Client
    from distributed import as_completed as dask_completed

    try:
        client = Client(scheduler, timeout="20s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise ReportError(f"cannot connect to the Dask scheduler {scheduler!r} "
                          f"(--scheduler or {SCHEDULER_VARIABLE}): {error}") from error
    with client:
        arguments = (*arguments[:3], {**arguments[3], **_dask_blas_threads(client)})
        futures = {}
        for spec in specs:
            key = f"report-{spec.name}-{uuid.uuid4().hex[:8]}"
            futures[client.submit(run_one, spec, *arguments, key=key, pure=False)] = spec
        for future in dask_completed(futures):
            finish(futures[future], future.result)


def _dask_blas_threads(client) -> dict[str, str]:
    """:func:`blas_threads` for the busiest host of the cluster.

    A host runs as many kernels at once as its workers have threads; each kernel gets
    that host's cores divided by them (the smallest share over the hosts, as every run
    gets the same environment).
    """
    cores = client.run(os.cpu_count)  # worker address -> cores of its host
    kernels: dict[str, int] = {}
    host_cores: dict[str, int] = {}
    for address, info in client.scheduler_info()["workers"].items():
        host = info.get("host", address)
        kernels[host] = kernels.get(host, 0) + int(info.get("nthreads", 1))
        host_cores[host] = int(cores.get(address) or 1)
    return _thread_limits(min((host_cores[h] // max(1, k) for h, k in kernels.items()),
                              default=1))


BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def blas_threads(workers: int) -> dict[str, str]:
    """Thread limits for kernels running ``workers`` at a time on this machine.

    OpenBLAS and OpenMP start one thread per core in every kernel; with several kernels
    at once they oversubscribe the cores and spin against each other (measured here: the
    default report set on 2 cores took 3.0x longer on 2 processes than serially). Each
    kernel gets ``cores // workers`` threads; variables the user set are kept.
    """
    return _thread_limits((os.cpu_count() or 1) // max(1, workers))


def _thread_limits(threads: int) -> dict[str, str]:
    """``threads`` (at least one) for each BLAS/OpenMP variable the user did not set."""
    return {name: os.environ.get(name, str(max(1, threads))) for name in BLAS_VARIABLES}


def run_all(specs: list[RunSpec], reports_dir: Path | None = None, jobs: int = 1,
            on_done: Callable[[dict], None] | None = None, *, scheduler: str | None = None,
            notebooks_dir: Path | None = None, data_dir: Path | None = None,
            wait: float | None = None) -> list[dict]:
    """Run every spec, then write the index page.

    Runs go serially (``jobs=1``), on ``jobs`` local processes, or on the Dask
    cluster at ``scheduler`` (default: the ``RESEARCH_DASK_SCHEDULER`` variable;
    its workers must see the same file system). One failure, even a crashed
    worker, does not stop the others. Returns the manifests in grid order.

    The reports folder is locked for the whole batch (:mod:`research.report.lock`):
    another live run makes this one wait up to ``wait`` seconds (default
    ``RESEARCH_LOCK_WAIT`` or 0), then raise ReportsLockedError naming it; temporary
    folders of killed runs (their process gone) are removed first.
    """
    from research.report.index import write_index

    reports_dir = Path(reports_dir or config.reports_dir()).resolve()
    # folders resolved here, so that Dask workers (other processes, other
    # environments) read the same notebooks, data and user files as this process
    user_dir = config.user_dir()
    arguments = (reports_dir, Path(notebooks_dir or config.notebooks_dir()).resolve(),
                 Path(data_dir or config.data_dir()).resolve(),
                 {"RESEARCH_USER_DIR": str(user_dir) if user_dir else ""})
    results: dict[str, dict] = {}

    def finish(spec: RunSpec, result: Callable[[], dict]) -> None:
        try:
            manifest = result()
        except Exception as error:  # noqa: BLE001 - a crashed worker is a failed run
            manifest = _crashed(spec, reports_dir, error)
        results[spec.name] = manifest
        if on_done:
            on_done(manifest)

    # one writer at a time on the folder; then clear what killed runs left behind
    with reports_lock(reports_dir, wait):
        remove_leftovers(reports_dir)
        scheduler = dask_scheduler(scheduler)
        if scheduler:
            _run_dask(specs, scheduler, arguments, finish)
        elif jobs <= 1 or len(specs) <= 1:
            for spec in specs:
                finish(spec, lambda s=spec: run_one(s, *arguments))
        else:
            workers = min(jobs, len(specs))
            pooled = (*arguments[:3], {**arguments[3], **blas_threads(workers)})
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(run_one, spec, *pooled): spec for spec in specs}
                for future in as_completed(futures):
                    finish(futures[future], future.result)
        write_index(reports_dir)
        return [results[s.name] for s in specs]
