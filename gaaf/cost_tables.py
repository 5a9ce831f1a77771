"""The costs of GAAF as tables, from benchmark records (:mod:`gaaf.bench`): the
activation call, one training step, one epoch of data loading.

Ratios of timings keep two decimals (three for training steps, whose differences are a
few percent); other numbers have 3 significant figures (:func:`gaaf.tables.number`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from gaaf.figures.style import display
from gaaf.tables import Table, number

__all__ = [
    "BENCH_VARIANTS",
    "GaafCost",
    "activation_costs",
    "gaaf_cost",
    "loader_costs",
    "step_costs",
]

BENCH_VARIANTS = {
    "eager": "GAAF-tanh (eager, default)",
    "compiled": "GAAF-tanh, compiled",
    "naive": "naive GAAF-tanh (paper's formula)",
}
"""The rows of an activation benchmark record (:func:`gaaf.bench.activations`) that
:func:`gaaf_cost` reads, by the names the benchmark gives them."""


class GaafCost(NamedTuple):
    """GAAF-tanh against ``torch.tanh`` at one size (:func:`gaaf_cost`)."""

    elements: int
    eager: float
    """Forward + backward time over tanh's, the default (eager) path."""
    compiled: float
    """The same under ``torch.compile``."""
    naive: float
    """The same for the paper's formula in plain torch ops."""
    saved: float
    """Tensors saved for backward, in input sizes, eager GAAF."""
    naive_saved: float
    """The same for the paper's formula."""


def gaaf_cost(
    record: dict[str, Any], elements: int = 4_000_000, dtype: str = "float32"
) -> GaafCost:
    """What GAAF-tanh costs in an activation benchmark record at ``elements`` (or, if
    the record has no such size, its largest)."""
    rows = [r for r in record["activations"] if r["dtype"] == dtype]
    sizes = {r["elements"] for r in rows}
    n = elements if elements in sizes else max(sizes)
    found = {r["variant"]: r for r in rows if r["elements"] == n}
    missing = [v for v in BENCH_VARIANTS.values() if v not in found]
    if missing:
        raise KeyError(
            f"the record has no {missing[0]!r} row at {n:,} elements in {dtype}"
        )
    eager, compiled, naive = (
        found[BENCH_VARIANTS[k]] for k in ("eager", "compiled", "naive")
    )
    return GaafCost(
        n,
        eager["vs_tanh"],
        compiled["vs_tanh"],
        naive["vs_tanh"],
        eager["saved_x_input"],
        naive["saved_x_input"],
    )


def activation_costs(record: dict[str, Any]) -> Table:
    """The activation rows of a benchmark record: time, ratios to the plain activation
    and to tanh (two decimals, as all ratios of timings here), bandwidth and memory
    saved for backward."""
    headers = ["dtype", "elements", "variant", "fwd+bwd (ms)", "vs plain", "vs tanh"]
    headers += ["GB/s (5 bytes/elt min)", "saved for backward (x input)"]
    rows = [
        [
            r["dtype"],
            f"{r['elements']:,}",
            r["variant"],
            number(r["median_ms"]),
            f"{r['vs_plain']:.2f}x {r['plain']}",
            f"{r['vs_tanh']:.2f}x",
            number(r["min_bytes_gb_per_s"]),
            f"{r['saved_x_input']:.2f}",
        ]
        for r in record["activations"]
    ]
    return headers, rows


def step_costs(record: dict[str, Any]) -> Table:
    """One training step of the MNIST MLP per variant, from a benchmark record (the
    ratio to the base with three decimals: the differences are a few percent)."""
    rows = [
        [display(r["variant"]), number(r["median_ms"]), f"{r['vs_base']:.3f}x"]
        for r in record["mlp_step"]
    ]
    return ["network", "step (ms)", "vs base"], rows


def loader_costs(record: dict[str, Any]) -> Table:
    """One MNIST epoch per data pipeline, from a loader benchmark record."""
    rows = [
        [pipeline, number(seconds), f"{record['vs_gaaf'][pipeline]:.2f}x"]
        for pipeline, seconds in record["median_seconds"].items()
    ]
    return ["pipeline", "epoch (s)", "vs gaaf"], rows
