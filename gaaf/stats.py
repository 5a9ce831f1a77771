"""Statistics over seeds: mean and spread, Welch's interval for a difference of means,
and how two sets of seeds compare pair by pair."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any, NamedTuple

from scipy import stats as _scipy_stats

from gaaf import validate
from gaaf.config import ExperimentConfig

__all__ = [
    "Interval",
    "SeedPairs",
    "Summary",
    "aggregate",
    "seed_pairs",
    "summarize",
    "welch",
]


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
