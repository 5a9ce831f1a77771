"""The book's chapters as the code sees them: the table of contents, the repository the
book points at (its one address, and every copy of it), the Colab setup cell every
chapter starts with, running a chapter through papermill, and merging the records of a
plan trained on several machines.

Paths are relative to the repository root (the book root), which defaults to the
current directory.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import yaml

from gaaf.experiments import runs
from gaaf.experiments.params import check_profile
from gaaf.experiments.plans import Plan
from gaaf.experiments.train import load_checkpoint


class ChapterFailed(RuntimeError):
    """A chapter notebook stopped with an error; the message names the error."""


class NoKernel(ChapterFailed):
    """There is no Jupyter kernel to run the chapters with."""


SETUP_MARKER = "# Colab only: install the gaaf package from the repository."


def toc_files(root: Path | str = ".") -> list[str]:
    """Every page of ``_toc.yml`` in reading order (a page's sections after it), as
    paths without suffix."""
    toc_path = Path(root) / "_toc.yml"
    if not toc_path.exists():
        raise FileNotFoundError(
            f"{toc_path} not found: run this from the repository root"
        )
    toc = yaml.safe_load(toc_path.read_text())

    def pages(entries: list[dict]) -> list[str]:
        return [f for e in entries for f in [e["file"], *pages(e.get("sections", []))]]

    chapters = [c for part in toc.get("parts", []) for c in part["chapters"]]
    return [toc["root"], *pages(chapters)]


def chapter_notebooks(root: Path | str = ".") -> list[Path]:
    """The chapter notebooks (``.ipynb`` pages of the table of contents), in order."""
    root = Path(root)
    return [
        root / f"{f}.ipynb" for f in toc_files(root) if (root / f"{f}.ipynb").exists()
    ]


# ------------------------------------------------------------ the repository's address

PLACEHOLDER = "https://github.com/OWNER/REPO"
"""``repository.url`` until the project is hosted: no address is claimed anywhere (the
built pages have no repository, issues or Colab buttons, and the Colab setup cell says
there is nothing to install from). ``make repository URL=...`` replaces it everywhere."""

COLAB_BRANCH = "colab"
"""The branch the Pages workflow pushes the built chapters to, each with the commit the
page was built from written into its setup cell; the pages' Colab buttons open it."""

_GITHUB = re.compile(r"https://github\.com/([\w-]+)/([\w-]+(?:\.[\w-]+)*)")
CITED_REPOSITORIES = (("kobiso", "GAAF-keras"),)
"""Other projects' GitHub repositories the book cites by address, as owner and name.
The address check (:func:`address_problems`) accepts them beside this repository's."""

_ADDRESS = re.compile(
    r"https?://(?:github\.com/([\w-]+)/([\w-]+(?:\.[\w-]+)*)"
    r"|([\w-]+)\.github\.io/([\w-]+(?:\.[\w-]+)*)?)"
)
_PIP_GAAF = re.compile(
    r"pip install\s+['\"]?gaaf(?:\[[\w,-]+\])?(?![\w\[])['\"]?(?!\s*@)"
)
_PUBLICATION = re.compile(
    r"(<!-- publication: written by `make repository` -->\n).*?(\n<!-- /publication -->)",
    re.S,
)
_NOT_SCANNED = (
    "results/",
    "ci/colab/",
    "tests/web/",
    "LICENSE",
    "tests/test_hosting.py",
)


def repository(root: Path | str = ".") -> tuple[str, str]:
    """``(url, branch)`` of the repository the book and its Colab links point at."""
    config = yaml.safe_load((Path(root) / "_config.yml").read_text())
    return config["repository"]["url"], config["repository"]["branch"]


def published(url: str) -> bool:
    """Whether ``url`` is a repository's address rather than :data:`PLACEHOLDER`."""
    return url != PLACEHOLDER


def _owner_repo(url: str) -> tuple[str, str]:
    found = _GITHUB.fullmatch(url)
    if found is None:
        raise ValueError(
            "the repository URL must be https://github.com/OWNER/REPO (the Pages "
            f"workflow, Colab and the book's buttons are GitHub's), got {url!r}"
        )
    return found[1], found[2]


def pages_address(url: str) -> str:
    """Where the Pages workflow publishes the book of the repository at ``url``."""
    owner, repo = _owner_repo(url)
    return f"https://{owner}.github.io/{repo}/"


def publication(url: str) -> str:
    """The README's sentences on where the book is published."""
    if not published(url):
        return (
            "The book is **not yet published**. Once this repository is hosted on GitHub "
            "at `https://github.com/OWNER/REPO`, `make repository "
            "URL=https://github.com/OWNER/REPO` writes that address wherever it is "
            "needed, and `.github/workflows/pages.yml` publishes the book at "
            f"`{pages_address(url)}`."
        )
    return (
        f"The book is published at <{pages_address(url)}>, built and deployed from "
        f"`main` by `.github/workflows/pages.yml`, from the repository <{url}>."
    )


def setup_cell_source(root: Path | str = ".", commit: str | None = None) -> str:
    """The first code cell of every chapter. On Colab it clones the repository (so the
    committed records are reused, and chapters find ``../results`` and ``../data`` as
    they do locally), checks out ``commit`` (the built book writes the commit it was
    built from; the repository's own copy takes the configured branch), installs
    ``gaaf`` from it, moves into ``book/`` and says which commit it installed and when
    no GPU is attached. Elsewhere it does nothing. While the repository is not
    published, on Colab it stops with one error saying so."""
    url, branch = repository(root)
    return _setup_cell(url, commit or branch)


def _setup_cell(url: str, ref: str) -> str:
    head = (
        f"{SETUP_MARKER} Elsewhere this does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
    )
    if not published(url):
        return head + (
            "    raise RuntimeError(\n"
            '        "This book\'s repository is not published yet, so there is nothing to "\n'
            '        "install gaaf from: run the chapter in a clone of it "\n'
            "        \"(pip install -e '.[papermill]')\"\n"
            "    )"
        )
    return head + (
        "    !test -d /content/gaaf || git clone --quiet --filter=blob:none "
        f"{url} /content/gaaf\n"
        f"    !git -C /content/gaaf checkout --quiet {ref}\n"
        '    %pip install --quiet "/content/gaaf[experiments]"\n'
        "    %cd /content/gaaf/book\n"
        '    !git log -1 --format="Installed gaaf from commit %H (%cs)."\n'
        "    import torch\n"
        "\n"
        "    if not torch.cuda.is_available():\n"
        '        print("No GPU: Runtime > Change runtime type > GPU makes full runs fast.")'
    )


def _first_code_cell(nb: dict) -> dict:
    return next(c for c in nb["cells"] if c["cell_type"] == "code")


def _with_setup_cell(path: Path, source: str) -> str | None:
    """The notebook at ``path`` as JSON text (nbformat's layout) with ``source`` as its
    first code cell; None if that is its first code cell already."""
    nb = json.loads(path.read_text())
    cell = _first_code_cell(nb)
    if "".join(cell["source"]) == source:
        return None
    cell["source"] = source.splitlines(keepends=True)
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def set_repository(url: str, root: Path | str = ".", write: bool = True) -> list[Path]:
    """Make ``url`` (``https://github.com/OWNER/REPO``, or :data:`PLACEHOLDER`) the
    repository's address: ``repository.url`` in ``_config.yml`` (the one source), and
    every copy of it: the README (its addresses and its publication sentence),
    ``pyproject.toml``, ``CITATION.cff`` and each chapter's setup cell. Returns the files
    changed; with ``write=False`` the files that would change, writing nothing."""
    root = Path(root)
    _owner_repo(url)
    old, _ = repository(root)
    config = root / "_config.yml"
    text = config.read_text()
    new = re.sub(r"(?m)^(  url: ).*$", rf"\g<1>{url}", text, count=1)
    changed = {config: new}

    def replace(text: str) -> str:
        for before, after in ((old, url), (pages_address(old), pages_address(url))):
            text = re.sub(re.escape(before) + r"(?![\w.-])", after, text)
        return text

    for name in ("README.md", "pyproject.toml", "CITATION.cff"):
        path = root / name
        if path.exists():
            changed[path] = replace(path.read_text())
    readme = root / "README.md"
    if readme.exists():
        changed[readme] = _PUBLICATION.sub(
            lambda m: m[1] + publication(url) + m[2], changed[readme]
        )
    _, branch = repository(root)
    for notebook in chapter_notebooks(root):
        if (text := _with_setup_cell(notebook, _setup_cell(url, branch))) is not None:
            changed[notebook] = text
    changed = {p: t for p, t in changed.items() if p.read_text() != t}
    if write:
        for path, text in changed.items():
            path.write_text(text)
    return list(changed)


def _text_files(root: Path) -> list[Path]:
    """The files of the repository that git tracks or would track, text only."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout
        listed = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]
    found = []
    for name in sorted(set(listed)):
        path = root / name
        if name.startswith(_NOT_SCANNED) or not path.is_file():
            continue
        try:
            path.read_text()
        except UnicodeDecodeError:
            continue
        found.append(path)
    return found


def address_problems(root: Path | str = ".") -> list[str]:
    """Every place that disagrees with ``repository.url``: a copy that ``make
    repository`` would rewrite, an address of a GitHub repository or of GitHub Pages
    other than the configured one (or the placeholder) and those the book cites
    (:data:`CITED_REPOSITORIES`), and an install of gaaf by name
    from PyPI (there is no such package: gaaf installs from its repository). The
    records, Colab's package list, the npm lock file and the licenses are not read."""
    root = Path(root)
    url, _ = repository(root)
    problems = [
        f"{p.relative_to(root)}: not what `make repository URL={url}` writes"
        for p in set_repository(url, root, write=False)
    ]
    allowed = {_owner_repo(u) for u in {url, PLACEHOLDER}} | set(CITED_REPOSITORIES)
    for path in _text_files(root):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            where = f"{path.relative_to(root)}:{n}"
            for found in _ADDRESS.finditer(line):
                owner, repo = (found[1], found[2]) if found[1] else (found[3], found[4])
                if (owner, repo) not in allowed:
                    problems.append(f"{where}: {found[0]} is not this repository's")
            problems += [
                f"{where}: {found[0]!r}: gaaf is not on PyPI; install it from its "
                "repository"
                for found in _PIP_GAAF.finditer(line)
            ]
    return problems


def repository_mismatch(url: str, root: Path | str = ".") -> str | None:
    """One line saying how ``repository.url`` differs from ``url`` (the repository a
    workflow runs in), or None when they are the same repository."""
    configured, _ = repository(root)
    if configured.lower() == url.lower():
        return None
    return (
        f"_config.yml names the repository {configured}, but this is {url}: run "
        f"`make repository URL={url}` and commit the result, so that the book's links "
        "and Colab cells point here"
    )


def colab_notebooks(root: Path | str, out: Path | str, commit: str) -> list[Path]:
    """Copies of the chapters under ``out`` (at their paths in the repository) whose
    setup cell installs ``commit``: what the Colab buttons of a book built from
    ``commit`` open (the Pages workflow pushes them to :data:`COLAB_BRANCH`)."""
    root, out = Path(root), Path(out)
    url, _ = repository(root)
    written = []
    for notebook in chapter_notebooks(root):
        copy = out / notebook.relative_to(root)
        copy.parent.mkdir(parents=True, exist_ok=True)
        text = _with_setup_cell(notebook, _setup_cell(url, commit))
        copy.write_text(notebook.read_text() if text is None else text)
        written.append(copy)
    return written


# --------------------------------------------------------------------- in a chapter


def glue(name: str, value: object, display: bool = False) -> None:
    """myst-nb's ``glue``: ``value`` under ``name`` for the book's ``{glue:text}`` roles.
    Where myst-nb is not installed (Colab, a plain install) the prose roles are not
    rendered anyway: it displays ``value`` if asked and does nothing else.

    A figure is checked first (:func:`gaaf.book.figures.style.problems`): what would make it
    hard to read is a warning on stderr, which fails the book's build and the chapter
    tests, so every figure a chapter shows is checked on the records it was drawn from.
    """
    if "matplotlib" in sys.modules:
        from matplotlib.figure import Figure

        if isinstance(value, Figure):
            from gaaf.book.figures.style import problems

            for problem in problems(value):
                warnings.warn(f"figure {name!r}: {problem}", stacklevel=2)
    try:
        from myst_nb import glue as myst_glue  # the book extra's, not the library's
    except ModuleNotFoundError:
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)


def recorded(
    plan: Callable[[str], Plan], profile: str, results: Path | str
) -> runs.Runs:
    """What a chapter shows below the full profile for runs that only the full profile
    trains (those on datasets that must be downloaded: CIFAR-10, CIFAR-100, SVHN): the
    full-profile records of ``plan`` that exist, and nothing downloaded or trained, so
    that the book builds the same with and without internet access. Groups without a
    record are ``missing``; with no record at all the runs are labelled ``profile``."""
    full = plan("full")
    found = {
        name: [r for c in configs if (r := runs.find_record(c, results)) is not None]
        for name, configs in full.items()
    }
    shown = "full" if any(found.values()) else check_profile(profile)
    return runs._split(shown, full, found)


DRIVE_RESULTS = "/content/drive/MyDrive/gaaf/results"
"""Where a chapter keeps its records on Google Drive when asked to (``keep_on_drive``)."""


def keep_results_on_drive(
    results: Path | str, drive_results: Path | str = DRIVE_RESULTS
) -> Path | None:
    """On Colab: mount Google Drive and make ``results`` a link to ``drive_results``,
    so records and checkpoints outlive the VM (a Colab VM and its ``/content`` are
    recycled after a disconnect; a ``profile="full"`` rerun then resumes from Drive).
    Records already in ``results`` (the committed ones) are copied over first, without
    replacing any on Drive. It names each lock on Drive that another machine left (the
    VM before a disconnect) and what to do about it. Elsewhere it does nothing and
    returns None."""
    if "google.colab" not in sys.modules:
        return None
    from google.colab import drive  # only importable on Colab

    drive.mount(str(Path(DRIVE_RESULTS).parents[2]))
    results, target = Path(results), Path(drive_results)
    target.mkdir(parents=True, exist_ok=True)
    if not results.is_symlink():
        if results.exists():
            for path in sorted(results.rglob("*")):
                copy = target / path.relative_to(results)
                if path.is_dir():
                    copy.mkdir(parents=True, exist_ok=True)
                elif not copy.exists():
                    shutil.copy2(path, copy)
            shutil.rmtree(results)
        results.parent.mkdir(parents=True, exist_ok=True)
        results.symlink_to(target, target_is_directory=True)
        print(f"Records are kept on Google Drive: {results} -> {target}")
    for lock in sorted(target.glob("checkpoints/*.lock")):
        owner = runs._owner(lock)
        if owner is None or owner["host"] in (None, socket.gethostname()):
            continue
        print(
            f"{lock} was left by process {owner['pid']} on {owner['host']} (last "
            f"heartbeat {owner['age'] / 60:.0f} min ago), most likely the VM before a "
            "disconnect. Its run resumes here once the lock is "
            f"{runs.STALE_AFTER / 60:.0f} min old; if no other session trains it, "
            f"delete the lock to resume now: !rm '{lock}'"
        )
    return target


# ---------------------------------------------------------------- through papermill

CELL_TIMEOUT = 1800
"""Seconds a chapter's cell may run below the full profile, the book build's limit
(``execute.timeout`` in ``_config.yml``; a test checks they agree)."""


def timeout_for(profile: str) -> int | None:
    """The per-cell limit of a chapter run at ``profile``: none at ``full``, where one
    cell trains for hours (a job's own time limit stops it, and the next run resumes
    from the last finished epoch), :data:`CELL_TIMEOUT` below it."""
    return None if check_profile(profile) == "full" else CELL_TIMEOUT


def _with_setup(notebook: Path, source: str):
    """The notebook with a code cell ``source`` right after its parameters."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    tagged = [
        i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])
    ]
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-setup"]})
    nb.cells.insert(tagged[0] + 1 if tagged else 0, cell)
    return nb


def run_chapter(
    notebook: Path | str,
    output_dir: Path | str,
    profile: str = "default",
    cell_timeout: int | str | None = "profile",
    kernel_name: str | None = None,
    setup: str | None = None,
    **parameters: object,
) -> tuple[Path, float]:
    """Execute a chapter through papermill; returns the executed notebook and seconds.

    The chapter runs with its own folder as working directory, as in the book build,
    and what its cells print is streamed to this process's stdout and stderr as it
    happens. A cell that runs longer than ``cell_timeout`` seconds (by default
    :func:`timeout_for` the profile: none at ``full``) stops the chapter with one line
    saying so; a kernel message lost on the way then costs seconds, not a hang.
    ``kernel_name`` picks another Jupyter kernel than the notebook's own; ``setup`` is
    code run right after the parameters (``run-book --shard`` uses it).
    """
    try:  # papermill is in the papermill extra: the library itself does not need it
        import papermill
        from jupyter_client.kernelspec import NoSuchKernel
        from nbclient.exceptions import CellTimeoutError, DeadKernelError
    except ModuleNotFoundError:
        raise ValueError(
            "running chapters needs papermill: pip install -e '.[papermill]' in this "
            "repository (or '.[book]' to build the book too)"
        ) from None

    notebook = Path(notebook)
    output = Path(output_dir) / f"{notebook.stem}.{check_profile(profile)}.ipynb"
    output.parent.mkdir(parents=True, exist_ok=True)
    timeout = timeout_for(profile) if cell_timeout == "profile" else cell_timeout
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            _with_setup(notebook, setup) if setup else str(notebook),
            str(output),
            parameters={"profile": profile, **parameters},
            cwd=str(notebook.parent),
            progress_bar=False,
            stdout_file=sys.stdout,
            stderr_file=sys.stderr,
            execution_timeout=timeout,
            kernel_name=kernel_name,
        )
    except papermill.PapermillExecutionError as err:
        raise ChapterFailed(
            f"chapter {notebook.stem} failed: {err.ename}: {err.evalue} "
            f"(the executed notebook: {output})"
        ) from None
    except NoSuchKernel as err:
        raise NoKernel(
            f"no Jupyter kernel named {err.name!r}: install ipykernel into this "
            "environment (pip install -e '.[papermill]' installs it) or register one "
            f"(python -m ipykernel install --user --name {err.name})"
        ) from None
    except CellTimeoutError:
        raise ChapterFailed(
            f"chapter {notebook.stem} stopped: a cell ran longer than {timeout} s, the "
            f"limit at profile {profile!r} (there is none at 'full'); finished runs "
            "have records and an unfinished run resumes from its last finished epoch "
            "when run again"
        ) from None
    except DeadKernelError as err:
        raise ChapterFailed(
            f"chapter {notebook.stem} stopped: its kernel died ({err}); finished runs "
            "have records and an unfinished run resumes from its last finished epoch "
            "when run again"
        ) from None
    return output, time.perf_counter() - start


# ------------------------------------------------------------- several machines


def merge_records(sources: Iterable[Path | str], results: Path | str) -> dict[str, int]:
    """Merge the results folders ``sources`` (the records of a plan's shards, trained
    on several machines) into ``results``: records are named by their config's hash,
    so merging is a union, and merging again changes nothing. Each record is checked
    (:func:`gaaf.experiments.runs.load_record`); two different records of one config are an error.
    The checkpoint of an unfinished run is kept unless its run has a record, the one
    with the most finished epochs where copies differ. Locks are not copied. Returns
    the counts of files ``copied``, already ``present`` and ``dropped``."""
    results = Path(results)
    counts = {"copied": 0, "present": 0, "dropped": 0}
    sources = [Path(s) for s in sources]
    for source in sources:
        for path in sorted(source.glob("*/*.json")):
            if path.parent.name == "checkpoints":
                continue
            target = results / path.relative_to(source)
            runs.load_record(path)  # a damaged or altered record is refused
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
                counts["copied"] += 1
            elif target.read_bytes() == path.read_bytes():
                counts["present"] += 1
            else:
                raise ValueError(
                    f"{path} and {target} are two different records of one config "
                    "(trained twice?); keep one of them and merge again"
                )
    finished = {p.stem.rsplit("-", 1)[-1] for p in results.glob("*/*.json")}

    def epochs(path: Path) -> int:
        saved = load_checkpoint(path)
        return -1 if saved is None else len(saved["history"])

    for source in sources:
        for path in sorted(source.glob("checkpoints/*.pt")):
            target = results / "checkpoints" / path.name
            if path.stem in finished:
                counts["dropped"] += 1
            elif target.exists() and (
                target.read_bytes() == path.read_bytes()
                or epochs(target) >= epochs(path)
            ):
                counts["present"] += 1
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
                counts["copied"] += 1
    return counts
