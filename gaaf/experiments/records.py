"""One run's record, typed: what :func:`gaaf.experiments.runs.run` writes and every
reader of the analysis and the book is handed.

On disk a record stays the JSON it always was (old records load unchanged); in memory
it is a :class:`Record`, a read-only ``dict`` with accessors for what the chapters read:
the config, the final metrics, the history, the probes and the gradient flow, and the
provenance. ``record["test_acc"]`` still works; ``record.test_acc`` says the same with a
type, and ``record.flow("dw")`` replaces the nested lookup
``record["probes"]["gradient_flow"]["per_epoch"]["dw"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from gaaf.experiments.config import ExperimentConfig

__all__ = ["Record"]


class Record(dict):
    """A run's record: a ``dict`` that cannot be changed in place (a record is
    evidence; a changed copy is ``Record({**record, ...})``), with typed accessors.
    :meth:`of` wraps a plain mapping, such as a test's hand-built record."""

    __slots__ = ()

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Record:
        """``data`` as a Record (itself if it is one already)."""
        return data if isinstance(data, Record) else cls(data)

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
