"""Docstring examples of every module run as doctests; the docs site builds with --strict."""

from __future__ import annotations

import doctest
import importlib
import os
import pkgutil
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
    # modules whose docstrings carry Examples sections (counted by hand in their source)
    expected = {"research.datasets": 3, "research.config": 3, "research.files": 2,
                "research.schemas": 1, "research.estimate.result": 1,
                "research.reference.events": 1, "research.reference.baskets": 2,
                "research.reference.hs_codes": 1}
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = {name: sum(1 for test in finder.find(importlib.import_module(name), name)
                       if test.examples) for name in expected}
    assert found == expected


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
                 "reference/research.reference.user_files.html",
                 "reference/research.estimate.result.html"):
        assert (site / page).is_file(), page
    assert "U_JP_WATCHLIST_2026" in (site / "tutorial.html").read_text(encoding="utf-8")
    reference = (site / "reference" / "research.datasets.html").read_text(encoding="utf-8")
    assert "source_modules" in reference and "research.sources" in reference
    assert not (tmp_path / ".cache").exists()  # the notebook converter keeps no cache
