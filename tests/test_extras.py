"""The extras gate the wings: ``import gaaf`` and the activations need only torch, every
``python -m gaaf`` command without the experiments extra stops with one line naming it.

The packages of the extra are made unimportable in a subprocess (a meta path finder that
raises ModuleNotFoundError for them, as a missing package does), so these tests run in
the development environment; ``make plain-install`` checks the same in a fresh one.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from gaaf import __main__ as cli

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRAS = PYPROJECT["project"]["optional-dependencies"]
IMPORT_NAMES = {"pyyaml": "yaml"}  # the extra's packages whose import name differs

BLOCK = """\
import sys

BLOCKED = {blocked!r}


class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, Missing())
"""

GAAF_CLI = """
import runpy

sys.argv = ["gaaf", *sys.argv[1:]]
runpy.run_module("gaaf", run_name="__main__", alter_sys=True)
"""

USES_THE_ACTIVATIONS = """
from gaaf import *  # everything gaaf/__init__.py exports
import torch

x = torch.linspace(-4, 4, 9, requires_grad=True)
y = GAAFTanh()(x)
y.sum().backward()
t = torch.tanh(x.detach())
assert (y - t).abs().max() < 1e-3, y
assert (x.grad > 1 - t**2).all(), x.grad  # GAAF raises every slope
z = torch.randn(4, 3, requires_grad=True)
for act in (GAAF("sigmoid"), GAAFReLU(), Surrogate("tanh")):
    act(z).sum().backward()
gaaf_tanh(z, K=10_000.0).sum().backward()
assert torch.isfinite(z.grad).all()
print(sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED))
"""


def without(blocked: set[str], code: str, *args: str) -> subprocess.CompletedProcess:
    """``code`` run by this Python in a subprocess where ``blocked`` cannot be imported."""
    return subprocess.run(
        [sys.executable, "-c", BLOCK.format(blocked=sorted(blocked)) + code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300,
    )


def requirement_name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9_.-]+", requirement)[0].lower()


def test_the_core_depends_on_torch_alone_and_the_extras_build_on_each_other():
    assert PYPROJECT["project"]["dependencies"] == ["torch>=2.4"]
    assert "gaaf[experiments]" in EXTRAS["papermill"]
    assert "gaaf[papermill]" in EXTRAS["book"]
    assert "gaaf[book]" in EXTRAS["dev"]


def test_the_cli_knows_what_the_experiments_extra_installs():
    names = {requirement_name(r) for r in EXTRAS["experiments"]}
    assert {IMPORT_NAMES.get(n, n) for n in names} == cli.EXPERIMENTS


def test_the_activations_work_with_torch_alone():
    done = without(cli.EXPERIMENTS, USES_THE_ACTIVATIONS)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"  # none of the extra's packages was imported
    # torch warns on import when numpy is missing; gaaf keeps that quiet
    assert "NumPy" not in done.stderr


@pytest.mark.parametrize(
    ("blocked", "argv", "missing", "extra"),
    [
        (
            cli.EXPERIMENTS,
            ["train", "--profile", "smoke", "--seeds", "0", "--device", "cpu"],
            cli.EXPERIMENTS,
            "experiments",
        ),
        ({"numpy"}, ["plan", "mnist", "--list"], {"numpy"}, "experiments"),
        ({"scipy"}, ["run-book", "--chapter", "intro"], {"scipy"}, "papermill"),
    ],
)
def test_a_command_without_the_extra_says_so_in_one_line(blocked, argv, missing, extra):
    done = without(blocked, GAAF_CLI, *argv)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    found = re.fullmatch(
        rf"error: {argv[0]} needs the {extra} extra \((\w+) is not installed\): "
        rf"pip install -e '\.\[{extra}\]' in a clone of gaaf's repository",
        lines[0],
    )
    assert found, lines[0]
    assert found[1] in missing
    assert done.stdout == ""


def test_help_and_version_need_no_extra():
    version = without(cli.EXPERIMENTS, GAAF_CLI, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("gaaf ")
    helped = without(cli.EXPERIMENTS, GAAF_CLI, "train", "--help")
    assert helped.returncode == 0, helped.stderr
    assert (
        "--widths" in helped.stdout
    )  # the config fields' flags, from gaaf.experiments.config
    assert helped.stderr == ""


def run_cli(error: BaseException) -> tuple[int, str]:
    """``python -m gaaf train`` whose training raises ``error``: status and stderr."""
    stderr = io.StringIO()
    with (
        mock.patch.object(cli, "_train", side_effect=error),
        contextlib.redirect_stderr(stderr),
    ):
        status = cli.main(["train", "--profile", "smoke"])
    return status, stderr.getvalue()


def test_a_package_of_the_extra_found_missing_later_is_one_line_too():
    status, stderr = run_cli(ModuleNotFoundError("no torchvision", name="torchvision"))
    assert status == 2
    assert stderr == (
        "error: train needs the experiments extra (torchvision is not installed): "
        "pip install -e '.[experiments]' in a clone of gaaf's repository\n"
    )


def test_another_missing_module_is_not_blamed_on_the_extra():
    with pytest.raises(ModuleNotFoundError):
        run_cli(ModuleNotFoundError("no gaaf.nowhere", name="gaaf.nowhere"))
