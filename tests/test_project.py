"""The project's promises about itself: one install recipe, the README's commands, CI."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    """The shell commands in the README's first code block."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```(?:bash|sh)\n(.*?)```", text, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines()]
    return [c for c in commands if c]


def test_readme_gives_exactly_two_commands_build_and_test():
    assert readme_commands() == ["make book", "make test"]


def test_ci_runs_the_readmes_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    commands = [line.strip() for line in script.splitlines()]
    assert "make test" in commands


def test_environment_yml_installs_what_pyproject_declares():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    # the conda environment installs the package with the same extras `make` uses,
    # so there is one list of dependencies, in pyproject.toml
    assert pip_section == ["-e .[dev]"]
    extras = pyproject["project"]["optional-dependencies"]
    assert "gaaf[book]" in extras["dev"]
    python = next(d for d in env["dependencies"] if str(d).startswith("python"))
    minimum = pyproject["project"]["requires-python"].removeprefix(">=")
    version = str(python).split("=")[-1]
    assert tuple(map(int, version.split("."))) >= tuple(map(int, minimum.split(".")))


# ------------------------------------------------------------------ the library's shape

PACKAGE = ROOT / "gaaf"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Every gaaf module -> the gaaf modules it imports, anywhere in it (top level,
    inside functions, under ``if TYPE_CHECKING``)."""
    modules = {_module_name(p): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import
                    anchor = name.split(".")[
                        : len(name.split(".")) - node.level + is_package
                    ]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and target != "gaaf":
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a list of modules, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt, [*path, nxt])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_the_import_graph_has_no_cycle():
    assert find_cycle(import_graph()) is None


def planted_graph(tmp_path: Path, files: dict[str, str]) -> dict[str, set[str]]:
    """The import graph of a package ``gaaf`` planted under ``tmp_path`` with ``files``
    (path inside the package -> source)."""
    pkg = tmp_path / "gaaf"
    for name, source in {"__init__.py": "", **files}.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(source)
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        return import_graph(pkg)
    finally:
        ROOT = saved


def test_the_cycle_finder_sees_function_level_and_type_checking_imports(tmp_path):
    graph = planted_graph(
        tmp_path,
        {
            "a.py": "from gaaf.b import x\n",
            "b.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from gaaf import c\n",
            "c.py": "def f():\n    from gaaf.a import y\n",
        },
    )
    assert graph == {
        "gaaf": set(),
        "gaaf.a": {"gaaf.b"},
        "gaaf.b": {"gaaf.c"},
        "gaaf.c": {"gaaf.a"},
    }
    assert find_cycle(graph) == ["gaaf.a", "gaaf.b", "gaaf.c", "gaaf.a"]


WINGS = ("gaaf.experiments", "gaaf.analysis", "gaaf.book")
"""The wings around the core, lowest first: a module may import its own wing, the ones
below it and the core (``gaaf`` itself, layer 0), never one above."""

APPLICATION = "gaaf.__main__"
"""The command line: it runs every wing (training, benchmarks, chapters), so it sits
above them all; nothing imports it but the shard cell it writes into notebooks."""


def layer(module: str) -> int:
    """0 for the core, 1 experiments, 2 analysis, 3 book, 4 the command line."""
    if module == APPLICATION:
        return len(WINGS) + 1
    for level, wing in enumerate(WINGS, 1):
        if module == wing or module.startswith(wing + "."):
            return level
    return 0


def upward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Every import that points up the layers, as (importer, imported)."""
    return sorted(
        (a, b) for a, deps in graph.items() for b in deps if layer(b) > layer(a)
    )


def test_imports_point_down_from_book_to_analysis_to_experiments_to_core():
    graph = import_graph()
    assert {layer(m) for m in graph} == {0, 1, 2, 3, 4}  # every wing has modules
    assert upward_imports(graph) == []


def test_the_layer_check_fails_an_upward_import(tmp_path):
    graph = planted_graph(
        tmp_path,
        {
            **{
                f"{wing}/__init__.py": ""
                for wing in ("experiments", "analysis", "book")
            },
            "core.py": "from gaaf.experiments import runs\n",
            "experiments/runs.py": "",
            "analysis/stats.py": "def f():\n    from gaaf.book import x\n",
            "book/x.py": "from gaaf.analysis import stats\n",
        },
    )
    assert upward_imports(graph) == [
        ("gaaf.analysis.stats", "gaaf.book"),
        ("gaaf.analysis.stats", "gaaf.book.x"),
        ("gaaf.core", "gaaf.experiments"),
        ("gaaf.core", "gaaf.experiments.runs"),
    ]


MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def test_no_module_or_function_is_too_long():
    too_long = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{path.name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.name}:{node.name}: {length} lines")
    assert not too_long
