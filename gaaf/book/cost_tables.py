"""The costs of GAAF as tables, from benchmark records (:mod:`gaaf.experiments.bench`): the
activation call, one training step, one epoch of data loading.

Ratios of timings keep two decimals (three for training steps, whose differences are a
few percent); other numbers have 3 significant figures (:func:`gaaf.book.formatting.number`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from gaaf.analysis.measures import SPEED_TARGET, epochs_reached
from gaaf.analysis.stats import Groups
from gaaf.book.tables import Table, number
from gaaf.experiments.bench import MASK_BOOL, MASK_UINT8, RELU_COMPILED
from gaaf.experiments.data import DATASETS
from gaaf.experiments.labels import display
from gaaf.experiments.plans import Plan
from gaaf.experiments.runs import NOT_RUN, load_record, record_path

__all__ = [
    "BENCH_VARIANTS",
    "COMPILED",
    "MNIST_TRAIN_IMAGES",
    "GaafCost",
    "TimeTo",
    "activation_costs",
    "cost_sentence",
    "gaaf_cost",
    "loader_costs",
    "mask_sentence",
    "mode",
    "recorded",
    "same_mode_ratio",
    "step_costs",
    "time_sentence",
    "time_to_accuracy",
    "times_to_accuracy",
]

BENCH_VARIANTS = {
    "eager": "GAAF-tanh (eager, default)",
    "compiled": "GAAF-tanh, compiled",
    "naive": "naive GAAF-tanh (paper's formula)",
}
"""The rows of an activation benchmark record (:func:`gaaf.experiments.bench.activations`) that
:func:`gaaf_cost` reads, by the names the benchmark gives them."""


class GaafCost(NamedTuple):
    """GAAF-tanh against ``torch.tanh`` at one size (:func:`gaaf_cost`)."""

    elements: int
    eager: float
    """Forward + backward time over tanh's, the default (eager) path."""
    compiled: float
    """The same under ``torch.compile``, over compiled tanh's."""
    naive: float
    """The same for the paper's formula in plain torch ops."""
    saved: float
    """Tensors saved for backward, in input sizes, eager GAAF."""
    naive_saved: float
    """The same for the paper's formula."""


COMPILED = ", compiled"
"""How a benchmark names a compiled variant (``"tanh, compiled"``)."""


def mode(variant: str) -> str:
    """``"compiled"`` or ``"eager"``: how a benchmark variant ran."""
    return "compiled" if variant.endswith(COMPILED) else "eager"


def same_mode_ratio(record: dict[str, Any], row: dict[str, Any]) -> float | None:
    """``row``'s time over its plain activation's (``row["plain"]``, tanh or relu) in
    the same mode, size and dtype: compiled against compiled, eager against eager. None
    where the record has no such plain row."""
    plain = row["plain"] + (COMPILED if mode(row["variant"]) == "compiled" else "")
    for other in record["activations"]:
        if (other["variant"], other["elements"], other["dtype"]) == (
            plain,
            row["elements"],
            row["dtype"],
        ):
            return row["median_ms"] / other["median_ms"]
    return None


def gaaf_cost(
    record: dict[str, Any], elements: int = 4_000_000, dtype: str = "float32"
) -> GaafCost:
    """What GAAF-tanh costs in an activation benchmark record at ``elements`` (or, if
    the record has no such size, its largest): each path against tanh in the same mode
    (eager GAAF and the naive formula against eager tanh, compiled GAAF against compiled
    tanh)."""
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
    ratios = [same_mode_ratio(record, r) for r in (eager, compiled, naive)]
    if None in ratios:
        raise KeyError(f"the record lacks tanh or compiled tanh at {n:,} elements")
    return GaafCost(n, *ratios, eager["saved_x_input"], naive["saved_x_input"])


def activation_costs(record: dict[str, Any], dtype: str = "float32") -> Table:
    """The activation rows of a benchmark record in ``dtype``: time, the ratio to the
    plain activation in the same mode (:func:`same_mode_ratio`; two decimals, as all
    ratios of timings here) and memory saved for backward."""
    headers = ["elements", "variant", "fwd+bwd (ms)", "vs plain, same mode"]
    headers += ["saved (× input)"]
    rows = []
    for r in record["activations"]:
        if r["dtype"] != dtype:
            continue
        ratio = same_mode_ratio(record, r)
        shown = "not measured" if ratio is None else f"×{ratio:.2f} {r['plain']}"
        if ratio is not None and mode(r["variant"]) == "compiled":
            shown += " (compiled)"
        rows.append(
            [
                f"{r['elements']:,}",
                r["variant"],
                number(r["median_ms"]),
                shown,
                f"{r['saved_x_input']:.2f}",
            ]
        )
    return headers, rows


def step_costs(record: dict[str, Any]) -> Table:
    """One training step of the MNIST MLP per variant, from a benchmark record (the
    ratio to the base with three decimals: the differences are a few percent)."""
    rows = [
        [display(r["variant"]), number(r["median_ms"]), f"×{r['vs_base']:.3f}"]
        for r in record["mlp_step"]
    ]
    return ["network", "step (ms)", "vs base"], rows


def loader_costs(record: dict[str, Any]) -> Table:
    """One MNIST epoch per data pipeline, from a loader benchmark record."""
    rows = [
        [pipeline, number(seconds), f"×{record['vs_gaaf'][pipeline]:.2f}"]
        for pipeline, seconds in record["median_seconds"].items()
    ]
    return ["pipeline", "epoch (s)", "vs gaaf"], rows


# ------------------------------------------------------------ time to the accuracy

MNIST_TRAIN_IMAGES = 60_000
"""MNIST's training set; :mod:`gaaf.experiments.data` holds ``val_size`` of it out for
validation."""


class TimeTo(NamedTuple):
    """What one variant's training costs in time (:func:`times_to_accuracy`)."""

    variant: str
    step_ms: float
    """Median time of one training step (benchmark record)."""
    steps_per_epoch: int
    converge_epochs: list[int]
    """Each run's epochs to converge (its best epoch by the stopping rule)."""
    target_epochs: list[int]
    """Each run's first epoch at the validation-accuracy target (runs that reached it)."""
    runs: int

    def minutes(self, epochs: Sequence[int]) -> float | None:
        """Mean minutes of ``epochs`` epochs of steps (None: no epochs)."""
        if not epochs:
            return None
        return self.step_ms * self.steps_per_epoch * statistics.fmean(epochs) / 60e3


def times_to_accuracy(
    record: dict[str, Any], groups: Groups, target: float = SPEED_TARGET
) -> list[TimeTo]:
    """Per variant with both a step time in the benchmark ``record`` and run records
    in ``groups`` (the MNIST benchmark's): the step's cost, the steps of an epoch
    (training images over the batch size) and the epochs each run needed to converge
    and to reach ``target`` validation accuracy (:func:`gaaf.analysis.measures.epochs_reached`)."""
    found = []
    for row in record["mlp_step"]:
        runs = groups.get(row["variant"], [])
        if not runs:
            continue
        config = runs[0]["config"]
        images = config.get("train_subset") or (
            MNIST_TRAIN_IMAGES - DATASETS[config["dataset"]].val_size
        )
        found.append(
            TimeTo(
                row["variant"],
                row["median_ms"],
                math.ceil(images / config["batch_size"]),
                [int(r["best_epoch"]) for r in runs],
                epochs_reached(runs, target),
                len(runs),
            )
        )
    return found


def time_to_accuracy(
    record: dict[str, Any], groups: Groups, target: float = SPEED_TARGET
) -> Table:
    """:func:`times_to_accuracy` as a table: step time, epochs to converge and to
    ``target`` (mean, and how many runs reached it), and the minutes of steps each
    takes (step time x steps per epoch x mean epochs; evaluation left out)."""
    headers = ["model", "step (ms)", "epochs to converge", "minutes"]
    headers += [f"epochs to {100 * target:g}% val.", "minutes"]
    rows = []
    for t in times_to_accuracy(record, groups, target):
        converge, reach = t.minutes(t.converge_epochs), t.minutes(t.target_epochs)
        reached = f"{len(t.target_epochs)} of {t.runs} runs"
        rows.append(
            [
                display(t.variant),
                number(t.step_ms),
                number(statistics.fmean(t.converge_epochs)),
                number(converge) if converge is not None else NOT_RUN,
                f"{number(statistics.fmean(t.target_epochs))} ({reached})"
                if t.target_epochs
                else f"none of {t.runs} runs",
                number(reach) if reach is not None else "",
            ]
        )
    return headers, rows


def time_sentence(
    record: dict[str, Any], groups: Groups, target: float = SPEED_TARGET
) -> str:
    """GAAF's time to ``target`` validation accuracy and to convergence against
    dropout's and the base network's, in one computed sentence."""
    times = {t.variant: t for t in times_to_accuracy(record, groups, target)}
    gaaf = times.get("gaaf")
    if gaaf is None or len(times) < 2:
        return f"GAAF's time to the accuracy is {NOT_RUN}: it needs GAAF's records."
    others = [v for v in ("dropout", "base") if v in times]
    parts = []
    for what, epochs_of in (
        (f"reach {100 * target:g}% validation accuracy", lambda t: t.target_epochs),
        ("converge", lambda t: t.converge_epochs),
    ):
        ours = gaaf.minutes(epochs_of(gaaf))
        theirs = {v: times[v].minutes(epochs_of(times[v])) for v in others}
        theirs = {v: m for v, m in theirs.items() if m is not None}
        if ours is None or not theirs:
            parts.append(f"to {what}: {NOT_RUN} for GAAF or the others")
            continue
        against = " and ".join(
            f"{number(m)} for {display(v)}" for v, m in theirs.items()
        )
        less = [display(v) for v, m in theirs.items() if ours < m]
        word = "less than " + " and ".join(less) if less else "no less than either"
        parts.append(
            f"GAAF needs {number(ours)} minutes of steps to {what}, against {against} "
            f"({word})"
        )
    step = " and ".join(
        f"{number(gaaf.step_ms / times[v].step_ms)} times {display(v)}'s"
        for v in others
    )
    return (
        f"On {record['provenance']['device']} a GAAF step costs {step}; counting the "
        f"epochs each needs, {parts[0]}; {parts[1]}.{_ends(groups)}"
    )


def _ends(groups: Groups) -> str:
    """What the time buys: each variant's mean test accuracy at the end, GAAF's
    against dropout's, as one sentence (empty without both)."""
    acc = {
        v: statistics.fmean(100 * r["test_acc"] for r in groups[v])
        for v in ("gaaf", "dropout")
        if groups.get(v)
    }
    if len(acc) < 2:
        return ""
    word = "more" if acc["dropout"] > acc["gaaf"] else "no more"
    return (
        f" What the time buys differs: dropout's runs end {word} accurate, test "
        f"accuracy {number(acc['dropout'])}% against GAAF's {number(acc['gaaf'])}% "
        f"(means over {len(groups['dropout'])} and {len(groups['gaaf'])} runs)."
    )


def mask_sentence(masks: dict[str, Any], elements: int = 4_000_000) -> str:
    """Why compiled ReLU is slow on a device, from a ``mask-store`` benchmark record:
    the compiled comparison into a boolean tensor over the eager one, beside compiled
    ReLU's forward + backward over eager ReLU's, at ``elements`` (else the largest size
    recorded), in one sentence."""
    rows = {(r["elements"], r["variant"]): r["vs_eager"] for r in masks["rows"]}
    sizes = sorted({n for n, _ in rows})
    n = elements if elements in sizes else sizes[-1]
    return (
        f"On {masks['provenance']['device']}, at {n:,} elements, the comparison "
        f"`x <= 0` into a boolean tensor takes {number(rows[(n, MASK_BOOL)])} "
        f"times as long compiled as eager ({number(rows[(n, MASK_UINT8)])} "
        "times into bytes), and ReLU's forward and backward "
        f"{number(rows[(n, RELU_COMPILED)])} times as long."
    )


def cost_sentence(record: dict[str, Any], elements: int = 4_000_000) -> str:
    """What GAAF-tanh costs against ``torch.tanh`` in an activation benchmark record
    (:func:`gaaf_cost`), eager and compiled, and the paper's formula written naively,
    in one sentence."""
    cost = gaaf_cost(record, elements)
    return (
        f"At {cost.elements:,} elements on {record['provenance']['device']}, GAAF-tanh "
        f"takes {cost.eager:.2f} times `torch.tanh`'s time in eager mode, and compiled "
        f"{cost.compiled:.2f} times compiled `torch.tanh`'s; the paper's formula "
        f"written naively takes {cost.naive:.2f} times eager tanh's and saves "
        f"{cost.naive_saved:.0f} input-sized tensors for backward where GAAF saves "
        f"{cost.saved:.0f}."
    )


def recorded(plan: Plan, results: Path | str) -> Groups:
    """The records of ``plan`` (group -> configs) that exist under ``results``, read
    and checked (:func:`gaaf.experiments.runs.load_record`), training nothing; a diverged run is
    left out."""
    groups = {}
    for name, configs in plan.items():
        paths = [record_path(c, results) for c in configs]
        found = [load_record(p) for p in paths if p.exists()]
        groups[name] = [r for r in found if "diverged" not in r]
    return groups
