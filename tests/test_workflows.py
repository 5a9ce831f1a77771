"""The hosted-CI workflows in .github/workflows: our own CI has no GPU and never runs
them, so it checks them here. Each file parses, starts on the intended triggers, and
every command it calls exists: ``make`` targets are targets of the Makefile,
``python -m gaaf ...`` command lines are accepted by the parser ``python -m gaaf``
builds itself (gaaf/__main__.py), pip extras are extras of pyproject.toml.

A ``run:`` script is read as the shell reads it: lines joined at backslashes, split into
commands at ``&&``, ``;``, ``|`` ..., and the words of a make, gaaf or pip command
expanded by bash itself (quotes, ``$VAR``, ``${VAR:+...}``) with the step's environment,
for every value a workflow_dispatch input can take (each choice, each chapter name).
Workflow inputs reach scripts through ``env:``; an expression pasted into one of those
commands is reported, as is a variable that is not set (bash runs with ``set -u``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml

import gaaf.__main__ as cli
from gaaf.book import chapter_notebooks
from gaaf.params import PROFILES

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
CPU = WORKFLOWS / "tests.yml"
GPU = WORKFLOWS / "full-runs.yml"
CHAPTERS = [nb.stem for nb in chapter_notebooks(ROOT)]
COLAB_IMAGE = "us-docker.pkg.dev/colab-images/public/runtime"

# Values tried for free-text workflow_dispatch inputs, besides their defaults.
SAMPLES = {"chapters": [*CHAPTERS, " ".join(CHAPTERS)]}

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
EXPRESSION_MARK = "__GITHUB_EXPRESSION__"  # an expression pasted into a script
SEPARATORS = {"&&", "||", ";", ";;", "|", "|&", "&", "(", ")"}
# Words that may stand before the command a shell runs.
PREFIXES = {
    "if",
    "then",
    "elif",
    "else",
    "do",
    "while",
    "until",
    "!",
    "{",
    "time",
    "sudo",
}
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
PYTHON = re.compile(r"(?:\S*/)?python(?:3(?:\.\d+)?)?")
# What a runner sets that the scripts may read.
RUNNER_ENV = {
    "CI": "true",
    "GITHUB_WORKSPACE": str(ROOT),
    "GITHUB_ENV": os.devnull,
    "GITHUB_OUTPUT": os.devnull,
    "RUNNER_TEMP": "/tmp",
}


# ----------------------------------------------------------------- reading workflows


def load(path: Path, text: str | None = None) -> dict[str, Any]:
    workflow = yaml.safe_load(path.read_text() if text is None else text)
    assert isinstance(workflow, dict), f"{path.name}: not a mapping"
    return workflow


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    """The ``on:`` section as a mapping (YAML 1.1 reads the key ``on`` as True)."""
    on = workflow["on"] if "on" in workflow else workflow.get(True)
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on or {}


def dispatch_inputs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return (triggers(workflow).get("workflow_dispatch") or {}).get("inputs") or {}


def input_scenarios(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    """Input values to check the scripts with: the defaults, then each input varied
    alone through its choices, both booleans, and the samples for free text."""
    inputs = dispatch_inputs(workflow)
    defaults = {name: spec.get("default", "") for name, spec in inputs.items()}
    scenarios = [defaults]
    for name, spec in inputs.items():
        if spec.get("type") == "choice":
            values = spec["options"]
        elif spec.get("type") == "boolean":
            values = [True, False]
        else:
            values = SAMPLES.get(name, [])
        scenarios += [{**defaults, name: v} for v in values if v != defaults[name]]
    return scenarios


def as_text(value: Any) -> str:
    """A YAML value as GitHub renders it into a string."""
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def render(value: Any, inputs: dict[str, Any]) -> str:
    """An env value: ``${{ inputs.NAME }}`` becomes that input, other expressions a
    mark that must not reach a checked command."""

    def substitute(match: re.Match) -> str:
        name = match.group(1).removeprefix("inputs.")
        if match.group(1).startswith("inputs.") and name in inputs:
            return as_text(inputs[name])
        return EXPRESSION_MARK

    return EXPRESSION.sub(substitute, as_text(value))


def steps(workflow: dict[str, Any]):
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, job, step


def step_name(step: dict[str, Any]) -> str:
    return step.get("name") or step.get("uses") or step["run"].splitlines()[0]


# ------------------------------------------------------------------- shell commands


def shell_commands(script: str) -> list[list[str]]:
    """The simple commands of a script, each as its words (quotes kept), without the
    words before the command (``sudo``, ``if``, ``VAR=value``)."""
    script = EXPRESSION.sub(EXPRESSION_MARK, script).replace("\\\n", " ")
    commands = []
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=False, punctuation_chars=True)
        lexer.whitespace_split = True
        command: list[str] = []
        for token in [*lexer, ";"]:
            if token in SEPARATORS:
                while command and (
                    command[0] in PREFIXES or ASSIGNMENT.match(command[0])
                ):
                    command.pop(0)
                if command:
                    commands.append(command)
                command = []
            else:
                command.append(token)
    return commands


def expand(words: list[str], env: dict[str, str]) -> list[str]:
    """The arguments bash makes of these words in this environment."""
    text = " ".join(words)
    if EXPRESSION_MARK in text:
        raise ValueError("a workflow expression in the command: pass it through env")
    if re.search(r"\$\(|`|[<>]", text):
        raise ValueError("command substitution or a redirection: keep it plain")
    script = f'set -u; set -- {text}; for w in "$@"; do printf "%s\\0" "$w"; done'
    result = subprocess.run(
        ["bash", "-c", script],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ValueError(f"bash cannot expand it: {result.stderr.strip()}")
    if EXPRESSION_MARK in result.stdout:
        raise ValueError("a workflow expression in the command: only inputs are known")
    return result.stdout.split("\0")[:-1]


@dataclasses.dataclass
class Call:
    """A make, gaaf or pip command of a run: step, expanded for one set of inputs."""

    job: str
    step: dict[str, Any]
    program: str  # "make", "gaaf" or "pip"
    argv: list[str]
    inputs: dict[str, Any]
    env: dict[str, str]


def program(words: list[str]) -> tuple[str, list[str]] | None:
    """``("make" | "gaaf" | "pip", arguments)`` for the commands checked here."""
    if words[0] == "make" or words[0].endswith("/make") or words[0] == "$(MAKE)":
        return "make", words[1:]
    module = (
        words[2]
        if len(words) > 2 and PYTHON.fullmatch(words[0]) and words[1] == "-m"
        else None
    )
    if module == "gaaf":
        return "gaaf", words[3:]
    if module == "pip":
        return "pip", words[3:]
    if re.fullmatch(r"(?:\S*/)?pip3?", words[0]):
        return "pip", words[1:]
    return None


def calls(workflow: dict[str, Any]) -> tuple[list[Call], list[str]]:
    """Every checked command of every run: step for every input scenario, and the
    problems met on the way."""
    found: list[Call] = []
    problems: list[str] = []
    for inputs in input_scenarios(workflow):
        for job_id, job, step in steps(workflow):
            if "run" not in step:
                continue
            env = {**RUNNER_ENV}
            for scope in (workflow, job, step):
                env |= {
                    k: render(v, inputs) for k, v in (scope.get("env") or {}).items()
                }
            for words in shell_commands(step["run"]):
                known = program(words)
                if known is None:
                    continue
                where = f"{job_id} / {step_name(step)} / inputs {inputs}"
                if "working-directory" in step:
                    problems.append(f"{where}: runs outside the repository root")
                    continue
                try:
                    argv = expand(known[1], env)
                except ValueError as err:
                    problems.append(f"{where}: {' '.join(words)}: {err}")
                    continue
                found.append(Call(job_id, step, known[0], argv, inputs, env))
    return found, problems


# ------------------------------------------------------- what the commands must name


def makefile_targets() -> list[str]:
    """The Makefile's explicit targets, in order (the first is the default goal)."""
    rule = re.compile(r"^([^\s#=:][^#=:]*?)\s*:(?!=)")
    targets: list[str] = []
    for line in (ROOT / "Makefile").read_text().splitlines():
        match = rule.match(line)
        if match:
            names = match.group(1).split()
            targets += [n for n in names if not n.startswith(".") and "$" not in n]
    return targets


def make_goals(argv: list[str]) -> list[str]:
    goals = [a for a in argv if not a.startswith("-") and "=" not in a]
    return goals or makefile_targets()[:1]


class _Parsed(Exception):
    def __init__(self, namespace: argparse.Namespace):
        super().__init__()
        self.namespace = namespace


def parse_gaaf(argv: list[str]) -> argparse.Namespace:
    """``argv`` as parsed by the parser that ``python -m gaaf`` builds, without running
    the command: ``gaaf.__main__.main`` runs until its parse_args call returns. Raises
    ValueError with argparse's message when the parser rejects the arguments."""
    parse_args = argparse.ArgumentParser.parse_args

    def parse_then_stop(parser, args=None, namespace=None):
        raise _Parsed(parse_args(parser, args, namespace))

    stderr = io.StringIO()
    with (
        mock.patch.object(argparse.ArgumentParser, "parse_args", parse_then_stop),
        contextlib.redirect_stderr(stderr),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        try:
            cli.main(list(argv))
        except _Parsed as parsed:
            return parsed.namespace
        except SystemExit:
            lines = stderr.getvalue().strip().splitlines() or ["(no message)"]
            raise ValueError(lines[-1]) from None
    raise AssertionError("gaaf.__main__.main() returned without parsing its arguments")


def gaaf_problems(argv: list[str]) -> list[str]:
    try:
        args = parse_gaaf(argv)
    except ValueError as err:
        return [f"python -m gaaf {shlex.join(argv)}: {err}"]
    if args.command == "run-book":  # names run-book checks only once it runs
        unknown = [c for c in args.chapter or [] if c not in CHAPTERS]
        if unknown:
            return [f"python -m gaaf {shlex.join(argv)}: no chapter {unknown}"]
    return []


def extras() -> dict[str, list[str]]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return pyproject["project"]["optional-dependencies"]


def installed_extras(argv: list[str]) -> set[str] | None:
    """The extras of this repository a ``pip install`` names, or None if it does not
    install the repository itself."""
    if not argv or argv[0] != "install":
        return None
    for arg in argv[1:]:
        match = re.fullmatch(r"\.(?:\[([^\]]*)\])?", arg)
        if match:
            return {e.strip() for e in (match.group(1) or "").split(",") if e.strip()}
    return None


def requirements(names: set[str]) -> set[str]:
    """The distribution names these extras pull in, through gaaf[...] references."""
    found: set[str] = set()
    for name in names:
        for requirement in extras()[name]:
            nested = re.fullmatch(r"gaaf\[(.*)\]", requirement)
            if nested:
                found |= requirements(set(nested.group(1).split(",")))
            else:
                found.add(re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower())
    return found


def problems(workflow: dict[str, Any]) -> list[str]:
    """Everything wrong with a workflow that these tests know to look for."""
    found, trouble = calls(workflow)
    for job_id, job in workflow["jobs"].items():
        if "runs-on" not in job or not job.get("steps"):
            trouble.append(f"{job_id}: needs runs-on and steps")
    for job_id, _, step in steps(workflow):
        if ("run" in step) == ("uses" in step):
            trouble.append(f"{job_id} / {step_name(step)}: needs one of run and uses")
        elif "uses" in step and not re.fullmatch(
            r"[\w.-]+/[\w./-]+@[\w.-]+", step["uses"]
        ):
            trouble.append(f"{job_id} / {step['uses']}: an action needs a version")
    targets = makefile_targets()
    for call in found:
        if call.program == "make":
            trouble += [
                f"make {shlex.join(call.argv)}: no target {goal!r} in the Makefile"
                for goal in make_goals(call.argv)
                if goal not in targets
            ]
        elif call.program == "gaaf":
            trouble += gaaf_problems(call.argv)
        elif call.program == "pip":
            names = installed_extras(call.argv) or set()
            trouble += [
                f"pip {shlex.join(call.argv)}: pyproject.toml has no extra {name!r}"
                for name in sorted(names - set(extras()))
            ]
    return trouble


def readme_command_problems(workflow: dict[str, Any]) -> list[str]:
    """What keeps a workflow from running the README's test command, ``make test``,
    the way CI does (with CI set)."""
    found, _ = calls(workflow)
    goals = [make_goals(c.argv) for c in found if c.program == "make"]
    if goals != [["test"]]:
        return [f"make is called for {goals}, not once for the goal test"]
    # with CI set, a missing Chromium or node_modules fails the page check, never skips
    env = next(c.env for c in found if c.program == "make")
    return [] if env.get("CI") == "true" else ["make test runs without CI=true"]


def uploads(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The upload-artifact steps, by the path they upload."""
    return {
        step["with"]["path"]: step
        for _, _, step in steps(workflow)
        if step.get("uses", "").startswith("actions/upload-artifact@")
    }


# ------------------------------------------------------------------------ the tests


@pytest.mark.parametrize("path", [CPU, GPU], ids=lambda p: p.name)
def test_workflow_parses_and_every_command_it_calls_exists(path):
    workflow = load(path)
    assert workflow.get("name")
    assert problems(workflow) == []


def test_cpu_workflow_runs_the_readmes_test_command_on_push_and_pull_request():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```(?:bash|sh)\n(.*?)```", readme, re.S).group(1)
    assert "make test" in [line.split("#")[0].strip() for line in block.splitlines()]
    workflow = load(CPU)
    assert {"push", "pull_request"} <= set(triggers(workflow))
    assert readme_command_problems(workflow) == []
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    used = {step.get("uses", "").split("@")[0]: step for step in job["steps"]}
    assert str(used["actions/setup-python"]["with"]["python-version"]) == "3.11"
    assert "actions/setup-node" in used  # npm ci --prefix tests/web (make web)
    assert any("chromium" in step.get("run", "") for step in job["steps"])
    # the built book comes back as an artifact; make book builds it into _build/html
    assert "_build/html" in uploads(workflow)
    assert "jupyter-book build ." in (ROOT / "Makefile").read_text()


def test_gpu_workflow_is_started_by_hand_on_a_runner_named_by_an_input():
    workflow = load(GPU)
    assert set(triggers(workflow)) == {"workflow_dispatch"}
    inputs = dispatch_inputs(workflow)
    assert inputs["runner"]["default"]
    assert inputs["profile"]["default"] == "full"
    assert set(inputs["profile"]["options"]) == set(PROFILES)
    assert inputs["chapters"]["default"] == ""
    assert inputs["colab"]["type"] == "boolean" and inputs["colab"]["default"] is False
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == "${{ inputs.runner }}"
    # Colab's image, with the GPUs passed through, only when the colab input is set
    container = job["container"]
    assert "inputs.colab" in container and COLAB_IMAGE in container
    assert "--gpus all" in container


def test_gpu_workflow_runs_the_chapters_on_cuda_for_every_input():
    workflow = load(GPU)
    found, trouble = calls(workflow)
    assert trouble == []
    runs = [c for c in found if c.program == "gaaf"]
    assert len(runs) == len(input_scenarios(workflow))  # one run-book per scenario
    for run in runs:
        args = parse_gaaf(run.argv)
        assert args.command == "run-book"
        assert args.device == "cuda"
        assert args.profile == run.inputs["profile"]
        assert args.chapter == (run.inputs["chapters"].split() or None)
    # what the defaults run: every chapter at full scale, the issue's command line
    default = parse_gaaf(runs[0].argv)
    assert (default.profile, default.device, default.chapter) == ("full", "cuda", None)
    # run-book needs papermill and a kernel: the installed extras must bring them
    pips = [installed_extras(c.argv) for c in found if c.program == "pip"]
    installed = set().union(*(e for e in pips if e is not None))
    assert {"papermill", "ipykernel"} <= requirements(installed)


def test_gpu_workflow_uploads_notebooks_and_records_whatever_happened():
    workflow = load(GPU)
    found, _ = calls(workflow)
    run = next(c for c in found if c.program == "gaaf")
    output = parse_gaaf(run.argv).output.as_posix()
    uploaded = uploads(workflow)
    # the executed notebooks, and results/ with the checkpoints of unfinished runs
    assert output in uploaded and "results" in uploaded
    for step in uploaded.values():
        assert "always()" in str(step["if"])
    # the chapters step stops first, so the uploads after it get to run; the default
    # leaves time for them within a GitHub-hosted runner's 6 hours
    job = workflow["jobs"][run.job]
    assert run.step["timeout-minutes"] == "${{ inputs.timeout_minutes }}"
    limit = dispatch_inputs(workflow)["timeout_minutes"]["default"]
    assert limit <= 330 and limit < job["timeout-minutes"]
    # a later run resumes from an earlier run's uploaded records
    restore = next(
        step
        for _, _, step in steps(workflow)
        if "download-artifact" in step.get("uses", "")
    )
    assert restore["with"]["name"] == uploaded["results"]["with"]["name"]
    assert restore["with"]["path"] == "results"


def test_readme_documents_the_hosted_workflows():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Hosted CI\n", 1)[1]
    for path in (CPU, GPU):
        assert path.relative_to(ROOT).as_posix() in section


# ------------------------------------------- the checker rejects what it should reject


def test_makefile_targets_are_read():
    targets = makefile_targets()
    assert targets[0] == "book"  # the default goal
    assert {"book", "test", "install", "data", "web", "lint", "clean"} <= set(targets)
    assert "tests" not in targets and "SHELL" not in targets


@pytest.mark.parametrize(
    "argv",
    [
        ["run-book", "--profile", "full", "--devices", "cuda"],  # a flag it lacks
        ["run-book", "--profile", "paper", "--device", "cuda"],  # not a profile
        ["run-books", "--profile", "full"],  # not a subcommand
        ["run-book", "--chapter"],  # a flag without its value
        [],
    ],
)
def test_the_gaaf_parser_rejects_a_bad_command_line(argv):
    with pytest.raises(ValueError):
        parse_gaaf(argv)


def test_the_gaaf_parser_reads_the_issue_command_line():
    args = parse_gaaf(["run-book", "--profile", "full", "--device", "cuda"])
    assert (args.command, args.profile, args.device) == ("run-book", "full", "cuda")
    assert gaaf_problems(["run-book", "--chapter", "no_such_chapter"])
    assert gaaf_problems(["run-book", "--chapter", *CHAPTERS]) == []


def test_shell_commands_are_split_and_expanded_as_bash_does():
    script = 'if ! command -v x; then\n  sudo A=1 make -j2 test && echo "make book"\nfi'
    commands = shell_commands(script)
    assert ["make", "-j2", "test"] in commands
    assert ["echo", '"make book"'] in commands
    words = shell_commands('python -m gaaf run-book --profile "$P" ${C:+--chapter $C}')[
        0
    ]
    assert program(words) == ("gaaf", words[3:])
    assert expand(words[3:], {"P": "full", "C": ""}) == [
        "run-book",
        "--profile",
        "full",
    ]
    assert expand(words[3:], {"P": "a b", "C": "x y"}) == [
        *["run-book", "--profile", "a b", "--chapter", "x", "y"]
    ]
    with pytest.raises(ValueError, match="unbound"):
        expand(words[3:], {"C": ""})
    with pytest.raises(ValueError, match="env"):
        expand(shell_commands("make ${{ inputs.target }}")[0], {})


@pytest.mark.parametrize(
    ("path", "old", "new"),
    [
        (CPU, "run: make test", "run: make tests"),  # a target the Makefile lacks
        (CPU, "run: make test", "run: make"),  # the default goal is book, not test
        (GPU, "--device cuda", "--devices cuda"),  # a renamed flag
        (GPU, "run-book --profile", "run-books --profile"),  # a renamed subcommand
        (GPU, '--profile "$PROFILE"', '--profile "$PROFLIE"'),  # a variable not set
        (GPU, "[full, default, smoke]", "[full, default, paper]"),  # not a profile
        (GPU, "'.[book]'", "'.[books]'"),  # an extra pyproject.toml lacks
        (GPU, '"$PROFILE"', '"${{ inputs.profile }}"'),  # an input pasted in
    ],
)
def test_a_broken_workflow_is_reported(path, old, new):
    text = path.read_text()
    assert old in text
    broken = load(path, text.replace(old, new))
    assert problems(broken) + (readme_command_problems(broken) if path == CPU else [])
