"""How the book words a verdict: the analysis returns facts
(:class:`~gaaf.analysis.verdicts.Effect`, :class:`~gaaf.analysis.verdicts.Verdict` and
the typed details of :mod:`gaaf.analysis.claims` and
:mod:`gaaf.analysis.matched_loss`); this module turns them into Markdown, one template
per kind of fact (:func:`detail`), in the book's one number style
(:mod:`gaaf.book.formatting`)."""

from __future__ import annotations

import functools

from gaaf.analysis.claims import (
    FLOW_NAMES,
    LayerTrend,
    PaperQuantity,
    Reached,
    SensitivityRatios,
    SensitivityRun,
    SlopeDecomposition,
)
from gaaf.analysis.matched_loss import RatiosAtLoss, RatiosOverWindow
from gaaf.analysis.verdicts import UNRESOLVED, Effect, Verdict
from gaaf.book.formatting import interval, number, signed
from gaaf.experiments.labels import display
from gaaf.experiments.runs import NOT_RUN

__all__ = [
    "detail",
    "line",
    "markdown",
    "p_value",
    "paper_quantity_sentence",
    "sentence",
    "tally",
]


def p_value(x: float) -> str:
    """A p-value as the book writes it: ``"p < 0.001"`` or ``"p = 0.047"``."""
    return "p < 0.001" if x < 0.001 else f"p = {x:.2g}"


def _paper_text(e: Effect) -> str:
    if e.paper is None:
        return ""
    if e.reaches:
        return f"; the paper: {signed(e.paper)}, which it calls reaching"
    return (
        f"; the paper: ×{e.paper:.2f}"
        if e.relative
        else f"; the paper: {signed(e.paper)}"
    )


def line(e: Effect) -> str:
    """One Markdown bullet: the numbers of the comparison ``e`` and its word."""
    if e.diff is None:
        return f"- {e.what}: {NOT_RUN}."
    text = f"- {e.what}: {signed(e.diff)}"
    if e.relative and e.ratio is not None:
        text += f" (×{e.ratio:.2f})"
    seeds = f"{e.n[0]} vs {e.n[1]} seeds"
    if e.interval is None or e.test is None:
        text += f" ({seeds}: an interval needs at least 2 per side)"
    else:
        i, t = e.interval, e.test
        adjusted = (
            f", Holm-adjusted {p_value(e.p_adjusted)}"
            if e.p_adjusted is not None and e.p_adjusted != t.p
            else ""
        )
        text += (
            f", 95% interval {interval(i.low, i.high)} ({seeds}; Welch "
            f"{p_value(t.p)}{adjusted}; exact test {p_value(t.rank_p)}"
        )
        if e.word == UNRESOLVED:
            text += f"; these seeds resolve differences of {number(t.resolvable, 2)} or more"
        text += ")"
    return text + _paper_text(e) + f": *{e.word}*."


def tally(v: Verdict) -> str:
    """The comparisons a verdict's word rests on, as in ``"2 of 3 comparisons tested;
    decided by ..."``."""
    tested, counted = v.tested
    text = f"{tested} of {counted} comparisons tested"
    if v.decided_by is not None and tested > 1:
        text += f"; decided by {v.decided_by.what} ({v.decided_by.word})"
    return text + "."


def sentence(v: Verdict) -> str:
    """The claim, its word and its :func:`tally`, in Markdown."""
    return f"**{v.claim}: {v.word}.** {tally(v)}"


def markdown(v: Verdict) -> str:
    """The :func:`sentence`, then one bullet per comparison and per detail."""
    return "\n".join([sentence(v), "", *map(line, v.numbers), *map(detail, v.details)])


def _ratios(values: tuple[float | None, ...]) -> str:
    return ", ".join(f"×{r:.2f}" for r in values if r is not None)


@functools.singledispatch
def detail(fact: object) -> str:
    """One Markdown bullet for a measured statement beside a verdict's comparisons
    (a fact of :mod:`gaaf.analysis.claims` or :mod:`gaaf.analysis.matched_loss`, or a
    further :class:`~gaaf.analysis.verdicts.Effect`)."""
    raise TypeError(f"no wording for a detail of type {type(fact).__name__}")


@detail.register
def _(fact: Effect) -> str:
    return line(fact)


@detail.register
def _(fact: SensitivityRatios) -> str:
    runs, base = fact.seeds
    return (
        f"- {fact.what}, {display(fact.name)} / base ({runs} vs {base} seeds): higher "
        f"in {fact.higher} of {len(fact.ratios)} layers ({_ratios(fact.ratios)}, "
        "layer 1 first)."
    )


@detail.register
def _(fact: SlopeDecomposition) -> str:
    return (
        f"- layer {fact.layer}: |dL/dz| ×{fact.dz:.2f} = slope factor "
        f"×{fact.slope:.2f} times |dL/dh| ×{fact.dh:.2f} (dropout / base)."
    )


@detail.register
def _(fact: LayerTrend) -> str:
    if fact.relative:
        rises = "rises" if fact.rising else "does not rise"
        return (
            f"- {display(fact.name)} / base by layer ({_ratios(fact.values)}, layer 1 "
            f"first): {rises} with every layer."
        )
    shown = ", ".join(f"{100 * f:.1f}%" for f in fact.values)
    rising = "rising" if fact.rising else "not rising"
    return (
        f"- {display(fact.name)}: saturated fraction {shown} (layer 1 first), "
        f"{rising} with every layer."
    )


@detail.register
def _(fact: SensitivityRun) -> str:
    vs_base = (
        f"; GAAF {fact.vs_base:+.2f} points vs base" if fact.vs_base is not None else ""
    )
    return (
        f"- sensitivity setting {fact.setting}: GAAF converged in fewer epochs than "
        f"{fact.faster} of {fact.dropout_runs} dropout runs, and was at least as "
        f"accurate as {fact.as_good} of {fact.dropout_runs}{vs_base}."
    )


@detail.register
def _(fact: Reached) -> str:
    return f"- {display(fact.name)}: {fact.reached} of {fact.runs} runs reached it."


@detail.register
def _(fact: RatiosAtLoss) -> str:
    return (
        f"- {display(fact.other)} / base at training loss {fact.loss:.3g}: "
        f"{_ratios(fact.ratios)} (layer 1 first)."
    )


_WINDOWS = {
    "all": "over all iterations (the paper's measure)",
    "best": "up to each run's best epoch",
}


@detail.register
def _(fact: RatiosOverWindow) -> str:
    window = _WINDOWS.get(fact.window, f"over the first {fact.window} epochs")
    return (
        f"- {display(fact.other)} / base {window}: {_ratios(fact.ratios)} "
        "(layer 1 first)."
    )


def paper_quantity_sentence(found: PaperQuantity) -> str:
    """Which gradient the paper's table most plausibly reports, and why, as one
    sentence (:func:`gaaf.analysis.claims.paper_quantity`)."""
    listed = ", ".join(
        f"{FLOW_NAMES[q].split(' (')[0]} ×{f:.3g}" for q, f in found.factors.items()
    )
    return (
        f"Against the paper's table, our base network's mean gradients over all "
        f"iterations are, as multiples of the paper's ({found.seeds} seeds, geometric "
        f"mean over layers): {listed}. The paper's table most plausibly reports "
        f"{FLOW_NAMES[found.closest]}: it is the one of the same size."
    )
