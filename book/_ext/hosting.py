"""The book's address at build time (the address itself is ``repository.url`` in
``_config.yml``; see :mod:`gaaf.book.chapter`).

* While the repository is not published (:data:`gaaf.book.chapter.PLACEHOLDER`), the pages get
  no repository, issues or Colab buttons: they would point at an address that exists
  nowhere.
* Once it is, a chapter's Colab button opens the chapter on the branch
  :data:`gaaf.book.chapter.COLAB_BRANCH`, and the build writes that branch's notebooks into
  ``_build/colab-branch`` (the Pages workflow pushes them): the chapters with the commit
  the book was built from in their setup cell, so that Colab installs the code the page
  shows. The page's own notebook download (``_sources``) installs that commit too.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from gaaf.book import chapter


def _buttons(app, config) -> None:
    options = config.html_theme_options
    if not chapter.published(options.get("repository_url", chapter.PLACEHOLDER)):
        options.pop("repository_url", None)
        options.update(
            use_repository_button=False, use_issues_button=False, launch_buttons={}
        )
    else:
        options["repository_branch"] = chapter.COLAB_BRANCH


def _commit(root: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _colab_notebooks(app, exception) -> None:
    root = Path(app.srcdir)
    url, _ = chapter.repository(root)
    commit = _commit(root)
    if exception is not None or not chapter.published(url) or commit is None:
        return
    outdir = Path(app.outdir)
    chapter.colab_notebooks(root, outdir.parent / "colab-branch", commit)
    chapter.colab_notebooks(root, outdir / "_sources", commit)


def setup(app):
    app.connect("config-inited", _buttons, priority=100)
    app.connect("build-finished", _colab_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
