"""Probes for records written before the probes existed, by reproducing the run.

A record of an MLP run written before :func:`gaaf.experiments.probes.probe_trained` measured
flatness, input noise and dropout masks at fixed weights lacks those probes, and the
trained weights are not kept. Training is bitwise reproducible on the CPU under the
run's thread count, so :func:`add_probes` trains the config again from scratch, checks
that every epoch's numbers and the test accuracy equal the record's, and only then adds
the missing probes to the record, with the retraining's provenance under
``provenance["probes_added"]``. Nothing the record held changes; a run that does not
reproduce leaves the record as it was and says so.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import torch

from gaaf.experiments.config import ExperimentConfig
from gaaf.experiments.io import atomic_write_json
from gaaf.experiments.runs import _lock, find_record, record_path, run

__all__ = ["ADDED", "NotReproduced", "add_probes", "missing_probes"]

ADDED = ("flatness", "input_noise", "noise_slope")
"""The probes :func:`add_probes` adds to an older MLP record."""


class NotReproduced(ValueError):
    """Training the config again did not give the record's numbers."""


def missing_probes(record: dict[str, Any]) -> list[str]:
    """The probes of :data:`ADDED` an MLP record lacks (none for other records)."""
    if record["config"]["model"] != "mlp" or "diverged" in record:
        return []
    return [p for p in ADDED if p not in record.get("probes", {})]


def _epochs(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "seconds"} for e in record["history"]]


def add_probes(
    config: ExperimentConfig,
    results: Path | str,
    data_root: Path | str | None = None,
    progress: bool = False,
) -> dict[str, Any] | None:
    """Add the missing probes to ``config``'s record by training it again (see the
    module docstring); returns the completed record, or None if it has none. Runs on
    the CPU under the thread count of the record's first start (1 where not recorded).
    Raises :class:`NotReproduced` when the numbers differ."""
    record = find_record(config, results)
    if record is None:
        return None
    missing = missing_probes(record)
    if not missing:
        return record
    starts = record["provenance"].get("starts") or [{}]
    threads = starts[0].get("threads", 1)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with (
            _lock(config, results),  # Busy if another process adds them already
            tempfile.TemporaryDirectory(prefix="gaaf-reprobe-") as scratch,
        ):
            again = run(config, scratch, "cpu", progress=progress, data_root=data_root)
            if missing_probes(find_record(config, results) or record) != missing:
                return find_record(config, results)  # added by another process
    finally:
        torch.set_num_threads(before)
    same = _epochs(again) == _epochs(record) and again["test_acc"] == record["test_acc"]
    if not same:
        raise NotReproduced(
            f"{config.label}: training it again on this machine did not give the "
            "record's numbers, so no probe was added (the record is unchanged)"
        )
    completed = record.with_probes(
        {p: again["probes"][p] for p in missing},
        {
            "probes": missing,
            "verified": "every epoch's numbers and the test accuracy of the "
            "retraining equal the record's",
            **{k: again["provenance"][k] for k in ("git_commit", "date", "starts")},
        },
    )
    atomic_write_json(record_path(config, results), completed)
    return completed
