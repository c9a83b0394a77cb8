"""A report page made ready to publish: Diagnostics, References and footer cells, no
machine paths, no "nan" in tables, no kernel noise; checked in Chromium where present."""

import asyncio
import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from helpers import write_notebook
from nbformat.v4 import new_output

from research import config
from research.datasets import get
from research.report.index import write_index
from research.report.page import (
    PAGE_CELLS,
    diagnostics_from_stderr,
    diagnostics_markdown,
    finish_page,
    scrub_paths,
)
from research.report.references import (
    METHODS,
    NO_USER_FILES,
    NOTEBOOK_METHODS,
    data_sources,
    method_references,
)
from research.report.runner import RunSpec, _kernel_manager_class, load_grid, run_one

WARNING = ("/home/ana/work/research/estimate/ban_study.py:218: FewClustersWarning: only 8 "
           "destination clusters\n  warnings.warn(message, FewClustersWarning)\n")


def test_warnings_become_sentences_without_paths():
    text = WARNING + WARNING + "FewClustersWarning: one line\nsolver: /tmp/x/y/log.txt written\n"
    sentences = diagnostics_from_stderr(text)
    assert sentences == ["only 8 destination clusters (FewClustersWarning).",
                         "only 8 destination clusters (FewClustersWarning).",
                         "one line (FewClustersWarning).", "solver: log.txt written."]
    markdown = diagnostics_markdown(sentences)
    assert "only 8 destination clusters \\(FewClustersWarning\\)\\. (2 times)" in markdown
    assert "/home" not in markdown and "warnings.warn" not in markdown
    assert diagnostics_markdown([]).endswith("The run wrote no warnings or messages.")


def test_scrub_paths_keeps_ordinary_slashes():
    assert scrub_paths("C:\\Users\\ana\\x.py:3 and ~/data/raw/a.csv") == "x.py:3 and a.csv"
    assert scrub_paths("see /work/ and file:///srv/r/i.html") == "see … and i.html"
    assert scrub_paths("USD/kg, 2023/24, and/or") == "USD/kg, 2023/24, and/or"


def test_every_listed_method_has_a_reference_and_every_grid_notebook_is_listed():
    assert all(key in METHODS for keys in NOTEBOOK_METHODS.values() for key in keys)
    assert {spec.notebook for spec in load_grid()} <= set(NOTEBOOK_METHODS)
    cited = " ".join(r.citation for r in method_references("ban_impact.ipynb"))
    # the ban study's methods (research.estimate.ban_study): no Callaway-Sant'Anna there
    for author in ("Santos Silva", "Correia", "Abadie", "Cameron", "MacKinnon", "Imbens",
                   "Rambachan", "Ferman", "Freyaldenhoven"):
        assert author in cited
    assert "Callaway" not in cited
    assert method_references("unknown.ipynb") == []


def test_data_sources_come_from_the_registry():
    sipri = get("sipri_milex")
    inputs = {sipri.filename: "abc", "$RESEARCH_USER_DIR": NO_USER_FILES, "other.csv": "x"}
    found, other = data_sources(inputs)  # sorted by file; no user files: not listed
    assert (found.publisher, found.vintage, found.licence) == (sipri.publisher, sipri.vintage,
                                                               sipri.licence)
    assert other.file == "other.csv" and other.citation == ""
    assert data_sources({"$RESEARCH_USER_DIR": "f00"})[0].name == "user rows"


def _executed(path: Path) -> None:
    """A tiny 'executed' notebook: a warning on stderr, a path on stdout, an error."""
    write_notebook(path, ["x = 1", "print('hi')", "1 / 0"])
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[1].outputs = [
        new_output("stream", name="stderr", text=WARNING),
        new_output("stream", name="stdout", text="wrote /home/ana/reports/x/t.csv\n"),
        new_output("stream", name="stderr", text=WARNING)]
    notebook.cells[2].outputs = [new_output(
        "error", ename="ZeroDivisionError", evalue="division by zero",
        traceback=["\x1b[32m/home/ana/work/research/x.py\x1b[39m, line 3"])]
    nbformat.write(notebook, path)


def test_finish_page_appends_diagnostics_references_and_footer(tmp_path):
    path = tmp_path / "run.ipynb"
    _executed(path)
    sipri = get("sipri_milex")
    manifest = {"notebook": "gravity.ipynb", "started": "2026-01-06T10:00:00+00:00",
                "package_version": "1.2.3", "git_commit": "0123456789abcdef0123",
                "inputs": {sipri.filename: "abc", "<b>odd</b>.parquet": "x"}}
    finish_page(path, manifest)
    finish_page(path, manifest)  # twice: the cells are replaced, not added again
    notebook = nbformat.read(path, as_version=4)
    assert [c.get("id") for c in notebook.cells[-3:]] == list(PAGE_CELLS)
    assert len(notebook.cells) == 3 + 3
    streams = notebook.cells[1].outputs
    assert [o["name"] for o in streams] == ["stdout"]  # stderr taken out
    assert streams[0]["text"] == "wrote t.csv\n"
    assert "/home" not in notebook.cells[2].outputs[0]["traceback"][0]
    diagnostics, references, footer = (c.source for c in notebook.cells[-3:])
    assert "only 8 destination clusters \\(FewClustersWarning\\)\\. (2 times)" in diagnostics
    assert "Santos Silva" in references and "Correia" in references
    assert "SIPRI Military Expenditure Database 2025" in references
    assert "&lt;b&gt;odd&lt;/b&gt;\\.parquet" in references  # data text escaped
    assert "2026\\-01\\-06" in footer and "1\\.2\\.3" in footer and "0123456789ab" in footer
    assert "April 2025 release" in footer  # SIPRI's vintage
    finish_page(path, {**manifest, "git_commit": None, "inputs": {}})
    notebook = nbformat.read(path, as_version=4)
    assert "installed package" in notebook.cells[-1].source
    assert "The run read no bundled dataset." in notebook.cells[-2].source


def test_no_interrupt_is_sent_to_a_kernel_being_shut_down():
    manager = _kernel_manager_class({})()
    manager.shutting_down = True  # as in jupyter_client's shutdown_kernel, before interrupting
    assert asyncio.run(manager._async_interrupt_kernel()) is None
    manager.shutting_down = False  # any other interrupt still goes through
    with pytest.raises(RuntimeError, match="No kernel is running"):
        asyncio.run(manager._async_interrupt_kernel())


def test_a_run_failing_before_its_kernel_starts_says_why(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write_notebook(notebooks / "n.ipynb", ["x = 1", "x"])
    manifest = run_one(RunSpec("early", "n.ipynb", {"y": 2}, "Early"),
                       reports_dir=tmp_path / "reports", notebooks_dir=notebooks)
    assert manifest["status"] == "failed" and manifest["error"]["cell_index"] is None
    page = write_index(tmp_path / "reports").read_text()
    assert "before the notebook ran: ParameterError" in page and "cell None" not in page
    assert 'href="early/early.html"' not in page and 'href="early/early.ipynb"' not in page
    assert 'href="early/manifest.json"' in page


# A report with what leaked before: a warning raised in a module file (path and source
# line), a path on stderr, a raw table with missing values, a wide table, a figure.
NOISY = [
    'basket = "graphite"',
    "import sys\nimport warnings\n"
    "import numpy as np\nimport pandas as pd\nimport matplotlib.pyplot as plt\n"
    "from research import datasets\n"
    "from research.report.outputs import save_figure, save_table\n"
    "milex = datasets.load('sipri_milex')\n"
    "for _ in range(2):\n"
    "    warnings.warn_explicit('only 8 destination clusters', UserWarning, "
    "datasets.__file__, 218)\n"
    "print(f'read {datasets.__file__}', file=sys.stderr)\n"
    "fig, ax = plt.subplots()\n"
    "ax.plot([1, 2], [3, 4])\n"
    "save_figure(fig, 'line', caption='A line', note='Source: made up');",
    "japan = milex[milex['iso3'] == 'JPN'].head(4)\n"
    "save_table(japan, 'japan', caption='Japan', note='SIPRI');\n"
    "pd.DataFrame({'value_usd': [1.5e9, np.nan], 'label': ['x', None]})",
    "pd.DataFrame({f'a long column name number {i}': [1234567.891 * i] for i in range(16)})",
]


@pytest.fixture(scope="module")
def noisy_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("page")
    (root / "notebooks").mkdir()
    write_notebook(root / "notebooks" / "noisy.ipynb", NOISY)
    manifest = run_one(RunSpec("noisy", "noisy.ipynb", {}, "Noisy"),
                       reports_dir=root / "reports", notebooks_dir=root / "notebooks")
    assert manifest["status"] == "succeeded", manifest["error"]
    return root, root / "reports" / "noisy"


def _machine_paths(root: Path) -> list[str]:
    return [p for p in {str(Path.home()), str(config.REPO_ROOT), str(root), "/work/",
                        str(Path(os.__file__).parent)} if len(p) > 1]


@pytest.mark.slow
def test_a_run_page_has_no_machine_paths_no_nan_and_its_sections(noisy_report, capfd):
    root, folder = noisy_report
    page = (folder / "noisy.html").read_text(encoding="utf-8")
    for path in _machine_paths(root):
        assert path not in page, path
    tables = re.findall(r"<table\b.*?</table>", page, re.S)
    assert len(tables) >= 3
    for table in tables:
        assert not re.search(r"\bnan\b|<NA>", re.sub(r"<[^>]+>", " ", table), re.I), table
    assert "1,500,000,000" in page and "–" in page  # separators, a dash for missing
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in page  # no pink box
    assert page.count("only 8 destination clusters (UserWarning). (2 times)") == 1
    assert "read datasets.py." in page
    assert "<h2" in page and "Diagnostics" in page and "References" in page
    assert "Stockholm International Peace Research Institute" in page  # the data's vintage
    assert "Figure 1." in page and "Table 1." in page
    assert (folder / "figures" / "line.svg").exists() and (folder / "figures" / "line.png").exists()
    executed = nbformat.read(folder / "noisy.ipynb", as_version=4)
    assert not [o for c in executed.cells for o in c.get("outputs", [])
                if o.get("name") == "stderr"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert "noisy.html" in manifest["outputs"]
    assert "KeyboardInterrupt" not in "".join(capfd.readouterr())


@pytest.mark.slow
def test_the_page_and_its_pdf_fit_a4_in_chromium(noisy_report, tmp_path):
    """Chromium at A4 width: images drawn, no table wider than the page, no box that
    scrolls, no machine path or "nan" in the text; the PDF's pages are A4."""
    from test_index_browser import a4_driver
    from test_report_pdf import A4_POINTS, _media_boxes

    from research.report.pdf import html_to_pdf

    root, folder = noisy_report
    driver = a4_driver(tmp_path / "profile")
    try:
        driver.get((folder / "noisy.html").as_uri())
        text = driver.execute_script("return document.body.innerText")
        for path in _machine_paths(root):
            assert path not in text
        assert not re.search(r"\bnan\b", text, re.I)
        assert driver.execute_script(
            "return [...document.images].every(i => i.complete && i.naturalWidth > 0)")
        width = driver.execute_script("return document.documentElement.clientWidth")
        widest = driver.execute_script(
            "return Math.max(...[...document.querySelectorAll('table')]"
            ".map(t => t.getBoundingClientRect().right))")
        assert widest <= width + 1
        scrolling = driver.execute_script(
            "return [...document.querySelectorAll('*')].filter(e => {"
            " const s = getComputedStyle(e);"
            " return ['auto', 'scroll'].includes(s.overflowX) && e.scrollWidth > e.clientWidth + 1"
            "}).map(e => e.className)")
        assert scrolling == []
    finally:
        driver.quit()
    pdf = html_to_pdf(folder / "noisy.html", tmp_path / "noisy.pdf").read_bytes()
    boxes = _media_boxes(pdf)
    assert boxes and all(abs(w - A4_POINTS[0]) < 1 and abs(h - A4_POINTS[1]) < 1
                         for w, h in boxes)
