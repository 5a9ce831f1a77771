"""The paper's numbers: quoted once in gaaf.analysis.paper, and the pages that quote them in their
prose quote the same numbers (a page's tables and verdicts read gaaf.analysis.paper itself)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_prose import PAGES, page_markdown, strip

from gaaf.analysis import paper

ROOT = Path(__file__).resolve().parents[1]


def prose(page: str) -> str:
    """A page's text (a notebook's Markdown cells), whitespace collapsed."""
    path = ROOT / "book" / page
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        text = "\n".join(
            "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
        )
    else:
        text = path.read_text()
    return re.sub(r"\s+", " ", text)


def test_derived_numbers_by_hand():
    assert paper.mnist_effect("gaaf", "dropout", "best_epoch") == 114 - 169
    assert paper.mnist_effect("gaaf", "base", "test_acc") == pytest.approx(0.12)
    assert paper.gradient_flow_ratios() == pytest.approx(
        (5.93 / 1.07, 6.52 / 1.40, 5.83 / 0.935)
    )
    assert paper.cnn_gains("gaaf") == pytest.approx(
        {"cifar100": 1.66, "cifar10": 0.61, "svhn": 0.16}
    )
    assert paper.cnn_gains("bn_gaaf")["cifar10"] == pytest.approx(0.82)  # against bn


def gaaf_gains() -> tuple[float, float]:
    gains = [g for v in ("gaaf", "bn_gaaf") for g in paper.cnn_gains(v).values()]
    return min(gains), max(gains)


def reported_numbers() -> set[str]:
    """The paper's table entries as a page would type them (``98.35``, ``98.4``, ``114``)."""
    found = set()
    for rows in paper.MNIST.values():
        for r in rows.values():
            found |= {f"{r.mean:g}", f"{r.mean:.2f}", f"{r.std:g}"}
    for row in paper.CNN.values():
        found |= {f"{v:.2f}" for v in row.values()}
    found |= {f"{v:.2f}" for v in paper.gradient_flow_ratios()}
    found |= {
        f"{g:.2f}" for v in ("gaaf", "bn_gaaf") for g in paper.cnn_gains(v).values()
    }
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_page_types_the_papers_numbers(page):
    """The paper's numbers reach a page from gaaf.analysis.paper through glue, never typed (the
    prose rule of tests/test_prose.py catches decimals; this catches the integers too)."""
    text = strip(page_markdown(page))
    typed = sorted(
        n
        for n in reported_numbers()
        if re.search(rf"(?<![\w.]){re.escape(n)}(?![\w.])", text)
    )
    assert not typed, f"{page.name} types the paper's numbers {typed}: glue them"
