"""The gradient-flow chapter's tables, narrow enough for the book's column: dropout's
(or GAAF's) ratio to the base per gradient and layer beside the paper's, the sizes of
the base's gradients beside the paper's table, and the slope-factor decomposition per
epoch. As :mod:`gaaf.book.tables`, ``(headers, rows)`` for
:func:`gaaf.book.tables.markdown_table`, 3 significant figures, top layer first.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from gaaf.analysis import paper
from gaaf.analysis.measures import FLOW_QUANTITIES, slope_factor
from gaaf.analysis.stats import (
    Groups,
    Record,
    flow_value,
    layer_count,
    present,
    ratio_of_means,
    shortest_run,
)
from gaaf.book.tables import Table, number
from gaaf.experiments.runs import NOT_RUN

__all__ = [
    "QUANTITY_HEADERS",
    "flow_ratio_table",
    "flow_size_table",
    "slope_epoch_table",
]

QUANTITY_HEADERS = {"dz": r"\|dL/dz\|", "dh": r"\|dL/dh\|", "dw": r"\|dL/dW\|"}
"""How the tables head each gradient of :data:`gaaf.analysis.measures.FLOW_QUANTITIES` (the bars
escaped, as a Markdown table needs)."""


def _ratio(groups: Groups, other: str, quantity: str, epochs: int | None, k: int):
    value = flow_value(quantity, epochs)
    return ratio_of_means(
        [value(r, k) for r in groups.get(other) or []],
        [value(r, k) for r in groups.get("base") or []],
    )


def flow_ratio_table(
    groups: Groups, other: str = "dropout", matched: bool = False
) -> Table:
    """Per hidden layer (layer 1 first): ``other``'s mean gradient over the base's, for
    each of ``|dL/dz|``, ``|dL/dh|``, ``|dL/dW|``, over all iterations or (``matched``)
    the first epochs every run has; for dropout, the paper's ratio beside them."""
    shown = present(groups)
    epochs = shortest_run(shown) if matched and shown else None
    span = f"first {epochs} epochs" if epochs else "all iterations"
    headers = [f"layer ({span})", *QUANTITY_HEADERS.values()]
    theirs = other == "dropout"
    if theirs:
        headers.append("paper")
    rows = []
    for k in range(layer_count(shown)):
        row = [f"layer {k + 1}"]
        for q in FLOW_QUANTITIES:
            r = _ratio(shown, other, q, epochs, k)
            row.append(NOT_RUN if r is None else number(r))
        if theirs:
            row.append(number(paper.gradient_flow_ratios()[k]))
        rows.append(row)
    return headers, rows


def flow_size_table(groups: Groups) -> Table:
    """Per hidden layer (layer 1 first): the paper's mean gradient without dropout beside
    our base network's ``|dL/dz|``, ``|dL/dh|`` and ``|dL/dW|`` over all iterations
    (mean over seeds): which of them has the paper's size."""
    base = groups.get("base") or []
    headers = ["layer", "paper, without dropout"]
    headers += [f"ours: {h}" for h in QUANTITY_HEADERS.values()]
    rows = []
    for k in range(len(paper.GRADIENT_FLOW["base"])):
        row = [f"layer {k + 1}", number(paper.GRADIENT_FLOW["base"][k])]
        for q in FLOW_QUANTITIES:
            found = [flow_value(q)(r, k) for r in base]
            row.append(number(statistics.fmean(found)) if found else NOT_RUN)
        rows.append(row)
    return headers, rows


def _per_epoch_mean(records: Sequence[Record], series, epoch: int, k: int) -> float:
    return statistics.fmean(series(r)[epoch - 1][k] for r in records)


def _dh(record: Record) -> list[list[float]]:
    return record.flow("dh")


def slope_epoch_table(groups: Groups, epochs: Sequence[int]) -> Table:
    """The decomposition ``dz = slope factor x dh`` per epoch: one row per epoch of
    ``epochs`` (each must be one every base and dropout run has), per hidden layer
    (bottom first) the slope factor ``mean|dL/dz| / mean|dL/dh|`` of that epoch, base
    / dropout (mean over seeds), and dropout's ``|dL/dh|`` over the base's."""
    shown = present(groups)
    if "base" not in shown or "dropout" not in shown:
        return ["epoch"], [[NOT_RUN]]
    base, drop = shown["base"], shown["dropout"]
    layers = layer_count(shown)
    headers = ["epoch"]
    for k in range(layers):
        headers += [
            f"layer {k + 1}: slope factor, base / dropout",
            f"layer {k + 1}: {QUANTITY_HEADERS['dh']} ratio",
        ]
    rows = []
    for e in epochs:
        row = [str(e)]
        for k in range(layers):
            b, d = (_per_epoch_mean(rs, slope_factor, e, k) for rs in (base, drop))
            dh = _per_epoch_mean(drop, _dh, e, k) / _per_epoch_mean(base, _dh, e, k)
            row += [f"{number(b)} / {number(d)}", number(dh)]
        rows.append(row)
    return headers, rows
