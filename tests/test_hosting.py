"""The reader's path on a real host: one repository address and its copies, the Colab
cell of a published book, the same build with and without internet, chapters at full
with no cap and progress lines, a plan spread over several machines, the command line.

(The fresh virtual environment with only the papermill extra is `make plain-install`;
the workflows are tests/test_workflows.py.)
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
import types
from pathlib import Path

import nbformat
import pytest
import yaml
from builders import make_record
from test_notebooks import problems_in, run_setup_cell

import gaaf
import gaaf.__main__ as cli
from gaaf.book import chapter as book
from gaaf.experiments import plans, records, runs

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "_build" / "hosting"
HOSTED = "https://github.com/alice/gaaf"  # an address for the tests, claimed nowhere
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def notebook_of(cells: list) -> nbformat.NotebookNode:
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernel})


def copy_of_the_repository(to: Path) -> Path:
    """The files that hold the repository's address, copied to ``to``."""
    for name in (
        "_config.yml",
        "_toc.yml",
        "README.md",
        "pyproject.toml",
        "CITATION.cff",
    ):
        shutil.copy2(ROOT / name, to / name)
    shutil.copytree(ROOT / "book", to / "book", ignore=shutil.ignore_patterns("_ext"))
    return to


# ------------------------------------------------------------------ the address


def test_every_copy_of_the_address_agrees_and_none_is_invented():
    assert book.address_problems(ROOT) == []


def test_until_hosted_the_address_is_the_placeholder_and_no_page_links_to_it():
    url, _ = book.repository(ROOT)
    readme = (ROOT / "README.md").read_text()
    if not book.published(url):
        assert "**not yet published**" in readme
        assert "`https://OWNER.github.io/REPO/`" in readme
        sys.path.insert(0, str(ROOT / "book" / "_ext"))
        import hosting

        config = types.SimpleNamespace(
            html_theme_options={"repository_url": url, "launch_buttons": {"x": 1}}
        )
        hosting._buttons(None, config)
        assert config.html_theme_options == {
            "use_repository_button": False,
            "use_issues_button": False,
            "launch_buttons": {},
        }
    assert "pip install -e ." in readme


def test_a_disagreeing_copy_and_an_invented_address_are_reported(tmp_path):
    root = copy_of_the_repository(tmp_path)
    assert book.address_problems(root) == []
    readme = root / "README.md"
    text = readme.read_text()
    readme.write_text(
        text + "\nSee https://github.com/gaaf-book/gaaf and pip install gaaf.\n"
    )
    found = book.address_problems(root)
    assert len(found) == 2
    assert any("gaaf-book/gaaf is not this repository's" in p for p in found)
    assert any("'pip install gaaf'" in p for p in found)
    readme.write_text(text.replace("**not yet published**", "published"))
    assert book.address_problems(root) == [
        "README.md: not what `make repository URL=https://github.com/OWNER/REPO` writes"
    ]
    readme.write_text(text)
    cell = root / "book" / "intro.ipynb"
    cell.write_text(cell.read_text().replace("not published yet", "published"))
    assert book.address_problems(root) == [
        "book/intro.ipynb: not what `make repository URL=https://github.com/OWNER/REPO` "
        "writes"
    ]


def read(path: Path) -> object:
    """A file's text; a notebook's JSON (in nbformat's layout or not)."""
    return json.loads(path.read_text()) if path.suffix == ".ipynb" else path.read_text()


def test_make_repository_writes_the_address_everywhere_and_back(tmp_path):
    root = copy_of_the_repository(tmp_path)
    before = {p: read(p) for p in root.rglob("*") if p.is_file()}
    changed = book.set_repository(HOSTED, root)
    names = {str(p.relative_to(root)) for p in changed}
    assert {"_config.yml", "README.md", "pyproject.toml", "CITATION.cff"} <= names
    assert {str(nb.relative_to(root)) for nb in book.chapter_notebooks(root)} <= names
    assert book.repository(root)[0] == HOSTED
    assert book.address_problems(root) == []
    readme = (root / "README.md").read_text()
    assert (
        "https://alice.github.io/gaaf/" in readme and "not yet published" not in readme
    )
    assert "OWNER" not in (root / "pyproject.toml").read_text()
    assert book.set_repository(HOSTED, root) == []  # again: nothing to change
    with pytest.raises(ValueError, match=r"https://github\.com/OWNER/REPO"):
        book.set_repository("https://gitlab.com/alice/gaaf", root)
    book.set_repository(book.PLACEHOLDER, root)
    assert {p: read(p) for p in root.rglob("*") if p.is_file()} == before


def test_a_published_books_colab_cell_installs_the_commit_it_was_built_from(
    tmp_path, monkeypatch
):
    root = copy_of_the_repository(tmp_path)
    book.set_repository(HOSTED, root)
    written = book.colab_notebooks(root, tmp_path / "colab-branch", COMMIT)
    assert [p.relative_to(tmp_path / "colab-branch") for p in written] == [
        nb.relative_to(root) for nb in book.chapter_notebooks(root)
    ]
    for copy, original in zip(written, book.chapter_notebooks(root), strict=True):
        a, b = (nbformat.read(p, as_version=4).cells for p in (copy, original))
        assert [c.source for c in a[2:]] == [c.source for c in b[2:]]  # only the setup
    first = next(c for c in nbformat.read(written[0], 4).cells if c.cell_type == "code")
    assert run_setup_cell(first.source) == []  # not on Colab: nothing
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert run_setup_cell(first.source) == [
        (
            "system",
            "test -d /content/gaaf || git clone --quiet --filter=blob:none "
            f"{HOSTED} /content/gaaf",
        ),
        ("system", f"git -C /content/gaaf checkout --quiet {COMMIT}"),
        ("pip", 'install --quiet "/content/gaaf[experiments]"'),
        ("cd", "/content/gaaf/book"),
        ("system", 'git log -1 --format="Installed gaaf from commit %H (%cs)."'),
    ]
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    import hosting

    config = types.SimpleNamespace(html_theme_options={"repository_url": HOSTED})
    hosting._buttons(None, config)
    assert config.html_theme_options["repository_branch"] == book.COLAB_BRANCH


def test_the_book_builds_cell_limit_is_the_one_run_chapter_uses_below_full():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["timeout"] == book.CELL_TIMEOUT
    assert [book.timeout_for(p) for p in ("smoke", "default", "full")] == [
        book.CELL_TIMEOUT,
        book.CELL_TIMEOUT,
        None,
    ]


def test_a_missing_kernel_is_one_clear_line(tmp_path):
    chapter = book.chapter_notebooks(ROOT)[0]
    with pytest.raises(
        book.NoKernel, match=r"^no Jupyter kernel named 'nope': install"
    ):
        book.run_chapter(chapter, tmp_path, "smoke", kernel_name="nope")


def test_on_colab_a_lock_left_on_drive_by_the_vm_before_a_disconnect_is_named(
    tmp_path, monkeypatch, capsys
):
    colab = types.ModuleType("google.colab")
    colab.drive = types.SimpleNamespace(mount=lambda where: None)
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    drive = tmp_path / "drive"
    (drive / "checkpoints").mkdir(parents=True)
    (drive / "checkpoints" / "abc.lock").write_text("4242 old-colab-vm")
    (drive / "checkpoints" / "mine.lock").write_text(f"1 {socket.gethostname()}")
    book.keep_results_on_drive(tmp_path / "results", drive)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Records are kept on Google Drive")
    (line,) = out[1:]
    assert line.startswith(
        f"{drive}/checkpoints/abc.lock was left by process 4242 on old-colab-vm"
    )
    assert line.endswith(
        f"delete the lock to resume now: !rm '{drive}/checkpoints/abc.lock'"
    )


# ------------------------------------------------ the same work with and without internet

FAKE_INTERNET = '''\
"""Every connection to another machine is recorded, then refused (a test's fake
internet; localhost, where the kernel talks to papermill, is let through)."""
import os
import socket
import urllib.request

_LOG = os.environ["GAAF_TEST_INTERNET_LOG"]
_getaddrinfo = socket.getaddrinfo
_open = urllib.request.OpenerDirector.open


def _record(what):
    with open(_LOG, "a") as log:
        log.write(f"{what}\\n")
    raise OSError(f"fake internet: {what} was recorded")


def getaddrinfo(host, *args, **kwargs):
    if host not in (None, "", "localhost", "::1") and not str(host).startswith("127."):
        _record(host)
    return _getaddrinfo(host, *args, **kwargs)


def open_url(self, url, *args, **kwargs):
    _record(getattr(url, "full_url", url))


socket.getaddrinfo = getaddrinfo
urllib.request.OpenerDirector.open = open_url
'''


@pytest.mark.notebooks
@pytest.mark.parametrize("chapter", ["cnn_benchmark", "intro"])
def test_below_full_no_chapter_downloads_anything(chapter, tmp_path, monkeypatch):
    site, log = tmp_path / "site", tmp_path / "attempts.log"
    site.mkdir()
    (site / "sitecustomize.py").write_text(FAKE_INTERNET)
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.setenv("GAAF_TEST_INTERNET_LOG", str(log))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    # the committed records, in a copy: whatever the chapter writes stays out of results/
    results = tmp_path / "results"
    shutil.copytree(
        ROOT / "results", results, ignore=shutil.ignore_patterns("checkpoints")
    )
    notebook = ROOT / "book" / f"{chapter}.ipynb"
    executed, _ = book.run_chapter(
        notebook, OUTPUT, "default", device="cpu", results=str(results)
    )
    assert not log.exists(), f"download attempts: {log.read_text()}"
    assert problems_in(executed) == []
    # the fake internet works: the same kernel set-up records a download
    probe = tmp_path / "probe.ipynb"
    code = (
        "import torchvision\n\ntry:\n"
        "    torchvision.datasets.CIFAR10('cifar', download=True)\n"
        "except OSError:\n    pass"
    )
    nbformat.write(notebook_of([nbformat.v4.new_code_cell(code)]), probe)
    book.run_chapter(probe, tmp_path, "default")
    assert "cifar-10-python.tar.gz" in log.read_text()


# ------------------------------------------------------------- the full profile

SLOW_CHAPTER = """\
import time

from gaaf.experiments import plans, runs


def slow_plan(profile):
    time.sleep(3)  # longer than the test's cap below full
    base = plans.mnist_config("smoke", "base", train_subset=200, widths=(8, 8, 8))
    return {"base": [base]}


found = runs.collect(slow_plan, profile, results, "cpu")
print("trained", found.found)
"""


@pytest.mark.notebooks
def test_at_full_no_cell_cap_applies_and_each_run_says_how_far_the_plan_is(
    tmp_path, monkeypatch, capsys
):
    chapter = tmp_path / "slow.ipynb"
    parameters = nbformat.v4.new_code_cell('profile = "default"\nresults = "results"')
    parameters.metadata["tags"] = ["parameters"]
    cells = [parameters, nbformat.v4.new_code_cell(SLOW_CHAPTER)]
    nbformat.write(notebook_of(cells), chapter)
    monkeypatch.setattr(book, "CELL_TIMEOUT", 2)
    data = str(ROOT / "data")
    monkeypatch.setenv("GAAF_DATA", data)
    with pytest.raises(book.ChapterFailed, match="ran longer than 2 s, the limit at"):
        book.run_chapter(
            chapter, tmp_path / "out", "smoke", results=str(tmp_path / "r")
        )
    capsys.readouterr()
    executed, _ = book.run_chapter(
        chapter, tmp_path / "out", "full", results=str(tmp_path / "r")
    )
    out = capsys.readouterr().out  # streamed as the cells ran
    lines = [line for line in out.splitlines() if line.startswith("run ")]
    label = plans.mnist_config(
        "smoke", "base", train_subset=200, widths=(8, 8, 8)
    ).label
    assert [line.split(", elapsed")[0] for line in lines] == [
        f"run 1 of 1: {label}, epoch 0/2",
        f"run 1 of 1: {label}, epoch 2/2",
    ]
    assert lines[0].endswith("ETA for the plan after the first run")
    assert lines[1].endswith("ETA for the plan 0 s") and "trained 1" in out
    assert problems_in(executed) == []


def test_the_progress_lines_count_each_run_once_and_estimate_the_rest(
    tmp_path, monkeypatch, capsys
):
    from gaaf.experiments import progress

    plan = tiny_plan("full")
    a, b = plan["base"][0], plan["dropout"][0]
    clock = iter([0, 0, 60, 60, 90])  # seconds at each look at the clock
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    shown = progress.PlanProgress([a, b, a])  # a twice: one run
    none = tmp_path / "no-checkpoint.pt"
    shown.starts(a, none)
    shown.ends(a, make_record(config=a, epochs_run=2))
    shown.starts(a, none)  # its second place in the plan: already trained
    shown.ends(a, make_record(config=a, epochs_run=2))
    shown.starts(b, none)
    shown.ends(b, make_record(config=b, epochs_run=1))
    shown.close()
    assert capsys.readouterr().out.splitlines() == [
        f"run 1 of 2: {a.label}, epoch 0/2, elapsed 0 s, ETA for the plan after the "
        "first run",
        f"run 1 of 2: {a.label}, epoch 2/2, elapsed 1 min 00 s, ETA for the plan "
        "1 min 00 s",
        f"run 2 of 2: {b.label}, epoch 0/2, elapsed 1 min 00 s, ETA for the plan "
        "1 min 00 s",
        f"run 2 of 2: {b.label}, epoch 1/2, elapsed 1 min 30 s, ETA for the plan 0 s",
    ]


# ---------------------------------------------------------- several machines


def tiny_plan(profile: str) -> plans.Plan:
    base = plans.mnist_config("smoke", "base", train_subset=300, widths=(8, 8, 8))
    drop = plans.mnist_config("smoke", "dropout", train_subset=300, widths=(8, 8, 8))
    return {
        "base": [base.replace(seed=s) for s in (0, 1)],
        "dropout": [drop],
        "base again": [base],  # a config in two groups: trained once
    }


def comparable(record: dict) -> dict:
    """A record without what depends on when and how fast it ran."""
    kept = {k: v for k, v in record.items() if k not in ("provenance", "digest")}
    kept.pop("train_seconds")
    kept["history"] = [{**epoch, "seconds": None} for epoch in kept["history"]]
    return kept


def test_n_shards_train_exactly_the_records_of_one_process_and_merge_idempotently(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("GAAF_DATA", str(ROOT / "data"))
    # the trained-network probes cost seconds and say nothing about sharding
    monkeypatch.setattr(runs, "probe_trained", lambda *args: {})
    one = tmp_path / "one"
    assert runs.collect(tiny_plan, "smoke", one, "cpu", progress=False).found == 4
    shards = [tmp_path / f"shard{k}" for k in (1, 2)]
    for k, results in enumerate(shards, 1):
        collect = cli.sharded(runs.collect, (k, 2))
        collect(tiny_plan, "smoke", results, "cpu", progress=False)
    counts = [len(list(s.glob("*/*.json"))) for s in shards]
    assert counts == [2, 1]  # 3 distinct configs, each in one shard
    merged = tmp_path / "merged"
    copied = {"copied": 3, "present": 0, "dropped": 0}
    assert book.merge_records(shards, merged) == copied
    names = sorted(p.name for p in merged.glob("*/*.json"))
    assert names == sorted(p.name for p in one.glob("*/*.json"))
    for name in names:
        (a,), (b,) = one.glob(f"*/{name}"), merged.glob(f"*/{name}")
        assert comparable(runs.load_record(a)) == comparable(runs.load_record(b))
    snapshot = {p: p.read_bytes() for p in merged.rglob("*") if p.is_file()}
    present = {"copied": 0, "present": 3, "dropped": 0}
    assert book.merge_records(shards, merged) == present
    assert {p: p.read_bytes() for p in merged.rglob("*") if p.is_file()} == snapshot
    # the merged records are the plan's: nothing is left to train
    monkeypatch.setattr(runs, "train", None)  # training anything would fail
    assert runs.collect(tiny_plan, "smoke", merged, "cpu", progress=False).found == 4
    # two different records of one config are refused, not silently chosen
    first = next(shards[0].glob("*/*.json"))
    record = json.loads(first.read_text())
    record["provenance"]["host"] = "elsewhere"
    first.write_text(json.dumps(records.seal(record)))
    with pytest.raises(ValueError, match="two different records of one config"):
        book.merge_records(shards, merged)


def test_run_book_and_train_take_a_shard(tmp_path, monkeypatch):
    # run-book --shard K/N runs each chapter with a cell that narrows runs.collect
    seen = []
    monkeypatch.setattr(
        book, "run_chapter", lambda nb, out, profile, **kw: seen.append(kw) or (nb, 0.0)
    )
    assert cli.main(["run-book", "--chapter", "intro", "--shard", "2/3"]) == 0
    (options,) = seen
    namespace: dict = {}
    calls = []
    monkeypatch.setattr(
        runs, "collect", lambda plan, *a, **k: calls.append(plan("full"))
    )
    exec(options["setup"], namespace)
    runs.collect(tiny_plan, "full", tmp_path)
    mine = cli.plan_configs(tiny_plan("full"), (2, 3))
    assert len(mine) == 1  # of 3 distinct configs: the 2nd
    assert {c.hash for g in calls[0].values() for c in g} == {c.hash for c in mine}
    assert cli.main(["run-book", "--chapter", "intro", "--shard", "4/3"]) == 2
    # train --shard K/N trains the K-th of every N seeds
    trained = []

    def fake_run(config, *args, **kwargs):
        trained.append(config.seed)
        return make_record(
            config=config, test_acc=0.5, best_epoch=1, epochs_run=2, train_seconds=1
        )

    monkeypatch.setattr(cli, "run", fake_run)
    monkeypatch.setattr(cli.stats, "aggregate", lambda records: [])
    argv = ["train", "--profile", "smoke", "--seeds", "0", "1", "2", "--shard", "2/3"]
    assert cli.main([*argv, "--results", str(tmp_path)]) == 0
    assert trained == [1]


def test_run_book_goes_on_after_a_failed_chapter_and_says_which(monkeypatch, capsys):
    def fake(nb, out, profile, **kw):
        if nb.stem == "intro":
            raise book.ChapterFailed("chapter intro failed: ValueError: x")
        return nb, 0.0

    monkeypatch.setattr(book, "run_chapter", fake)
    assert cli.main(["run-book", "--chapter", "intro", "costs"]) == 1
    err = capsys.readouterr().err
    assert "chapter intro failed" in err
    assert err.strip().endswith(
        "1 of 2 chapters failed: intro (their errors are above)"
    )


# -------------------------------------------------------------- the command line


def test_help_has_no_raw_rest_and_every_flag_says_what_it_does(capsys):
    parser = cli._parser()
    top = parser.format_help()
    assert "``" not in top and ":func:" not in top and ":data:" not in top
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in {"python -m gaaf": parser, **commands}.items():
        for action in sub._actions:
            if action.dest not in ("help", "command"):
                assert action.help, f"{name} {action.option_strings or action.dest}"
        assert "``" not in sub.format_help()
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.strip() == f"gaaf {gaaf.__version__}"
