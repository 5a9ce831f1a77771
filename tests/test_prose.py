"""The prose rule: no measured number typed in a page's text.

Every measured number, count of seeds, interval and verdict word in a chapter's prose is
pasted from code (myst-nb ``glue``), and every number of the paper from
:mod:`gaaf.analysis.paper`; settings are glued from the config or written as code. What this
test can see of that: outside maths (``$...$``), code spans and glue roles, a page's
Markdown holds no number with two or more decimals, no percentage (95% for a confidence
level is fine) and no multiplier (``x1.8``, ``5x``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gaaf.book import chapter

ROOT = Path(__file__).resolve().parents[1]

MATHS = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.S)
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
DIRECTIVE_OPTION = re.compile(r"^\s*:[\w-]+:.*$", re.M)  # :class: verdict, :width: 90%
TYPED = {
    "a number with two or more decimals": re.compile(r"(?<![\w.])\d*\.\d{2,}(?![\w.])"),
    "a percentage": re.compile(r"(?<![\w.])(?!95\s?%)\d+(?:\.\d+)?\s?%"),
    "a multiplier": re.compile(
        r"(?<![\w.])[x×]\s?\d+(?:\.\d+)?(?![\w.])|(?<![\w.])\d+(?:\.\d+)?\s?[x×](?!\w)"
    ),
}


def strip(markdown: str) -> str:
    """``markdown`` without maths, code spans (glue roles included) and directive
    options: the text a reader reads as typed."""
    return DIRECTIVE_OPTION.sub(" ", CODE.sub(" ", MATHS.sub(" ", markdown)))


def typed_numbers(markdown: str) -> list[str]:
    """Each typed number the rule forbids in ``markdown``, as ``"what: text"``."""
    text = strip(markdown)
    return [
        f"{what}: {m.group(0)!r} in ...{text[max(0, m.start() - 40) : m.end() + 20]!r}"
        for what, pattern in TYPED.items()
        for m in pattern.finditer(text)
    ]


def page_markdown(path: Path) -> str:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        return "\n\n".join(
            "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
        )
    return path.read_text()


def page_path(name: str) -> Path:
    """A table-of-contents entry's file (``book/intro`` -> ``book/intro.md``)."""
    found = [p for p in (ROOT / name).parent.glob((ROOT / name).name + ".*")]
    found = [p for p in found if p.suffix in (".md", ".ipynb")]
    assert len(found) == 1, f"{name}: expected one .md or .ipynb page, found {found}"
    return found[0]


PAGES = [page_path(f) for f in chapter.toc_files(ROOT)]


def test_every_page_is_checked():
    assert len(PAGES) >= 10
    assert all(p.exists() for p in PAGES)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_measured_number_is_typed_in_the_prose(page):
    found = typed_numbers(page_markdown(page))
    assert not found, (
        f"{page.name}: numbers typed in the prose; glue them from the records, "
        "gaaf.analysis.paper or the config (or write settings as code):\n"
        + "\n".join(found)
    )


@pytest.mark.parametrize(
    "text, caught",
    [
        ("GAAF reaches 98.34 on average", True),
        ("dropout multiplies it by x1.8 here", True),
        ("about 5x larger", True),
        ("saturated fraction 45% in layer 3", True),
        ("learning rate 0.01", True),
        ("a 95% interval", False),
        ("the rate $p = 0.25$ in maths", False),
        ("the learning rate `0.01` as code", False),
        ("GAAF {glue:text}`gaaf_acc` against dropout", False),
        ("five seeds, three layers, 300 epochs, 1.5 points", False),
        (":::{figure} x.png\n:width: 90%\n:::", False),
        ("jupyter-book 1.0.4 and a 1024x3 network", False),
    ],
)
def test_the_rule_catches_what_it_should(text, caught):
    assert bool(typed_numbers(text)) is caught, typed_numbers(text)
