"""Each arm at its own best learning rate, chosen on validation, never on test.

The rule, written once: among the rates at which every seed of the arm has a record,
none diverged and none was stopped by the epoch cap (censored), the one with the highest
mean validation accuracy at the best epoch; a tie goes to the smaller rate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Selected", "censored", "select_rate", "select_rates"]


def censored(record: dict[str, Any]) -> bool:
    """A run stopped by the epoch cap while early stopping was on: its best epoch and
    accuracy are lower bounds, not results."""
    patience = record.get("config", {}).get("patience", "set")
    return (
        "diverged" not in record
        and patience is not None
        and not record.get("stopped_early", True)
    )


@dataclass(frozen=True)
class Selected:
    """An arm's chosen rate, its mean validation accuracy, and every rate's fate."""

    lr: float | None  # None: no rate qualified
    val_acc: float | None
    means: dict[float, float] = field(default_factory=dict)  # rate -> mean val acc
    excluded: dict[float, str] = field(default_factory=dict)  # rate -> why


def select_rate(
    cells: Mapping[float, Sequence[dict[str, Any] | None]],
) -> Selected:
    """The rule above over ``cells``: rate -> the records of its seeds (None where a
    seed has no record yet)."""
    means: dict[float, float] = {}
    excluded: dict[float, str] = {}
    for lr, records in sorted(cells.items()):
        if not records or any(r is None for r in records):
            excluded[lr] = "not every seed has a record"
        elif any("diverged" in r for r in records):
            excluded[lr] = "diverged"
        elif any(censored(r) for r in records):
            excluded[lr] = "stopped by the epoch cap"
        else:
            means[lr] = sum(r["val_acc"] for r in records) / len(records)
    if not means:
        return Selected(None, None, means, excluded)
    best = max(means.values())
    lr = min(r for r, m in means.items() if m == best)
    return Selected(lr, best, means, excluded)


def select_rates(
    grid: Mapping[str, Mapping[float, Sequence[dict[str, Any] | None]]],
) -> dict[str, Selected]:
    """:func:`select_rate` for each arm of ``grid`` (arm -> rate -> records)."""
    return {arm: select_rate(cells) for arm, cells in grid.items()}


def grid_records(
    cells: Mapping[str, Mapping[float, Sequence[Any]]], results: Any
) -> dict[str, dict[float, list[dict[str, Any] | None]]]:
    """The records of a grid of configs (arm -> rate -> configs), None where a config
    has none; nothing is trained."""
    from gaaf.experiments.runs import load_record, record_path

    def find(config: Any) -> dict[str, Any] | None:
        path = record_path(config, results)
        return load_record(path) if path.exists() else None

    return {
        arm: {lr: [find(c) for c in configs] for lr, configs in by_lr.items()}
        for arm, by_lr in cells.items()
    }


def chosen_rates(
    cells: Mapping[str, Mapping[float, Sequence[Any]]], results: Any
) -> dict[str, float]:
    """Each arm's selected rate from the grid's records; a ValueError naming what is
    missing when the grid is not complete (a selection must see every rate)."""
    grid = grid_records(cells, results)
    missing = sum(
        r is None for by_lr in grid.values() for rs in by_lr.values() for r in rs
    )
    if missing:
        raise ValueError(
            f"the learning-rate grid is incomplete ({missing} run(s) without a record "
            f"in {results}); train the grid first, then select"
        )
    selected = select_rates(grid)
    none = [arm for arm, s in selected.items() if s.lr is None]
    if none:
        raise ValueError(
            f"no learning rate of the grid qualifies for {', '.join(none)}"
        )
    return {arm: s.lr for arm, s in selected.items() if s.lr is not None}


@dataclass(frozen=True)
class Grid:
    """A learning-rate grid as a chapter shows it: the records found (``runs``), by arm
    and rate (``cells``), and each arm's selection (``chosen``)."""

    runs: Any  # gaaf.experiments.runs.Runs
    cells: dict[str, dict[float, list[dict[str, Any] | None]]]
    chosen: dict[str, Selected]

    def pooled(self) -> dict[str, list[dict[str, Any]]]:
        """Each arm's records over every rate (those that did not diverge): for
        measures of a trained network that do not compare arms, so need no common
        rate (dropout's masks on against off, at the same weights)."""
        return {
            arm: [r for rs in by_lr.values() for r in rs if r and "diverged" not in r]
            for arm, by_lr in self.cells.items()
        }

    @property
    def rates(self) -> dict[str, float]:
        """Each arm's chosen rate (arms without one are left out)."""
        return {arm: s.lr for arm, s in self.chosen.items() if s.lr is not None}


def collect_grid(
    cells: Any,
    profile: str,
    results: Any,
    device: str = "auto",
    data_root: Any = None,
    progress: bool = True,
    *,
    wanted: bool = True,
) -> Grid:
    """Collect a grid's records (:func:`gaaf.experiments.runs.collect` of ``cells(profile)`` as a
    plan) and select each arm's rate on the records found. Where the grid is not
    complete yet, the selection is made among the rates whose every seed has a record
    (:func:`select_rate` says which were left out). Where ``wanted`` is false (a grid
    the chapter's parameters leave out), nothing is trained or read: an empty grid."""
    from gaaf.experiments.plans import cells_plan
    from gaaf.experiments.runs import collect, empty

    if not wanted:
        return Grid(empty(profile), {}, {})

    runs = collect(
        lambda p: cells_plan(cells(p)), profile, results, device, data_root, progress
    )
    found = grid_records(cells(runs.profile), results)
    return Grid(runs, found, select_rates(found))
