"""The shape of the code: no import cycle between packages, a lazy command line, and
docstring examples that run."""

from __future__ import annotations

import ast
import doctest
import importlib
import os
import subprocess
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# the facade, its Python API and `python -m bench`: they sit on top of everything
ENTRY_POINTS = ("bench", "bench.api", "bench.__main__")


def source_modules() -> dict[str, Path]:
    """Dotted module name → file, for every module of the distribution (package-dir mapped)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    modules = {}
    for package, folder in config["package-dir"].items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join([package, *parts])] = path
    return modules


def package_of(module: str, modules: dict[str, Path]) -> str:
    """The package a module belongs to: itself for a package's `__init__`, else its parent."""
    return module if modules[module].name == "__init__.py" else module.rpartition(".")[0]


def imported_modules(path: Path, module: str, modules: dict[str, Path]) -> set[str]:
    """The project modules `path` imports anywhere (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                base = ".".join(module.split(".")[: -node.level] + ([node.module] if node.module else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name for name in names if name in modules}
    return found


def package_graph() -> dict[str, set[str]]:
    modules = source_modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        if module in ENTRY_POINTS:
            continue
        source = package_of(module, modules)
        for target in imported_modules(path, module, modules):
            target_package = package_of(target, modules)
            if target_package != source:
                graph[source].add(target_package)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path (first node repeated at the end), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None


def test_no_package_imports_one_that_imports_it_back():
    graph = package_graph()
    assert {"bench.executors", "bench.executors.slurm", "bench.cli", "bench.methods", "bench.datasets"} <= set(graph)
    assert "bench.executors.slurm" in graph["bench.executors"] and "bench.generators" in graph["bench.methods"]
    cycle = find_cycle(graph)
    assert cycle is None, " → ".join(cycle)


def test_the_core_imports_no_plug_in_executor_or_command_line():
    graph = package_graph()
    above = {"bench.cli", "bench.executors", "bench.executors.slurm", "bench.generators", "bench.methods", "bench.datasets"}
    assert graph["bench"] & above == set()


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["table", "--help"], ["list", "methods"],
                                  ["list", "datasets"], ["list", "groups"]])
def test_help_and_listing_import_neither_torch_nor_pandas(argv):
    probe = (
        "import sys; from bench.cli import main\n"
        "try:\n    status = main(sys.argv[1:])\nexcept SystemExit as exit_:\n    status = exit_.code\n"
        "heavy = [name for name in ('torch', 'pandas') if name in sys.modules]\n"
        "assert not heavy, f'imported {heavy}'\nsys.exit(status)"
    )
    result = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"}, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def modules_with_examples() -> list[str]:
    return sorted(name for name, path in source_modules().items() if ">>> " in path.read_text() and name != "bench.__main__")


@pytest.mark.parametrize("name", modules_with_examples())
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
