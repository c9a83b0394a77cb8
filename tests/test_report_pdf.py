"""A report's HTML page printed to an A4 PDF by headless Chromium."""

import os
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from typer.testing import CliRunner

from research.cli import app
from research.errors import ReportError
from research.report.pdf import find_chromium, html_to_pdf, report_pdf
from research.report.runner import RunSpec, run_one

# ISO 216 A4 is 210 x 297 mm; at 72 pt per inch and 25.4 mm per inch that is
# 210 / 25.4 * 72 = 595.28 pt by 297 / 25.4 * 72 = 841.89 pt (US Letter would be 612 x 792).
A4_POINTS = (595.28, 841.89)


def _chromium_or_skip():
    if find_chromium() is None:
        reason = "PDF export needs chromium (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)


def _media_boxes(pdf: bytes) -> list[tuple[float, float]]:
    boxes = re.findall(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]",
                       pdf)
    return [(float(x1) - float(x0), float(y1) - float(y0)) for x0, y0, x1, y1 in boxes]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A run of a small notebook with a figure and a long table (several pages)."""
    _chromium_or_skip()
    root = tmp_path_factory.mktemp("pdf")
    notebook = new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.cells = [
        new_code_cell('dataset = "sipri_milex"'),
        new_code_cell("import matplotlib.pyplot as plt\nfrom research import datasets\n"
                      "frame = datasets.load(dataset)\n"
                      "japan = frame[frame['iso3'] == 'JPN']\n"
                      "fig, ax = plt.subplots()\nax.plot(japan['year'], japan['value'])\n"
                      "plt.show()\njapan.head(60)"),
    ]
    notebook.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(notebook, root / "milex.ipynb")
    manifest = run_one(RunSpec("milex", "milex.ipynb", {}, "Japan's military expenditure"),
                       reports_dir=root / "reports", notebooks_dir=root)
    assert manifest["status"] == "succeeded", manifest["error"]
    return root / "reports"


@pytest.mark.slow
def test_pdf_is_a4_and_written_atomically(report, tmp_path):
    out = report_pdf("milex", report)
    assert out == report / "milex" / "milex.pdf"
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    boxes = _media_boxes(data)
    assert boxes, "no /MediaBox found"
    for width, height in boxes:
        assert abs(width - A4_POINTS[0]) <= 1 and abs(height - A4_POINTS[1]) <= 1, boxes
    # only the PDF was added; no temporary file is left beside it
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == []

    target = tmp_path / "sub" / "japan.pdf"
    result = CliRunner().invoke(app, ["report", "pdf", "milex", "--reports", str(report),
                                      "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(b"%PDF-")


def test_missing_chromium_is_a_clear_error(tmp_path, monkeypatch):
    page = tmp_path / "r" / "r.html"
    page.parent.mkdir()
    page.write_text("<html><head></head><body>x</body></html>")
    monkeypatch.setenv("RESEARCH_CHROMIUM", str(tmp_path / "nowhere" / "chromium"))
    with pytest.raises(ReportError, match="Chromium not found at RESEARCH_CHROMIUM=.*nowhere"):
        html_to_pdf(page, tmp_path / "r.pdf")
    monkeypatch.delenv("RESEARCH_CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ReportError, match=r"Chromium not found on PATH \(looked for chromium"):
        html_to_pdf(page, tmp_path / "r.pdf")
    assert not (tmp_path / "r.pdf").exists()


def test_unknown_run_names_the_folder(tmp_path):
    with pytest.raises(ReportError, match="no report run called 'nope'"):
        report_pdf("nope", tmp_path)
    result = CliRunner().invoke(app, ["report", "pdf", "nope", "--reports", str(tmp_path)])
    # the console wraps long lines: compare with the whitespace collapsed
    assert result.exit_code == 1
    assert "no report run called 'nope'" in " ".join(result.output.split())
