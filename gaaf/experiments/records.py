"""One run's record, typed: what :func:`gaaf.experiments.runs.run` writes and every
reader of the analysis and the book is handed.

On disk a record stays the JSON it always was (old records load unchanged); in memory
it is a :class:`Record`, a read-only ``dict`` with accessors for what the chapters read:
the config, the final metrics, the history, the probes and the gradient flow, and the
provenance. ``record["test_acc"]`` still works; ``record.test_acc`` says the same with a
type, and ``record.flow("dw")`` replaces the nested lookup
``record["probes"]["gradient_flow"]["per_epoch"]["dw"]``.

The schema is written here once: :func:`new_record` assembles a run's record from its
config, the training's outcome (:func:`trained_outcome` or :func:`diverged_outcome`)
and its provenance, and seals it (:func:`seal`); :meth:`Record.with_probes` adds probes
to a record that lacks them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, NoReturn

from gaaf.experiments.config import ExperimentConfig

__all__ = [
    "RECORD_FORMAT",
    "Record",
    "digest",
    "diverged_outcome",
    "new_record",
    "seal",
    "trained_outcome",
]

RECORD_FORMAT = 3
"""The record format this gaaf reads. Format 2 added ``probes`` to MLP records; format 3
seals records by ``digest`` (format-2 records were sealed as they were, with no other
change but their label), and a run that diverged is a record with ``diverged`` and no
metrics."""


def digest(record: Mapping[str, Any]) -> str:
    """The SHA-256 of ``record``'s canonical JSON, over everything but ``digest``."""
    content = {k: v for k, v in record.items() if k != "digest"}
    canonical = json.dumps(
        content, sort_keys=True, separators=(",", ":"), allow_nan=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def seal(record: Mapping[str, Any]) -> Record:
    """``record`` with its ``digest`` (over everything else in it) set."""
    return Record({**record, "digest": digest(record)})


def trained_outcome(
    *,
    history: list[dict[str, float]],
    best_epoch: int,
    stopped_early: bool,
    val_loss: float,
    val_acc: float,
    test_loss: float,
    test_acc: float,
    train_seconds: float,
    probes: Mapping[str, Any],
) -> dict[str, Any]:
    """The outcome of a run that trained to its end: its ``history`` (and so the
    epochs it ran), the best epoch's validation and test metrics, its training time
    and the probes of the trained network."""
    return {
        "history": history,
        "best_epoch": best_epoch,
        "epochs_run": len(history),
        "stopped_early": stopped_early,
        "val_loss": val_loss,
        "val_acc": val_acc,
        "test_loss": test_loss,
        "test_acc": test_acc,
        "train_seconds": train_seconds,
        "probes": dict(probes),
    }


def diverged_outcome(epoch: int, history: list[dict[str, float]]) -> dict[str, Any]:
    """The outcome of a run whose loss stopped being finite in ``epoch``: no metrics,
    the epochs it finished."""
    return {"diverged": {"epoch": epoch}, "history": history}


def new_record(
    config: ExperimentConfig, outcome: Mapping[str, Any], provenance: Mapping[str, Any]
) -> Record:
    """A run's sealed record: the format, the config (with its hash and label), the
    training's ``outcome`` (test and validation metrics, history, probes, or a
    :func:`diverged_outcome`), then the ``provenance``."""
    return seal(
        {
            "format": RECORD_FORMAT,
            "complete": True,
            "hash": config.hash,
            "label": config.label,
            "config": config.to_dict(),
            **outcome,
            "provenance": dict(provenance),
        }
    )


class Record(dict):
    """A run's record: a ``dict`` that cannot be changed in place (a record is
    evidence; a changed copy is ``Record({**record, ...})``), with typed accessors.
    A new run's record is built by :func:`new_record` (tests build theirs with it
    too, through ``tests/builders.py``)."""

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(
            "a Record is read-only: make a changed copy with Record({**record, ...})"
        )

    def __reduce__(self) -> tuple[type[Record], tuple[dict[str, Any]]]:
        return Record, (dict(self),)  # copies and pickles rebuild it whole

    __setitem__ = __delitem__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only  # type: ignore[assignment]
    __ior__ = _read_only  # type: ignore[assignment]

    @property
    def config(self) -> ExperimentConfig:
        """The config that produced the run."""
        return ExperimentConfig.from_dict(self["config"])

    @property
    def test_acc(self) -> float:
        """Test accuracy (a fraction) at the best epoch."""
        return self["test_acc"]

    @property
    def val_acc(self) -> float:
        """Validation accuracy (a fraction) at the best epoch."""
        return self["val_acc"]

    @property
    def best_epoch(self) -> int:
        """The epoch whose weights the run kept (lowest validation loss)."""
        return self["best_epoch"]

    @property
    def epochs_run(self) -> int:
        """How many epochs the run trained before it stopped."""
        return self["epochs_run"]

    @property
    def diverged(self) -> bool:
        """Whether the run's loss stopped being finite (then it has no result)."""
        return "diverged" in self

    @property
    def history(self) -> list[dict[str, float]]:
        """One dict of metrics per epoch, the first epoch first."""
        return self["history"]

    @property
    def probes(self) -> dict[str, Any]:
        """The probes of the trained network (empty for a run without them)."""
        return self.get("probes", {})

    @property
    def gradient_flow(self) -> dict[str, Any] | None:
        """The gradient-flow probe (``mean`` and ``per_epoch`` per quantity), or None."""
        return self.probes.get("gradient_flow")

    def flow(self, quantity: str) -> list[list[float]]:
        """Per epoch, per layer (layer 1 first): the mean ``|gradient|`` of
        ``quantity`` (``"dw"``, ``"dz"`` or ``"dh"``). KeyError if the run has no
        gradient-flow probe."""
        flow = self.gradient_flow
        if flow is None:
            raise KeyError(f"the run {self.config.label} has no gradient-flow probe")
        return flow["per_epoch"][quantity]

    @property
    def provenance(self) -> dict[str, Any]:
        """Where and with what code the run was trained."""
        return self["provenance"]

    def with_probes(
        self, probes: Mapping[str, Any], added: Mapping[str, Any]
    ) -> Record:
        """This record, sealed again, with ``probes`` added to its own and
        ``provenance["probes_added"]`` set to ``added`` (what was added, how it was
        verified, and the code that added it)."""
        return seal(
            {
                **{k: v for k, v in self.items() if k != "digest"},
                "probes": {**self.probes, **probes},
                "provenance": {**self.provenance, "probes_added": dict(added)},
            }
        )
