"""The import graph of ``research``: no cycle, and layers that point one way (issue 12).

Every ``import`` and ``from ... import`` in the package is read with :mod:`ast`, the
ones inside functions (lazy imports) included: a lazy import that dodges a loop is
still a loop. ``from research.x import y`` counts as an import of the submodule
``research.x.y`` when there is one, else of ``research.x``. Imports made by name at
run time (``importlib.import_module``, entry points) are not seen, nor the implicit
import of a package's ``__init__`` before its modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "research"

# Entry points: they may import anything (lazily, for start-up time); nothing imports them.
ENTRY_POINTS = {"research.cli", "research.__main__"}

# Layers, lowest first. A module imports only modules of its own layer or below. A name
# ending in ".*" stands for every module under that package.
LAYERS: dict[str, tuple[str, ...]] = {
    "core": ("research.errors", "research.config", "research.files", "research.schemas",
             "research.markup", "research.provenance"),
    "io": ("research.http", "research.cache", "research.countries", "research.hs"),
    "data": ("research.datasets", "research.sources", "research.sources.*",
             "research.reference", "research.reference.*", "research.refresh",
             "research.readers"),
    # Figures and regression tables: functions of tables and of any object with a Result's
    # attributes; they know no estimator. Below the estimators because every Result
    # draws and tabulates itself with them (Result.plot, Result.etable).
    "viz": ("research.plots", "research.report.etable"),
    "econometrics": ("research.indicators", "research.indicators.*", "research.estimate",
                     "research.estimate.gravity", "research.estimate.event_study",
                     "research.estimate.did", "research.estimate.its",
                     "research.estimate.synth", "research.estimate.inference",
                     "research.estimate.panel", "research.estimate.profile",
                     "research.estimate.result", "research.simulate"),
    "studies": ("research.estimate.ban_impact", "research.estimate.ban_methods",
                "research.estimate.ban_study", "research.estimate.scenario",
                "research.overview"),
    # the package's front door (__version__, research.etable) sits with the report layer
    "report": ("research", "research.report", "research.report.*"),
    # pull new months, rerun the reports that changed: a workflow over data and report
    "workflow": ("research.update",),
    "cli": ("research.cli", "research.__main__"),
}

# Imports that break the layer order today, each with the reason it is left:
# (importer, imported) -> why. Empty is the goal.
LAYER_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("research.estimate.inference", "research.estimate.ban_impact"):
        "issue 12, 'Generic inference': placebo_in_space takes a BanDesign; it should take "
        "a fit function and a panel",
}


def _module_files() -> dict[str, Path]:
    """Module name -> file, for every ``.py`` file of the package."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = _module_files()


def _known(name: str) -> str:
    """``name``, or the nearest enclosing package or module that exists."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def imports_of(module: str) -> dict[str, int]:
    """The ``research`` modules that ``module`` imports -> the first line that does."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: dict[str, int] = {}

    def add(target: str, line: int) -> None:
        if target.split(".")[0] == "research" and target != module:
            found.setdefault(_known(target), line)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x, from ..y import z
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                add(submodule if submodule in MODULES else source, node.lineno)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def find_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle for each strongly connected group of modules (Tarjan), as
    ``[a, b, ..., a]``; empty when the graph has none."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(graph, group) for group in groups]


def _cycle_in(graph: dict[str, dict[str, int]], group: set[str]) -> list[str]:
    """A shortest cycle through the first module of ``group`` (breadth first)."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node]):
            if target == start:
                return [*paths[node], start]
            if target in group and target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover


def _describe(cycle: list[str]) -> str:
    """``a (line 3) -> b (line 9) -> a``: each module with the line that imports the next."""
    steps = [f"{a} (line {GRAPH[a][b]})" for a, b in zip(cycle, cycle[1:], strict=False)]
    return " -> ".join([*steps, cycle[-1]])


def layer_of(module: str) -> int:
    """Position of ``module``'s layer in :data:`LAYERS` (0 is the lowest)."""
    for position, patterns in enumerate(LAYERS.values()):
        for pattern in patterns:
            if module == pattern or (pattern.endswith(".*")
                                     and module.startswith(pattern[:-1])):
                return position
    raise AssertionError(f"{module} has no layer: add it to LAYERS in tests/test_imports.py")


def test_the_scan_sees_lazy_and_submodule_imports():
    # datasets reads its schemas at the top; a "from research import x" names a submodule
    assert "research.schemas" in GRAPH["research.datasets"]
    assert "research.config" in GRAPH["research.datasets"]
    # the CLI imports most commands inside functions, for start-up time
    assert len(GRAPH["research.cli"]) > 10


def test_moved_names_stay_importable_where_they_were():
    # the pieces moved to break the cycles are the same objects under their old names
    from research import provenance
    from research.reference import baskets, events, tables, user_files
    from research.report import outputs
    from research.sources import comtrade_monthly

    assert comtrade_monthly.GROUP_CODES is tables.GROUP_CODES
    assert baskets.HS_BASKETS is tables.HS_BASKETS
    assert baskets.NOT_IN_HS2022 == tables.NOT_IN_HS2022
    assert events.REGISTRY_EVENTS is tables.REGISTRY_EVENTS
    assert user_files.user_file_paths is provenance.user_file_paths
    for name in ("record_input", "record_user_files", "user_files_sha256", "read_inputs",
                 "run_dir", "RUN_DIR_VARIABLE", "INPUTS_FILE", "USER_FILES_INPUT"):
        assert getattr(outputs, name) is getattr(provenance, name)


def test_find_cycles_reports_one():
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b": 1}, "b": {}}) == []


def test_no_import_cycle():
    cycles = find_cycles(GRAPH)
    assert not cycles, "import cycles:\n" + "\n".join(_describe(c) for c in cycles)


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_nothing_imports_the_entry_points(entry):
    importers = sorted(m for m, targets in GRAPH.items()
                       if entry in targets and m not in ENTRY_POINTS)
    assert not importers, f"{entry} is imported by {importers}"


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


def test_layers_point_one_way():
    names = list(LAYERS)
    upward = []
    for module, targets in sorted(GRAPH.items()):
        for target, line in sorted(targets.items()):
            if layer_of(target) > layer_of(module) and (module, target) not in LAYER_EXCEPTIONS:
                upward.append(f"{module} ({names[layer_of(module)]}, line {line}) imports "
                              f"{target} ({names[layer_of(target)]})")
    assert not upward, "imports that point up the layers:\n" + "\n".join(upward)


def test_layer_exceptions_are_still_needed():
    stale = [pair for pair in LAYER_EXCEPTIONS if pair[1] not in GRAPH.get(pair[0], {})]
    assert not stale, f"remove these from LAYER_EXCEPTIONS, the import is gone: {stale}"
