"""The verdict rule, written once: how one comparison over seeds is judged against
the paper, and how a claim's comparisons combine.

**The verdict rule** (:func:`judge`), for one comparison ``mean(a) - mean(b)`` over seeds
against the paper's effect in the same comparison:

* *not tested*: either side has fewer than 2 records (no spread to judge by);
* *supported*: the 95% Welch interval excludes 0 on the paper's side, and the effect is
  at least half the paper's (where the paper gives a size; a ratio effect is compared
  as ``ratio - 1``);
* *partly supported*: only the direction holds, either resolved (the interval excludes
  0 on the paper's side but the effect is under half the paper's) or not (the mean
  difference lies on the paper's side but the interval contains 0);
* *not supported*: the interval excludes 0 against the paper, or it contains 0 with the
  mean difference on the other side from the paper's (the paper's direction is not
  found).

The rule judges a direction and a lower bound on size: an effect larger than the
paper's, in its direction, is *supported*. Where the paper claims that one model
*reaches* another (GAAF reaches dropout's accuracy), its own small difference (GAAF 0.05
points below dropout) is the shortfall it calls reaching, not an effect to reproduce: a
larger shortfall is no agreement. Such a comparison is judged by the same rule on
``mean(a) - mean(b) + |paper's difference|``, direction up, no size: *supported* when
our interval lies above the paper's shortfall, *partly supported* when our mean does but
the interval reaches below it, *not supported* when our mean falls further below.

A claim is as strong as its comparisons (:func:`combine`): *supported* when every tested
comparison is, *not supported* when every tested one is not, *not tested* when none is
tested, else *partly supported*; the sentence says how many were tested. Comparisons
the paper did not make (GAAF's effect on correlations, for instance) are reported with
their numbers, marked *not in the paper*, and do not enter the verdict.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import NamedTuple

from gaaf.runs import NOT_RUN
from gaaf.stats import Interval, SeedPairs, ratio_of_means, seed_pairs, welch
from gaaf.tables import signed

__all__ = [
    "NOT_IN_PAPER",
    "NOT_SUPPORTED",
    "NOT_TESTED",
    "PARTLY",
    "SUPPORTED",
    "Effect",
    "Verdict",
    "combine",
    "compare",
    "judge",
    "line",
    "verdict",
]

SUPPORTED = "supported"
PARTLY = "partly supported"
NOT_SUPPORTED = "not supported"
NOT_TESTED = "not tested"
NOT_IN_PAPER = "not in the paper"
"""The word of a comparison the paper did not make; it does not enter a verdict."""


def judge(
    interval: Interval | None, size: float, paper_size: float | None, direction: int
) -> str:
    """The verdict rule (see the module docstring) for one comparison: ``interval`` of
    the difference (None: fewer than 2 seeds on a side), our effect ``size`` and the
    paper's ``paper_size`` (None: the paper gives only a direction), on the same scale,
    and the paper's ``direction`` (+1 or -1)."""
    if interval is None:
        return NOT_TESTED
    if interval.excludes_zero():
        if direction * interval.low <= 0 and direction * interval.high <= 0:
            return NOT_SUPPORTED
        if paper_size is not None and abs(size) < 0.5 * abs(paper_size):
            return PARTLY
        return SUPPORTED
    return PARTLY if direction * interval.diff > 0 else NOT_SUPPORTED


class Effect(NamedTuple):
    """One comparison ``a - b`` over seeds, with the paper's and the verdict word."""

    what: str
    """What is compared, e.g. ``"test accuracy (points), GAAF - dropout"``."""
    a: str
    """The display name of side ``a`` (for "GAAF higher in ... seed pairs")."""
    n: tuple[int, int]
    """Records (seeds) on each side."""
    diff: float | None
    """``mean(a) - mean(b)`` (None: a side has no record)."""
    ratio: float | None
    """``mean(a) / mean(b)``."""
    interval: Interval | None
    """The 95% Welch interval of ``diff`` (None: a side has fewer than 2 records)."""
    pairs: SeedPairs | None
    paper: float | None
    """The paper's effect, a difference (or with ``relative`` a ratio)."""
    relative: bool
    """Sizes are compared as ``ratio - 1`` (our ``ratio`` against ``paper``)."""
    word: str
    reaches: bool = False
    """The paper claims that ``a`` reaches ``b``, ``paper`` being the shortfall it calls
    reaching."""


def compare(
    what: str,
    a: tuple[str, Sequence[float]],
    b: Sequence[float],
    paper_effect: float | None = None,
    *,
    direction: int | None = None,
    relative: bool = False,
    reaches: bool = False,
) -> Effect:
    """The :class:`Effect` of ``a = (display name, values)`` against the values ``b``,
    judged by :func:`judge` against ``paper_effect`` (its sign is the paper's direction)
    or, where the paper gives none, ``direction`` alone; with neither, the comparison
    is not the paper's (:data:`NOT_IN_PAPER`). ``reaches``: the paper claims that ``a``
    reaches ``b``, with ``paper_effect`` the shortfall it calls reaching (see the
    module docstring)."""
    name, va = a
    diff = statistics.fmean(va) - statistics.fmean(b) if va and b else None
    ratio = ratio_of_means(va, b)
    interval = welch(va, b) if va and b else None
    pairs = seed_pairs(va, b) if va and b else None
    if relative:  # sizes as ratio - 1
        size = 0.0 if ratio is None else ratio - 1
        theirs = None if paper_effect is None else paper_effect - 1
    else:
        size, theirs = diff or 0.0, paper_effect
    if reaches:  # not further below than the paper's own shortfall
        slack = abs(paper_effect or 0.0)
        shifted = (
            None
            if interval is None
            else interval._replace(
                diff=interval.diff + slack,
                low=interval.low + slack,
                high=interval.high + slack,
            )
        )
        word = judge(shifted, size + slack, None, +1)
    elif theirs is None and direction is None:
        word = NOT_IN_PAPER
    else:
        sign = direction if direction is not None else (1 if (theirs or 0) > 0 else -1)
        word = judge(interval, size, theirs, sign)
    return Effect(
        what,
        name,
        (len(va), len(b)),
        diff,
        ratio,
        interval,
        pairs,
        paper_effect,
        relative,
        word,
        reaches,
    )


def _paper_text(e: Effect) -> str:
    if e.paper is None:
        return ""
    if e.reaches:
        where = "not below it"
        if e.interval is not None and e.interval.high < e.paper:
            where = "our interval lies below it"
        elif e.diff is not None and e.diff < e.paper:
            where = "our mean lies below it"
        return f"; the paper: {signed(e.paper)}, which it calls reaching ({where})"
    return (
        f"; the paper: x{e.paper:.2f}"
        if e.relative
        else f"; the paper: {signed(e.paper)}"
    )


def line(e: Effect) -> str:
    """One Markdown bullet: the numbers of ``e`` and its word."""
    if e.diff is None:
        return f"- {e.what}: {NOT_RUN}."
    text = f"- {e.what}: {signed(e.diff)}"
    if e.relative and e.ratio is not None:
        text += f" (x{e.ratio:.2f})"
    seeds = f"{e.n[0]} vs {e.n[1]} seeds"
    if e.interval is None:
        text += f" ({seeds}: an interval needs at least 2 per side)"
    else:
        i = e.interval
        resolved = "excludes 0" if i.excludes_zero() else "contains 0 (not resolved)"
        text += (
            f", 95% interval [{signed(i.low)}, {signed(i.high)}] {resolved} "
            f"({seeds}; {e.a} {e.pairs})"
        )
    return text + _paper_text(e) + f": *{e.word}*."


def combine(effects: Sequence[Effect]) -> str:
    """A claim's word from its comparisons' (see the module docstring)."""
    words = [e.word for e in effects if e.word not in (NOT_IN_PAPER, NOT_TESTED)]
    if not words:
        return NOT_TESTED
    if all(w == SUPPORTED for w in words):
        return SUPPORTED
    if all(w == NOT_SUPPORTED for w in words):
        return NOT_SUPPORTED
    return PARTLY


class Verdict(NamedTuple):
    """A claim's verdict: its ``word``, a ``sentence`` that states it with the counts it
    rests on, the comparisons (``numbers``) and further measured statements
    (``details``, e.g. one-seed sensitivity runs, which no interval can judge)."""

    claim: str
    word: str
    sentence: str
    numbers: tuple[Effect, ...]
    details: tuple[str, ...] = ()

    def markdown(self) -> str:
        """The sentence, then one bullet per comparison and per detail."""
        return "\n".join([self.sentence, "", *map(line, self.numbers), *self.details])


def verdict(
    claim: str, effects: Sequence[Effect], details: Sequence[str] = ()
) -> Verdict:
    judged = [e for e in effects if e.word != NOT_IN_PAPER]
    tested = [e for e in judged if e.word != NOT_TESTED]
    word = combine(effects)
    counts = ", ".join(
        f"{sum(e.word == w for e in tested)} {w}"
        for w in (SUPPORTED, PARTLY, NOT_SUPPORTED)
        if any(e.word == w for e in tested)
    )
    sentence = f"**{claim}: {word}.** {len(tested)} of {len(judged)} comparisons tested"
    sentence += f" ({counts})." if counts else "."
    return Verdict(claim, word, sentence, tuple(effects), tuple(details))
