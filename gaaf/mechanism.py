"""The mechanism study: its tables and verdicts.

What makes GAAF work, asked with runs the paper did not make
(:func:`gaaf.plans.mechanism_plan`): the surrogate gradient (forward exactly tanh,
backward ``tanh' + s``), GAAF without its shape (``s = 1``), the bump's width and
height, and the base network at twice the learning rate; and the MNIST table in both
optimizer regimes (:func:`gaaf.plans.mnist_regimes`).

Each question is answered by one rule, written once here, on the test accuracy (in
points) over seeds, by its 95% Welch interval (:func:`gaaf.stats.welch`):

* *GAAF is a surrogate gradient* (:func:`surrogate_finding`): supported when the
  interval of surrogate - GAAF contains 0 (the surrogate matches GAAF within seed
  noise), not supported when it excludes 0;
* *the shape matters* (:func:`shape_finding`): GAAF without its shape against GAAF,
  judged by :func:`gaaf.verdicts.judge` with direction down (supported when the
  interval lies below 0);
* *not just a larger step* (:func:`step_finding`): GAAF against the base network at
  twice the learning rate, judged by :func:`~gaaf.verdicts.judge` with direction up.

Either side with fewer than 2 records: *not tested*.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from gaaf import paper
from gaaf.figures.style import display
from gaaf.measures import SPEED_TARGET, epochs_reached
from gaaf.plans import MNIST_VARIANTS, REGIME_MOMENTA
from gaaf.runs import NOT_RUN
from gaaf.stats import Groups, Record, Summary, summarize, values, welch
from gaaf.tables import Table, mean_std
from gaaf.verdicts import (
    NOT_SUPPORTED,
    NOT_TESTED,
    PARTLY,
    SUPPORTED,
    Effect,
    compare,
    line,
)

__all__ = [
    "REFERENCES",
    "TARGET",
    "Finding",
    "findings",
    "first_at_target",
    "interval_cell",
    "matches_within_noise",
    "mechanism_table",
    "name_of",
    "regimes_table",
    "shape_finding",
    "step_finding",
    "surrogate_finding",
]

TARGET = SPEED_TARGET
"""The validation accuracy whose first epoch measures speed (the MNIST chapter's)."""

REFERENCES = ("gaaf", "base")
"""The groups every row of :func:`mechanism_table` is compared with."""


def name_of(group: str) -> str:
    """A group's name for a reader: :func:`~gaaf.figures.style.display`, with GAAF
    named as everywhere else (``"gaaf, no shape"`` -> ``"GAAF, no shape"``)."""
    shown = display(group)
    return "GAAF" + shown[4:] if shown.startswith("gaaf, ") else shown


def _accuracies(records: Sequence[Record]) -> list[float]:
    return values(records, "test_acc", 100)


def first_at_target(
    records: Sequence[Record], target: float = TARGET
) -> tuple[Summary | None, int]:
    """The first epoch at ``target`` validation accuracy: its :class:`~gaaf.stats.Summary` over the
    runs that reached it (None if none did) and how many did."""
    reached = epochs_reached(records, target)
    return (summarize(reached) if reached else None), len(reached)


def _first_cell(records: Sequence[Record], target: float) -> str:
    if not records:
        return NOT_RUN
    reached = epochs_reached(records, target)
    shown = mean_std(reached, 1) if reached else "never"
    return f"{shown}, {len(reached)} of {len(records)} runs"


def interval_cell(a: Sequence[Record], b: Sequence[Record]) -> str:
    """``"+0.12 [-0.05, +0.29]"``: mean test accuracy of ``a`` minus ``b`` in points,
    with its 95% Welch interval; the difference alone when a side has one seed, and
    :data:`~gaaf.runs.NOT_RUN` when a side has none."""
    va, vb = _accuracies(a), _accuracies(b)
    if not va or not vb:
        return NOT_RUN
    found = welch(va, vb)
    if found is None:
        diff = summarize(va).mean - summarize(vb).mean
        return f"{diff:+.2f} (no interval: 1 seed)"
    return f"{found.diff:+.2f} [{found.low:+.2f}, {found.high:+.2f}]"


def mechanism_table(
    groups: Groups,
    planned: dict[str, int] | None = None,
    target: float = TARGET,
    references: Sequence[str] = REFERENCES,
) -> Table:
    """Per group: seeds found (of ``planned``), test accuracy (%) mean (std), best
    epoch mean (std), the first epoch at ``target`` validation accuracy (over the runs
    that reached it, and how many did), and the test-accuracy difference in points
    against each of ``references`` with its 95% Welch interval."""
    headers = ["group", "seeds", "test acc. (%)", "best epoch"]
    headers += [f"first epoch at {100 * target:g}%"]
    headers += [f"- {name_of(r)} (points, 95% interval)" for r in references]
    rows = []
    for name, records in groups.items():
        seeds = str(len(records))
        if planned is not None and name in planned:
            seeds = f"{len(records)} of {planned[name]}"
        row = [name_of(name), seeds, mean_std(_accuracies(records), 2)]
        row += [mean_std(values(records, "best_epoch"), 1)]
        row += [_first_cell(records, target)]
        for reference in references:
            same = reference == name
            row.append(
                "" if same else interval_cell(records, groups.get(reference, []))
            )
        rows.append(row)
    return headers, rows


def _paper_cell(variant: str, metric: str) -> str:
    reported = paper.MNIST[variant][metric]
    mean = f"{reported.mean:.2f}" if metric == "test_acc" else f"{reported.mean:g}"
    return f"{mean} ({reported.std:g})"


def regimes_table(
    groups: Groups, planned: dict[str, int] | None = None, target: float = TARGET
) -> Table:
    """The MNIST table in both optimizer regimes, models side by side (columns): the
    paper's test accuracy (%) and epochs, then per momentum of
    :data:`~gaaf.plans.REGIME_MOMENTA` (groups ``"momentum 0.9: base"`` ...): seeds
    found (of ``planned``), our test accuracy mean (std), best epoch mean (std) and the
    first epoch at ``target`` validation accuracy."""
    models = list(MNIST_VARIANTS)
    rows = [
        ["paper: test acc. (%)", *(_paper_cell(v, "test_acc") for v in models)],
        ["paper: epochs", *(_paper_cell(v, "best_epoch") for v in models)],
    ]
    for m in REGIME_MOMENTA:
        names = [f"momentum {m:g}: {v}" for v in models]
        found = [groups.get(n, []) for n in names]

        def seeds(name: str, records: Sequence[Record]) -> str:
            if planned is None or name not in planned:
                return str(len(records))
            return f"{len(records)} of {planned[name]}"

        rows += [
            [f"momentum {m:g}: seeds", *map(seeds, names, found)],
            [
                f"momentum {m:g}: test acc. (%)",
                *(mean_std(_accuracies(r), 2) for r in found),
            ],
            [
                f"momentum {m:g}: best epoch",
                *(mean_std(values(r, "best_epoch"), 1) for r in found),
            ],
            [
                f"momentum {m:g}: first epoch at {100 * target:g}%",
                *(_first_cell(r, target) for r in found),
            ],
        ]
    return ["", *(name_of(v) for v in models)], rows


# ---------------------------------------------------------------------- the findings


class Finding(NamedTuple):
    """The answer to one mechanism question: its ``word`` (a verdict word of
    :mod:`gaaf.verdicts`), a ``sentence`` with the numbers it rests on, those numbers
    alone (``evidence``), and the comparison itself (``effect``: test accuracy in
    points, ``a - b``)."""

    question: str
    word: str
    sentence: str
    effect: Effect
    evidence: str

    def markdown(self) -> str:
        """The sentence, then the comparison as one bullet."""
        return "\n".join([self.sentence, "", line(self.effect)])


def matches_within_noise(effect: Effect) -> str:
    """The rule of "GAAF is a surrogate gradient": *supported* when the interval of
    the difference contains 0, *not supported* when it excludes 0, *not tested*
    without an interval."""
    if effect.interval is None:
        return NOT_TESTED
    return NOT_SUPPORTED if effect.interval.excludes_zero() else SUPPORTED


def _effect(groups: Groups, a: str, b: str, direction: int | None) -> Effect:
    return compare(
        f"test accuracy (points), {name_of(a)} - {name_of(b)}",
        (name_of(a), _accuracies(groups.get(a, []))),
        _accuracies(groups.get(b, [])),
        direction=direction,
    )


def _numbers(e: Effect, b: str) -> str:
    """The comparison in words: difference, interval, whether it contains 0, seeds."""
    seeds = f"{e.n[0]} vs {e.n[1]} seeds"
    if e.interval is None:
        return (
            f"{e.a} has {e.n[0]} and {name_of(b)} {e.n[1]} records; an interval needs "
            "at least 2 per side"
        )
    i = e.interval
    where = "excludes 0" if i.excludes_zero() else "contains 0"
    return (
        f"{e.a} - {name_of(b)} = {i.diff:+.2f} points, 95% interval "
        f"[{i.low:+.2f}, {i.high:+.2f}], which {where} ({seeds})"
    )


def _finding(
    question: str, effect: Effect, word: str, b: str, says: dict[str, str]
) -> Finding:
    evidence = _numbers(effect, b)
    body = says.get(word, "{numbers}.").format(numbers=evidence)
    sentence = f"**{question}: {word}.** {body}"
    return Finding(question, word, sentence, effect._replace(word=word), evidence)


def surrogate_finding(groups: Groups) -> Finding:
    """(a) GAAF is a surrogate gradient: the surrogate (``gaaf.activations.Surrogate``)
    against GAAF, by :func:`matches_within_noise`."""
    effect = _effect(groups, "surrogate", "gaaf", None)
    says = {
        SUPPORTED: "The surrogate (forward exactly tanh, backward tanh' + s) matches "
        "GAAF's test accuracy within seed noise: {numbers}. GAAF's forward sawtooth is "
        "not needed for its accuracy, as far as these seeds resolve.",
        NOT_SUPPORTED: "The surrogate (forward exactly tanh, backward tanh' + s) does "
        "not match GAAF's test accuracy: {numbers}. The forward sawtooth changes the "
        "result.",
        NOT_TESTED: "Not enough runs: {numbers}.",
    }
    return _finding(
        "GAAF is a surrogate gradient",
        effect,
        matches_within_noise(effect),
        "gaaf",
        says,
    )


def shape_finding(groups: Groups) -> Finding:
    """(b) The shape matters: GAAF without its shape (``s = 1``) against GAAF, judged
    by :func:`gaaf.verdicts.judge` with direction down."""
    effect = _effect(groups, "gaaf, no shape", "gaaf", -1)
    says = {
        SUPPORTED: "Without its shape (s = 1: every slope raised by 1) GAAF is less "
        "accurate: {numbers}.",
        PARTLY: "Without its shape GAAF's mean accuracy is lower, but not beyond seed "
        "noise: {numbers}.",
        NOT_SUPPORTED: "Without its shape GAAF is not less accurate: {numbers}.",
        NOT_TESTED: "Not enough runs: {numbers}.",
    }
    return _finding("The shape matters", effect, effect.word, "gaaf", says)


def step_finding(groups: Groups) -> Finding:
    """(c) Not just a larger step: GAAF against the base network at twice the learning
    rate, judged by :func:`gaaf.verdicts.judge` with direction up."""
    effect = _effect(groups, "gaaf", "base, lr x2", +1)
    says = {
        SUPPORTED: "GAAF is more accurate than the base network at twice the learning "
        "rate: {numbers}. A larger step alone does not give GAAF's accuracy.",
        PARTLY: "GAAF's mean accuracy is above the base network's at twice the "
        "learning rate, but not beyond seed noise: {numbers}.",
        NOT_SUPPORTED: "The base network at twice the learning rate is as accurate as "
        "GAAF: {numbers}. A larger step may be all GAAF's accuracy needs.",
        NOT_TESTED: "Not enough runs: {numbers}.",
    }
    return _finding("Not just a larger step", effect, effect.word, "base, lr x2", says)


def findings(groups: Groups) -> tuple[Finding, Finding, Finding]:
    """The three mechanism questions, (a) to (c), on the mechanism plan's groups."""
    return surrogate_finding(groups), shape_finding(groups), step_finding(groups)
