"""Install anywhere: the wheel carries the data, notebooks and report grid, and runs
every command from an empty folder, away from the checkout.

The wheel test builds ``research`` offline (``pip wheel --no-deps --no-build-isolation``
with this environment's setuptools) from a copy of the source tree, installs it with
``--no-deps`` into a new virtual environment that sees this environment's libraries
through a ``.pth`` file (but not the checkout, nor its editable install), and runs the
installed ``research`` command in an empty folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import pytest

from research import config, datasets
from research.sources.sipri import MAX_VALUES

ROOT = config.REPO_ROOT
# what a build needs from the checkout (setup.py copies data/, notebooks/ and
# reports.toml into research/_bundled/ inside the wheel)
SOURCE_TREE = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE",
               "reports.toml", "research", "data", "notebooks")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _bundled_datasets() -> list[datasets.Dataset]:
    """The registry's own datasets (plugins' ship with their packages)."""
    return [d for d in datasets.registry().values() if d.data_dir is None]


def sources_sections(text: str) -> dict[str, dict[str, str]]:
    """``SOURCES.md`` as {file: {field: value}} from its ``## `data/FILE`: title`` sections
    and their ``- Field: value`` lines."""
    sections: dict[str, dict[str, str]] = {}
    current = None
    for line in text.splitlines():
        heading = re.match(r"## `data/([^`]+)`", line)
        if heading:
            current = sections.setdefault(heading[1], {})
        elif current is not None and (field := re.match(r"- (\w+): (.*)", line)):
            current[field[1]] = field[2].strip()
    return sections


def sipri_data_values(path: Path) -> int:
    """Non-null data values of the SIPRI extract: one per (country, year, measure) row
    with a number in ``value`` (year is a key, not a SIPRI data value)."""
    table = pd.read_parquet(path)
    return int(pd.to_numeric(table["value"], errors="coerce").notna().sum())


def test_sources_md_gives_every_bundled_table_a_licence() -> None:
    sections = sources_sections((ROOT / "data" / "SOURCES.md").read_text(encoding="utf-8"))
    for dataset in _bundled_datasets():
        assert dataset.filename in sections, f"{dataset.name}: no section in SOURCES.md"
        assert sections[dataset.filename].get("Licence"), f"{dataset.name}: no licence"
        assert (ROOT / "data" / dataset.filename).is_file(), dataset.filename


def test_sipri_extract_stays_under_the_fair_use_limit() -> None:
    # SIPRI's terms: at most 10% of the database, 3,500 data values. The build counts
    # rows (a missing cell counts too); here the values actually reproduced, and rows.
    path = ROOT / "data" / datasets.get("sipri_milex").filename
    assert MAX_VALUES == 3500
    assert 0 < sipri_data_values(path) <= len(pd.read_parquet(path)) < MAX_VALUES


def test_licence_file_matches_pyproject() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License\n")
    assert "dask" not in " ".join(project["dependencies"])
    assert any(d.startswith("dask[distributed]")
               for d in project["optional-dependencies"]["dask"])


def test_paths_outside_the_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an installed wheel: data, notebooks and grid from research/_bundled, reports in ./
    monkeypatch.setattr(config, "in_checkout", lambda: False)
    for name in ("RESEARCH_DATA_DIR", "RESEARCH_NOTEBOOKS_DIR", "RESEARCH_REPORTS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    bundled = Path(config.__file__).resolve().parent / "_bundled"
    assert config.data_dir() == bundled / "data"
    assert config.notebooks_dir() == bundled / "notebooks"
    assert config.grid_file() == bundled / "reports.toml"
    assert config.reports_dir() == tmp_path.resolve() / "reports"
    monkeypatch.setenv("RESEARCH_DATA_DIR", str(tmp_path / "my_data"))
    assert config.data_dir() == (tmp_path / "my_data").resolve()


def test_paths_in_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RESEARCH_DATA_DIR", "RESEARCH_NOTEBOOKS_DIR", "RESEARCH_REPORTS_DIR"):
        monkeypatch.delenv(name, raising=False)
    assert config.in_checkout()
    assert config.data_dir() == ROOT / "data"
    assert config.notebooks_dir() == ROOT / "notebooks"
    assert config.grid_file() == ROOT / "reports.toml"
    assert config.reports_dir() == ROOT / "reports"  # `make report` writes there


def test_scheduler_without_dask_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from typer.testing import CliRunner

    from research.cli import app

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "distributed"
                        else real_find_spec(name, *a))
    result = CliRunner().invoke(app, ["report", "run", "--only", "defense_spending",
                                      "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 1
    assert "pip install 'research[dask]'" in " ".join(result.output.split())


def _setuptools_or_skip() -> None:
    try:
        major = int(version("setuptools").split(".")[0])
    except Exception:  # noqa: BLE001 - not installed
        major = 0
    if major < 77:
        reason = ("the offline wheel build needs setuptools>=77 in this environment "
                  "(the 'test' extra installs it: make test)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the project's variables (so the installed
    package finds its own folders) and without PYTHONPATH."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RESEARCH_") and k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update({"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", **extra})
    return env


def _run(arguments: list[str], cwd: Path, env: dict[str, str],
         expect: int = 0) -> subprocess.CompletedProcess:
    done = subprocess.run(arguments, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == expect, (f"{arguments} exited {done.returncode}\n"
                                       f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built offline from a copy of the source tree (a build in the checkout
    would reuse a stale build/ folder)."""
    _setuptools_or_skip()
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info")
    for name in SOURCE_TREE:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    _run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps",
          "--no-build-isolation", "--no-index", "--quiet", "-w", str(base / "dist")],
         base, _clean_env())
    (built,) = (base / "dist").glob("research-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with the wheel installed; returns its ``bin`` folder.

    It sees this environment's site-packages through a ``.pth`` line (a plain path: the
    ``.pth`` files there, such as the editable install's finder, are not run), so no
    dependency is downloaded; the checkout itself is not on its path.
    """
    venv = tmp_path_factory.mktemp("venv") / "env"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], venv.parent, _clean_env())
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    own = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                     "['purelib'])"], venv, _clean_env()).stdout.strip())
    shared = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (own / "_research_test_dependencies.pth").write_text("\n".join(shared) + "\n",
                                                          encoding="utf-8")
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
          str(wheel)], venv, _clean_env())
    return bin_dir


def test_wheel_carries_data_notebooks_grid_and_licences(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        sources_md = archive.read("research/_bundled/data/SOURCES.md").decode("utf-8")
        sipri = datasets.get("sipri_milex").filename
        sipri_bytes = archive.read(f"research/_bundled/data/{sipri}")
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "research/_bundled/reports.toml" in names
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        assert f"research/_bundled/notebooks/{notebook.name}" in names
    for dataset in _bundled_datasets():
        assert f"research/_bundled/data/{dataset.filename}" in names, dataset.name
    assert "research/_bundled/data/sources.csv" in names
    assert sources_md == (ROOT / "data" / "SOURCES.md").read_text(encoding="utf-8")
    # the shipped SIPRI extract is the checked one (under 3,500 values)
    assert hashlib.sha256(sipri_bytes).hexdigest() == _sha256(ROOT / "data" / sipri)
    # the wheel is code and compact extracts, not the raw files
    assert wheel.stat().st_size < 5_000_000


@pytest.mark.slow
def test_installed_wheel_runs_from_an_empty_folder(installed: Path,
                                                  tmp_path: Path) -> None:
    research = str(installed / ("research.exe" if os.name == "nt" else "research"))
    python = str(installed / ("python.exe" if os.name == "nt" else "python"))
    empty = tmp_path / "empty"
    empty.mkdir()
    # nbconvert's templates live under the dependencies' prefix (share/jupyter), which a
    # real install would put in the new environment
    env = _clean_env(JUPYTER_PATH=str(Path(sys.prefix) / "share" / "jupyter"),
                     RESEARCH_CACHE_DIR=str(tmp_path / "cache"), COLUMNS="400")
    where = _run([python, "-c", "import research, research.config as c; "
                  "print(research.__file__); print(c.in_checkout())"], empty, env).stdout
    package_file, in_checkout = where.split()
    assert Path(package_file).resolve().is_relative_to(installed.parent.resolve())
    assert in_checkout == "False"

    assert _run([research, "--version"], empty, env).stdout.strip() == "research 0.1.0"
    listing = _run([research, "data", "list"], empty, env).stdout
    assert all(d.name in listing for d in _bundled_datasets())
    assert "B2" in _run([research, "events", "show", "B2"], empty, env).stdout

    _run([research, "report", "run", "--only", "defense_spending", "--jobs", "1"], empty, env)
    run = empty / "reports" / "defense_spending"  # reports default to ./reports
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "succeeded", manifest.get("error")
    assert manifest["git_commit"] is None
    assert set(manifest["library_versions"]) == {"pandas", "numpy", "scipy", "statsmodels",
                                                 "papermill", "matplotlib"}
    assert manifest["library_versions"]["pandas"] == version("pandas")
    assert "defense/sipri_milex.parquet" in manifest["inputs"]
    assert (run / "defense_spending.html").is_file()
    assert (empty / "reports" / "index.html").is_file()
    assert sorted(p.name for p in empty.iterdir()) == ["reports"]

    # RESEARCH_DATA_DIR overrides the bundled data: an empty folder names itself
    nodata = tmp_path / "nodata"
    nodata.mkdir()
    failed = _run([research, "events", "list"], empty, {**env, "RESEARCH_DATA_DIR": str(nodata)},
                  expect=1)
    assert str(nodata) in " ".join((failed.stdout + failed.stderr).split())
