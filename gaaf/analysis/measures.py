"""Numbers measured from one record, beyond the ones it stores.

* Speed without the stopping rule: the first epoch whose validation accuracy reaches a
  target (:func:`epochs_to_target`), and the validation accuracy at a given epoch
  (:func:`accuracy_at`). "Epochs to converge" (the best epoch by validation loss) stops
  a slow learner while its accuracy still rises; these do not depend on it.
* Where the gradient goes (records with a gradient-flow probe; the mean per layer over
  epochs is :func:`gaaf.analysis.stats.gradient_flow`): the **slope factor**
  ``mean|dL/dz| / mean|dL/dh|`` per layer and epoch (:func:`slope_factor`), how much of
  the gradient arriving at a unit's output the activation passes on to its net input
  (``dz = phi'(z) dh``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from gaaf import validate

__all__ = [
    "FLOW_QUANTITIES",
    "SPEED_TARGET",
    "accuracy_at",
    "epoch1_gains",
    "epochs_reached",
    "epochs_to_target",
    "flow_window",
    "gradient_at_loss",
    "loss_overlap",
    "slope_factor",
]

FLOW_QUANTITIES = ("dz", "dh", "dw")
"""Mean ``|dL/dz|`` (net input), ``|dL/dh|`` (unit output), ``|dL/dW|`` (incoming
weights)."""


SPEED_TARGET = 0.98
"""The validation accuracy whose first epoch measures speed without the stopping rule."""


def epochs_to_target(record: dict[str, Any], target: float) -> int | None:
    """The first epoch whose validation accuracy is at least ``target`` (a fraction);
    None if the run never reached it."""
    validate.real("target", target, above=0, at_most=1)
    for row in record["history"]:
        if row["val_acc"] >= target:
            return int(row["epoch"])
    return None


def epochs_reached(records: Sequence[dict[str, Any]], target: float) -> list[int]:
    """:func:`epochs_to_target` of each record that reached ``target`` (the others are
    left out; ``len`` of the result counts the runs that did)."""
    return [e for r in records if (e := epochs_to_target(r, target)) is not None]


def accuracy_at(record: dict[str, Any], epoch: int) -> float | None:
    """Validation accuracy after ``epoch`` epochs; None if the run stopped earlier."""
    validate.integer("epoch", epoch, at_least=1)
    history = record["history"]
    return history[epoch - 1]["val_acc"] if epoch <= len(history) else None


def _per_epoch(record: dict[str, Any], quantity: str) -> list[list[float]]:
    validate.choice("quantity", quantity, FLOW_QUANTITIES)
    try:
        return record.flow(quantity)
    except KeyError:
        raise ValueError(
            f"record {record.get('label', '?')} has no gradient-flow probe "
            "(only MLP records of format 2 or later do)"
        ) from None


def slope_factor(record: dict[str, Any]) -> list[list[float]]:
    """``mean|dL/dz| / mean|dL/dh|`` per epoch (rows) and hidden layer (columns,
    bottom first): the gradient the activation lets through, as a fraction of what
    reaches the unit's output."""
    dz, dh = _per_epoch(record, "dz"), _per_epoch(record, "dh")
    return [
        [z / h if h else float("nan") for z, h in zip(zs, hs, strict=True)]
        for zs, hs in zip(dz, dh, strict=True)
    ]


def epoch1_gains(
    base: Sequence[dict[str, Any]], other: Sequence[dict[str, Any]]
) -> list[float]:
    """Per hidden layer (bottom first), the geometric mean over seeds of ``other``'s
    epoch-1 mean ``|dL/dW|`` over ``base``'s: how much larger a step the same learning
    rate takes in each layer, measured while the training losses are still alike.
    Records are paired by seed; a seed without a partner is left out."""
    import math

    by_seed = {r["config"]["seed"]: r for r in base}
    logs: list[list[float]] = []
    for r in other:
        partner = by_seed.get(r["config"]["seed"])
        if partner is None:
            continue
        mine, theirs = _per_epoch(r, "dw")[0], _per_epoch(partner, "dw")[0]
        logs.append([math.log(a / b) for a, b in zip(mine, theirs, strict=True)])
    if not logs:
        raise ValueError("no seed has a record in both groups")
    return [math.exp(sum(col) / len(col)) for col in zip(*logs, strict=True)]


def _log_interp(x: float, xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """``y`` at ``x`` by linear interpolation of ``log y`` against ``log x`` between the
    points ``(xs, ys)`` (in any order); None outside their range."""
    import math

    points = sorted(zip(xs, ys, strict=True))
    if not points or not points[0][0] <= x <= points[-1][0]:
        return None
    lx = math.log(x)
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x0 <= x <= x1:
            if x1 == x0:
                return y0
            t = (lx - math.log(x0)) / (math.log(x1) - math.log(x0))
            return math.exp((1 - t) * math.log(y0) + t * math.log(y1))
    return points[0][1]  # a single point, equal to x


def gradient_at_loss(
    record: dict[str, Any], quantity: str, loss: float
) -> list[float] | None:
    """Per hidden layer (bottom first), the mean ``|gradient|`` of the epochs whose
    running training loss (the mean over the epoch's batches, as the optimizer saw it)
    was ``loss``: interpolated log-log between the epochs around it (per-epoch gradient
    and loss track each other almost as a power law). None when the run's training loss
    never passed through ``loss``."""
    flow = _per_epoch(record, quantity)
    losses = [row["train_loss"] for row in record["history"]][: len(flow)]
    layers = len(flow[0]) if flow else 0
    found = [_log_interp(loss, losses, [e[k] for e in flow]) for k in range(layers)]
    return None if any(v is None for v in found) or not found else found  # type: ignore[return-value]


def loss_overlap(records: Sequence[dict[str, Any]]) -> tuple[float, float] | None:
    """The running training losses every one of ``records`` passed through: from the
    highest of their lowest epoch losses to the lowest of their highest (None if empty).
    """
    lows = [
        min(r["history"][e]["train_loss"] for e in range(len(r["history"])))
        for r in records
    ]
    highs = [max(row["train_loss"] for row in r["history"]) for r in records]
    if not records or max(lows) >= min(highs):
        return None
    return max(lows), min(highs)


def flow_window(
    record: dict[str, Any], quantity: str, window: str | int
) -> list[float]:
    """Mean ``|gradient|`` per hidden layer over a window of epochs: ``"all"`` (every
    iteration, the paper's measure), ``"best"`` (up to the run's best epoch) or a number
    of first epochs (epochs have equal numbers of iterations)."""
    rows = _per_epoch(record, quantity)
    if window == "all":
        n = len(rows)
    elif window == "best":
        n = int(record["best_epoch"])
    else:
        n = validate.integer("window", window, at_least=1)
    if n > len(rows):
        raise ValueError(f"the run has {len(rows)} epochs, fewer than {n}")
    return [sum(col) / n for col in zip(*rows[:n], strict=True)]
