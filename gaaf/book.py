"""The book's chapters as the code sees them: the table of contents, the Colab setup
cell every chapter starts with, and running a chapter through papermill.

Paths are relative to the repository root (the book root), which defaults to the
current directory.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import yaml

from gaaf.params import check_profile


class ChapterFailed(RuntimeError):
    """A chapter notebook stopped with an error; the message names the error."""


SETUP_MARKER = "# Colab only: install the gaaf package from the repository."


def toc_files(root: Path | str = ".") -> list[str]:
    """Every page of ``_toc.yml`` in reading order, as paths without suffix."""
    toc_path = Path(root) / "_toc.yml"
    if not toc_path.exists():
        raise FileNotFoundError(
            f"{toc_path} not found: run this from the repository root"
        )
    toc = yaml.safe_load(toc_path.read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def chapter_notebooks(root: Path | str = ".") -> list[Path]:
    """The chapter notebooks (``.ipynb`` pages of the table of contents), in order."""
    root = Path(root)
    return [
        root / f"{f}.ipynb" for f in toc_files(root) if (root / f"{f}.ipynb").exists()
    ]


def repository(root: Path | str = ".") -> tuple[str, str]:
    """``(url, branch)`` of the repository the book and its Colab links point at."""
    config = yaml.safe_load((Path(root) / "_config.yml").read_text())
    return config["repository"]["url"], config["repository"]["branch"]


def setup_cell_source(root: Path | str = ".") -> str:
    """The first code cell of every chapter. On Colab it clones the repository (so the
    committed records are reused, and chapters find ``../results`` and ``../data`` as
    they do locally), installs ``gaaf`` from it and moves into ``book/``; it says when
    no GPU is attached. Elsewhere it does nothing."""
    url, branch = repository(root)
    return (
        f"{SETUP_MARKER} Elsewhere this does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    !test -d /content/gaaf || git clone --quiet --depth 1 "
        f"--branch {branch} {url} /content/gaaf\n"
        '    %pip install --quiet "/content/gaaf"\n'
        "    %cd /content/gaaf/book\n"
        "    import torch\n"
        "\n"
        "    if not torch.cuda.is_available():\n"
        '        print("No GPU: Runtime > Change runtime type > GPU makes full runs fast.")'
    )


def glue(name: str, value: object, display: bool = False) -> None:
    """myst-nb's ``glue``: ``value`` under ``name`` for the book's ``{glue:text}`` roles.
    Where myst-nb is not installed (Colab, a plain install) the prose roles are not
    rendered anyway: it displays ``value`` if asked and does nothing else."""
    try:
        from myst_nb import glue as myst_glue  # the book extra's, not the library's
    except ModuleNotFoundError:
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)


DRIVE_RESULTS = "/content/drive/MyDrive/gaaf/results"
"""Where a chapter keeps its records on Google Drive when asked to (``keep_on_drive``)."""


def keep_results_on_drive(
    results: Path | str, drive_results: Path | str = DRIVE_RESULTS
) -> Path | None:
    """On Colab: mount Google Drive and make ``results`` a link to ``drive_results``,
    so records and checkpoints outlive the VM (a Colab VM and its ``/content`` are
    recycled after a disconnect; a ``profile="full"`` rerun then resumes from Drive).
    Records already in ``results`` (the committed ones) are copied over first, without
    replacing any on Drive. Elsewhere it does nothing and returns None."""
    if "google.colab" not in sys.modules:
        return None
    from google.colab import drive  # only importable on Colab

    drive.mount(str(Path(DRIVE_RESULTS).parents[2]))
    results, target = Path(results), Path(drive_results)
    target.mkdir(parents=True, exist_ok=True)
    if results.is_symlink():
        return target
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
    return target


def run_chapter(
    notebook: Path | str,
    output_dir: Path | str,
    profile: str = "default",
    cell_timeout: int = 1800,
    kernel_name: str | None = None,
    **parameters: object,
) -> tuple[Path, float]:
    """Execute a chapter through papermill; returns the executed notebook and seconds.

    The chapter runs with its own folder as working directory, as in the book build.
    A cell that runs longer than ``cell_timeout`` seconds fails the run (and with a
    timeout set, a kernel message lost on the way costs seconds, not a hang).
    ``kernel_name`` picks another Jupyter kernel than the notebook's own.
    """
    try:  # papermill is in the book extra: the library itself does not need it
        import papermill
    except ModuleNotFoundError:
        raise ValueError(
            "running chapters needs papermill: pip install 'gaaf[papermill]' "
            "(or 'gaaf[book]' to build the book too)"
        ) from None

    notebook = Path(notebook)
    output = Path(output_dir) / f"{notebook.stem}.{check_profile(profile)}.ipynb"
    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters={"profile": profile, **parameters},
            cwd=str(notebook.parent),
            progress_bar=False,
            execution_timeout=cell_timeout,
            kernel_name=kernel_name,
        )
    except papermill.PapermillExecutionError as err:
        raise ChapterFailed(
            f"chapter {notebook.stem} failed: {err.ename}: {err.evalue} "
            f"(the executed notebook: {output})"
        ) from None
    return output, time.perf_counter() - start
