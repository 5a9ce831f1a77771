"""Colab parity: every chapter runs, at the smoke profile, in an environment built the
way a chapter's Colab setup cell builds it (the base ``gaaf`` install, no ``book``
extra) on top of the versions Colab's GPU runtime ships (``ci/colab/pip-freeze.gpu.txt``,
Colab's own published list; torch 2.11, ipywidgets 7.7.1, ipykernel 6.17.1 ...).

The environment is a virtual environment in ``_build/colab`` whose packages are held to
Colab's versions by pip constraints made from the freeze file; papermill, which Colab
does not ship, stays outside it and drives the chapters through a kernel of that
environment. Python stays this machine's (Colab has 3.13; none is obtainable offline).
Run with ``make colab-parity`` (part of ``make test``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_notebooks import NOTEBOOKS, problems_in

from gaaf.book.chapter import run_chapter

ROOT = Path(__file__).resolve().parents[1]
FREEZE = ROOT / "ci" / "colab" / "pip-freeze.gpu.txt"
HOME = ROOT / "_build" / "colab"
KERNEL = "gaaf-colab"
# What the Colab runtime ships and the chapters use: installed explicitly at Colab's
# versions (the constraints pin them), then gaaf on top without extras.
PRESENT_ON_COLAB = (
    "torch",
    "torchvision",
    "numpy",
    "matplotlib",
    "scipy",
    "ipywidgets",
    "ipykernel",
    "tqdm",
    "PyYAML",
)

pytestmark = pytest.mark.colab


# The CUDA libraries of Colab's torch (its cu128 build) are not pinned: PyPI's torch of
# the same version is built for another CUDA and brings its own; on a CPU they are
# never loaded, and every Python package is Colab's.
CUDA_LIBRARIES = re.compile(r"^(nvidia-|cuda-|triton\b)", re.I)


def constraints(freeze: str) -> str:
    """pip constraints from a ``pip freeze``: ``name==version`` lines only (no direct
    URLs or editable installs, no CUDA libraries), local version tags (``+cu128``)
    dropped."""
    lines = []
    for line in freeze.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-")) or " @ " in line or "==" not in line:
            continue
        name, version = line.split("==", 1)
        if not CUDA_LIBRARIES.match(name):
            lines.append(f"{name}=={version.split('+', 1)[0]}")
    return "\n".join(lines) + "\n"


def test_constraints_keep_pins_and_drop_what_pip_cannot_use():
    freeze = (
        "torch==2.11.0+cu128\nfoo @ git+https://x/y\n-e .\nnumpy==2.1.3\n"
        "nvidia-cublas-cu12==12.8.4.1\ntriton==3.6.0\n"
    )
    assert constraints(freeze) == "torch==2.11.0\nnumpy==2.1.3\n"


def _pins() -> dict[str, str]:
    return dict(
        line.split("==") for line in constraints(FREEZE.read_text()).splitlines()
    )


@pytest.fixture(scope="session")
def colab_kernel() -> str:
    """The kernel name of a venv with Colab's versions and a plain gaaf install,
    built once per change of the freeze file or pyproject.toml."""
    python = HOME / "venv" / "bin" / "python"
    stamp = HOME / "stamp"
    key = hashlib.sha256(
        FREEZE.read_bytes() + (ROOT / "pyproject.toml").read_bytes()
    ).hexdigest()
    if not (stamp.exists() and stamp.read_text() == key and python.exists()):
        shutil.rmtree(HOME, ignore_errors=True)
        HOME.mkdir(parents=True)
        (HOME / "constraints.txt").write_text(constraints(FREEZE.read_text()))
        subprocess.run([sys.executable, "-m", "venv", HOME / "venv"], check=True)
        pip = [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "-c",
            HOME / "constraints.txt",
        ]
        subprocess.run([*pip, *PRESENT_ON_COLAB], check=True)
        subprocess.run([*pip, "-e", ROOT], check=True)  # as the setup cell: no extras
        subprocess.run(
            [
                python,
                "-m",
                "ipykernel",
                "install",
                "--prefix",
                HOME / "jupyter",
                "--name",
                KERNEL,
            ],
            check=True,
            capture_output=True,
        )
        stamp.write_text(key)
    return KERNEL


def _installed(python: Path) -> dict[str, str]:
    out = subprocess.run(
        [python, "-m", "pip", "list", "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {p["name"].lower(): p["version"] for p in json.loads(out)}


def test_the_environment_has_colabs_versions_and_no_book_extra(colab_kernel):
    installed = _installed(HOME / "venv" / "bin" / "python")
    pins = {k.lower(): v for k, v in _pins().items()}
    for name in PRESENT_ON_COLAB:
        assert installed[name.lower()] == pins[name.lower()], name
    for extra in ("papermill", "jupyter-book", "sphinx"):
        assert extra not in installed


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_chapter_runs_in_colabs_environment(path, colab_kernel, monkeypatch):
    jupyter = str(HOME / "jupyter" / "share" / "jupyter")
    monkeypatch.setenv(
        "JUPYTER_PATH",
        os.pathsep.join(filter(None, [jupyter, os.environ.get("JUPYTER_PATH")])),
    )
    output = ROOT / "_build" / "colab" / "papermill"
    keeps_records = re.search(r'results = "../results"', path.read_text())
    executed, seconds = run_chapter(
        path,
        output,
        profile="smoke",
        device="cpu",
        kernel_name=colab_kernel,
        **({"results": str(output / "results")} if keeps_records else {}),
    )
    print(f"{path.stem}: {seconds:.1f} s in Colab's environment")
    assert problems_in(executed) == []
