"""Statistics over seeds: mean and spread, Welch's interval for a difference of means,
and how two sets of seeds compare pair by pair; and the accessors that take numbers out
of records (a metric, a probe per layer, the gradient flow) for the tables and claims.

A chapter's records come as *groups*: group name -> records, one per seed (what
:func:`gaaf.experiments.runs.collect` returns in ``Runs.groups``)."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from scipy import stats as _scipy_stats

from gaaf import validate
from gaaf.experiments.config import ExperimentConfig
from gaaf.experiments.labels import GroupKey
from gaaf.experiments.probes import mean_over_epochs
from gaaf.experiments.records import Record

__all__ = [
    "Groups",
    "Interval",
    "LayerValue",
    "Summary",
    "Test",
    "aggregate",
    "dataset_groups",
    "equivalent",
    "flow_value",
    "gradient_flow",
    "holm",
    "layer_count",
    "paired",
    "per_layer",
    "present",
    "probe_histograms",
    "probe_value",
    "rank_test",
    "ratio_of_means",
    "seed_range",
    "shortest_run",
    "summarize",
    "values",
    "welch",
    "welch_test",
]

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


class Test(NamedTuple):
    """What Welch's test says of ``mean(a) - mean(b)``: the two-sided ``p``, the
    smallest difference these seeds could resolve (``resolvable``: the difference that a
    two-sided 5% test finds with 80% power at the observed spread), and the exact
    two-sided Mann-Whitney ``rank_p`` (from the ranks alone, no assumption of normality).
    """

    p: float
    resolvable: float
    rank_p: float


def welch_test(a: Sequence[float], b: Sequence[float]) -> Test | None:
    """:class:`Test` of ``mean(a) - mean(b)``; None when either side has fewer than two
    values."""
    xa, xb = summarize(a) if a else None, summarize(b) if b else None
    if xa is None or xb is None or xa.n < 2 or xb.n < 2:
        return None
    assert xa.std is not None and xb.std is not None
    va, vb = xa.std**2 / xa.n, xb.std**2 / xb.n
    se = math.sqrt(va + vb)
    rank_p = rank_test(a, b)
    if se == 0:
        return Test(0.0 if xa.mean != xb.mean else 1.0, 0.0, rank_p)
    dof = (va + vb) ** 2 / (va**2 / (xa.n - 1) + vb**2 / (xb.n - 1))
    t = (xa.mean - xb.mean) / se
    p = float(2 * _scipy_stats.t.sf(abs(t), dof))
    reach = float(_scipy_stats.t.ppf(0.975, dof) + _scipy_stats.t.ppf(0.8, dof))
    return Test(p, reach * se, rank_p)


def rank_test(a: Sequence[float], b: Sequence[float]) -> float:
    """The exact two-sided p of the Mann-Whitney rank test (ties as mid-ranks): the
    share of all ways to split the pooled values into groups of ``len(a)`` and
    ``len(b)`` whose rank sum lies at least as far from its mean as the observed one.
    With 3 seeds a side the smallest possible p is 0.1."""
    pooled = [*a, *b]
    ranks = _scipy_stats.rankdata(pooled)
    n, na = len(pooled), len(a)
    mean = na * (n + 1) / 2
    observed = abs(sum(ranks[:na]) - mean)
    splits = math.comb(n, na)
    if splits > 200_000:  # large samples: the normal approximation suffices
        return float(_scipy_stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    extreme = sum(
        abs(sum(ranks[i] for i in chosen) - mean) >= observed - 1e-9
        for chosen in itertools.combinations(range(n), na)
    )
    return float(extreme / splits)


def paired(
    a: Sequence[float], b: Sequence[float], level: float = 0.95
) -> tuple[Interval, Test] | None:
    """``a[i] - b[i]`` measured on the same network ``i`` (masks on against off at the
    same weights, say): the one-sample t interval and test of the mean difference, the
    smallest mean difference these networks could resolve (5% two-sided, 80% power),
    and the exact two-sided sign-flip test's p in place of the rank test (every one of
    the ``2**n`` sign patterns of the differences). None for fewer than 2 pairs."""
    if len(a) != len(b):
        raise ValueError(f"paired values must come in pairs, got {len(a)} and {len(b)}")
    d = [float(x) - float(y) for x, y in zip(a, b, strict=True)]
    if len(d) < 2:
        return None
    s = summarize(d)
    assert s.std is not None
    se = s.std / math.sqrt(s.n)
    dof = s.n - 1
    q = float(_scipy_stats.t.ppf(0.5 + level / 2, dof))
    interval = Interval(s.mean, s.mean - q * se, s.mean + q * se, level)
    p = (
        float(2 * _scipy_stats.t.sf(abs(s.mean / se), dof))
        if se
        else float(s.mean == 0)
    )
    reach = float(_scipy_stats.t.ppf(0.975, dof) + _scipy_stats.t.ppf(0.8, dof)) * se
    total = abs(sum(d))
    flips = sum(
        abs(sum(x if keep else -x for x, keep in zip(d, signs, strict=True)))
        >= total - 1e-12
        for signs in itertools.product((True, False), repeat=len(d))
    )
    return interval, Test(p, reach, flips / 2 ** len(d))


def holm(ps: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of the p-values of one family of comparisons, in
    their order: controls the chance of any false "resolved" in the family at the
    level the adjusted values are compared with."""
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    adjusted = [0.0] * len(ps)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(ps) - rank) * ps[i]))
        adjusted[i] = running
    return adjusted


def equivalent(a: Sequence[float], b: Sequence[float], margin: float) -> bool | None:
    """Two one-sided tests (TOST) at 5% each: True when the 90% Welch interval of
    ``mean(a) - mean(b)`` lies within ``(-margin, +margin)``; None when either side has
    fewer than two values."""
    interval = welch(a, b, level=0.90)
    if interval is None:
        return None
    return -margin < interval.low and interval.high < margin


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


def seed_range(groups: Groups, none: str = "no") -> str:
    """How many seeds a group has, fewest to most, for "... seeds per network":
    ``"5"``, ``"3 to 5"``, or ``none`` where no group has a record."""
    counts = sorted({len(records) for records in groups.values() if records})
    if not counts:
        return none
    if counts[0] == counts[-1]:
        return str(counts[0])
    return f"{counts[0]} to {counts[-1]}"


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
    keys = {name: GroupKey.parse(name) for name in groups}
    return {
        GroupKey(key.variant, key.setting): groups[name]
        for name, key in keys.items()
        if key.dataset == dataset and groups[name]
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
    flow = record.gradient_flow
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
