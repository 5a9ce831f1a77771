"""The book's findings at a glance: one row per claim of the paper, the paper's number
beside ours, and the verdict, computed from the records by the rule of
:mod:`gaaf.verdicts` (through :mod:`gaaf.claims`). The introduction shows this table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from gaaf import claims, paper
from gaaf.figures.style import display
from gaaf.stats import Groups
from gaaf.tables import Table, number, signed
from gaaf.verdicts import NOT_IN_PAPER, NOT_TESTED, WORDS, Effect, Verdict

__all__ = [
    "Row",
    "Summary",
    "by_word",
    "effect_text",
    "rows",
    "summarize",
    "verdict_table",
    "words",
]


class Row(NamedTuple):
    """One claim: what the paper says and reports, what we measured, the verdict word,
    and the chapter (a document name under ``book/``) that argues it."""

    claim: str
    paper: str
    ours: str
    word: str
    chapter: str


def _interval(e: Effect) -> str:
    i = e.interval
    return "" if i is None else f" [{signed(i.low)}, {signed(i.high)}]"


def _seeds(effects: Sequence[Effect]) -> str:
    counts = sorted({n for e in effects for n in e.n})
    shown = " to ".join(str(n) for n in (counts[0], counts[-1]) if counts) or "0"
    if len(counts) == 1:
        shown = str(counts[0])
    return f"{shown} seed{'s' if counts and counts[-1] != 1 else ''} per network"


def _ratio_range(ratios: Sequence[float]) -> str:
    lo, hi = min(ratios), max(ratios)
    return (
        f"x{number(lo)}"
        if number(lo) == number(hi)
        else f"x{number(lo)} to x{number(hi)}"
    )


def effect_text(effects: Sequence[Effect]) -> str:
    """Our side of a row from a claim's judged comparisons: for per-layer ratios the
    range over layers and how many intervals exclude 0; for differences each one with
    its 95% interval; then the seeds."""
    tested = [e for e in effects if e.diff is not None]
    if not tested:
        return "not run here"
    if all(e.relative for e in tested):
        ratios = [e.ratio for e in tested if e.ratio is not None]
        resolved = sum(
            e.interval is not None and e.interval.excludes_zero() for e in tested
        )
        text = (
            f"{_ratio_range(ratios)} over {len(tested)} layers, the 95% interval "
            f"excluding no change in {resolved} of {len(tested)}"
        )
    else:
        text = "; ".join(f"{e.what}: {signed(e.diff)}{_interval(e)}" for e in tested)
    return f"{text} ({_seeds(tested)})"


def _judged(v: Verdict, network: str = "dropout") -> list[Effect]:
    return [e for e in v.numbers if e.word != NOT_IN_PAPER and e.a.lower() == network]


class Summary(NamedTuple):
    """The verdicts the introduction rests on, by claim."""

    claim1: Verdict
    claim2: Verdict
    claim2_quantity: str
    claim3: Verdict
    claim4: Verdict
    cnn: Verdict
    cnn_ours: Verdict


def summarize(mnist: Groups, cnn: Groups, cnn_datasets: Sequence[str]) -> Summary:
    """Every claim's verdict from the MNIST benchmark's groups and the CNN groups
    (``"<dataset>: <variant>"``); claim 2 measured as the gradient whose size matches
    the paper's table (:func:`gaaf.claims.paper_quantity`)."""
    which = claims.paper_quantity(mnist)
    quantity = which.closest if which else "dz"
    return Summary(
        claims.claim1(mnist),
        claims.claim2(mnist, quantity=quantity),
        quantity,
        claims.claim3(mnist),
        claims.claim4(mnist),
        claims.claim4_cnn(cnn, [d for d in paper.CNN]),
        claims.claim4_cnn(cnn, [d for d in cnn_datasets if d not in paper.CNN]),
    )


def _paper_mnist() -> str:
    m = paper.MNIST
    models = ("gaaf", "dropout")
    acc = ", ".join(f"{display(v)} {m[v]['test_acc'].mean:.2f}%" for v in models)
    epochs = ", ".join(f"{display(v)} {m[v]['best_epoch'].mean:g}" for v in models)
    return f"test accuracy {acc}; epochs {epochs} ({paper.MNIST_RUNS} runs each)"


def _paper_cnn() -> str:
    gains = [g for v in ("gaaf", "bn_gaaf") for g in paper.cnn_gains(v).values()]
    names = ", ".join(display(d) for d in paper.CNN)
    return f"GAAF adds {signed(min(gains))} to {signed(max(gains))} points ({names}; one run each)"


def rows(s: Summary) -> list[Row]:
    """The five rows of the introduction's table."""
    flow = paper.gradient_flow_ratios()
    quantity = claims.FLOW_NAMES[s.claim2_quantity]
    fashion = [e for e in s.cnn_ours.numbers if e.diff is not None]
    cnn_ours = "CIFAR and SVHN: not run here (they need a download and a GPU)"
    if fashion:
        cnn_ours += f"; {effect_text(fashion)}, not in the paper"
    return [
        Row(
            "1. Co-adaptation: units trained with dropout are more correlated",
            "higher correlations (histograms, no size)",
            "mean |correlation|, dropout / base: " + effect_text(_judged(s.claim1)),
            s.claim1.word,
            "coadaptation",
        ),
        Row(
            "2. Gradient flow: dropout multiplies the gradient reaching each layer",
            f"{_ratio_range(flow)} (about {paper.GRADIENT_FLOW_FACTOR:g})",
            f"{quantity}, dropout / base: " + effect_text(_judged(s.claim2)),
            s.claim2.word,
            "gradient_flow",
        ),
        Row(
            "3. Saturation: dropout pushes net inputs into it, more so in higher layers",
            "more |z| > 2 (histograms, no size)",
            "fraction of |z| > 2, dropout / base: " + effect_text(_judged(s.claim3)),
            s.claim3.word,
            "gradient_flow",
        ),
        Row(
            "4. MNIST: GAAF reaches dropout's accuracy in fewer epochs",
            _paper_mnist(),
            effect_text([e for e in s.claim4.numbers if e.word != NOT_IN_PAPER]),
            s.claim4.word,
            "mnist_benchmark",
        ),
        Row(
            "4. CNNs: GAAF adds accuracy to a base CNN",
            _paper_cnn(),
            cnn_ours,
            s.cnn.word if s.cnn.word != NOT_TESTED else f"{NOT_TESTED} (no GPU here)",
            "cnn_benchmark",
        ),
    ]


def verdict_table(found: Sequence[Row]) -> Table:
    """The rows as a table whose last column links each claim to its chapter."""
    header = ["claim", "the paper", "ours", "verdict"]
    body = [
        [
            f"[{_cell(r.claim)}]({r.chapter}.ipynb)",
            _cell(r.paper),
            _cell(r.ours),
            f"**{r.word}**",
        ]
        for r in found
    ]
    return header, body


def _cell(text: str) -> str:
    """``text`` safe in a Markdown table cell (``|z|`` would end the cell)."""
    return text.replace("|", "\\|")


def words() -> str:
    """The verdict words and what each means, as a Markdown list
    (:data:`gaaf.verdicts.WORDS`)."""
    return "\n".join(f"- *{word}*: {meaning}." for word, meaning in WORDS.items())


def by_word(found: Sequence[Row]) -> str:
    """One sentence grouping the claims by verdict word, e.g. "Supported: claims 1
    and 3. Partly supported: ..." (claim numbers as in :func:`rows`)."""
    groups: dict[str, list[str]] = {}
    for r in found:
        number_, _, rest = r.claim.partition(". ")
        label = number_ + (f" ({rest.split(':')[0]})" if ":" in rest else "")
        groups.setdefault(r.word, []).append(label)
    parts = []
    for word, labels in groups.items():
        listed = (
            labels[0]
            if len(labels) == 1
            else ", ".join(labels[:-1]) + " and " + labels[-1]
        )
        noun = "claim" if len(labels) == 1 else "claims"
        parts.append(f"{word[0].upper()}{word[1:]}: {noun} {listed}.")
    return " ".join(parts)
