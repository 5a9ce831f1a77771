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
from gaaf.tables import Table, mean_std, signed
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
    "REGIME_MEASURES",
    "REGIME_TITLES",
    "TARGET",
    "Finding",
    "difference_table",
    "findings",
    "first_at_target",
    "interval_cell",
    "matches_within_noise",
    "mechanism_table",
    "regime_finding",
    "regime_table",
    "shape_finding",
    "step_finding",
    "surrogate_finding",
    "verdict_text",
]

TARGET = SPEED_TARGET
"""The validation accuracy whose first epoch measures speed (the MNIST chapter's)."""

REFERENCES = ("gaaf", "base")
"""The groups every row of :func:`mechanism_table` is compared with."""


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
    """``"+0.12 [-0.05, +0.291]"``: mean test accuracy of ``a`` minus ``b`` in points,
    with its 95% Welch interval; the difference alone when a side has one seed, and
    :data:`~gaaf.runs.NOT_RUN` when a side has none."""
    va, vb = _accuracies(a), _accuracies(b)
    if not va or not vb:
        return NOT_RUN
    found = welch(va, vb)
    if found is None:
        diff = summarize(va).mean - summarize(vb).mean
        return f"{signed(diff)} (no interval: 1 seed)"
    return f"{signed(found.diff)} [{signed(found.low)}, {signed(found.high)}]"


def _seeds_cell(
    name: str, records: Sequence[Record], planned: dict[str, int] | None
) -> str:
    if planned is None or name not in planned:
        return str(len(records))
    return f"{len(records)} of {planned[name]}"


def mechanism_table(
    groups: Groups, planned: dict[str, int] | None = None, target: float = TARGET
) -> Table:
    """Per group: seeds found (of ``planned``), test accuracy (%) mean (std), best
    epoch mean (std), and the first epoch at ``target`` validation accuracy (over the
    runs that reached it, and how many did)."""
    headers = ["group", "seeds", "test acc. (%)", "best epoch"]
    headers += [f"first epoch at {100 * target:g}%"]
    rows = [
        [
            display(name),
            _seeds_cell(name, records, planned),
            mean_std(_accuracies(records), 2),
            mean_std(values(records, "best_epoch"), 1),
            _first_cell(records, target),
        ]
        for name, records in groups.items()
    ]
    return headers, rows


def difference_table(groups: Groups, references: Sequence[str] = REFERENCES) -> Table:
    """Per group: its test accuracy minus each of ``references``' in points, with the
    95% Welch interval (:func:`interval_cell`); empty against itself."""
    headers = ["group", *(f"- {display(r)} (points, 95% interval)" for r in references)]
    rows = [
        [
            display(name),
            *(
                "" if r == name else interval_cell(records, groups.get(r, []))
                for r in references
            ),
        ]
        for name, records in groups.items()
    ]
    return headers, rows


def _paper_cell(variant: str, metric: str) -> str:
    reported = paper.MNIST[variant][metric]
    mean = f"{reported.mean:.2f}" if metric == "test_acc" else f"{reported.mean:g}"
    return f"{mean} ({reported.std:g})"


REGIME_MEASURES = ("test_acc", "best_epoch", "first")
"""What :func:`regime_table` shows: test accuracy (%), best epoch, or the first epoch
at the target validation accuracy."""


REGIME_TITLES = {
    "test_acc": "Test accuracy (%)",
    "best_epoch": "Epochs to converge (best epoch)",
    "first": f"First epoch at {100 * TARGET:g}% validation accuracy",
}
"""A heading for each of :data:`REGIME_MEASURES`."""


def _capped(records: Sequence[Record]) -> int:
    """Runs that ended at their epoch cap, not by early stopping."""
    return sum(not r.get("stopped_early", True) for r in records)


def _regime_cell(
    records: Sequence[Record], planned: int | None, measure: str, target: float
) -> str:
    if not records:
        return NOT_RUN if planned is None else f"{NOT_RUN} (0 of {planned} runs)"
    if measure == "first":
        return _first_cell(records, target)
    if measure == "test_acc":
        cell = mean_std(_accuracies(records), 2)
    else:
        cell = mean_std(values(records, "best_epoch"), 1)
        capped = _capped(records)
        cell += f", {capped} ran to the epoch cap" if capped else ""
    if planned is not None and len(records) < planned:
        cell += f", {len(records)} of {planned} runs"
    return cell


def regime_table(
    groups: Groups,
    planned: dict[str, int] | None = None,
    measure: str = "test_acc",
    target: float = TARGET,
) -> Table:
    """One ``measure`` of :data:`REGIME_MEASURES` for the MNIST table in both optimizer
    regimes, side by side with the paper's: per model (rows), the paper's value (where
    it reports one) and ours at each momentum of :data:`~gaaf.plans.REGIME_MOMENTA`
    (groups ``"momentum 0.9: base"`` ...), mean (std) over seeds; a cell says how many runs of those
    ``planned`` it rests on when some are missing, and how many best epochs are the
    epoch cap (a lower bound)."""
    if measure not in REGIME_MEASURES:
        raise ValueError(f"measure must be one of {REGIME_MEASURES}, got {measure!r}")
    theirs = {"test_acc": "test_acc", "best_epoch": "best_epoch"}.get(measure)
    headers = ["model", *(["paper"] if theirs else [])]
    headers += [f"momentum {m:g}" for m in REGIME_MOMENTA]
    rows = []
    for v in MNIST_VARIANTS:
        row = [display(v), *([_paper_cell(v, theirs)] if theirs else [])]
        for m in REGIME_MOMENTA:
            name = f"momentum {m:g}: {v}"
            found = groups.get(name, [])
            n = None if planned is None else planned.get(name)
            row.append(_regime_cell(found, n, measure, target))
        rows.append(row)
    return headers, rows


def _order(means: dict[str, float], ascending: bool) -> str:
    ranked = sorted(means, key=means.__getitem__, reverse=not ascending)
    return (" < " if ascending else " > ").join(display(v) for v in ranked)


def regime_finding(groups: Groups, planned: dict[str, int] | None = None) -> str:
    """Which optimizer regime reproduces the paper's orderings: per momentum, the
    models ordered by mean best epoch and by mean test accuracy, each against the
    paper's order, with the runs each rests on and the runs that hit the epoch cap."""
    papers = {
        metric: {v: paper.MNIST[v][metric].mean for v in MNIST_VARIANTS}
        for metric in ("best_epoch", "test_acc")
    }
    lines = [
        f"The paper: epochs {_order(papers['best_epoch'], True)}; test accuracy "
        f"{_order(papers['test_acc'], False)}."
    ]
    for m in REGIME_MOMENTA:
        found = {v: groups.get(f"momentum {m:g}: {v}", []) for v in MNIST_VARIANTS}
        runs = sum(map(len, found.values()))
        total = sum(
            (planned or {}).get(f"momentum {m:g}: {v}", len(found[v])) for v in found
        )
        if not all(found.values()):
            lines.append(
                f"Momentum {m:g}: {runs} of {total} runs, not every model run."
            )
            continue
        parts = []
        for metric, ascending, what in (
            ("best_epoch", True, "epochs"),
            ("test_acc", False, "test accuracy"),
        ):
            means = {v: summarize(values(rs, metric)).mean for v, rs in found.items()}
            same = _order(means, ascending) == _order(papers[metric], ascending)
            whose = "the paper's order" if same else "not the paper's order"
            parts.append(f"{what} {_order(means, ascending)} ({whose})")
        capped = sum(_capped(rs) for rs in found.values())
        lines.append(
            f"Momentum {m:g} ({runs} of {total} runs, {capped} ran to the epoch cap): "
            + "; ".join(parts)
            + "."
        )
    return " ".join(lines)


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
        f"test accuracy (points), {display(a)} - {display(b)}",
        (display(a), _accuracies(groups.get(a, []))),
        _accuracies(groups.get(b, [])),
        direction=direction,
    )


def _numbers(e: Effect, b: str) -> str:
    """The comparison in words: difference, interval, whether it contains 0, seeds."""
    seeds = f"{e.n[0]} vs {e.n[1]} seeds"
    if e.interval is None:
        return (
            f"{e.a} has {e.n[0]} and {display(b)} {e.n[1]} records; an interval needs "
            "at least 2 per side"
        )
    i = e.interval
    where = "excludes 0" if i.excludes_zero() else "contains 0"
    return (
        f"{e.a} - {display(b)} = {signed(i.diff)} points, 95% interval "
        f"[{signed(i.low)}, {signed(i.high)}], which {where} ({seeds})"
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


def verdict_text(
    groups: Groups, regimes: Groups, planned: dict[str, int] | None = None
) -> str:
    """The chapter's verdict in Markdown: the three findings (word and numbers), then
    the optimizer regimes (:func:`regime_finding`; ``planned``: the regimes' plan)."""
    lines = [f"- **{f.question}: {f.word}.** {f.evidence}." for f in findings(groups)]
    lines.append(f"- **The optimizer regimes.** {regime_finding(regimes, planned)}")
    return "\n".join(lines)
