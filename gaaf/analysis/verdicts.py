"""The verdict rule, written once: how one comparison over seeds is judged against
the paper, how a family of comparisons is corrected, and how a claim's comparisons
combine into its word.

**One comparison** ``mean(a) - mean(b)`` over seeds is *resolved* when Welch's
two-sided p, Holm-adjusted within its family (:func:`family`), is below 0.05. Its word
(:func:`judge`) against the paper's effect in the same comparison:

* *supported*: resolved, in the paper's direction, and at least half the paper's size
  (where the paper gives a size; a ratio is compared as ``ratio - 1``);
* *smaller than claimed*: resolved in the paper's direction, under half its size;
* *unresolved*: not resolved; the comparison says the smallest difference its seeds
  could resolve (:class:`gaaf.analysis.stats.Test`);
* *contradicted*: resolved against the paper's direction;
* *equivalent within ±m*: for a claim that one model *reaches* or *matches* another,
  by two one-sided tests (:func:`gaaf.analysis.stats.equivalent`) with the margin ``m`` stated
  once (:data:`EQUIVALENCE_MARGIN`, in test-accuracy points); a reaching claim that is
  not equivalent is *supported* if ``a`` is resolved above ``b``, *contradicted* if
  resolved below, else *unresolved*;
* *not tested*: either side has fewer than 2 records.

**A claim** (:func:`verdict`) takes the weakest word of its judged comparisons, in the
order contradicted, unresolved, smaller than claimed, equivalent, supported, and names
the comparison that decided it (the first with that word). Comparisons the paper did
not make (GAAF's effect on correlations, for instance) are reported with their numbers,
marked *not in the paper*; they enter the family's correction (they were looked at),
not the verdict.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import NamedTuple

from gaaf.analysis.stats import (
    Interval,
    Test,
    equivalent,
    holm,
    paired,
    ratio_of_means,
    welch,
    welch_test,
)

__all__ = [
    "CONTRADICTED",
    "EQUIVALENCE_MARGIN",
    "EQUIVALENT",
    "LEVEL",
    "NOT_IN_PAPER",
    "NOT_TESTED",
    "SMALLER",
    "SUPPORTED",
    "UNRESOLVED",
    "WORDS",
    "Effect",
    "Verdict",
    "combine",
    "compare",
    "compare_paired",
    "family",
    "judge",
    "verdict",
]

SUPPORTED = "supported"
SMALLER = "smaller than claimed"
UNRESOLVED = "unresolved"
CONTRADICTED = "contradicted"
EQUIVALENCE_MARGIN = 0.1
"""How close two models must be to count as equivalent, in test-accuracy points (two
one-sided tests: the 90% interval of their difference lies within ±0.1 points)."""
EQUIVALENT = f"equivalent within ±{EQUIVALENCE_MARGIN:g} points"
NOT_TESTED = "not tested"
NOT_IN_PAPER = "not in the paper"
"""The word of a comparison the paper did not make; it does not enter a verdict."""

WORDS = {
    SUPPORTED: "resolved, in the paper's direction, and at least half the paper's size",
    SMALLER: "resolved in the paper's direction, but under half the paper's size",
    EQUIVALENT: "for a claim that one model reaches or matches another: the 90% "
    f"interval of the difference lies within ±{EQUIVALENCE_MARGIN:g} points "
    "(two one-sided tests)",
    UNRESOLVED: "the difference is not resolved (its Holm-adjusted p is 0.05 or "
    "more): the seeds cannot tell it from 0; we give the smallest difference they "
    "could resolve",
    CONTRADICTED: "resolved against the paper's direction",
    NOT_TESTED: "fewer than 2 runs on a side",
}
"""Each verdict word and what it means, weakest last but one; the introduction shows
them."""

LEVEL = 0.05
"""A comparison is resolved when its Holm-adjusted p is below this."""

_STRENGTH = (CONTRADICTED, UNRESOLVED, SMALLER, EQUIVALENT, SUPPORTED)


def judge(
    resolved: bool | None,
    size: float,
    paper_size: float | None,
    direction: int,
    *,
    reaches: bool = False,
    within: bool | None = None,
) -> str:
    """The verdict rule (see the module docstring) for one comparison: whether it is
    ``resolved`` (None: fewer than 2 seeds on a side), our effect ``size`` (a
    difference, or ``ratio - 1``) and the paper's ``paper_size`` (None: the paper gives
    only a direction), and the paper's ``direction`` (+1 or -1). ``reaches``: the claim
    is that ``a`` reaches ``b``, decided first by the equivalence test (``within``)."""
    if resolved is None:
        return NOT_TESTED
    if reaches and within:
        return EQUIVALENT
    if not resolved:
        return UNRESOLVED
    if direction * size <= 0:
        return CONTRADICTED
    if not reaches and paper_size is not None and abs(size) < 0.5 * abs(paper_size):
        return SMALLER
    return SUPPORTED


class Effect(NamedTuple):
    """One comparison ``a - b`` over seeds, with the paper's and the verdict word."""

    what: str
    """What is compared, e.g. ``"test accuracy (points), GAAF - dropout"``."""
    a: str
    """The display name of side ``a``."""
    n: tuple[int, int]
    """Records (seeds) on each side."""
    diff: float | None
    """``mean(a) - mean(b)`` (None: a side has no record)."""
    ratio: float | None
    """``mean(a) / mean(b)``."""
    interval: Interval | None
    """The 95% Welch interval of ``diff`` (None: a side has fewer than 2 records)."""
    test: Test | None
    """Welch's p, the smallest resolvable difference and the rank test's p."""
    paper: float | None
    """The paper's effect, a difference (or with ``relative`` a ratio)."""
    relative: bool
    """Sizes are compared as ``ratio - 1`` (our ``ratio`` against ``paper``)."""
    word: str
    direction: int | None = None
    """The paper's direction (+1, -1); None for a comparison the paper did not make."""
    reaches: bool = False
    """The paper claims that ``a`` reaches (or matches) ``b``."""
    within: bool | None = None
    """The equivalence test's answer (``reaches`` only)."""
    p_adjusted: float | None = None
    """``test.p`` after Holm's adjustment within the comparison's family."""

    @property
    def size(self) -> float:
        if self.relative:
            return 0.0 if self.ratio is None else self.ratio - 1
        return self.diff or 0.0

    @property
    def paper_size(self) -> float | None:
        if self.paper is None or self.reaches:
            return None
        return self.paper - 1 if self.relative else self.paper

    @property
    def judged(self) -> bool:
        return self.direction is not None


def compare(
    what: str,
    a: tuple[str, Sequence[float]],
    b: Sequence[float],
    paper_effect: float | None = None,
    *,
    direction: int | None = None,
    relative: bool = False,
    reaches: bool = False,
    margin: float = EQUIVALENCE_MARGIN,
) -> Effect:
    """The :class:`Effect` of ``a = (display name, values)`` against the values ``b``,
    against ``paper_effect`` (its sign is the paper's direction; for ``reaches``, the
    paper's own small difference, shown but not judged) or, where the paper gives none,
    ``direction`` alone; with neither, the comparison is not the paper's
    (:data:`NOT_IN_PAPER`). Judged alone (a family of one) until :func:`family`
    corrects it with the others of its claim or chapter."""
    name, va = a
    diff = statistics.fmean(va) - statistics.fmean(b) if va and b else None
    if reaches:
        sign: int | None = +1
    elif direction is not None:
        sign = direction
    elif paper_effect is not None:
        theirs = paper_effect - 1 if relative else paper_effect
        sign = 1 if theirs > 0 else -1
    else:
        sign = None
    effect = Effect(
        what,
        name,
        (len(va), len(b)),
        diff,
        ratio_of_means(va, b),
        welch(va, b) if va and b else None,
        welch_test(va, b) if va and b else None,
        paper_effect,
        relative,
        NOT_IN_PAPER,
        sign,
        reaches,
        equivalent(va, b, margin) if reaches and va and b else None,
    )
    return family([effect])[0]


def compare_paired(
    what: str,
    a: tuple[str, Sequence[float]],
    b: Sequence[float],
    direction: int | None,
) -> Effect:
    """Like :func:`compare`, for ``a[i]`` and ``b[i]`` measured on the same network
    ``i``: the interval and test are of the mean paired difference
    (:func:`gaaf.analysis.stats.paired`); the paper gives no size, at most a ``direction``."""
    name, va = a
    found = paired(va, b) if va and b else None
    effect = Effect(
        what,
        name,
        (len(va), len(b)),
        statistics.fmean(va) - statistics.fmean(b) if va and b else None,
        ratio_of_means(va, b),
        found[0] if found else None,
        found[1] if found else None,
        None,
        True,
        NOT_IN_PAPER,
        direction,
    )
    return family([effect])[0]


def family(effects: Sequence[Effect]) -> list[Effect]:
    """``effects`` judged as one family: Holm's adjustment over the p of every
    comparison that has one (those not in the paper too: they were looked at), then
    each judged one's word by :func:`judge`."""
    tested = [i for i, e in enumerate(effects) if e.test is not None]
    adjusted = dict(zip(tested, holm([effects[i].test.p for i in tested]), strict=True))
    out = []
    for i, e in enumerate(effects):
        p = adjusted.get(i)
        if not e.judged:
            out.append(e._replace(p_adjusted=p, word=NOT_IN_PAPER))
            continue
        resolved = None if p is None else p < LEVEL
        word = judge(
            resolved,
            e.size,
            e.paper_size,
            e.direction or 1,
            reaches=e.reaches,
            within=e.within,
        )
        out.append(e._replace(p_adjusted=p, word=word))
    return out


def combine(effects: Sequence[Effect]) -> tuple[str, Effect | None]:
    """A claim's word from its comparisons' (see the module docstring), and the
    comparison that decided it (None when nothing was tested)."""
    judged = [e for e in effects if e.word not in (NOT_IN_PAPER, NOT_TESTED)]
    if not judged:
        return NOT_TESTED, None
    weakest = min(judged, key=lambda e: _STRENGTH.index(e.word))
    return weakest.word, weakest


class Verdict(NamedTuple):
    """A claim's verdict, as facts: its ``word``, the comparisons (``numbers``) with the
    one that decided it, and further measured statements (``details``: typed facts such
    as :class:`gaaf.analysis.claims.SensitivityRatios`, e.g. one-seed sensitivity runs,
    which no interval can judge). The book words them
    (:func:`gaaf.book.wording.markdown`)."""

    claim: str
    word: str
    numbers: tuple[Effect, ...]
    details: tuple[object, ...] = ()
    decided_by: Effect | None = None

    @property
    def tested(self) -> tuple[int, int]:
        """How many of the claim's judged comparisons were tested, of how many."""
        counted = [e for e in self.numbers if e.judged]
        return sum(e.word != NOT_TESTED for e in counted), len(counted)


def verdict(
    claim: str, effects: Sequence[Effect], details: Sequence[object] = ()
) -> Verdict:
    """``claim``'s verdict from its comparisons, corrected as one family."""
    judged = family(effects)
    word, decider = combine(judged)
    return Verdict(claim, word, tuple(judged), tuple(details), decider)
