"""The project's promises about itself: one install recipe, the README's commands, CI."""

from __future__ import annotations

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


def test_makefile_installs_the_dev_extra():
    assert "-e '.[dev]'" in (ROOT / "Makefile").read_text()


def test_jupyter_book_is_pinned_to_1x():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert (
        "jupyter-book==1.0.4.post1"
        in pyproject["project"]["optional-dependencies"]["book"]
    )


def test_only_toc_files_are_pages():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["only_build_toc_files"] is True
    for folder in ("gaaf", "data", "tests", ".*"):
        assert folder in config["exclude_patterns"]
    assert config["execute"]["execute_notebooks"] == "force"
