"""The paper's numbers: quoted once in gaaf.paper, and the pages that quote them in their
prose quote the same numbers (a page's tables and verdicts read gaaf.paper itself)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gaaf import paper

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


MNIST = paper.MNIST
QUOTES = {
    "intro.md": [
        f"({MNIST['gaaf']['test_acc'].mean:.2f}% against "
        f"{MNIST['dropout']['test_acc'].mean:.2f}%)",
        f"({MNIST['gaaf']['best_epoch'].mean:g} against "
        f"{MNIST['dropout']['best_epoch'].mean:g})",
        "adds {:.1f} to {:.1f} points".format(*gaaf_gains()),
        f"by about {paper.GRADIENT_FLOW_FACTOR:g}",
    ],
    "mnist_benchmark.ipynb": [
        *(
            f"against {MNIST[v]['test_acc'].mean:.2f}%"
            for v in ("base", "dropout", "gaaf")
        ),
        f"against {MNIST['base']['best_epoch'].mean:g})",
        f"the paper's {paper.mnist_effect('gaaf', 'base', 'test_acc'):.2f}",
    ],
    "gradient_flow.ipynb": [
        f"by about {paper.GRADIENT_FLOW_FACTOR:g},",
        f"modes near $\\pm {paper.NET_INPUT_MODES['dropout']:g}$",
        f"peaks near $\\pm {paper.NET_INPUT_MODES['base']:g}$",
    ],
    "dropout_variance.ipynb": [
        f"factor of {paper.GRADIENT_FLOW_FACTOR:g} ($e^{{2\\sigma^2}} = "
        f"{paper.GRADIENT_FLOW_FACTOR:g}$",
        f"within about $\\pm {paper.TRAINED_WEIGHT_RANGE:g}$",
        f"near $\\pm {paper.NET_INPUT_MODES['dropout']:g}$",
    ],
    "coadaptation.ipynb": [f'"within about ±{paper.TRAINED_WEIGHT_RANGE:g}"'],
    "cnn_benchmark.ipynb": ["gains of {:.1f} to {:.1f} points".format(*gaaf_gains())],
}


@pytest.mark.parametrize("page", sorted(QUOTES))
def test_pages_quote_the_papers_numbers_as_gaaf_paper_has_them(page):
    text = prose(page)
    for quote in QUOTES[page]:
        assert quote in text, f"{page} does not say {quote!r}"
