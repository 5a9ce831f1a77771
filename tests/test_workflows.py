"""The hosted-CI workflows (.github/workflows), which our own CI never runs: each
parses, starts on its triggers, and every make, ``python -m gaaf`` and pip command
starting a line of its scripts exists for each value of each workflow_dispatch input
(``$VAR``, ``"$VAR"`` and ``${VAR:+words}`` from the step's env, then ``shlex``); and
the fixes of issue 13 hold. ``make lint`` checks them against GitHub's schema."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
from pathlib import Path
from unittest import mock

import pytest
import yaml

import gaaf.__main__ as cli
from gaaf.book.chapter import chapter_notebooks, repository
from gaaf.experiments.params import PROFILES

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = [nb.stem for nb in chapter_notebooks(ROOT)]
SAMPLES = {"chapters": [CHAPTERS[0], " ".join(CHAPTERS)], "resume_run_id": ["123"]}
SAMPLES["shards"] = [3]
MATRIX = {"shard": 2}  # the matrix job whose commands are read
RUNNER_ENV = {"RUNNER_TEMP": "/tmp/runner", "GITHUB_WORKSPACE": str(ROOT)}
COMMAND = re.compile(r"\s*(make|(\S*/)?python[\d.]* -m (gaaf|pip)|pip install)\b")
DIGEST = "sha256:" + "0123456789abcdef" * 4
RUNS = {"tests.yml": "make test", "pages.yml": "make book"}  # once for any inputs
RUNS |= {"colab-parity.yml": "make colab-parity", "full-runs.yml": "gaaf run-book"}


def load(name: str, text: str | None = None) -> dict:
    workflow = yaml.safe_load(text or (ROOT / ".github/workflows" / name).read_text())
    workflow["on"] = workflow.pop(True)  # YAML 1.1 reads the key `on` as True
    return workflow


def scenarios(workflow: dict) -> list[dict]:
    """The inputs' defaults, then each input varied alone (choices, samples)."""
    specs = (workflow["on"].get("workflow_dispatch") or {}).get("inputs", {})
    defaults = {name: spec.get("default", "") for name, spec in specs.items()}
    found = [defaults]
    for name, spec in specs.items():
        values = spec.get("options", SAMPLES.get(name, []))
        values = [True, False] if spec["type"] == "boolean" else values
        found += [{**defaults, name: v} for v in values if v != defaults[name]]
    return found


def evaluate(expression, context: dict):
    """A GitHub expression of ``== != > && || !`` over the names in ``context``
    (Python's ``and``/``or`` return an operand, as GitHub's ``&&``/``||`` do)."""
    text = re.sub(r"^\$\{\{(.*)\}\}$", r"\1", str(expression).strip())
    text = re.sub(r"!(?!=)", " not ", text.replace("&&", " and ").replace("||", " or "))
    text = re.sub(r"\b[a-z_]+(\.[\w-]+)+", lambda m: repr(context[m[0]]), text)
    return eval(text, {"__builtins__": {}})


def expand(line: str, env: dict) -> list[str]:
    """A line's first command (up to && || | ; >) as bash splits it with ``env``."""
    line = re.split(r"\s(?:&&|\|\|?|;|>>?)\s", line)[0]
    line = re.sub(r"\$\{(\w+):\+([^}]*)\}", lambda m: env[m[1]] and m[2], line)
    line = re.sub(r'"\$(\w+)"', lambda m: shlex.quote(env[m[1]]), line)
    return shlex.split(re.sub(r"\$(\w+)", lambda m: env[m[1]], line))


def commands(workflow: dict, inputs: dict) -> list[tuple[str, list[str]]]:
    """``(make | gaaf | pip, arguments)`` of the commands of the steps that run with
    these inputs. KeyError: a variable the step does not set."""

    def render(value) -> str:  # ${{ inputs.NAME }} or ${{ matrix.NAME }} in env
        value = str(value).lower() if isinstance(value, bool) else str(value)
        value = re.sub(r"\$\{\{ matrix\.(\w+) \}\}", lambda m: str(MATRIX[m[1]]), value)
        return re.sub(
            r"\$\{\{ inputs\.(\w+) \}\}", lambda m: render(inputs[m[1]]), value
        )

    found, context = [], {f"inputs.{k}": v for k, v in inputs.items()}
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "run" not in step or not evaluate(step.get("if", True), context):
                continue
            scopes = [RUNNER_ENV, *(s.get("env", {}) for s in (workflow, job, step))]
            env = {k: render(v) for scope in scopes for k, v in scope.items()}
            for line in step["run"].replace("\\\n", " ").splitlines():
                if COMMAND.match(line):
                    w = expand(line, env)  # python -m gaaf|pip ..., or make|pip ...
                    found.append((w[2], w[3:]) if w[1:2] == ["-m"] else (w[0], w[1:]))
    return found


def parse_gaaf(argv: list[str]):
    """``argv`` as ``python -m gaaf`` (gaaf.__main__.main) parses it, the command
    itself stubbed out; ValueError with argparse's message when it is rejected."""
    parsed, stderr = [], io.StringIO()
    stubs = dict.fromkeys(["_train", "_run_book", "_bench"], parsed.append)
    with mock.patch.multiple(cli, **stubs), contextlib.redirect_stderr(stderr):
        try:
            cli.main(list(argv))
        except SystemExit:
            raise ValueError(stderr.getvalue().strip().splitlines()[-1]) from None
    return parsed[0]


def problems(workflow: dict) -> list[str]:
    targets = re.findall(r"^([\w-]+):(?!=)", (ROOT / "Makefile").read_text(), re.M)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    found = [s["run"] + ": use env" for s in steps if "${{" in s.get("run", "")]
    for inputs in scenarios(workflow):
        try:
            calls = commands(workflow, inputs)
        except KeyError as unset:
            calls, found = [], [*found, f"{inputs}: {unset} is not set"]
        for program, argv in calls:
            if program == "make":
                goals = [a for a in argv if a[0] != "-" and "=" not in a] or ["-"]
                found += [f"make: no target {g}" for g in goals if g not in targets]
            elif program == "gaaf":
                try:
                    chapters = parse_gaaf(argv).chapter or []
                except ValueError as err:
                    chapters, found = [], [*found, f"{shlex.join(argv)}: {err}"]
                found += [f"no chapter {c}" for c in chapters if c not in CHAPTERS]
            elif program == "pip" and argv[0] == "install":
                named = re.findall(r"^\.\[(.*)\]$", "\n".join(argv), re.M)
                found += [f"no extra {e}" for e in named if e not in extras]
    return found


def steps(name: str, job: str, containing: str = "") -> list[dict]:
    steps = load(name)["jobs"][job]["steps"]
    return [s for s in steps if containing in s.get("run", s.get("uses"))]


@pytest.mark.parametrize("name", RUNS)
def test_workflow_parses_and_every_command_it_calls_exists(name):
    workflow = load(name)
    assert workflow["name"] and problems(workflow) == []
    for inputs in scenarios(workflow):
        calls = [f"{p} {argv[0]}" for p, argv in commands(workflow, inputs)]
        assert calls.count(RUNS[name]) == 1
    readme = (ROOT / "README.md").read_text().split("\n## Hosted CI\n")[1]
    assert f".github/workflows/{name}" in readme


INPUTS, IMAGE = "on.workflow_dispatch.inputs", "${{ needs.check.outputs.image }}"
WEEKLY = {"cron": "23 4 * * 1"}  # Mondays
FACTS = [  # (workflow, keys, value)
    ("tests.yml", "on", {"push": {"branches": ["main"]}, "pull_request": None}),
    ("pages.yml", "on", {"push": {"branches": ["main"]}, "workflow_dispatch": None}),
    ("pages.yml", "permissions.pages", "write"),
    ("pages.yml", "permissions.id-token", "write"),
    ("pages.yml", "permissions.contents", "write"),  # pushes the branch colab
    ("pages.yml", "concurrency.group", "pages"),
    ("pages.yml", "jobs.build.steps.1.name", "The book's address is this repository's"),
    ("pages.yml", "jobs.build.steps.-4.run", "make book"),
    ("pages.yml", "jobs.build.steps.-3.uses", "actions/configure-pages@v5"),
    ("pages.yml", "jobs.build.steps.-2.uses", "actions/upload-pages-artifact@v4"),
    ("pages.yml", "jobs.build.steps.-2.with.path", "_build/html"),  # make book's
    ("pages.yml", "jobs.deploy.needs", "build"),
    ("pages.yml", "jobs.deploy.steps.0.uses", "actions/deploy-pages@v4"),
    ("colab-parity.yml", "on", {"schedule": [WEEKLY], "workflow_dispatch": None}),
    ("colab-parity.yml", "jobs.colab-parity.steps.1.with.python-version", "3.13"),
    ("full-runs.yml", f"{INPUTS}.device.options", ["cuda", "cpu"]),
    ("full-runs.yml", f"{INPUTS}.device.default", "cuda"),
    ("full-runs.yml", f"{INPUTS}.torch_index.default", "cu126"),
    ("full-runs.yml", f"{INPUTS}.profile.default", "full"),
    ("full-runs.yml", f"{INPUTS}.timeout_minutes.default", 330),  # leaves 20 minutes
    ("full-runs.yml", "jobs.run-book.timeout-minutes", 350),  # hosted runners: 360
    ("full-runs.yml", "jobs.run-book.env.GAAF_RUNTIME_IMAGE", IMAGE),
    ("full-runs.yml", "jobs.check.outputs.image", "${{ steps.image.outputs.image }}"),
    ("full-runs.yml", f"{INPUTS}.shards.default", 1),
    ("full-runs.yml", "jobs.run-book.strategy.fail-fast", False),
    (
        "full-runs.yml",
        "jobs.run-book.strategy.matrix.shard",
        "${{ fromJSON(needs.check.outputs.shards) }}",
    ),
    ("full-runs.yml", "jobs.merge.needs", ["check", "run-book"]),
    (
        "full-runs.yml",
        "jobs.merge.if",
        "${{ always() && needs.check.result == 'success' }}",
    ),
    ("full-runs.yml", "jobs.merge.steps.-2.run", "make book"),
]


@pytest.mark.parametrize(("name", "keys", "value"), FACTS)
def test_workflow_says(name, keys, value):
    found = load(name)
    for key in keys.split("."):
        found = found[int(key) if key.lstrip("-").isdigit() else key]
    assert found == value


def test_colab_parity_installs_colabs_versions(tmp_path):
    freeze = ROOT / "ci/colab/pip-freeze.gpu.txt"
    shared = ROOT.parent / "shared/colab" / freeze.name  # beside the repository
    assert not shared.exists() or freeze.read_text() == shared.read_text()
    # the constraints step: name==version of each package the freeze pins by version
    (step,) = steps("colab-parity.yml", "colab-parity", freeze.name)
    env = {"PATH": "/usr/bin:/bin", "RUNNER_TEMP": str(tmp_path)}
    subprocess.run(["bash", "-c", step["run"]], cwd=ROOT, env=env, check=True)
    written = (tmp_path / "colab-constraints.txt").read_text()
    constraints = re.findall(r"^[^#\s].*", written, re.M)
    assert all(re.fullmatch(r"[\w.-]+==[\w.]+", c) for c in constraints)
    pinned = re.findall(r"^([\w.-]+)==", freeze.read_text(), re.M)
    assert [c.split("==")[0] for c in constraints] == pinned
    calls = commands(load("colab-parity.yml"), {})
    installs = [argv for p, argv in calls if p == "pip" and argv[0] == "install"]
    used = RUNNER_ENV["RUNNER_TEMP"] + "/colab-constraints.txt"
    assert installs and all(a[a.index("-c") + 1] == used for a in installs)


def test_full_runs_install_and_run_as_the_inputs_say():
    workflow = load("full-runs.yml")
    inputs = workflow["on"]["workflow_dispatch"]["inputs"]
    assert set(inputs["profile"]["options"]) == set(PROFILES)
    assert {"cu126", "cu128", "cu130"} <= set(inputs["torch_index"]["options"])
    for scenario in scenarios(workflow):
        calls = commands(workflow, scenario)
        (args,) = [parse_gaaf(argv) for p, argv in calls if p == "gaaf"]
        assert (args.profile, args.device) == (scenario["profile"], scenario["device"])
        assert args.shard == f"{MATRIX['shard']}/{scenario['shards']}"
        assert args.chapter == (scenario["chapters"].split() or None)
        installs = [a for p, a in calls if p == "pip" and a[0] == "install"]
        if scenario["colab"]:  # Colab's torch, Sphinx, ipykernel and ipywidgets stay
            assert [a[a.index("-e") + 1] for a in installs] == [".[papermill]"]
            assert not any("torch" in a for a in installs)
        else:  # torch from the chosen wheel index, then the package
            index = "https://download.pytorch.org/whl/" + scenario["torch_index"]
            torch = ["install", "torch", "torchvision", "--index-url", index]
            assert installs[-2:] == [torch, ["install", "-e", ".[book]"]]


def test_full_runs_in_colabs_image_need_its_digest(tmp_path):
    jobs, out = load("full-runs.yml")["jobs"], tmp_path / "output"
    assert (
        jobs["run-book"]["needs"] == "check"
        and IMAGE[4:-3] in jobs["run-book"]["container"]
    )

    def run(colab: str, digest: str) -> str:
        out.write_text("")
        env = {"COLAB": colab, "DIGEST": digest, "GITHUB_OUTPUT": str(out)}
        script = jobs["check"]["steps"][0]["run"]
        done = subprocess.run(["bash", "-c", script], env=env, capture_output=True)
        return out.read_text() if done.returncode == 0 else done.stdout.decode()

    assert run("false", "") == "image=\n"
    runtime = "us-docker.pkg.dev/colab-images/public/runtime"
    assert run("true", DIGEST) == f"image={runtime}@{DIGEST}\n"
    for digest in ("", "latest", "sha256:abc", DIGEST.upper(), DIGEST + "0"):
        assert run("true", digest).startswith("::error::colab=true needs colab_image")


@pytest.mark.parametrize(
    ("attempt", "resume", "uploaded", "restored"),
    [
        (1, "", False, []),
        (1, "42", False, ["42"]),
        (2, "", True, ["7"]),  # a re-run attempt: what its first attempt uploaded
        (2, "", False, []),
        (2, "42", True, ["7"]),  # not the records the first attempt started from
        (2, "42", False, ["42"]),  # the first attempt uploaded nothing
    ],
)
def test_full_runs_resume_from_the_latest_records(attempt, resume, uploaded, restored):
    """Attempt ``attempt`` of run 7, given resume_run_id ``resume``, whose first
    attempt ``uploaded`` records or not, restores the records of ``restored``."""
    context = {"github.run_attempt": attempt, "github.run_id": "7"}
    context["inputs.resume_run_id"], found = resume, []
    names = ["records-${{ matrix.shard }}", "records"]  # this shard's; a run's merged
    for step in steps("full-runs.yml", "run-book", "actions/download-artifact@"):
        assert (step["with"]["name"], step["with"]["path"]) == (names.pop(0), "results")
        outcome = "skipped"
        if evaluate(step["if"], context):
            run_id = evaluate(step["with"]["run-id"], context)
            outcome = "success" if uploaded or run_id != "7" else "failure"
            found += [run_id] if outcome == "success" else []
            assert outcome == "success" or step["continue-on-error"] is True
        context[f"steps.{step.get('id')}.outcome"] = outcome
    assert found == restored


def test_full_runs_stop_in_time_and_upload_whatever_happened():
    (run,) = steps("full-runs.yml", "run-book", "gaaf run-book")
    assert run["timeout-minutes"] == "${{ inputs.timeout_minutes }}"
    (gpu,) = steps("full-runs.yml", "run-book", "nvidia-smi")
    assert [evaluate(gpu["if"], {"inputs.device": d}) for d in ("cuda", "cpu")] == [
        1,
        0,
    ]
    uploads = steps("full-runs.yml", "run-book", "actions/upload-artifact@")
    records = "results\n!results/checkpoints/*.lock\n"  # locks stay behind
    assert {s["with"]["path"] for s in uploads} == {"_build/papermill", records}
    assert {s["with"]["name"] for s in uploads} == {
        "executed-notebooks-${{ matrix.shard }}",
        "records-${{ matrix.shard }}",
    }
    assert all(s["if"] == "always()" for s in uploads)
    (merged,) = steps("full-runs.yml", "merge", "actions/upload-artifact@")[:1]
    assert (merged["with"]["name"], merged["with"]["path"]) == ("records", records)


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("tests.yml", "run: make test", "run: make tests"),  # no such target
        ("pages.yml", "run: make book", "run: make"),  # no goal
        ("colab-parity.yml", "make colab-parity", "make colab_parity"),
        ("full-runs.yml", '--device "$DEVICE"', '--devices "$DEVICE"'),  # renamed flag
        ("full-runs.yml", "run-book --profile", "run-books --profile"),
        ("full-runs.yml", '--profile "$PROFILE"', '--profile "$PROFLIE"'),  # unset
        ("full-runs.yml", "[full, default, smoke]", "[full, default, paper]"),
        ("full-runs.yml", "'.[papermill]'", "'.[papermil]'"),  # no such extra
        ("full-runs.yml", '"$PROFILE"', '"${{ inputs.profile }}"'),  # pasted input
    ],
)
def test_a_broken_workflow_is_reported(name, old, new):
    text = (ROOT / ".github/workflows" / name).read_text()
    assert old in text
    assert problems(load(name, text.replace(old, new)))


def run_step(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    path = {"PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        env=path | env,
        capture_output=True,
        text=True,
    )


def test_pages_stops_first_when_the_books_address_is_not_this_repository(tmp_path):
    (step,) = [
        s
        for s in load("pages.yml")["jobs"]["build"]["steps"]
        if "HERE" in s.get("env", {})
    ]
    assert step["env"]["HERE"] == "${{ github.server_url }}/${{ github.repository }}"
    configured, _ = repository(ROOT)
    for here, passes in [
        (configured, True),
        (
            configured.upper().replace("HTTPS", "https"),
            True,
        ),  # GitHub's names ignore case
        (f"{configured}-elsewhere", False),
    ]:
        done = run_step(step["run"], ROOT, HERE=here)
        assert (done.returncode == 0) == passes, done.stdout
        if not passes:
            assert done.stdout.startswith(
                f"::error::_config.yml names the repository {configured}, but the book "
                f"is published from {here}: run make repository URL={here}"
            )


def test_pages_pushes_the_built_chapters_to_the_colab_branch(tmp_path):
    (step,) = steps("pages.yml", "build", "refs/heads/colab")
    assert step["env"]["GIT_INDEX_FILE"].startswith("${{ runner.temp }}")
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    subprocess.run(["git", "clone", "-q", str(origin), str(work)], check=True)
    (work / "README.md").write_text("main\n")
    subprocess.run([*git, "-C", str(work), "add", "."], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-qm", "main"], check=True)
    built = work / "_build" / "colab-branch" / "book"
    built.mkdir(parents=True)
    (built / "intro.ipynb").write_text("{}\n")
    for _ in range(2):  # the branch holds one commit, replaced by each build
        env = {"GIT_INDEX_FILE": str(tmp_path / "index"), "GITHUB_SHA": "abc"}
        done = run_step(step["run"], work, **env)
        assert done.returncode == 0, done.stderr
    show = ["git", "-C", str(origin), "log", "--format=%s", "--name-only", "colab"]
    log = subprocess.run(show, capture_output=True, text=True, check=True).stdout
    assert log.split() == [
        "The",
        "chapters",
        "of",
        "abc,",
        "for",
        "Colab",
        "book/intro.ipynb",
    ]


def test_full_runs_shards_are_a_matrix_of_1_to_n(tmp_path):
    (step,) = [
        s
        for s in load("full-runs.yml")["jobs"]["check"]["steps"]
        if s.get("id") == "shards"
    ]
    out = tmp_path / "output"
    for shards, found in [("1", [1]), ("3", [1, 2, 3]), ("16", list(range(1, 17)))]:
        out.write_text("")
        done = run_step(step["run"], tmp_path, SHARDS=shards, GITHUB_OUTPUT=str(out))
        assert done.returncode == 0, done.stdout
        assert out.read_text() == f"shards={found}\n".replace(" ", "")
    for bad in ("17", "2.5", "two"):
        assert run_step(
            step["run"], tmp_path, SHARDS=bad, GITHUB_OUTPUT=str(out)
        ).returncode


def test_full_runs_merge_job_unions_the_shards_records(tmp_path):
    (step,) = steps("full-runs.yml", "merge", "merge_records")
    record = next(ROOT.glob("results/mnist/*.json"))
    for k in (1, 2):  # both shards hold the record (restored from an earlier run)
        copy = tmp_path / "shards" / f"records-{k}" / "mnist" / record.name
        copy.parent.mkdir(parents=True)
        copy.write_bytes(record.read_bytes())
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    done = run_step(step["run"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (
        tmp_path / "results" / "mnist" / record.name
    ).read_bytes() == record.read_bytes()
    assert "'copied': 1, 'present': 1" in done.stdout


@pytest.mark.parametrize("name", ["tests.yml", "pages.yml", "colab-parity.yml"])
def test_the_datasets_are_saved_right_after_make_data(name):
    job = next(iter(load(name)["jobs"].values()))  # the first: build, test ...
    uses = [s.get("uses", s.get("run", "")).split("@")[0] for s in job["steps"]]
    at = uses.index("make data")
    assert uses[at - 1 : at + 2] == [
        "actions/cache/restore",
        "make data",
        "actions/cache/save",
    ]
    restore, save = job["steps"][at - 1], job["steps"][at + 1]
    assert restore["with"] == save["with"]  # the same folders under the same key
    assert save["if"] == f"${{{{ steps.{restore['id']}.outputs.cache-hit != 'true' }}}}"
    assert "always()" not in save["if"]  # a failed download is not cached
    assert any(u.startswith("make ") and u != "make data" for u in uses[at + 2 :])
