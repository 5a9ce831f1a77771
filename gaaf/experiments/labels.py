"""Groups of runs and their names: the key a plan gives each group of runs
(:class:`GroupKey`: variant, setting, dataset) and how a reader is shown it, with
variant, dataset and record-field keys as words (``"bn_gaaf"`` -> ``"BN + GAAF"``,
``"fashion_mnist"`` -> ``"Fashion-MNIST"``). The plans make the keys; every table,
sentence and figure names them through :func:`display` (:attr:`GroupKey.label`)."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["DATASETS", "DISPLAY", "METRICS", "GroupKey", "display"]

DISPLAY: dict[str, str] = {
    "base": "base",
    "dropout": "dropout",
    "gaaf": "GAAF",
    "bn": "BN",
    "bn_gaaf": "BN + GAAF",
}
"""Variant key -> how figures and tables name it."""

DATASETS: dict[str, str] = {
    "mnist": "MNIST",
    "fashion_mnist": "Fashion-MNIST",
    "cifar10": "CIFAR-10",
    "cifar100": "CIFAR-100",
    "svhn": "SVHN",
}
"""Dataset key -> how figures, tables and verdicts name it."""

METRICS: dict[str, str] = {
    "test_acc": "test accuracy",
    "val_acc": "validation accuracy",
    "val_loss": "validation loss",
    "best_epoch": "epochs to converge",
    "train_seconds": "training time",
}
"""Record field -> how figures and tables name the quantity."""


class GroupKey(str):
    """The key of one group of runs (one point of a plan, its seeds): the ``variant``
    (``"gaaf"``, ``"dropout 0.25"``), the ``setting`` that sets the group apart
    (``"lr 0.01"``, ``"momentum 0, lr 0.05"``; empty for none) and the ``dataset``
    where a plan spans several (empty otherwise).

    It is the string ``"<dataset>: <setting>: <variant>"`` (empty parts left out), so
    it is also the key records have always been grouped by, and a plain string looks
    up the same group; :meth:`parse` reads one back. Read-only."""

    variant: str
    setting: str
    dataset: str

    def __new__(cls, variant: str, setting: str = "", dataset: str = "") -> GroupKey:
        self = super().__new__(
            cls, ": ".join(p for p in (dataset, setting, variant) if p)
        )
        self.__dict__.update(variant=variant, setting=setting, dataset=dataset)
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a GroupKey is read-only: make another one")

    def __reduce__(self) -> tuple[type[GroupKey], tuple[str, str, str]]:
        return GroupKey, (self.variant, self.setting, self.dataset)

    @classmethod
    def at_rate(cls, variant: str, lr: float, dataset: str = "") -> GroupKey:
        """The group of ``variant`` at learning rate ``lr``: ``"lr 0.01: gaaf"``."""
        return cls(variant, f"lr {lr:g}", dataset)

    @classmethod
    def parse(cls, key: str) -> GroupKey:
        """A key read back from its string: the last part is the variant, a first part
        that names a dataset of :data:`DATASETS` the dataset, the rest the setting
        (``"fashion_mnist: lr 0.01: bn"``). A GroupKey is returned as it is."""
        if isinstance(key, GroupKey):
            return key
        parts = key.split(": ")
        dataset = parts.pop(0) if len(parts) > 1 and parts[0] in DATASETS else ""
        return cls(parts[-1], ": ".join(parts[:-1]), dataset)

    def with_variant(self, variant: str) -> GroupKey:
        """The same setting and dataset for another variant (``"lr 0.01: base"``)."""
        return GroupKey(variant, self.setting, self.dataset)

    @property
    def label(self) -> str:
        """The key as a reader sees it (:func:`display`)."""
        return display(self)


def display(name: str) -> str:
    """A group's name for a reader: its variant key (the part after the last ``": "``)
    by :data:`DISPLAY`, e.g. ``"lr 0.01: gaaf"`` -> ``"lr 0.01: GAAF"``; names that are
    not variant keys (``"dropout 0.25"``) are kept, a variant with settings after a
    comma is named by its variant (``"gaaf, no shape"`` -> ``"GAAF, no shape"``); a
    dataset key, alone or as the prefix, is named by :data:`DATASETS`
    (``"fashion_mnist: bn"`` -> ``"Fashion-MNIST: BN"``); a factor is written with ×
    (``"base, lr x2"`` -> ``"base, lr ×2"``)."""
    key = GroupKey.parse(name)
    prefix = "".join(f"{p}: " for p in (DATASETS.get(key.dataset), key.setting) if p)
    variant = re.sub(r"\bx(?=\d)", "×", key.variant)  # "base, lr x2" -> "base, lr ×2"
    head, comma, rest = variant.partition(", ")  # "gaaf, no shape" -> "GAAF, no shape"
    if comma and head in DISPLAY:
        return prefix + DISPLAY[head] + comma + rest
    return prefix + DISPLAY.get(variant, DATASETS.get(variant, variant))
