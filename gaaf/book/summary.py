"""The book's findings at a glance: one row per claim of the paper, the paper's number
beside ours, and the verdict, computed from the records by the rule of
:mod:`gaaf.analysis.verdicts` (through :mod:`gaaf.analysis.claims`). The introduction shows
this table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from gaaf.analysis import claims, paper
from gaaf.analysis.fairness import (
    flatness_verdict,
    noise_slope_verdict,
    uncensored,
    with_probe,
)
from gaaf.analysis.matched_loss import claim2_matched
from gaaf.analysis.stats import Groups
from gaaf.analysis.verdicts import (
    CONTRADICTED,
    EQUIVALENT,
    LEVEL,
    NOT_IN_PAPER,
    NOT_TESTED,
    SMALLER,
    SUPPORTED,
    UNRESOLVED,
    WORDS,
    Effect,
    Verdict,
)
from gaaf.book.formatting import interval, listed
from gaaf.book.tables import Table, number, signed
from gaaf.experiments.labels import display
from gaaf.experiments.runs import NOT_RUN

__all__ = [
    "Evidence",
    "Findings",
    "Row",
    "bottom_line",
    "by_word",
    "effect_text",
    "findings",
    "lead",
    "rows",
    "verdict_table",
    "words",
]


class Row(NamedTuple):
    """One claim: its ``number`` and short ``name`` and what it states, what the paper
    reports, what we measured, the verdict word, and the chapter (a document name under
    ``book/``) that argues it."""

    number: int
    name: str
    statement: str
    paper: str
    ours: str
    word: str
    chapter: str

    @property
    def claim(self) -> str:
        """The claim as the table's first column shows it: ``"1. Co-adaptation: ..."``."""
        return f"{self.number}. {self.name}: {self.statement}"


def _interval(e: Effect) -> str:
    i = e.interval
    return "" if i is None else f" {interval(i.low, i.high)}"


def _seeds(effects: Sequence[Effect]) -> str:
    counts = sorted({n for e in effects for n in e.n})
    shown = " to ".join(str(n) for n in (counts[0], counts[-1]) if counts) or "0"
    if len(counts) == 1:
        shown = str(counts[0])
    return f"{shown} seed{'s' if counts and counts[-1] != 1 else ''} per network"


def _ratio_range(ratios: Sequence[float]) -> str:
    lo, hi = min(ratios), max(ratios)
    return (
        f"×{number(lo)}"
        if number(lo) == number(hi)
        else f"×{number(lo)} to ×{number(hi)}"
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
            e.p_adjusted is not None and e.p_adjusted < LEVEL for e in tested
        )
        text = (
            f"{_ratio_range(ratios)} over {len(tested)} comparisons, resolved (Holm) "
            f"in {resolved} of {len(tested)}"
        )
    else:
        text = "; ".join(f"{e.what}: {signed(e.diff)}{_interval(e)}" for e in tested)
    return f"{text} ({_seeds(tested)})"


def _judged(v: Verdict, network: str = "dropout") -> list[Effect]:
    return [e for e in v.numbers if e.word != NOT_IN_PAPER and e.a.lower() == network]


class Findings(NamedTuple):
    """The verdicts the introduction rests on, by claim (not
    :class:`gaaf.analysis.stats.Summary`, a mean over seeds)."""

    claim1: Verdict
    claim2: Verdict  # at matched training loss
    claim2_whole: Verdict  # over all iterations, the paper's measure
    claim2_quantity: str
    within: Verdict  # the slope mechanism within one network
    claim3: Verdict
    flatness: Verdict
    claim4: Verdict  # every arm at its own learning rate
    claim4_single: Verdict  # one learning rate for all
    cnn: Verdict  # the paper's datasets
    cnn_ours: Verdict  # Fashion-MNIST, each variant at its own rate


class Evidence(NamedTuple):
    """The groups of records the introduction's verdicts are computed from."""

    mnist: Groups  # the paper's table, paper width, one learning rate
    fair: Groups  # each arm at its own learning rate, reduced width
    probed: Groups  # networks with the masks-on/off probe
    cnn: Groups  # "<dataset>: <variant>", the paper's datasets
    cnn_fair: Groups  # "fashion_mnist: <variant>", each at its own rate


def findings(e: Evidence) -> Findings:
    """Every claim's verdict from the evidence; claim 2 measured as the gradient whose
    size matches the paper's table (:func:`gaaf.analysis.claims.paper_quantity`)."""
    which = claims.paper_quantity(e.mnist)
    quantity = which.closest if which else "dz"
    kept = uncensored(e.fair)
    return Findings(
        claims.claim1(e.mnist),
        claim2_matched(e.mnist, quantity),
        claims.claim2(e.mnist, quantity=quantity),
        quantity,
        noise_slope_verdict(e.probed),
        claims.claim3(e.mnist),
        flatness_verdict(with_probe(kept, "flatness")),
        claims.claim4(kept),
        claims.claim4(uncensored(e.mnist)),
        claims.claim4_cnn(e.cnn, list(paper.CNN)),
        claims.claim4_cnn(e.cnn_fair, ["fashion_mnist"]),
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


def _ratios(v: Verdict, network: str = "dropout") -> str:
    found = [e.ratio for e in _judged(v, network) if e.ratio is not None]
    return _ratio_range(found) if found else "not measured"


def _claim1_ours(v: Verdict) -> str:
    """Claim 1's cell: dropout's change, and GAAF's beside it (no noise, same change)."""
    gaaf = [e.ratio for e in v.numbers if e.a == "GAAF" and e.ratio]
    text = "mean |correlation|, dropout / base: " + effect_text(_judged(v))
    if gaaf:
        text += (
            f"; but GAAF, which has no noise, raises it as much ({_ratio_range(gaaf)}), "
            "so the measure says little about co-adaptation"
        )
    return text


def _cnn_ours(s: Findings) -> str:
    text = effect_text([e for e in s.cnn.numbers if e.diff is not None])
    fashion = [e for e in s.cnn_ours.numbers if e.diff is not None]
    if fashion:
        text += (
            f"; Fashion-MNIST, each variant at its own learning rate (not in the "
            f"paper): {effect_text(fashion)}"
        )
    return text


def rows(s: Findings) -> list[Row]:
    """The seven rows of the introduction's table, numbered in reading order."""
    flow = paper.gradient_flow_ratios()
    quantity = claims.FLOW_NAMES[s.claim2_quantity]
    return [
        Row(
            1,
            "Co-adaptation",
            "units trained with dropout are more correlated",
            "higher correlations (histograms, no size)",
            _claim1_ours(s.claim1),
            s.claim1.word,
            "coadaptation",
        ),
        Row(
            2,
            "Gradient flow",
            "dropout multiplies the gradient reaching each layer",
            f"{_ratio_range(flow)} (about {paper.GRADIENT_FLOW_FACTOR:g}), a mean over "
            "all iterations",
            f"{quantity}, dropout / base at equal training loss: "
            + effect_text(_judged(s.claim2))
            + f"; over all iterations, as the paper measured: {_ratios(s.claim2_whole)}",
            s.claim2.word,
            "gradient_flow",
        ),
        Row(
            3,
            "The mechanism",
            "dropout's noise moves saturated units to steeper slopes",
            "the argument, not measured",
            "slope factor with dropout masks on / off, the same weights: "
            + effect_text([e for e in s.within.numbers if e.diff is not None]),
            s.within.word,
            "gradient_flow",
        ),
        Row(
            4,
            "Saturation",
            "dropout pushes net inputs into it, more so in higher layers",
            "more |z| > 2 (histograms, no size)",
            "fraction of |z| > 2, dropout / base: "
            + effect_text(_judged(s.claim3))
            + "; higher layers more so only relative to the base",
            s.claim3.word,
            "gradient_flow",
        ),
        Row(
            5,
            "A flat region",
            "dropout and GAAF converge where the network is more robust",
            "stated, not measured",
            effect_text([e for e in s.flatness.numbers if e.diff is not None])
            if any(e.diff is not None for e in s.flatness.numbers)
            else NOT_RUN,
            s.flatness.word,
            "gradient_flow",
        ),
        Row(
            6,
            "MNIST",
            "GAAF reaches dropout's accuracy in fewer epochs",
            _paper_mnist(),
            "each arm at its own learning rate: "
            + effect_text([e for e in s.claim4.numbers if e.word != NOT_IN_PAPER])
            + f"; with one rate for all: *{s.claim4_single.word}*",
            s.claim4.word,
            "mnist_benchmark",
        ),
        Row(
            7,
            "CNNs",
            "GAAF adds accuracy to a base CNN",
            _paper_cnn(),
            _cnn_ours(s),
            s.cnn.word,
            "cnn_benchmark",
        ),
    ]


def bottom_line(found: Sequence[Row]) -> str:
    """Three sentences above the table: where the records support the paper, where
    they contradict it, and what is open, each naming its rows (from the rows' words).
    """

    def names(words: Sequence[str]) -> str:
        picked = []
        for r in found:
            if r.word in words:
                name, first = r.name, r.name.split(" ")[0]
                if len(first) == 1 or first[1:2].islower():  # "A flat region" -> "a
                    name = name[0].lower() + name[1:]  # flat region"; "CNNs" kept
                picked.append(f"{name} ({r.number})")
        return listed(picked)

    held = names([SUPPORTED, EQUIVALENT, SMALLER])
    failed = names([CONTRADICTED])
    open_ = names([UNRESOLVED, NOT_TESTED])
    parts = []
    if held:
        parts.append(f"The records support the paper on {held}.")
    if failed:
        parts.append(f"They contradict it on {failed}.")
    if open_:
        parts.append(f"Unresolved or not tested here: {open_}.")
    return " ".join(parts)


def verdict_table(found: Sequence[Row]) -> Table:
    """The rows as a table whose last column links each claim to its chapter."""
    header = ["claim", "verdict", "the paper", "ours"]
    body = [
        [
            f"[{_cell(r.claim)}]({r.chapter}.ipynb)",
            f"**{r.word}**",
            _cell(r.paper),
            _cell(r.ours),
        ]
        for r in found
    ]
    return header, body


def _cell(text: str) -> str:
    """``text`` safe in a Markdown table cell (``|z|`` would end the cell)."""
    return text.replace("|", "\\|")


def words() -> str:
    """The verdict words and what each means, as a Markdown list
    (:data:`gaaf.analysis.verdicts.WORDS`)."""
    return "\n".join(f"- *{word}*: {meaning}." for word, meaning in WORDS.items())


def by_word(found: Sequence[Row]) -> str:
    """One sentence grouping the claims by verdict word, e.g. "Supported: claims 1
    and 3. Partly supported: ..." (claim numbers as in :func:`rows`)."""
    groups: dict[str, list[str]] = {}
    for r in found:
        groups.setdefault(r.word, []).append(f"{r.number} ({r.name})")
    parts = []
    for word, labels in groups.items():
        noun = "claim" if len(labels) == 1 else "claims"
        parts.append(f"{word[0].upper()}{word[1:]}: {noun} {listed(labels)}.")
    return " ".join(parts)


def lead(what: str, sentence: str) -> str:
    """``sentence`` (such as :meth:`gaaf.experiments.runs.Runs.describe`'s) led by what it
    describes,
    in Markdown: ``lead("MNIST", "Runs shown: ...")`` is ``"*MNIST*: runs shown: ..."``."""
    if not sentence:
        return f"*{what}*"
    return f"*{what}*: {sentence[0].lower()}{sentence[1:]}"
