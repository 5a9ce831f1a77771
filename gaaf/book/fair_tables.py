"""The tables of the fair comparisons: every arm over its grid of learning rates with
the rate the selection chose (:func:`rate_rows`), and epochs run, censored runs and
accuracy at matched epochs per arm (:func:`training_rows`). Their verdicts are
:mod:`gaaf.analysis.fairness`'s."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

from gaaf.analysis.fairness import MATCHED_EPOCHS
from gaaf.analysis.measures import accuracy_at
from gaaf.analysis.stats import Groups, Record, present
from gaaf.book.tables import Table, mean_std
from gaaf.experiments.labels import display
from gaaf.experiments.selection import Selected, censored

__all__ = ["rate_rows", "training_rows"]


def rate_rows(
    grid: Mapping[str, Mapping[float, Sequence[Record | None]]],
    chosen: Mapping[str, Selected],
) -> Table:
    """Per arm and learning rate: the seeds with records, mean (std) validation and
    test accuracy (%), epochs run, and what the selection made of the rate (chosen, or
    why it was left out)."""
    headers = ["arm", "learning rate", "seeds", "validation (%)", "test (%)", "epochs"]
    headers.append("selection")
    rows = []
    for arm, cells in grid.items():
        pick = chosen.get(arm)
        for lr, records in sorted(cells.items()):
            found = [r for r in records if r is not None]
            trained = [r for r in found if "diverged" not in r]
            verdict_ = ""
            if pick is not None:
                verdict_ = "chosen" if pick.lr == lr else pick.excluded.get(lr, "")
            rows.append(
                [
                    display(arm),
                    f"{lr:g}",
                    f"{len(found)} of {len(records)}",
                    mean_std([100 * r["val_acc"] for r in trained], 2)
                    if trained
                    else "",
                    mean_std([100 * r["test_acc"] for r in trained], 2)
                    if trained
                    else "",
                    mean_std([r["epochs_run"] for r in trained], 0) if trained else "",
                    verdict_ or ("diverged" if len(trained) < len(found) else ""),
                ]
            )
    return headers, rows


def training_rows(groups: Groups, epochs: Sequence[int] = MATCHED_EPOCHS) -> Table:
    """Per group: epochs run (mean, lowest to highest), how many runs the epoch cap
    stopped (censored), validation accuracy (%) at the best epoch and after each of
    ``epochs`` epochs (over the runs that trained that long)."""
    headers = ["", "runs", "epochs run", "stopped by the cap", "validation at best (%)"]
    headers += [f"validation after {e} epochs (%)" for e in epochs]
    rows = []
    for name, records in present(groups).items():
        run = [r["epochs_run"] for r in records]
        row = [
            display(name),
            str(len(records)),
            f"{statistics.fmean(run):.0f} ({min(run)} to {max(run)})",
            f"{sum(map(censored, records))} of {len(records)}",
            mean_std([100 * r["val_acc"] for r in records], 2),
        ]
        for e in epochs:
            at = [a for r in records if (a := accuracy_at(r, e)) is not None]
            row.append(
                mean_std([100 * a for a in at], 2) + f", {len(at)} runs" if at else "—"
            )
        rows.append(row)
    return headers, rows
