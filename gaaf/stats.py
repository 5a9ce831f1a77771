"""Statistics over seeds: mean and spread, Welch's interval for a difference of means,
and how two sets of seeds compare pair by pair; and the accessors that take numbers out
of records (a metric, a probe per layer, the gradient flow) for the tables and claims.

A chapter's records come as *groups*: group name -> records, one per seed (what
:func:`gaaf.runs.collect` returns in ``Runs.groups``)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from scipy import stats as _scipy_stats

from gaaf import validate
from gaaf.config import ExperimentConfig
from gaaf.probes import mean_over_epochs

__all__ = [
    "Groups",
    "Interval",
    "LayerValue",
    "Record",
    "SeedPairs",
    "Summary",
    "aggregate",
    "dataset_groups",
    "flow_value",
    "gradient_flow",
    "layer_count",
    "per_layer",
    "present",
    "probe_histograms",
    "probe_value",
    "ratio_of_means",
    "seed_pairs",
    "shortest_run",
    "summarize",
    "values",
    "welch",
]

Record = dict[str, Any]
"""A run's record (see :mod:`gaaf.runs`)."""

Groups = dict[str, list[Record]]
"""Group name -> records, one per seed."""

LayerValue = Callable[[Record, int], float]
"""``(record, hidden layer index) -> a number``, e.g. :func:`probe_value`'s result."""


class Summary(NamedTuple):
    """Mean and sample standard deviation (n - 1; None for one value) of ``n`` values."""

    mean: float
    std: float | None
    n: int


def summarize(values: Sequence[float]) -> Summary:
    """:class:`Summary` of ``values`` (at least one)."""
    numbers = [float(v) for v in values]
    if not numbers:
        validate.fail("values", "at least one number", values)
    std = statistics.stdev(numbers) if len(numbers) > 1 else None
    return Summary(statistics.fmean(numbers), std, len(numbers))


class Interval(NamedTuple):
    """A difference of means with its confidence interval ``[low, high]``."""

    diff: float
    low: float
    high: float
    level: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def welch(
    a: Sequence[float], b: Sequence[float], level: float = 0.95
) -> Interval | None:
    """Welch's t interval for ``mean(a) - mean(b)``; None when either side has fewer
    than two values (no spread to judge it by)."""
    validate.real("level", level, above=0, below=1)
    xa, xb = summarize(a) if a else None, summarize(b) if b else None
    if xa is None or xb is None or xa.n < 2 or xb.n < 2:
        return None
    assert xa.std is not None and xb.std is not None
    va, vb = xa.std**2 / xa.n, xb.std**2 / xb.n
    diff = xa.mean - xb.mean
    se = math.sqrt(va + vb)
    if se == 0:
        return Interval(diff, diff, diff, level)
    dof = (va + vb) ** 2 / (va**2 / (xa.n - 1) + vb**2 / (xb.n - 1))
    half = float(_scipy_stats.t.ppf(0.5 + level / 2, dof)) * se
    return Interval(diff, diff - half, diff + half, level)


class SeedPairs(NamedTuple):
    """Over all pairs (one value of ``a``, one of ``b``): how often ``a`` is higher,
    equal, lower."""

    higher: int
    ties: int
    lower: int

    @property
    def total(self) -> int:
        return self.higher + self.ties + self.lower

    def __str__(self) -> str:
        tied = f", tied in {self.ties}" if self.ties else ""
        return f"higher in {self.higher} of {self.total} seed pairs{tied}"


def seed_pairs(a: Sequence[float], b: Sequence[float]) -> SeedPairs:
    """Compare every value of ``a`` with every value of ``b``."""
    return SeedPairs(
        sum(x > y for x in a for y in b),
        sum(x == y for x in a for y in b),
        sum(x < y for x in a for y in b),
    )


def aggregate(
    records: Sequence[dict[str, Any]],
    metrics: Sequence[str] = ("test_acc", "best_epoch"),
) -> list[dict[str, Any]]:
    """Group records that differ only in their seed; per group: ``label`` (without the
    seed), ``config`` (seed 0), ``n``, ``seeds``, and a :class:`Summary` per metric.
    Groups keep the order in which they first appear."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        key = ExperimentConfig.from_dict({**record["config"], "seed": 0}).hash
        groups.setdefault(key, []).append(record)
    rows = []
    for members in groups.values():
        config = ExperimentConfig.from_dict(members[0]["config"])
        row: dict[str, Any] = {
            "label": config.label.rsplit(" seed ", 1)[0],
            "config": config.replace(seed=0),
            "n": len(members),
            "seeds": sorted(r["config"]["seed"] for r in members),
        }
        for metric in metrics:
            row[metric] = summarize([float(r[metric]) for r in members])
        rows.append(row)
    return rows


# ----------------------------------------------------------- numbers out of records


def values(records: Sequence[Record], metric: str, scale: float = 1.0) -> list[float]:
    """``metric * scale`` of each record (``test_acc``, ``best_epoch``, ...)."""
    return [float(r[metric]) * scale for r in records]


def present(groups: Groups) -> Groups:
    """The groups that have at least one record, in order."""
    return {name: records for name, records in groups.items() if records}


def layer_count(groups: Groups) -> int:
    """The number of hidden layers of the first record in ``groups`` (0 if none)."""
    for records in groups.values():
        if records:
            return len(records[0]["config"]["widths"])
    return 0


def shortest_run(groups: Groups) -> int:
    """The fewest epochs any record in ``groups`` trained."""
    return min(r["epochs_run"] for records in groups.values() for r in records)


def dataset_groups(groups: Groups, dataset: str) -> Groups:
    """The groups ``"<dataset>: <variant>"`` of one dataset that have records, by
    variant."""
    prefix = f"{dataset}: "
    return {
        name.removeprefix(prefix): records
        for name, records in groups.items()
        if name.startswith(prefix) and records
    }


def probe_value(probe: str, key: str) -> LayerValue:
    """``(record, k) -> record["probes"]["test"][probe][k][key]``, e.g.
    ``probe_value("correlations", "mean_abs")``."""

    def value(record: Record, k: int) -> float:
        return float(record["probes"]["test"][probe][k][key])

    return value


def probe_histograms(probe: str) -> Callable[[Record], list[dict[str, Any]]]:
    """``record -> the per-layer histograms of probe`` (``weights``, ``correlations``,
    ``net_inputs``)."""

    def histograms(record: Record) -> list[dict[str, Any]]:
        return [layer["histogram"] for layer in record["probes"]["test"][probe]]

    return histograms


def gradient_flow(
    record: Record, quantity: str = "dz", epochs: int | None = None
) -> list[float]:
    """Mean ``|gradient|`` per hidden layer (layer 1 first) of a record's gradient-flow
    probe: over all iterations (``epochs=None``) or over its first ``epochs`` epochs."""
    flow = record["probes"]["gradient_flow"]
    if epochs is None:
        return [float(v) for v in flow["mean"][quantity]]
    return mean_over_epochs(flow, quantity, epochs)


def flow_value(quantity: str = "dz", epochs: int | None = None) -> LayerValue:
    """:func:`gradient_flow` as a :data:`LayerValue`."""

    def value(record: Record, k: int) -> float:
        return gradient_flow(record, quantity, epochs)[k]

    return value


def per_layer(
    records: Sequence[Record], value: LayerValue, layers: int
) -> list[Summary | None]:
    """Per hidden layer (layer 1 first): the :class:`Summary` of ``value`` over
    ``records`` (None when there are no records)."""
    if not records:
        return [None] * layers
    return [summarize([value(r, k) for r in records]) for k in range(layers)]


def ratio_of_means(a: Sequence[float], b: Sequence[float]) -> float | None:
    """``mean(a) / mean(b)``; None when either is empty or ``mean(b)`` is 0."""
    if not a or not b:
        return None
    denominator = statistics.fmean(b)
    return statistics.fmean(a) / denominator if denominator else None
