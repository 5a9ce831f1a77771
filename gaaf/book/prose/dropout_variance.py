"""The dropout-variance chapter's finding in words: the facts of
:func:`gaaf.analysis.variance.variance_facts` as one Markdown paragraph, in the book's
one number style (:mod:`gaaf.book.formatting`)."""

from __future__ import annotations

from gaaf.analysis.variance import VarianceFacts
from gaaf.book.formatting import number

__all__ = ["variance_finding"]


def variance_finding(facts: VarianceFacts) -> str:
    """The dropout chapter's finding as one Markdown paragraph: whether dropout's
    variance argument holds for the representative unit, the gain at its saturated net
    input, the far-saturation limit ``exp(2 sigma^2)``, the slope kept at 0, and the
    weight spread at which the limit reaches the paper's factor."""
    f = facts
    holds = "holds, as a bounded factor" if f.holds else "does not hold here"
    more = "more" if f.holds else "no more"
    reach = "reaches" if f.reaches else "stays below"
    return (
        f"Dropout's variance argument {holds}. At the book's rate p = {f.p:g} a "
        f"unit of a wide tanh layer with its initial weights (spread "
        f"{number(f.weight_std)}) sees its net input spread by σ = {number(f.sigma)}. "
        f"Saturated at z0 = {number(f.z0)}, it receives on average {more} slope than "
        f"without dropout ({number(f.gain)} times as much), and however deep in "
        f"saturation at most exp(2σ²) = {number(f.limit)} times: a tiny slope stays "
        f"tiny. Near z0 = 0 the noise costs slope instead (the unit keeps "
        f"{f.kept:.0%} of it). This limit {reach} the paper's factor of {f.factor:g}, "
        f"which needs weights with a spread of {number(f.needed_std)}, "
        f"{number(f.needed_ratio)} times the initial one."
    )
