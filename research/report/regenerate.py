"""Rerun only the report runs whose inputs changed since their last successful run.

A run is up to date when its folder holds a successful manifest (written by the
current runner) whose notebook content hash, parameters, title, package version, the
sha256 of every data file the run read and of the user's event/basket files merged
into them (``RESEARCH_USER_DIR``) all match what is on disk now, and whose listed
outputs all exist. Otherwise :func:`plan` says why it must rerun;
failed runs always rerun. :func:`regenerate` runs those (serially, on a process
pool or on a Dask cluster) and leaves the others untouched, so a regenerate with
nothing changed writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import research
from research import config
from research.errors import DataNotFoundError, ParameterError
from research.files import sha256_file
from research.report.index import corrupt_manifest, failure_place, load_manifest
from research.report.lock import reports_lock
from research.report.outputs import USER_FILES_INPUT, user_files_sha256
from research.report.runner import (
    MANIFEST_VERSION,
    RunSpec,
    notebook_content_sha256,
    notebook_file,
    run_all,
    run_folder,
)


@dataclass(frozen=True)
class Decision:
    """Whether one run must rerun, and why (``reasons`` is empty when up to date)."""

    name: str
    reasons: tuple[str, ...] = ()

    @property
    def rerun(self) -> bool:
        """True when the run must be executed again."""
        return bool(self.reasons)


def read_manifest(reports_dir: Path, name: str) -> dict | None:
    """The manifest of run ``name`` in ``reports_dir``, or None when there is none.

    A corrupt manifest (truncated, not JSON, fields of the wrong type) is returned as
    :func:`~research.report.index.corrupt_manifest`, so the run reruns and replaces it
    and the plan names the problem.
    """
    path = run_folder(Path(reports_dir), name) / "manifest.json"
    if not path.exists():
        return None
    manifest, problem = load_manifest(path)
    return manifest if problem is None else corrupt_manifest(name, str(problem))


def _changed_keys(old: dict, new: dict) -> list[str]:
    keys = sorted(set(old) | set(new))
    return [k for k in keys if k not in old or k not in new
            or json.dumps(old[k], sort_keys=True) != json.dumps(new[k], sort_keys=True)]


def _current_sha256(file: str, path: Path) -> str | None:
    """sha256 of an input as it is now; None when it is gone."""
    if file == USER_FILES_INPUT:
        try:
            return user_files_sha256(config.user_dir())
        except DataNotFoundError:
            return None
    return sha256_file(path) if path.is_file() else None


def stale_reasons(spec: RunSpec, manifest: dict | None, *, reports_dir: Path | None = None,
                  notebooks_dir: Path | None = None, data_dir: Path | None = None,
                  hashes: dict[Path, str | None] | None = None) -> list[str]:
    """Why ``spec`` must rerun given its last ``manifest`` (empty list: up to date).

    Parameters
    ----------
    spec : the run as the grid defines it now.
    manifest : its last manifest (:func:`read_manifest`), or None.
    reports_dir, notebooks_dir, data_dir : folders (default: the configured ones).
    hashes : a cache of file -> sha256 shared between runs (filled in place).
    """
    if manifest is None:
        return ["no previous run"]
    if manifest.get("corrupt"):
        return [f"corrupt manifest ({manifest['corrupt']})"]
    if manifest.get("manifest_version") != MANIFEST_VERSION:
        return ["manifest written by an older runner (no record of the files read)"]
    if manifest.get("status") != "succeeded":
        error = manifest.get("error") or {}
        return [f"last run failed ({failure_place(error)}: {error.get('ename')})"]
    failure = manifest.get("last_failure")
    if failure:  # the last good report is kept, but the latest rerun failed: try again
        failure = failure if isinstance(failure, dict) else {}
        return [f"last rerun failed ({failure_place(failure)}: "
                f"{failure.get('ename')}); the report shown is the last good one"]
    reports_dir = Path(reports_dir or config.reports_dir())
    notebooks_dir = Path(notebooks_dir or config.notebooks_dir())
    data_dir = Path(data_dir or config.data_dir())
    hashes = {} if hashes is None else hashes
    reasons = []
    try:
        notebook = notebook_file(notebooks_dir, spec.notebook, f"run {spec.name!r}")
    except ParameterError as error:
        return [str(error)]
    if manifest.get("notebook") != spec.notebook:
        reasons.append(f"notebook changed from {manifest.get('notebook')} to {spec.notebook}")
    elif not notebook.exists():
        reasons.append(f"notebook {spec.notebook} not found")
    else:
        try:
            if notebook_content_sha256(notebook) != manifest.get("notebook_content_sha256"):
                reasons.append(f"notebook {spec.notebook} changed")
        except ParameterError:
            reasons.append(f"notebook {spec.notebook} unreadable")
    changed = _changed_keys(manifest.get("parameters") or {}, spec.parameters)
    if changed:
        reasons.append(f"parameters changed: {', '.join(changed)}")
    if manifest.get("title") != spec.title:
        reasons.append("title changed")
    if manifest.get("package_version") != research.__version__:
        reasons.append(f"package version {manifest.get('package_version')} -> "
                       f"{research.__version__}")
    for file, recorded in sorted((manifest.get("inputs") or {}).items()):
        path = data_dir / file
        if path not in hashes:
            hashes[path] = _current_sha256(file, path)
        if hashes[path] is None:
            reasons.append(f"input missing: {file}")
        elif hashes[path] != recorded:
            reasons.append(f"input changed: {file}")
    folder = run_folder(reports_dir, spec.name).resolve()
    missing = [o for o in manifest.get("outputs") or []
               if folder not in (folder / str(o)).resolve().parents
               or not (folder / str(o)).is_file()]
    if missing:
        reasons.append(f"output missing: {', '.join(missing[:3])}"
                       + (f" and {len(missing) - 3} more" if len(missing) > 3 else ""))
    return reasons


def plan(specs: list[RunSpec], reports_dir: Path | None = None, *, force: bool = False,
         notebooks_dir: Path | None = None, data_dir: Path | None = None) -> list[Decision]:
    """One :class:`Decision` per spec, in grid order; ``force`` reruns every run."""
    reports_dir = Path(reports_dir or config.reports_dir())
    hashes: dict[Path, str | None] = {}
    decisions = []
    for spec in specs:
        if force:
            decisions.append(Decision(spec.name, ("--force",)))
            continue
        reasons = stale_reasons(spec, read_manifest(reports_dir, spec.name),
                                reports_dir=reports_dir, notebooks_dir=notebooks_dir,
                                data_dir=data_dir, hashes=hashes)
        decisions.append(Decision(spec.name, tuple(reasons)))
    return decisions


def plan_table(decisions: list[Decision]) -> pd.DataFrame:
    """The plan as a table: name, action (``rerun`` or ``up to date``), reasons."""
    return pd.DataFrame(
        [{"name": d.name, "action": "rerun" if d.rerun else "up to date",
          "reasons": "; ".join(d.reasons)} for d in decisions],
        columns=["name", "action", "reasons"])


def regenerate(specs: list[RunSpec], reports_dir: Path | None = None, *, force: bool = False,
               jobs: int = 1, scheduler: str | None = None,
               on_plan: Callable[[list[Decision]], None] | None = None,
               on_done: Callable[[dict], None] | None = None,
               notebooks_dir: Path | None = None, data_dir: Path | None = None,
               wait: float | None = None) -> tuple[list[Decision], list[dict]]:
    """Rerun the runs :func:`plan` marks stale; return the decisions and the new manifests.

    ``on_plan`` sees the decisions before anything runs. With nothing to rerun no
    file is written (the index page is only written when it is missing). A rerun holds
    the reports folder's lock from the plan to the index page (``wait``: see
    :func:`~research.report.runner.run_all`), so the plan cannot go stale meanwhile.
    """
    from research.report.index import write_index

    reports_dir = Path(reports_dir or config.reports_dir())
    decisions = plan(specs, reports_dir, force=force, notebooks_dir=notebooks_dir,
                     data_dir=data_dir)
    stale = {d.name for d in decisions if d.rerun}
    if not stale:
        if on_plan:
            on_plan(decisions)
        if not (reports_dir / "index.html").exists():
            reports_dir.mkdir(parents=True, exist_ok=True)
            write_index(reports_dir)
        return decisions, []
    with reports_lock(reports_dir, wait):
        # planned again under the lock: a run that held it may have just rebuilt reports
        decisions = plan(specs, reports_dir, force=force, notebooks_dir=notebooks_dir,
                         data_dir=data_dir)
        if on_plan:
            on_plan(decisions)
        stale = {d.name for d in decisions if d.rerun}
        chosen = [s for s in specs if s.name in stale]
        manifests = run_all(chosen, reports_dir=reports_dir, jobs=jobs, on_done=on_done,
                            scheduler=scheduler, notebooks_dir=notebooks_dir,
                            data_dir=data_dir, wait=wait) if chosen else []
        return decisions, manifests
