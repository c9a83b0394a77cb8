"""A report's HTML page as an A4 PDF, printed by headless Chromium.

Chromium is found through ``RESEARCH_CHROMIUM`` (a path) or on ``PATH``
(``chromium``, ``chromium-browser``, ``google-chrome``). The page is printed from
a copy of the report's HTML that adds ``@page { size: A4 }``, so Chromium's
print-to-PDF (which honours the CSS page size) makes A4 pages (595 x 842 pt)
instead of its default US Letter.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from research import config
from research.errors import ReportError
from research.files import atomic_path, check_output

CHROMIUM_VARIABLE = "RESEARCH_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PAGE_STYLE = ("<style>@page { size: A4; margin: 12mm; } "
              "body { -webkit-print-color-adjust: exact; print-color-adjust: exact; }</style>")


def find_chromium() -> Path | None:
    """The Chromium executable: ``RESEARCH_CHROMIUM``, else the first one on ``PATH``."""
    value = os.environ.get(CHROMIUM_VARIABLE)
    if value:
        return Path(value) if Path(value).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def headless_flags(user_data_dir: Path) -> list[str]:
    """Chromium flags for a quiet, offline, throw-away headless session."""
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions",
            f"--user-data-dir={user_data_dir}"]


def _with_page_style(html: str, base: Path) -> str:
    """``html`` with the A4 page style and a ``<base>`` pointing at its own folder."""
    head = f'<base href="{base.resolve().as_uri()}/">{PAGE_STYLE}'
    match = re.search(r"<head[^>]*>", html, flags=re.IGNORECASE)
    if match is None:
        return head + html
    return html[:match.end()] + head + html[match.end():]


def html_to_pdf(html_path: Path, out: Path, timeout: float = 180) -> Path:
    """Print ``html_path`` to an A4 PDF at ``out`` (written atomically); returns ``out``."""
    html_path, out = Path(html_path), Path(out)
    if not html_path.is_file():
        raise ReportError(f"{html_path}: report page not found; run the report first "
                          "(research report run --only NAME)")
    chromium = find_chromium()
    if chromium is None:
        where = os.environ.get(CHROMIUM_VARIABLE)
        raise ReportError(
            "Chromium not found"
            + (f" at {CHROMIUM_VARIABLE}={where}" if where else
               f" on PATH (looked for {', '.join(CHROMIUM_NAMES)})")
            + "; install it (Debian: apt-get install chromium) or set "
            f"{CHROMIUM_VARIABLE} to its path")
    with tempfile.TemporaryDirectory(prefix="research-pdf-") as scratch:
        scratch = Path(scratch)
        page = scratch / "page.html"
        page.write_text(_with_page_style(html_path.read_text(encoding="utf-8"),
                                         html_path.parent), encoding="utf-8")
        with atomic_path(out) as temporary:
            command = [str(chromium), *headless_flags(scratch / "profile"),
                       "--no-pdf-header-footer", "--print-to-pdf-no-header",
                       f"--print-to-pdf={temporary}", page.as_uri()]
            try:
                done = subprocess.run(command, capture_output=True, text=True,
                                      timeout=timeout, check=False)
            except subprocess.TimeoutExpired as error:
                raise ReportError(f"{html_path}: Chromium did not finish printing "
                                  f"within {timeout:.0f} s") from error
            except OSError as error:
                raise ReportError(f"{chromium}: cannot start Chromium: {error}") from error
            head = temporary.read_bytes()[:5] if temporary.exists() else b""
            if done.returncode != 0 or head != b"%PDF-":
                tail = "\n".join(done.stderr.strip().splitlines()[-5:])
                raise ReportError(f"{html_path}: Chromium printed no PDF (exit code "
                                  f"{done.returncode}): {tail}")
    return out


def report_pdf(name: str, reports_dir: Path | None = None, out: Path | None = None,
               timeout: float = 180) -> Path:
    """Export run ``name``'s HTML report to A4 PDF (default ``reports/<name>/<name>.pdf``)."""
    from research.report.runner import run_folder

    folder = run_folder(Path(reports_dir or config.reports_dir()), name)
    if not folder.is_dir():
        raise ReportError(f"{folder}: no report run called {name!r}; "
                          f"run it first (research report run --only {name})")
    html = folder / f"{name}.html"
    if out is not None:
        check_output(Path(out), [html])  # never a folder, never the page itself
    return html_to_pdf(html, Path(out or folder / f"{name}.pdf"), timeout=timeout)
