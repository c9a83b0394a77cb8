"""Build hook: ship the bundled data, the notebooks and the report grid inside the wheel.

The checkout keeps them at the top (``data/``, ``notebooks/``, ``reports.toml``), where an
editable install reads them in place. A wheel (``pip install .``) gets copies under
``research/_bundled/``, which :mod:`research.config` finds with ``importlib.resources``.
Nothing is duplicated in git; all other configuration is in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# source (relative to the project root) -> files to copy (globs) under research/_bundled/
BUNDLED = {"data": ("*.md", "*.csv", "**/*.parquet"),
           "notebooks": ("*.ipynb",),
           ".": ("reports.toml",)}


def bundled_files() -> list[tuple[Path, Path]]:
    """(source file, path inside ``research/_bundled``) for every shipped file."""
    pairs = []
    for folder, patterns in BUNDLED.items():
        base = ROOT / folder
        for pattern in patterns:
            for source in sorted(base.glob(pattern)):
                relative = source.relative_to(ROOT)
                if source.is_file() and not any(p.startswith(".") for p in relative.parts):
                    pairs.append((source, relative))
    return pairs


class BuildWithBundled(build_py):
    """``build_py`` that also copies :data:`BUNDLED` into ``research/_bundled``
    (not for an editable install, which reads the checkout's own folders)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "research" / "_bundled"
        for source, relative in bundled_files():
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)


setup(cmdclass={"build_py": BuildWithBundled})
