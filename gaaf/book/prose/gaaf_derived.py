"""The GAAF chapter's table and sentences: the forward change against its bound
(:mod:`gaaf.analysis.bounds`) as a table and a sentence, and the chapter's finding (the
facts of :func:`gaaf.analysis.variance.gaaf_facts`) as one Markdown paragraph, in the
book's one number style (:mod:`gaaf.book.formatting`)."""

from __future__ import annotations

from collections.abc import Sequence

from gaaf.analysis.bounds import ForwardError
from gaaf.analysis.variance import GaafFacts
from gaaf.book.formatting import number, signed

__all__ = ["forward_sentence", "forward_table", "gaaf_finding"]


def forward_table(errors: Sequence[ForwardError]) -> tuple[list[str], list[list]]:
    """Headers and rows: activation, dtype, the largest change, its bound, and
    ``ratio - 1`` (negative: below the bound)."""
    headers = ["activation", "dtype", "max abs change", "bound max(s)/2K", "ratio - 1"]
    rows = [
        [e.activation, e.dtype, e.change, e.bound, signed(e.ratio - 1)] for e in errors
    ]
    return headers, rows


def forward_sentence(errors: Sequence[ForwardError]) -> str:
    """Whether every change is within its bound, up to the rounding, in one sentence."""
    if all(e.within for e in errors):
        return "Every change is within its bound, up to that rounding."
    return "Some changes exceed their bound by more than that rounding."


def gaaf_finding(facts: GaafFacts) -> str:
    """The GAAF chapter's finding as one Markdown paragraph: the largest forward change
    measured against its bound ``max(s)/2K``, and the slope GAAF and dropout give a unit
    at a saturated net input and at 0."""
    f = facts
    holds = "is within float rounding of" if f.within else "exceeds, beyond rounding,"
    lower = "lowers" if f.dropout_lowers else "raises"
    return (
        f"GAAF is a surrogate gradient. Forward it is the plain activation: the largest "
        f"change measured, {number(f.change)}, {holds} its bound max(s)/2K = "
        f"{number(f.bound)}. Backward it adds the shape function s(x) to the "
        f"slope, deterministically: at net input {number(f.z0)} it multiplies tanh' by "
        f"{number(f.by_gaaf)}, where dropout at p = {f.p:g} multiplies it on average by "
        f"{number(f.by_dropout)} for the previous chapter's unit; at 0, where dropout "
        f"{lower} the slope (to {number(f.dropout_at_0)}), GAAF raises it to "
        f"{number(f.gaaf_at_0)}."
    )
