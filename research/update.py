"""One command for automation: pull new months, merge, rerun what changed, summarize.

:func:`update` is what ``research update`` runs, and what a scheduler (cron, a CI
workflow) calls:

1. pull the newest months of China's exports from the UN Comtrade API for what the
   report grid reads: every product group of the bundled monthly table (the baskets'
   groups, and the other groups, which the product designs use as controls) and every
   destination of it (the notebooks compare a target with all other destinations);
2. merge them onto the bundled monthly table without double counting
   (:func:`research.refresh.merge_monthly`) and write the updated data folder;
3. rerun only the report runs whose inputs changed (:func:`research.report.regenerate.regenerate`)
   on that folder;
4. write ``UPDATE.md`` and ``update.json`` in the reports folder: new months,
   revisions, which runs reran and how each headline estimate moved.

Without network it falls back to the cache and says so; with nothing cached for the
query it fails with :class:`~research.errors.OfflineError`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from research import config
from research.errors import FetchError
from research.files import write_text_atomic
from research.markup import escape_markdown
from research.refresh import UpdateResult, update_comtrade
from research.report.regenerate import Decision, regenerate
from research.report.runner import load_grid

SUMMARY_MARKDOWN = "UPDATE.md"
SUMMARY_JSON = "update.json"


@dataclass
class UpdateSummary:
    """What one :func:`update` did."""

    source: str  # "network" or "cache"
    message: str
    added_periods: list[str]
    revisions: int
    data_dir: Path | None
    decisions: list[Decision] = field(default_factory=list)
    manifests: list[dict] = field(default_factory=list)
    headline_changes: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def failed(self) -> list[str]:
        """Names of the runs that failed."""
        return [m["name"] for m in self.manifests if m.get("status") != "succeeded"]


def _headlines(reports_dir: Path, names: list[str]) -> dict[str, dict]:
    found = {}
    for name in names:
        path = reports_dir / name / "headline.json"
        if path.is_file():
            try:
                found[name] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue
    return found


def headline_changes(before: dict[str, dict], after: dict[str, dict]) -> pd.DataFrame:
    """How each run's headline estimate moved: before, after and the difference."""
    rows = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, {}), after.get(name, {})
        old_value, new_value = old.get("estimate"), new.get("estimate")
        moved = (new_value - old_value
                 if isinstance(old_value, int | float) and isinstance(new_value, int | float)
                 else math.nan)
        rows.append({"name": name, "label": new.get("label", old.get("label")),
                     "before": old_value, "after": new_value, "change": moved,
                     "conf_low_after": new.get("conf_low"),
                     "conf_high_after": new.get("conf_high")})
    return pd.DataFrame(rows, columns=["name", "label", "before", "after", "change",
                                       "conf_low_after", "conf_high_after"])


def _pull(hs: list[str] | None, *, offline: bool | None, pull_options: dict,
          note: Callable[[str], None]) -> tuple[UpdateResult, str, str]:
    """Pull online; without network, fall back to the cache and say so."""
    if offline or (offline is None and config.offline()):
        result = update_comtrade(hs=hs, offline=True, **pull_options)
        return result, "cache", "offline mode: used cached Comtrade responses only"
    try:  # recent months are revised: download again, whatever the cache holds
        result = update_comtrade(hs=hs, offline=False, refresh=True, **pull_options)
    except FetchError as error:
        if error.status is not None:  # the server answered: a real error, not no network
            raise
        note(f"no network ({error}); falling back to the cache")
        result = update_comtrade(hs=hs, offline=True, **pull_options)
        return result, "cache", f"no network, used cached Comtrade responses ({error})"
    return result, "network", "pulled from the UN Comtrade API"


def update(*, grid: Path | None = None, reports_dir: Path | None = None,
           offline: bool | None = None, force: bool = False, jobs: int = 1,
           scheduler: str | None = None, note: Callable[[str], None] = print,
           on_done: Callable[[dict], None] | None = None,
           progress: Callable[[int, int], None] | None = None,
           **pull_options) -> UpdateSummary:
    """Pull, merge, regenerate changed reports and write a summary.

    Parameters
    ----------
    grid : the report grid (default ``reports.toml``).
    reports_dir : where the runs live (default ``config.reports_dir()``).
    offline : ``True`` uses the cache only; ``None`` follows ``RESEARCH_OFFLINE``.
    force : rerun every report, changed or not.
    jobs, scheduler : as for :func:`research.report.runner.run_all`.
    note : called with each progress message.
    **pull_options : passed to :func:`research.refresh.update_comtrade` (``start``,
        ``end``, ``api_key``, ``options``, ``cache_dir``, ``out_dir``, ``data_dir``).

    Returns
    -------
    UpdateSummary; ``summary.failed`` lists failed runs (the CLI then exits 1).
    """
    reports_dir = Path(reports_dir or config.reports_dir())
    specs = load_grid(grid)
    note("pulling the newest Comtrade months for every product group and destination")
    result, source, message = _pull(None, offline=offline, note=note,
                                    pull_options={**pull_options, "progress": progress})
    note(message)
    if result.fresh.empty:
        note("nothing new was published; reports are checked against the bundled data")
    data_dir = result.out_dir or pull_options.get("out_dir")
    if data_dir is None and config.updated_dir().is_dir():
        data_dir = config.updated_dir()
    names = [s.name for s in specs]
    before = _headlines(reports_dir, names)
    decisions, manifests = regenerate(specs, reports_dir, force=force, jobs=jobs,
                                      scheduler=scheduler, on_done=on_done,
                                      data_dir=Path(data_dir) if data_dir else None)
    rerun = [m["name"] for m in manifests]
    changes = headline_changes({k: v for k, v in before.items() if k in rerun},
                               _headlines(reports_dir, rerun))
    summary = UpdateSummary(source, message, list(result.added_periods),
                            len(result.revisions), Path(data_dir) if data_dir else None,
                            decisions, manifests, changes)
    write_summary(summary, reports_dir)
    return summary


def summary_markdown(summary: UpdateSummary) -> str:
    """The summary as a short Markdown page."""
    lines = ["# Update summary", "",
             f"- data: {summary.message}",
             f"- new periods: {', '.join(summary.added_periods) or 'none'}",
             f"- revised past values: {summary.revisions}",
             f"- data folder used: {summary.data_dir or 'bundled data'}", ""]
    rerun = [d for d in summary.decisions if d.rerun]
    lines.append(f"## Runs: {len(rerun)} rerun, {len(summary.decisions) - len(rerun)} "
                 "up to date, " + f"{len(summary.failed)} failed")
    lines.append("")
    for decision in summary.decisions:
        action = "rerun: " + "; ".join(decision.reasons) if decision.rerun else "up to date"
        status = next((m.get("status") for m in summary.manifests
                       if m["name"] == decision.name), None)
        lines.append(f"- `{decision.name}`: {action}" + (f" ({status})" if status else ""))
    if not summary.headline_changes.empty:
        lines += ["", "## Headline estimates", "",
                  "| run | headline | before | after | change |", "|---|---|---|---|---|"]
        for row in summary.headline_changes.itertuples():
            lines.append(f"| {escape_markdown(row.name)} | {escape_markdown(row.label)} | "
                         f"{_fmt(row.before)} | "
                         f"{_fmt(row.after)} | {_fmt(row.change, signed=True)} |")
    return "\n".join(lines) + "\n"


def _fmt(value: object, signed: bool = False) -> str:
    if not isinstance(value, int | float) or math.isnan(value):
        return "–"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def write_summary(summary: UpdateSummary, reports_dir: Path) -> Path:
    """Write ``UPDATE.md`` and ``update.json`` atomically; returns the Markdown path."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "source": summary.source, "message": summary.message,
        "added_periods": summary.added_periods, "revisions": summary.revisions,
        "data_dir": str(summary.data_dir) if summary.data_dir else None,
        "runs": [{"name": d.name, "rerun": d.rerun, "reasons": list(d.reasons)}
                 for d in summary.decisions],
        "failed": summary.failed,
        "headline_changes": json.loads(summary.headline_changes.to_json(orient="records")),
    }
    write_text_atomic(reports_dir / SUMMARY_JSON,
                      json.dumps(record, indent=2, sort_keys=True) + "\n")
    path = reports_dir / SUMMARY_MARKDOWN
    write_text_atomic(path, summary_markdown(summary))
    return path
