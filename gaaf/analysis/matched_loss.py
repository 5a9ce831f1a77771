"""Claim 2 at matched training loss: dropout's gradient against the base's at the
same running training loss, not as whole-run means of runs of different length.

Per epoch, a layer's mean ``|gradient|`` tracks the epoch's running training loss almost
as a power law, in every network. A dropout network never fits its noisy objective, so
its loss, and with it its gradient, stays high for its whole (long) run, while the base
network's collapses once it fits the training set: a whole-run mean then measures how
far each run got, not what dropout does to the gradient. Compared at equal training loss
(:func:`claim2_matched`), the question is the paper's: does the noise itself push more
gradient through?
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from gaaf import validate
from gaaf.analysis import paper
from gaaf.analysis.claims import FLOW_NAMES
from gaaf.analysis.measures import flow_window, gradient_at_loss, loss_overlap
from gaaf.analysis.stats import (
    Groups,
    Record,
    layer_count,
    present,
    ratio_of_means,
    shortest_run,
)
from gaaf.analysis.verdicts import Effect, Verdict, compare, verdict
from gaaf.experiments.labels import display

__all__ = [
    "MATCHED_LOSSES",
    "RatiosAtLoss",
    "RatiosOverWindow",
    "claim2_matched",
    "flow_windows",
    "judged_loss",
    "matched_losses",
]


class RatiosAtLoss(NamedTuple):
    """``other``'s mean gradient over the base's per hidden layer (layer 1 first) at
    one running training ``loss``; ``judged``: the loss the verdict compares at."""

    other: str
    loss: float
    ratios: tuple[float | None, ...]
    judged: bool = False


class RatiosOverWindow(NamedTuple):
    """``other``'s mean gradient over the base's per hidden layer (layer 1 first),
    each averaged over one ``window``: ``"all"`` iterations, the first ``n`` epochs
    (an int) or each run up to its ``"best"`` epoch."""

    other: str
    window: int | str
    ratios: tuple[float | None, ...]


MATCHED_LOSSES = 5
"""How many training losses, log-spaced across the range both arms pass through, the
loss-matched ratio is shown at (its verdict uses the middle one)."""


def matched_losses(records: Sequence[Record], n: int = MATCHED_LOSSES) -> list[float]:
    """``n`` running training losses, log-spaced over the range every record passed
    through (:func:`gaaf.analysis.measures.loss_overlap`), from the highest down; the middle one
    is the geometric mean of the range's ends. Empty when there is no such range."""
    if not all(r.get("history") for r in records):
        return []  # no per-epoch training loss to match
    overlap = loss_overlap(records)
    if overlap is None:
        return []
    low, high = overlap
    # a hair inside the ends, so that every record interpolates (none extrapolates)
    low, high = low * 1.0001, high / 1.0001
    if n == 1:
        return [math.sqrt(low * high)]
    step = math.log(high / low) / (n - 1)
    return [high * math.exp(-i * step) for i in range(n)]


def _at_loss(
    records: Sequence[Record], quantity: str, loss: float, k: int
) -> list[float]:
    found = [gradient_at_loss(r, quantity, loss) for r in records]
    return [g[k] for g in found if g is not None]


def claim2_matched(groups: Groups, quantity: str = "dw") -> Verdict:
    """Claim 2 at matched training loss: per hidden layer, the mean gradient
    ``quantity`` of dropout's epochs against the base's epochs *at the same running
    training loss* (the middle of :func:`matched_losses`), against the paper's ratios.
    A whole-run mean compares a dropout network that never fits its noisy objective
    with a base network that does, and gradients shrink with the loss; at equal loss
    the comparison asks what the paper's mechanism asks. GAAF against the base at their
    own matched loss is reported beside it (not in the paper). Details: the ratio at
    every matched loss, and over the windows a whole-run mean depends on."""
    validate.choice("quantity", quantity, FLOW_NAMES)
    name = FLOW_NAMES[quantity].split(" (")[0]
    ratios = paper.gradient_flow_ratios()
    shown = present(groups)
    base = shown.get("base", [])
    effects: list[Effect] = []
    details: list[RatiosAtLoss] = []
    for other in ("dropout", "gaaf"):
        records = shown.get(other, [])
        losses = matched_losses([*base, *records]) if base and records else []
        if not losses:
            continue
        middle = losses[len(losses) // 2]
        for k in range(layer_count(shown)):
            effects.append(
                compare(
                    f"{name} at training loss {middle:.3g}, layer {k + 1}, "
                    f"{display(other)} vs base",
                    (display(other), _at_loss(records, quantity, middle, k)),
                    _at_loss(base, quantity, middle, k),
                    ratios[k] if other == "dropout" else None,
                    relative=True,
                )
            )
        for loss in losses:
            r = tuple(
                ratio_of_means(
                    _at_loss(records, quantity, loss, k),
                    _at_loss(base, quantity, loss, k),
                )
                for k in range(layer_count(shown))
            )
            details.append(RatiosAtLoss(other, loss, r, judged=loss == middle))
    claim = (
        f"Claim 2 at matched training loss, measured as {FLOW_NAMES[quantity]} "
        "(dropout multiplies the gradient reaching each layer by about 5)"
    )
    return verdict(claim, effects, details)


def judged_loss(v: Verdict, other: str = "dropout") -> float | None:
    """The training loss at which :func:`claim2_matched`'s verdict compares ``other``
    with the base (None: no loss both passed through)."""
    return next(
        (
            d.loss
            for d in v.details
            if isinstance(d, RatiosAtLoss) and d.judged and d.other == other
        ),
        None,
    )


def flow_windows(
    groups: Groups, quantity: str, other: str = "dropout"
) -> list[RatiosOverWindow]:
    """``other``'s mean gradient over the base's per hidden layer, averaged over each
    window a whole-run mean can take: every iteration (the paper's measure), the first
    epochs every run has, and each run up to its best epoch."""
    shown = present(groups)
    base, records = shown.get("base", []), shown.get(other, [])
    if not base or not records:
        return []
    first = shortest_run({"base": base, other: records})
    return [
        RatiosOverWindow(
            other,
            window,
            tuple(
                ratio_of_means(
                    [flow_window(x, quantity, window)[k] for x in records],
                    [flow_window(x, quantity, window)[k] for x in base],
                )
                for k in range(layer_count(shown))
            ),
        )
        for window in ("all", first, "best")
    ]
