"""Chapter notebooks: their structure, the Colab setup cell, and papermill runs."""

from __future__ import annotations

import ast
import sys
import types
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from gaaf.book.chapter import (
    SETUP_MARKER,
    ChapterFailed,
    chapter_notebooks,
    published,
    repository,
    run_chapter,
    setup_cell_source,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = chapter_notebooks(ROOT)
OUTPUT = ROOT / "_build" / "papermill"
IDS = [nb.stem for nb in NOTEBOOKS]


def test_the_book_has_chapters():
    assert NOTEBOOKS, "no chapter notebooks in _toc.yml"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_structure(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    # first code cell: the canonical Colab setup cell, hidden on the page
    assert code[0].source == setup_cell_source(ROOT)
    assert "remove-cell" in code[0].metadata.get("tags", [])
    # exactly one papermill parameters cell, right after it, defining the profile
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is code[1]
    assert 'profile = "default"' in tagged[0].source
    # the next cell checks every parameter before any work (see test_a_bad_parameter...)
    checked = checked_names(code[2].source)
    assert {"profile", "device"} <= checked
    for name in parameter_names(tagged[0].source):
        assert name in checked, f"{path.stem}: parameter {name} is not checked"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    # stored without outputs: the book executes chapters when it is built
    assert all(not c.outputs and c.execution_count is None for c in code)


def parameter_names(source: str) -> list[str]:
    """The names a parameters cell assigns."""
    return [
        target.id
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    ]


def checked_names(source: str) -> set[str]:
    """The parameters a check cell checks: the keywords it passes to ``params.check``
    and the names ``validate.*`` calls give as their first argument."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if not isinstance(owner, ast.Name):
            continue
        if owner.id == "params" and node.func.attr == "check":
            names |= {k.arg for k in node.keywords if isinstance(k.value, ast.Name)}
        elif owner.id == "validate" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant):
                names.add(first.value)
            elif isinstance(first, ast.JoinedStr):  # f"datasets[{i}]"
                names.add(first.values[0].value.split("[")[0])
    return names


def run_setup_cell(source: str) -> list[tuple]:
    """Run the setup cell as IPython would; returns the magics it invoked."""
    calls: list[tuple] = []
    shell = types.SimpleNamespace(
        run_line_magic=lambda *args: calls.append(args),
        system=lambda *args: calls.append(("system", *args)),
    )
    python = TransformerManager().transform_cell(source)
    exec(compile(python, "<setup cell>", "exec"), {"get_ipython": lambda: shell})
    return calls


def test_setup_cell_does_nothing_outside_colab():
    assert "google.colab" not in sys.modules
    assert run_setup_cell(setup_cell_source(ROOT)) == []


def test_setup_cell_on_colab_installs_from_the_repository_or_says_why_not(monkeypatch):
    # the Colab behaviour of a published repository's cell: tests/test_hosting.py
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    url, branch = repository(ROOT)
    if not published(url):
        with pytest.raises(RuntimeError, match="not published yet"):
            run_setup_cell(setup_cell_source(ROOT))
    else:
        calls = run_setup_cell(setup_cell_source(ROOT))
        assert calls[:2] == [
            (
                "system",
                "test -d /content/gaaf || git clone --quiet --filter=blob:none "
                f"{url} /content/gaaf",
            ),
            ("system", f"git -C /content/gaaf checkout --quiet {branch}"),
        ]
    assert setup_cell_source(ROOT).startswith(SETUP_MARKER)


def problems_in(executed: Path) -> list[str]:
    nb = nbformat.read(executed, as_version=4)
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                found.append(f"cell {i}: {out.ename}: {out.evalue}")
            elif out.output_type == "stream" and out.name == "stderr":
                found.append(f"cell {i} wrote to stderr: {out.text[:200]}")
    return found


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapter_runs_at_the_smoke_profile(path):
    # chapters that keep run records write the smoke runs beside the executed
    # notebooks, not into the repository's results/ (which holds real runs)
    params = nbformat.read(path, as_version=4).cells
    records = {"results": str(OUTPUT / "results")}
    keeps_records = any('results = "../results"' in c.source for c in params)
    executed, seconds = run_chapter(
        path,
        OUTPUT,
        profile="smoke",
        device="cpu",
        **(records if keeps_records else {}),
    )
    print(f"{path.stem}: {seconds:.1f} s at the smoke profile")
    assert problems_in(executed) == []


@pytest.mark.notebooks
def test_a_bad_parameter_stops_a_chapter_with_a_clear_error():
    import papermill

    OUTPUT.mkdir(parents=True, exist_ok=True)
    bad = OUTPUT / "bad-parameter.ipynb"
    with pytest.raises(
        papermill.PapermillExecutionError, match="profile must be one of"
    ):
        papermill.execute_notebook(
            str(NOTEBOOKS[0]),
            str(bad),
            parameters={"profile": "huge"},
            progress_bar=False,
        )
    with pytest.raises(ChapterFailed, match="ValueError: device must be"):
        run_chapter(NOTEBOOKS[0], OUTPUT / "bad", profile="smoke", device="tpu")
    with pytest.raises(ValueError, match="profile must be one of"):
        run_chapter(NOTEBOOKS[0], OUTPUT / "bad", profile="huge")


def error_cell(executed: Path) -> tuple[int, list[nbformat.NotebookNode]]:
    """The index, among the executed notebook's code cells, of the cell that raised."""
    code = [
        c for c in nbformat.read(executed, as_version=4).cells if c.cell_type == "code"
    ]
    failed = [
        i
        for i, c in enumerate(code)
        if any(o.output_type == "error" for o in c.outputs)
    ]
    assert len(failed) == 1, failed
    return failed[0], code


@pytest.mark.notebooks
@pytest.mark.parametrize(("value", "shown"), [(0, "0"), ("10000", "'10000'")])
def test_a_bad_parameter_is_refused_by_the_check_cell_naming_it(value, shown):
    # -p K 0 used to fail in cell 8 with ZeroDivisionError, and -r K 10000 (a string)
    # with a TypeError deep in gaaf_derived; now the check cell stops the chapter
    import papermill

    chapter = next(nb for nb in NOTEBOOKS if nb.stem == "gaaf_derived")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    executed = OUTPUT / f"bad-K-{value}.ipynb"
    with pytest.raises(papermill.PapermillExecutionError) as raised:
        papermill.execute_notebook(
            str(chapter),
            str(executed),
            parameters={"profile": "smoke", "device": "cpu", "K": value},
            cwd=str(chapter.parent),
            progress_bar=False,
        )
    assert raised.value.ename == "ValueError"
    assert raised.value.evalue.startswith("K must be a finite number")
    assert raised.value.evalue.endswith(f"got {shown}")
    index, code = error_cell(executed)
    # the first code cell after the parameters papermill injected
    assert "injected-parameters" in code[index - 1].metadata.get("tags", [])
    assert "parameters" in code[index - 2].metadata.get("tags", [])
    assert "params.check(" in code[index].source
