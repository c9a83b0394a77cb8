"""Small helpers shared by test files (tests/ is on sys.path under pytest)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook


def write_notebook(path: Path, cells: list[str]) -> None:
    """A Python 3 notebook of code ``cells``; the first is tagged ``parameters``."""
    notebook = new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.cells = [new_code_cell(c) for c in cells]
    notebook.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(notebook, path)
