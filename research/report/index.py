"""The browsable index page ``reports/index.html``, built from the run manifests."""

from __future__ import annotations

import html
import json
from pathlib import Path
from urllib.parse import quote

from research import config
from research.files import write_text_atomic

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.4rem;
text-align:left;vertical-align:top;font-size:.9rem}th{background:#f4f4f4}
.succeeded{color:#17692b;font-weight:600}.fragile{color:#a15c00;font-weight:600}.failed{color:#b00020;font-weight:600}
code{font-size:.8rem}select{margin-right:1rem}.note{color:#555;font-size:.85rem}
"""

SCRIPT = """
function applyFilters(){
  const ev=document.getElementById('f-event').value, bk=document.getElementById('f-basket').value;
  for(const row of document.querySelectorAll('tbody tr')){
    const ok=(!ev||row.dataset.event===ev)&&(!bk||row.dataset.basket===bk);
    row.style.display=ok?'':'none';
  }
}
"""


# Fields the index reads, with the types a manifest must give them (None allowed).
_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str, "status": str, "title": str, "notebook": str, "finished": str,
    "parameters": dict, "headline": dict, "error": dict, "last_failure": (dict, bool),
    "outputs": list}
_NUMBERS = ("estimate", "conf_low", "conf_high")


def manifest_problem(manifest: object) -> str | None:
    """What makes a parsed manifest unusable (not a table, a field of the wrong type),
    or None."""
    if not isinstance(manifest, dict):
        return f"not a JSON object but {type(manifest).__name__}"
    for field, kind in _FIELD_TYPES.items():
        value = manifest.get(field)
        if value is not None and not isinstance(value, kind):
            return f"field {field!r} = {str(value)[:60]!r} is not a {getattr(kind, '__name__', kind)}"
    for field in _NUMBERS:
        value = (manifest.get("headline") or {}).get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return f"field 'headline.{field}' = {str(value)[:60]!r} is not a number"
    return None


def load_manifest(path: Path) -> tuple[dict | None, str | None]:
    """(manifest, None) for a sound ``manifest.json``, or (None, what is wrong with it):
    unreadable, not JSON (a truncated file), or fields of the wrong type."""
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return None, f"{path}: unreadable or not JSON ({type(error).__name__}: {error})"
    problem = manifest_problem(manifest)
    return (None, f"{path}: {problem}") if problem else (manifest, None)


def corrupt_manifest(name: str, problem: str) -> dict:
    """The stand-in shown on the index for a run whose manifest is corrupt."""
    return {"name": name, "status": "corrupt", "corrupt": problem, "parameters": {},
            "error": {"ename": "corrupt manifest", "evalue": problem}}


def read_manifests(reports_dir: Path) -> list[dict]:
    """Every run manifest under ``reports_dir``, sorted by run name.

    A corrupt manifest (truncated, not JSON, wrong field types) becomes a stand-in with
    status ``corrupt`` naming the file and the problem (:func:`corrupt_manifest`), so the
    index lists the run as broken instead of failing.
    """
    manifests = []
    for path in sorted(reports_dir.glob("*/manifest.json")):
        if path.parent.name.startswith("."):
            continue
        manifest, problem = load_manifest(path)
        manifests.append(manifest if problem is None
                         else corrupt_manifest(path.parent.name, str(problem)))
    return manifests


def _headline(manifest: dict) -> str:
    h = manifest.get("headline")
    if not h:
        return ""
    verdict = _verdict(h)
    if h.get("estimate") is None:
        return f"{html.escape(str(h.get('label', '')))}{verdict}"
    text = f"{html.escape(str(h.get('label', '')))}: <b>{h['estimate']:.1f}</b>"
    if h.get("conf_low") is not None and h.get("conf_high") is not None:
        text += f" [{h['conf_low']:.1f}, {h['conf_high']:.1f}]"
    return text + verdict


def _verdict(h: dict) -> str:
    """The robustness verdict beside the number, with its first reason (ban studies)."""
    verdict = h.get("verdict")
    if not verdict:
        return ""
    reasons = h.get("verdict_reasons") or []
    first = html.escape(str(reasons[0])) if reasons else ""
    css = {"supported": "succeeded", "fragile": "fragile"}.get(str(verdict), "failed")
    return (f'<br><span class="{css}">verdict: {html.escape(str(verdict))}</span>'
            + (f' <span class="note">{first}</span>' if first else ""))


def failure_place(error: dict) -> str:
    """Where a run failed: ``cell N`` for a notebook cell, or ``before the notebook
    ran`` when it failed before its kernel started (bad parameters, a missing
    notebook: the runner records no cell)."""
    cell = error.get("cell_index")
    return "before the notebook ran" if cell is None else f"cell {cell}"


def _links(manifest: dict, href: str, name: str) -> list[str]:
    """Links to the run's report, notebook and manifest, each only when the run wrote
    it (the manifest's ``outputs``; a manifest without that list links all three)."""
    outputs = manifest.get("outputs")
    present = None if not isinstance(outputs, list) else {str(o) for o in outputs}
    links = []
    for file, label in ((f"{name}.html", "report"), (f"{name}.ipynb", "notebook")):
        if present is None or file in present:
            links.append(f'<a href="{href}/{html.escape(quote(file))}">{label}</a>')
    links.append(f'<a href="{href}/manifest.json">manifest</a>')
    return links


def _last_failure(manifest: dict) -> str:
    """A note for a kept good report whose latest rerun failed (see ``failure.json``)."""
    failure = manifest.get("last_failure")
    if not failure:
        return ""
    failure = failure if isinstance(failure, dict) else {}
    name = quote(str(manifest.get("name", "")))
    return (f'<div class="note failed">last rerun failed '
            f'({html.escape(str(failure.get("finished")))}) '
            f'{"" if failure.get("cell_index") is None else "at "}'
            f'{html.escape(failure_place(failure))}: '
            f'{html.escape(str(failure.get("ename")))}: '
            f'{html.escape(str(failure.get("evalue"))[:300])}; the report shown is the last '
            f'good one (<a href="{html.escape(name)}/failure.json">failure</a>)</div>')


def _options(values: set[str]) -> str:
    return "".join(f'<option value="{html.escape(v)}">{html.escape(v)}</option>'
                   for v in sorted(values))


def render_index(manifests: list[dict]) -> str:
    """HTML of the index page for these manifests."""
    events = {str(m.get("parameters", {}).get("event_id")) for m in manifests
              if m.get("parameters", {}).get("event_id")}
    baskets = {str(m.get("parameters", {}).get("basket")) for m in manifests
               if m.get("parameters", {}).get("basket")}
    rows = []
    for m in manifests:
        name = str(m["name"])
        parameters = m.get("parameters", {})
        href = html.escape(quote(name))
        links = _links(m, href, name)
        status = str(m.get("status", "unknown"))
        error = m.get("error") or {}
        detail = ""
        if status in ("failed", "corrupt"):
            detail = (f'<div class="note">{html.escape(failure_place(error))}: '
                      f'{html.escape(str(error.get("ename")))}: '
                      f'{html.escape(str(error.get("evalue"))[:300])}</div>')
        detail += _last_failure(m)
        params = "<br>".join(f"<code>{html.escape(k)}={html.escape(json.dumps(v))}</code>"
                             for k, v in parameters.items())
        rows.append(
            f'<tr data-event="{html.escape(str(parameters.get("event_id", "")))}" '
            f'data-basket="{html.escape(str(parameters.get("basket", "")))}">'
            f'<td class="{html.escape(status)}">{html.escape(status)}</td>'
            f'<td>{html.escape(str(m.get("title") or name))}<div class="note">'
            f'{html.escape(name)} ({html.escape(str(m.get("notebook", "")))})</div>{detail}</td>'
            f"<td>{params}</td><td>{_headline(m)}</td><td>{' · '.join(links)}</td>"
            f'<td class="note">{html.escape(str(m.get("finished") or ""))}</td></tr>')
    failed = sum(m.get("status") != "succeeded" or bool(m.get("last_failure"))
                 for m in manifests)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Reports: export controls and defense</title>
<style>{STYLE}</style><script>{SCRIPT}</script></head><body>
<h1>Reports</h1>
<p class="note">{len(manifests)} runs, {failed} failed. Regenerate with <code>make report</code>.
Bundled trade data end in December 2024.</p>
<p><label>Event <select id="f-event" onchange="applyFilters()"><option value="">all</option>
{_options(events)}</select></label>
<label>Basket <select id="f-basket" onchange="applyFilters()"><option value="">all</option>
{_options(baskets)}</select></label></p>
<table><thead><tr><th>status</th><th>run</th><th>parameters</th><th>headline (95% CI)</th>
<th>links</th><th>finished (UTC)</th></tr></thead><tbody>
{''.join(rows)}
</tbody></table></body></html>
"""


def write_index(reports_dir: Path | None = None) -> Path:
    """Write ``index.html`` for every run folder in ``reports_dir``."""
    reports_dir = Path(reports_dir or config.reports_dir())
    target = reports_dir / "index.html"
    write_text_atomic(target, render_index(read_manifests(reports_dir)))
    return target
