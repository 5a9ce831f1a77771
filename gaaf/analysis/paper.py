"""Every number of Hahn & Choi (2018, arXiv:1806.09783) that the book shows, quoted once.

Chapters and tables read the paper's numbers from here, never type them. Each constant
names where in the paper it comes from. The paper numbers its tables and figures; the
references below describe them by content as well, so that a reader with another version
of the paper finds them.

A leaf module: it imports nothing from ``gaaf``.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "CNN",
    "CNN_REFERENCE",
    "GRADIENT_FLOW",
    "GRADIENT_FLOW_FACTOR",
    "MNIST",
    "MNIST_RUNS",
    "NET_INPUT_MODES",
    "TRAINED_WEIGHT_RANGE",
    "Reported",
    "cnn_gains",
    "gradient_flow_ratios",
    "mnist_effect",
]


class Reported(NamedTuple):
    """A number the paper reports as mean (standard deviation) over its runs."""

    mean: float
    std: float


MNIST_RUNS = 5
"""Runs per row of the paper's MNIST table."""

MNIST: dict[str, dict[str, Reported]] = {
    "base": {"test_acc": Reported(98.23, 0.075), "best_epoch": Reported(82, 16.6)},
    "dropout": {"test_acc": Reported(98.40, 0.034), "best_epoch": Reported(169, 9.7)},
    "gaaf": {"test_acc": Reported(98.35, 0.059), "best_epoch": Reported(114, 24.8)},
}
"""The paper's MNIST table, in its experiments section (a three-hidden-layer tanh MLP
without dropout, with dropout and with GAAF). Test accuracy in percent and training
epochs, mean (std) over :data:`MNIST_RUNS` runs."""

GRADIENT_FLOW: dict[str, tuple[float, float, float]] = {
    "base": (1.07e-04, 1.40e-04, 9.35e-05),
    "dropout": (5.93e-04, 6.52e-04, 5.83e-04),
}
"""The paper's gradient-flow table, in its dropout analysis ("gradient information").
The mean ``|gradient|`` per hidden layer of the MNIST MLP, layer 1 first, averaged over
all training iterations, without and with dropout."""

GRADIENT_FLOW_FACTOR = 5.0
"""The paper's summary of its gradient-flow table, in its text.
Dropout multiplies the gradient reaching each hidden layer by "about 5" (the table's
ratios are 4.7 to 6.2)."""

NET_INPUT_MODES = {"base": 0.8, "dropout": 2.5}
"""Where the net-input histograms of the paper's saturation figure (MNIST MLP) peak.
Without dropout the top layer has two modes near ``+-0.8``; with dropout layers 2 and 3
are bimodal with modes near ``+-2.5``."""

TRAINED_WEIGHT_RANGE = 0.2
"""The paper's weight histograms (its co-adaptation figure) lie within about ``+-0.2``."""

CNN: dict[str, dict[str, float]] = {
    "cifar100": {"base": 59.63, "bn": 67.48, "gaaf": 61.29, "bn_gaaf": 69.36},
    "cifar10": {"base": 89.55, "bn": 91.10, "gaaf": 90.16, "bn_gaaf": 91.92},
    "svhn": {"base": 92.03, "bn": 93.80, "gaaf": 92.19, "bn_gaaf": 94.16},
}
"""The paper's CNN table, in its experiments section (a "base CNN" with ReLU, + batch
norm, + GAAF-ReLU, + both). Top-1 test accuracy in percent, single runs."""

CNN_REFERENCE = {"bn": "base", "gaaf": "base", "bn_gaaf": "bn"}
"""What the paper's CNN table measures each variant's gain against.
Batch norm and GAAF against the base CNN, batch norm + GAAF against batch norm alone."""


def mnist_effect(a: str, b: str, metric: str) -> float:
    """The paper's difference of means ``a - b`` in its MNIST table, e.g.
    ``mnist_effect("gaaf", "dropout", "best_epoch") == -55``."""
    return MNIST[a][metric].mean - MNIST[b][metric].mean


def gradient_flow_ratios() -> tuple[float, ...]:
    """Per hidden layer (layer 1 first): the paper's gradient with dropout over without."""
    return tuple(
        d / b
        for d, b in zip(GRADIENT_FLOW["dropout"], GRADIENT_FLOW["base"], strict=True)
    )


def cnn_gains(variant: str = "gaaf") -> dict[str, float]:
    """Per dataset: the paper's gain in points of ``variant`` over its reference
    (:data:`CNN_REFERENCE`); ``cnn_gains("bn_gaaf")["svhn"]`` is 94.16 - 93.80."""
    reference = CNN_REFERENCE[variant]
    return {d: row[variant] - row[reference] for d, row in CNN.items()}
