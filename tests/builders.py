"""Records for tests, built as a run builds them.

:func:`make_record` gives a test a real :class:`~gaaf.experiments.records.Record` (sealed
by :func:`~gaaf.experiments.records.new_record`, with a complete config, every outcome
field a trained run has, and a provenance) in which only what the test names is chosen;
the rest are plain defaults. A test imports it as ``from builders import make_record``
(``tests/`` is on ``sys.path`` under pytest's default import mode).

A record is read-only: pass what a test needs to the builder rather than changing the
record afterwards (nested values, such as ``probes``, are built before they are passed).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gaaf
from gaaf.experiments import plans, records
from gaaf.experiments.config import ExperimentConfig
from gaaf.experiments.records import Record

__all__ = ["PROVENANCE", "make_record"]

CONFIG_FIELDS = frozenset(f.name for f in dataclasses.fields(ExperimentConfig))

PROVENANCE: dict[str, Any] = {
    "gaaf_version": gaaf.__version__,
    "git_commit": "0" * 40,
    "torch_version": "2.0.0",
    "python_version": "3.11.0",
    "device": "cpu",
    "date": "2026-01-01T00:00:00+00:00",
}
"""A test record's provenance, less ``wall_seconds`` (which follows the run's length)."""


def make_record(
    *,
    config: ExperimentConfig | None = None,
    test_acc: float = 0.98,
    val_acc: float | None = None,
    best_epoch: int | None = None,
    epochs_run: int | None = None,
    history: list[dict[str, Any]] | None = None,
    probes: dict[str, Any] | None = None,
    stopped_early: bool = True,
    diverged: int | None = None,
    provenance: dict[str, Any] | None = None,
    **fields: Any,
) -> Record:
    """A sealed record of ``config`` (default: the full-profile MNIST base network).

    ``fields`` named like an :class:`ExperimentConfig` field (``widths``, ``seed``,
    ``lr``, ``patience``, ``dataset``, ``dropout_hidden``, ...) replace the config's;
    any other is an outcome field, stored as given (``val_loss``, ``test_loss``,
    ``train_seconds``, ...). Defaults: ``val_acc`` is ``test_acc``; ``val_loss`` and
    ``test_loss`` are 0.1; ``epochs_run`` is the length of ``history``, else
    ``best_epoch``, else 10; ``best_epoch`` is ``epochs_run``; ``history`` is flat,
    every epoch at the final metrics; ``probes`` is empty; ``train_seconds`` is the
    provenance's ``wall_seconds``, a minute an epoch unless ``provenance`` (merged over
    :data:`PROVENANCE`) gives it.

    ``diverged``: the epoch in which the loss stopped being finite; the record then
    has the ``history`` given (default none) and no metrics, as a diverged run's.
    """
    changes = {k: fields.pop(k) for k in list(fields) if k in CONFIG_FIELDS}
    config = dataclasses.replace(config or plans.mnist_config("full"), **changes)
    epochs_run = epochs_run or len(history or ()) or best_epoch or 10
    wall = 60.0 * (epochs_run if diverged is None else diverged)
    info = {**PROVENANCE, "wall_seconds": wall, **(provenance or {})}
    if diverged is not None:
        outcome = records.diverged_outcome(diverged, history or [])
        return records.new_record(config, outcome, info)
    val_acc = test_acc if val_acc is None else val_acc
    val_loss = fields.get("val_loss", 0.1)
    if history is None:
        row = {
            "train_loss": val_loss,
            "train_acc": val_acc,
            "val_loss": val_loss,
            "val_acc": val_acc,
            "lr": config.lr,
            "seconds": info["wall_seconds"] / epochs_run,
        }
        history = [{"epoch": e, **row} for e in range(1, epochs_run + 1)]
    outcome = records.trained_outcome(
        history=history,
        best_epoch=best_epoch or epochs_run,
        stopped_early=stopped_early,
        val_loss=val_loss,
        val_acc=val_acc,
        test_loss=val_loss,
        test_acc=test_acc,
        train_seconds=info["wall_seconds"],
        probes=probes or {},
    )
    return records.new_record(
        config, {**outcome, "epochs_run": epochs_run, **fields}, info
    )
