"""The mechanism study: its tables and verdicts.

What makes GAAF work, asked with runs the paper did not make
(:func:`gaaf.experiments.plans.mechanism_plan`): the surrogate gradient (forward exactly tanh,
backward ``tanh' + s``), GAAF without its shape (``s = 1``), the bump's width and
height, and the base network at twice the learning rate; and the MNIST table in both
optimizer regimes (:func:`gaaf.experiments.plans.mnist_regimes`).

Each question compares test accuracy (points) over seeds, and all of them are one
family (:data:`QUESTIONS`), judged by the rule of :mod:`gaaf.analysis.verdicts` after Holm's
correction: "matches" questions (the surrogate, per-layer learning rates) by the
equivalence test, the others by their direction; the bump's width and height are
reported, in the family, without a claim to judge.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from gaaf.analysis import paper
from gaaf.analysis.measures import SPEED_TARGET, epochs_reached
from gaaf.analysis.stats import Groups, Record, summarize, values, welch
from gaaf.analysis.verdicts import (
    CONTRADICTED,
    EQUIVALENT,
    LEVEL,
    NOT_IN_PAPER,
    NOT_TESTED,
    SMALLER,
    SUPPORTED,
    UNRESOLVED,
    Effect,
    compare,
    family,
)
from gaaf.book.formatting import interval
from gaaf.book.tables import Table, mean_std, signed
from gaaf.book.wording import line
from gaaf.experiments.labels import GroupKey, display
from gaaf.experiments.plans import MNIST_VARIANTS, MOMENTUM0_LRS, REGIME_MOMENTA
from gaaf.experiments.runs import NOT_RUN, Runs
from gaaf.experiments.selection import censored

__all__ = [
    "QUESTIONS",
    "REFERENCES",
    "REGIMES",
    "REGIME_MEASURES",
    "REGIME_TITLES",
    "TARGET",
    "Finding",
    "Question",
    "difference_table",
    "findings",
    "interval_cell",
    "mechanism_table",
    "regime_finding",
    "regime_table",
    "still_missing",
    "verdict_text",
]

TARGET = SPEED_TARGET
"""The validation accuracy whose first epoch measures speed (the MNIST chapter's)."""

REFERENCES = ("gaaf", "base")
"""The groups every row of :func:`mechanism_table` is compared with."""


def _accuracies(records: Sequence[Record]) -> list[float]:
    return values(records, "test_acc", 100)


def _first_cell(records: Sequence[Record], target: float) -> str:
    if not records:
        return NOT_RUN
    reached = epochs_reached(records, target)
    shown = mean_std(reached, 1) if reached else "never"
    return f"{shown}, {len(reached)} of {len(records)} runs"


def interval_cell(a: Sequence[Record], b: Sequence[Record]) -> str:
    """``"+0.12 [-0.05, +0.291]"``: mean test accuracy of ``a`` minus ``b`` in points,
    with its 95% Welch interval; the difference alone when a side has one seed, and
    :data:`~gaaf.experiments.runs.NOT_RUN` when a side has none."""
    va, vb = _accuracies(a), _accuracies(b)
    if not va or not vb:
        return NOT_RUN
    found = welch(va, vb)
    if found is None:
        diff = summarize(va).mean - summarize(vb).mean
        return f"{signed(diff)} (no interval: 1 seed)"
    return f"{signed(found.diff)} {interval(found.low, found.high)}"


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


REGIMES: dict[str, str] = {
    **{
        f"momentum {m:g}" + ("" if m else ", lr 0.01"): f"momentum {m:g}"
        for m in REGIME_MOMENTA
    },
    **{f"momentum 0, lr {lr:g}": f"momentum 0, lr {lr:g}" for lr in MOMENTUM0_LRS},
}
"""The optimizer regimes of :func:`gaaf.experiments.plans.mnist_regimes`: column title -> the
setting of its groups (:class:`~gaaf.experiments.labels.GroupKey`, ``"momentum 0, lr
0.05"``)."""

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
    it reports one) and ours at each momentum of :data:`~gaaf.experiments.plans.REGIME_MOMENTA`
    (groups ``"momentum 0.9: base"`` ...), mean (std) over seeds; a cell says how many runs of those
    ``planned`` it rests on when some are missing, and how many best epochs are the
    epoch cap (a lower bound)."""
    if measure not in REGIME_MEASURES:
        raise ValueError(f"measure must be one of {REGIME_MEASURES}, got {measure!r}")
    theirs = {"test_acc": "test_acc", "best_epoch": "best_epoch"}.get(measure)
    headers = ["model", *(["paper"] if theirs else [])]
    headers += list(REGIMES)
    rows = []
    for v in MNIST_VARIANTS:
        row = [display(v), *([_paper_cell(v, theirs)] if theirs else [])]
        for prefix in REGIMES.values():
            name = GroupKey(v, prefix)
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
    for title, prefix in REGIMES.items():
        found = {v: groups.get(GroupKey(v, prefix), []) for v in MNIST_VARIANTS}
        runs = sum(map(len, found.values()))
        total = sum(
            (planned or {}).get(GroupKey(v, prefix), len(found[v])) for v in found
        )
        capped = sum(sum(map(censored, rs)) for rs in found.values())
        kept = {v: [r for r in rs if not censored(r)] for v, rs in found.items()}
        if not all(found.values()):
            lines.append(
                f"{title.capitalize()}: {runs} of {total} runs, not every model run."
            )
            continue
        if not all(kept.values()):
            lines.append(
                f"{title.capitalize()} ({runs} of {total} runs): {capped} stopped by the "
                "epoch cap while still improving, so their epochs and accuracies are "
                "lower bounds (censored); no ordering is drawn from them."
            )
            continue
        parts = []
        for metric, ascending, what in (
            ("best_epoch", True, "epochs"),
            ("test_acc", False, "test accuracy"),
        ):
            means = {v: summarize(values(rs, metric)).mean for v, rs in kept.items()}
            same = _order(means, ascending) == _order(papers[metric], ascending)
            whose = "the paper's order" if same else "not the paper's order"
            parts.append(f"{what} {_order(means, ascending)} ({whose})")
        left = f", {capped} censored runs left out" if capped else ""
        lines.append(
            f"{title.capitalize()} ({runs} of {total} runs{left}): "
            + "; ".join(parts)
            + "."
        )
    return " ".join(lines)


# ---------------------------------------------------------------------- the findings


class Question(NamedTuple):
    """One mechanism question: ``a`` against ``b`` in test accuracy, and how it is
    judged: ``"matches"`` (an equivalence test: ``a`` matches ``b`` within the margin of
    :data:`gaaf.analysis.verdicts.EQUIVALENCE_MARGIN`), a direction (+1: ``a`` above ``b``), or
    None (reported, in the family, not judged). ``says``: a sentence per outcome."""

    question: str
    a: str
    b: str
    kind: str | int | None
    says: dict[str, str]


_NOT_TESTED = "Not enough runs: {numbers}."

QUESTIONS = (
    Question(
        "GAAF is a surrogate gradient",
        "surrogate",
        "gaaf",
        "matches",
        {
            EQUIVALENT: "The surrogate (forward exactly tanh, backward tanh' + s) "
            "matches GAAF's test accuracy: {numbers}. GAAF's forward sawtooth is not "
            "needed for its accuracy.",
            UNRESOLVED: "The seeds can neither show that the surrogate (forward exactly "
            "tanh, backward tanh' + s) matches GAAF nor that it differs: {numbers}.",
            SUPPORTED: "The surrogate is more accurate than GAAF: {numbers}.",
            CONTRADICTED: "The surrogate is less accurate than GAAF: {numbers}. The "
            "forward sawtooth changes the result.",
        },
    ),
    Question(
        "GAAF is a per-layer learning rate",
        "base, GAAF's layer rates",
        "gaaf",
        "matches",
        {
            EQUIVALENT: "The base network with each layer's learning rate raised by "
            "GAAF's measured gradient gain matches GAAF's test accuracy: {numbers}. "
            "GAAF's accuracy needs nothing but those larger steps.",
            UNRESOLVED: "The seeds can neither show that per-layer learning rates "
            "matched to GAAF's gains match GAAF nor that they differ: {numbers}.",
            SUPPORTED: "The base network with GAAF's per-layer learning rates is more "
            "accurate than GAAF: {numbers}.",
            CONTRADICTED: "The base network with GAAF's per-layer learning rates is "
            "less accurate than GAAF: {numbers}. Larger steps alone do not give "
            "GAAF's accuracy.",
        },
    ),
    Question(
        "The shape matters",
        "gaaf, no shape",
        "gaaf",
        -1,
        {
            SUPPORTED: "Without its shape (s = 1: every slope raised by 1) GAAF is less "
            "accurate: {numbers}.",
            SMALLER: "Without its shape GAAF is less accurate, by little: {numbers}.",
            UNRESOLVED: "Without its shape GAAF's accuracy cannot be told from GAAF's: "
            "{numbers}.",
            CONTRADICTED: "Without its shape GAAF is more accurate: {numbers}.",
        },
    ),
    Question(
        "Not just a larger step",
        "gaaf",
        "base, lr x2",
        +1,
        {
            SUPPORTED: "GAAF is more accurate than the base network at twice the "
            "learning rate: {numbers}. A larger step alone does not give GAAF's "
            "accuracy.",
            SMALLER: "GAAF is more accurate than the base network at twice the learning "
            "rate, by little: {numbers}.",
            UNRESOLVED: "GAAF's accuracy cannot be told from the base network's at "
            "twice the learning rate: {numbers}.",
            CONTRADICTED: "The base network at twice the learning rate is more accurate "
            "than GAAF: {numbers}.",
        },
    ),
    *(
        Question(f"The bump's {what}", name, "gaaf", None, {})
        for what, name in (
            ("width (c 1)", "gaaf, c 1"),
            ("width (c 10)", "gaaf, c 10"),
            ("height (0.5)", "gaaf, height 0.5"),
            ("height (2)", "gaaf, height 2"),
        )
    ),
)
"""The mechanism chapter's family of comparisons, corrected together (Holm)."""


class Finding(NamedTuple):
    """The answer to one mechanism question: its ``word`` (a verdict word of
    :mod:`gaaf.analysis.verdicts`), a ``sentence`` with the numbers it rests on, those numbers
    alone (``evidence``), and the comparison itself (``effect``: test accuracy in
    points, ``a - b``, corrected with the chapter's family)."""

    question: str
    word: str
    sentence: str
    effect: Effect
    evidence: str

    def markdown(self) -> str:
        """The sentence, then the comparison as one bullet."""
        return "\n".join([self.sentence, "", line(self.effect)])


def _effect(groups: Groups, q: Question) -> Effect:
    return compare(
        f"test accuracy (points), {display(q.a)} - {display(q.b)}",
        (display(q.a), _accuracies(groups.get(q.a, []))),
        _accuracies(groups.get(q.b, [])),
        direction=q.kind if isinstance(q.kind, int) else None,
        reaches=q.kind == "matches",
    )


def _numbers(e: Effect, b: str) -> str:
    """The comparison in words: difference, interval, adjusted p, seeds."""
    if e.interval is None or e.test is None:
        return (
            f"{e.a} has {e.n[0]} and {display(b)} {e.n[1]} records; an interval needs "
            "at least 2 per side"
        )
    i = e.interval
    adjusted = e.p_adjusted if e.p_adjusted is not None else e.test.p
    text = (
        f"{e.a} - {display(b)} = {signed(i.diff)} points, 95% interval "
        f"{interval(i.low, i.high)}, Holm-adjusted p = {adjusted:.2g} "
        f"({e.n[0]} vs {e.n[1]} seeds)"
    )
    if e.word in (UNRESOLVED, NOT_IN_PAPER) and adjusted >= LEVEL:
        text += f"; these seeds resolve differences of {e.test.resolvable:.2g} points or more"
    return text


def findings(groups: Groups) -> list[Finding]:
    """Every question of :data:`QUESTIONS`, judged as one family."""
    effects = family([_effect(groups, q) for q in QUESTIONS])
    out = []
    for q, e in zip(QUESTIONS, effects, strict=True):
        evidence = _numbers(e, q.b)
        says = q.says.get(e.word, _NOT_TESTED if e.word == NOT_TESTED else "{numbers}.")
        body = says.format(numbers=evidence)
        out.append(
            Finding(
                q.question, e.word, f"**{q.question}: {e.word}.** {body}", e, evidence
            )
        )
    return out


def verdict_text(
    groups: Groups, regimes: Groups, planned: dict[str, int] | None = None
) -> str:
    """The chapter's verdict in Markdown: the judged findings (word and numbers), then
    the optimizer regimes (:func:`regime_finding`; ``planned``: the regimes' plan)."""
    lines = [
        f"- **{f.question}: {f.word}.** {f.evidence}."
        for f in findings(groups)
        if f.word != NOT_IN_PAPER
    ]
    lines.append(f"- **The optimizer regimes.** {regime_finding(regimes, planned)}")
    return "\n".join(lines)


def still_missing(*sources: Runs) -> str:
    """Markdown: one bullet per group of ``sources`` with fewer records than planned
    (``"- GAAF: 2 of 3 runs"``, :meth:`gaaf.experiments.runs.Runs.incomplete`), or one sentence
    where every planned run has a record."""
    lines = [
        f"- {display(name)}: {found} of {planned} runs"
        for source in sources
        for name, (found, planned) in source.incomplete().items()
    ]
    return "\n".join(lines) or "Nothing: every planned run has a record."
