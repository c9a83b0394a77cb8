"""Docstring examples of every module run as doctests; the docs site builds with --strict."""

from __future__ import annotations

import doctest
import importlib
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import research
from research import config


def all_modules() -> list[str]:
    """Every module of the package, private ones included; ``research.__main__`` runs the
    command line when imported, so it is left out (it holds no examples)."""
    return sorted(["research", *(info.name for info in
                                 pkgutil.walk_packages(research.__path__, "research.")
                                 if info.name != "research.__main__")])


MODULES = all_modules()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESEARCH_USER_DIR", raising=False)  # examples show the bundled data
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    for test in finder.find(module, name):
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def test_examples_exist_where_documented() -> None:
    # modules whose docstrings carry Examples sections (counted by hand in their source:
    # the docstrings with an Examples section, skipped examples included); the entry
    # points that the README, the tutorial and docs/index.md name are among them
    expected = {"research.datasets": 3, "research.config": 3, "research.files": 2,
                "research.schemas": 1,
                "research.estimate.result": 3,  # module, tidy_row, Result
                "research.reference.events": 2,  # load_events, get_event
                "research.reference.baskets": 2, "research.reference.hs_codes": 1,
                "research.reference.user_files": 1,  # read_user_dir
                "research.readers": 1,  # read_file
                "research.markup": 2,  # escape_markdown, markdown_list
                # ban_event_study, diversion_design, unit_value_design, event_summary
                "research.estimate.ban_impact": 4,
                "research.estimate.event_study": 1, "research.estimate.its": 1,
                "research.estimate.synth": 1, "research.estimate.did": 1,
                # placebo_in_space (skipped: slow), wild_bootstrap_event_study
                "research.estimate.inference": 2,
                "research.estimate.scenario": 2,  # ban_scenario (skipped), measure_scope
                "research.report.outputs": 1}  # record_result
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = {name: sum(1 for test in finder.find(importlib.import_module(name), name)
                       if test.examples) for name in expected}
    assert found == expected


def test_griffe_extension_examples() -> None:
    """The docs' griffe extension (short numpy docstrings, Sphinx roles) does what its
    examples say."""
    import importlib.util

    path = config.REPO_ROOT / "docs" / "griffe_numpy.py"
    spec = importlib.util.spec_from_file_location("griffe_numpy", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    failures, tried = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried >= 4 and failures == 0


def test_citation_cff() -> None:
    yaml = pytest.importorskip("yaml")
    import tomllib

    citation = yaml.safe_load((config.REPO_ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    # the keys CFF 1.2.0 requires, and the version and licence of pyproject.toml
    assert {"cff-version", "message", "title", "authors"} <= set(citation)
    assert citation["cff-version"] == "1.2.0"
    assert citation["authors"] and all("name" in a or "family-names" in a
                                       for a in citation["authors"])
    project = tomllib.loads((config.REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert str(citation["version"]) == project["version"]
    assert citation["license"] == project["license"]


def test_docs_tutorial_is_the_executed_notebook() -> None:
    """docs/tutorial.ipynb is the tutorial run by ``python docs/build_tutorial.py
    --executed``: the builder's cells, with outputs and no machine paths."""
    import importlib.util

    import nbformat

    spec = importlib.util.spec_from_file_location(
        "build_tutorial", config.REPO_ROOT / "docs" / "build_tutorial.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    shown = nbformat.read(config.REPO_ROOT / "docs" / "tutorial.ipynb", as_version=4)
    cells = [c for c in shown.cells  # papermill's cell shows the run's user_dir
             if "injected-parameters" not in c.metadata.get("tags", [])]
    assert [c.source for c in cells] == [c.source for c in builder.build().cells], \
        "docs/tutorial.ipynb is stale: run python docs/build_tutorial.py --executed"
    code = [c for c in shown.cells if c.cell_type == "code"]
    assert sum(bool(c.get("outputs")) for c in code) >= len(code) - 3  # imports print nothing
    text = nbformat.writes(shown)
    assert "Traceback" not in text and str(config.REPO_ROOT) not in text
    assert "34 bundled events; 36 with yours" in text and "image/png" in text


@pytest.mark.slow
def test_docs_build_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env.pop("RESEARCH_USER_DIR", None)
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f",
                           str(config.REPO_ROOT / "mkdocs.yml"), "-d", str(site)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "WARNING" not in done.stderr, done.stderr[-4000:]
    for page in ("index.html", "guide/extending.html", "guide/result.html", "tutorial.html",
                 "methods.html", "references.html", "glossary.html",
                 "reference/research.reference.user_files.html",
                 "reference/research.estimate.result.html"):
        assert (site / page).is_file(), page
    assert "U_JP_WATCHLIST_2026" in (site / "tutorial.html").read_text(encoding="utf-8")
    reference = (site / "reference" / "research.datasets.html").read_text(encoding="utf-8")
    assert "source_modules" in reference and "research.sources" in reference
    # parameter descriptions in the Description column, Sphinx roles not shown literally
    # (datasets.load documents "name : registry name, e.g. ``"events"``.")
    assert re.search(r'doc-md-description">\s*<p>registry name, e.g. <code>"events"</code>',
                     reference)
    for page in (site / "reference").glob("*.html"):
        assert ":func:`" not in page.read_text(encoding="utf-8"), page.name
    assert not (tmp_path / ".cache").exists()  # the notebook converter keeps no cache
