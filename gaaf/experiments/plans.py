"""The book's experiments as configs: the profiles' scale, the variants of the paper's
tables, and each chapter's plan (group name -> configs, one per seed).

Nothing here trains; :func:`gaaf.experiments.runs.collect` turns a plan into records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gaaf import validate
from gaaf.experiments.config import ExperimentConfig
from gaaf.experiments.labels import GroupKey
from gaaf.experiments.params import by_profile

__all__ = [
    "CNN_DATASETS",
    "CNN_SHIFTS",
    "CNN_VARIANTS",
    "DEFAULT_SHIFT",
    "MNIST_VARIANTS",
    "REDUCED_SCALE",
    "REDUCED_WIDTH",
    "Plan",
    "cnn_config",
    "cnn_cpu_plan",
    "cnn_lr_pilot",
    "cnn_plan",
    "cnn_shift_sweep",
    "mechanism_plan",
    "mnist_benchmark",
    "mnist_config",
    "mnist_plan",
    "mnist_regimes",
    "mnist_sensitivity",
    "profile_seeds",
]

Plan = dict[str, list[ExperimentConfig]]
"""A chapter's runs, as group key (a :class:`~gaaf.experiments.labels.GroupKey`, a row
of a table) -> configs, one per seed."""

MNIST_VARIANTS: dict[str, dict[str, Any]] = {
    "base": {},
    "dropout": {"dropout_input": 0.2, "dropout_hidden": 0.5},
    "gaaf": {"activation": "gaaf_tanh"},
}
"""The rows of the paper's MNIST table (tanh MLP, + dropout, + GAAF replacing tanh)."""

CNN_VARIANTS: dict[str, dict[str, Any]] = {
    "base": {},
    "bn": {"batch_norm": True},
    "gaaf": {"activation": "gaaf_relu"},
    "bn_gaaf": {"batch_norm": True, "activation": "gaaf_relu"},
}
"""The rows of the paper's CNN table (ReLU CNN, + batch norm, + GAAF, + both)."""


def _variant(variant: str, variants: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return variants[validate.choice("variant", variant, variants)]


def profile_seeds(profile: str) -> list[int]:
    """Seeds per configuration: 1 (smoke), 2 (default), 5 (full, as the paper)."""
    return by_profile(profile, smoke=[0], default=[0, 1], full=[0, 1, 2, 3, 4])


def _seeds(profile: str, seeds: Sequence[int] | None) -> list[int]:
    return (
        profile_seeds(profile) if seeds is None else validate.seed_list("seeds", seeds)
    )


def _full_default(
    profile: str, seeds: Sequence[int] | None, full: Sequence[int]
) -> Sequence[int] | None:
    """``seeds`` if given; else ``full`` at the full profile (None elsewhere)."""
    return seeds if seeds is not None or profile != "full" else full


def mnist_config(
    profile: str, variant: str = "base", **overrides: Any
) -> ExperimentConfig:
    """The MNIST MLP at ``profile``; the paper gives none of these values.

    full: three hidden tanh layers of 1024 units (the dropout paper's MNIST width),
    Xavier initialization, SGD with momentum 0.9 and learning rate 0.01, batches of 100,
    early stopping on validation loss with patience 20, at most 300 epochs; dropout
    rates 0.2 (input) and 0.5 (hidden), as in Srivastava et al. (2014). A one-seed pilot
    on the validation set: 1024 units reached 98.13% (base), 512 units 97.97%.
    default: the same network and optimizer, patience 5, at most 30 epochs.
    smoke: widths 64, 2,000 training images, 2 epochs.
    """
    chosen = _variant(variant, MNIST_VARIANTS)
    scale = by_profile(
        profile,
        smoke={
            "widths": (64, 64, 64),
            "train_subset": 2000,
            "max_epochs": 2,
            "patience": None,
        },
        default={"max_epochs": 30, "patience": 5},
        full={},
    )
    return ExperimentConfig(**{**scale, **chosen, **overrides})


def mnist_benchmark(
    profile: str,
    variants: Sequence[str] = tuple(MNIST_VARIANTS),
    seeds: Sequence[int] | None = None,
    **overrides: Any,
) -> list[ExperimentConfig]:
    """The paper's MNIST table at ``profile``: each variant, for each of ``seeds``
    (None: the profile's :func:`profile_seeds`), with ``overrides`` on every config."""
    chosen = _seeds(profile, seeds)
    return [
        mnist_config(profile, v, **overrides, seed=s) for v in variants for s in chosen
    ]


def mnist_plan(profile: str, seeds: Sequence[int] | None = None) -> Plan:
    """The MNIST benchmark as a chapter plan: ``base``, ``dropout``, ``gaaf``, each for
    ``seeds`` (None: the profile's seeds)."""
    return {GroupKey(v): mnist_benchmark(profile, [v], seeds) for v in MNIST_VARIANTS}


SENSITIVITY_LRS = (0.01, 0.001)
SENSITIVITY_DROPOUT = (0.5, 0.25)
REDUCED_WIDTH = 256
"""The width of the studies beyond the paper's table (sensitivity, the two optimizer
regimes, the mechanism): three hidden layers of 256 units, cheap enough for seeds."""

REDUCED_SCALE = (
    f"full profile at reduced width ({REDUCED_WIDTH} units per hidden layer; the "
    "paper's network otherwise)"
)
"""How :meth:`gaaf.experiments.runs.Runs.describe` names the full-profile records of the
reduced-width plans."""


def _reduced(profile: str) -> dict[str, Any]:
    reduced = {"widths": (REDUCED_WIDTH,) * 3}
    return by_profile(profile, smoke={}, default=reduced, full=reduced)


def mnist_sensitivity(profile: str) -> Plan:
    """The unstated hyperparameters, varied at reduced width and seeds, as a plan.

    Three hidden layers of 256 units (full and default profiles; 1024 is the main
    benchmark's width, so width is varied too), learning rates 0.01 and 0.001, and for
    each: base, gaaf, and dropout with hidden rates 0.5 and 0.25 (input 0.2). One seed.
    Group names read ``"lr 0.01: dropout 0.25"``.
    """
    width = _reduced(profile)
    plan = {}
    for lr in SENSITIVITY_LRS:
        plan[GroupKey.at_rate("base", lr)] = [
            mnist_config(profile, "base", lr=lr, **width)
        ]
        plan[GroupKey.at_rate("gaaf", lr)] = [
            mnist_config(profile, "gaaf", lr=lr, **width)
        ]
        for p in SENSITIVITY_DROPOUT:
            plan[GroupKey.at_rate(f"dropout {p:g}", lr)] = [
                mnist_config(profile, "dropout", lr=lr, dropout_hidden=p, **width)
            ]
    return plan


REGIME_MOMENTA = (0.9, 0.0)
"""SGD momentum 0.9 (the book's full profile) and 0 (plain SGD, which the paper's
epoch counts suggest)."""

MOMENTUM0_LRS = (0.05, 0.1)
"""Learning rates for plain SGD (momentum 0) at which runs stop before the 300-epoch
cap: lr 0.01 with momentum 0.9 takes steps like lr 0.1 without momentum."""


def mnist_regimes(profile: str, seeds: Sequence[int] | None = None) -> Plan:
    """The MNIST table in both optimizer regimes at reduced width: groups
    ``"momentum 0.9: base"`` ... ``"momentum 0: gaaf"`` at lr 0.01 (the profile's seeds;
    every momentum-0 run there reaches the epoch cap), and ``"momentum 0, lr 0.05:
    base"`` ... at each of :data:`MOMENTUM0_LRS` (seeds 0, 1, 2 at full)."""
    plan = {
        GroupKey(v, f"momentum {m:g}"): mnist_benchmark(
            profile, [v], seeds, momentum=m, **_reduced(profile)
        )
        for m in REGIME_MOMENTA
        for v in MNIST_VARIANTS
    }
    chosen = _full_default(profile, seeds, LR_GRID_SEEDS)
    for lr in MOMENTUM0_LRS:
        for v in MNIST_VARIANTS:
            plan[GroupKey(v, f"momentum 0, lr {lr:g}")] = mnist_benchmark(
                profile, [v], chosen, momentum=0.0, lr=lr, **_reduced(profile)
            )
    return plan


LR_GRID = (0.0025, 0.005, 0.01, 0.02, 0.04, 0.08)
"""The learning rates of the MNIST grid, at momentum 0.9 and reduced width, spanning a
factor of 32 (0.0025 was added when dropout and GAAF both chose 0.005, the grid's
lowest rate then: a rate chosen at the grid's edge is not shown to be the best)."""

LR_GRID_SEEDS = (0, 1, 2)
SELECTED_SEEDS = (0, 1, 2, 3, 4)


Cells = dict[str, dict[float, list[ExperimentConfig]]]
"""A learning-rate grid, as arm -> learning rate -> configs (one per seed)."""


def mnist_lr_cells(profile: str, seeds: Sequence[int] | None = None) -> Cells:
    """Base, dropout and GAAF at each rate of :data:`LR_GRID` (two of them at smoke),
    reduced width, momentum 0.9, seeds 0, 1, 2 at full. Each arm's rate is chosen on validation
    (:func:`gaaf.experiments.selection.select_rates`)."""
    chosen = _full_default(profile, seeds, LR_GRID_SEEDS)
    rates = by_profile(profile, smoke=LR_GRID[2:4], default=LR_GRID, full=LR_GRID)
    return {
        v: {
            lr: mnist_benchmark(profile, [v], chosen, lr=lr, **_reduced(profile))
            for lr in rates
        }
        for v in MNIST_VARIANTS
    }


def cells_plan(cells: Cells) -> Plan:
    """A grid as a chapter plan: groups ``"lr 0.005: base"`` ..."""
    return {
        GroupKey.at_rate(arm, lr): configs
        for arm, by_lr in cells.items()
        for lr, configs in by_lr.items()
    }


def mnist_lr_grid(profile: str, seeds: Sequence[int] | None = None) -> Plan:
    """:func:`mnist_lr_cells` as a chapter plan."""
    return cells_plan(mnist_lr_cells(profile, seeds))


def mnist_at_rates(
    profile: str,
    rates: dict[str, float],
    reduced: bool = True,
    seeds: Sequence[int] | None = None,
) -> Plan:
    """Each arm (``base``, ``dropout``, ``gaaf``) at its own learning rate ``rates[arm]``
    (chosen on the grid's validation accuracy), at reduced width (5 seeds at full) or
    at the paper's width (``reduced=False``, 3 seeds). Groups are the arms' names."""
    default = SELECTED_SEEDS if reduced else LR_GRID_SEEDS
    chosen = _full_default(profile, seeds, default)
    width = _reduced(profile) if reduced else {}
    return {
        GroupKey(v): mnist_benchmark(profile, [v], chosen, lr=lr, **width)
        for v, lr in rates.items()
    }


def mnist_layer_lr(profile: str, seeds: Sequence[int] | None = None) -> Plan:
    """Is GAAF only a per-layer learning rate? The base network with each hidden layer's
    learning rate multiplied by :data:`GAAF_GAINS` (output layer at lr 0.01), reduced
    width, seeds 0-4 at full: group ``"base, GAAF's layer rates"``."""
    chosen = _full_default(profile, seeds, SELECTED_SEEDS)
    width = _reduced(profile)
    n = len(width.get("widths", mnist_config(profile).widths))
    gains = GAAF_GAINS if n == len(GAAF_GAINS) else (GAAF_GAINS[0],) * n
    return {
        GroupKey("base, GAAF's layer rates"): mnist_benchmark(
            profile, ["base"], chosen, lr_layers=gains, **width
        )
    }


GAAF_GAINS = (5.77, 3.85, 2.03)
"""Per hidden layer, bottom first, how much larger GAAF's gradient is than the base
network's in the first epoch, while their losses are still alike: the epoch-1 mean
``|dL/dW|`` of GAAF over the base's, geometric mean over seeds 0-4 at reduced width and
lr 0.01. :func:`gaaf.analysis.measures.epoch1_gains` recomputes it from the records, and a test
checks it."""


MECHANISM_VARIANTS: dict[str, dict[str, Any]] = {
    "base": {},
    "base, lr x2": {"lr": 0.02},
    "dropout": MNIST_VARIANTS["dropout"],
    "gaaf": MNIST_VARIANTS["gaaf"],
    "surrogate": {"activation": "surrogate_tanh"},
    "gaaf, no shape": {"activation": "gaaf_tanh", "gaaf_shape": "constant"},
    "gaaf, c 1": {"activation": "gaaf_tanh", "gaaf_c": 1.0},
    "gaaf, c 10": {"activation": "gaaf_tanh", "gaaf_c": 10.0},
    "gaaf, height 0.5": {"activation": "gaaf_tanh", "gaaf_height": 0.5},
    "gaaf, height 2": {"activation": "gaaf_tanh", "gaaf_height": 2.0},
    "base, GAAF's layer rates": {"lr_layers": GAAF_GAINS},
}
"""What makes GAAF work, at reduced width and not in the paper. The surrogate gradient
(forward tanh exactly, backward tanh' + s), no shape (s = 1: every slope raised by 1),
the bump's width ``c`` (default 3.4) and height (default 1), and the base network at
twice the learning rate (GAAF doubles the slope at 0, so part of its speed could be a
larger step), and the base network with each hidden layer's learning rate multiplied by
GAAF's measured gradient gain in that layer (:data:`GAAF_GAINS`)."""

MECHANISM_SEEDS = (0, 1, 2, 3, 4)


def mechanism_plan(profile: str, seeds: Sequence[int] | None = None) -> Plan:
    """:data:`MECHANISM_VARIANTS` at reduced width, momentum 0.9, learning rate 0.01
    unless the variant changes it; seeds 0, 1, 2 at full (the profile's otherwise)."""
    chosen = _seeds(profile, _full_default(profile, seeds, MECHANISM_SEEDS))
    return {
        GroupKey(name): [
            mnist_config(profile, "base", **_reduced(profile), **changes, seed=s)
            for s in chosen
        ]
        for name, changes in MECHANISM_VARIANTS.items()
    }


CNN_DATASETS = ("fashion_mnist", "cifar10", "cifar100", "svhn")


def cnn_plan(
    profile: str,
    datasets: Sequence[str] = CNN_DATASETS,
    seeds: Sequence[int] | None = None,
) -> Plan:
    """The CNN benchmark as a chapter plan: group ``"<dataset>: <variant>"`` for each
    dataset and variant of :data:`CNN_VARIANTS`, for ``seeds`` (None: seed 0 only,
    at every profile: the paper reports single runs)."""
    chosen = [0] if seeds is None else validate.seed_list("seeds", seeds)
    return {
        GroupKey(variant, dataset=dataset): [
            cnn_config(dataset, profile, variant, seed=s) for s in chosen
        ]
        for dataset in datasets
        for variant in CNN_VARIANTS
    }


CPU_CNN = {"widths": (16, 32, 64), "max_epochs": 10}
"""The CNN at a scale a 2-core CPU runs with seeds (Fashion-MNIST, widths 16/32/64,
10 epochs of the full profile's cosine schedule): about 1 minute an epoch here; the
schedule ends at learning rate 0, so the curves flatten by construction."""

CPU_CNN_SEEDS = (0, 1, 2)


def cnn_cpu_plan(profile: str, seeds: Sequence[int] | None = None) -> Plan:
    """The four CNN variants on Fashion-MNIST at :data:`CPU_CNN` scale (full profile;
    smaller profiles as :func:`cnn_config`), seeds 0, 1, 2 at full."""
    chosen = _seeds(profile, _full_default(profile, seeds, CPU_CNN_SEEDS))
    scale = by_profile(profile, smoke={}, default={}, full=CPU_CNN)
    return {
        GroupKey(variant, dataset="fashion_mnist"): [
            cnn_config("fashion_mnist", profile, variant, **scale, seed=s)
            for s in chosen
        ]
        for variant in CNN_VARIANTS
    }


CNN_LR_PILOT = (0.05, 0.02, 0.01, 0.005)
"""The learning rates of the CNN pilot, largest first."""


def cnn_lr_pilot(profile: str) -> Plan:
    """The learning-rate pilot behind :func:`cnn_config`'s 0.005: each CNN variant on
    Fashion-MNIST at :data:`CPU_CNN` widths for 2 epochs (of a 2-epoch cosine
    schedule), at each of :data:`CNN_LR_PILOT`, seed 0. A diverging run is a record
    too."""
    scale = by_profile(profile, smoke={}, default={}, full={**CPU_CNN, "max_epochs": 2})
    return {
        GroupKey.at_rate(variant, lr): [
            cnn_config("fashion_mnist", profile, variant, **scale, lr=lr)
        ]
        for lr in CNN_LR_PILOT
        for variant in CNN_VARIANTS
    }


CNN_LR_GRID = {
    "base": (0.005, 0.01, 0.02),
    "bn": (0.005, 0.01, 0.02, 0.05),
    "gaaf": (0.005, 0.01, 0.02),
    "bn_gaaf": (0.005, 0.01, 0.02, 0.05),
}
"""The learning rates of the CNN grid, per variant (10 epochs at :data:`CPU_CNN`
scale): x10 for the batch-norm arms, x4 for the others (GAAF-ReLU without batch norm
diverges above 0.005 in the 2-epoch pilot)."""

CNN_GRID_SEEDS = (0, 1)


def cnn_lr_cells(profile: str, seeds: Sequence[int] | None = None) -> Cells:
    """Each CNN variant on Fashion-MNIST at :data:`CPU_CNN` scale at each of its
    :data:`CNN_LR_GRID` rates (the first two at smoke), seeds 0, 1 at full."""
    chosen = _seeds(profile, _full_default(profile, seeds, CNN_GRID_SEEDS))
    scale = by_profile(profile, smoke={}, default={}, full=CPU_CNN)
    return {
        variant: {
            lr: [
                cnn_config("fashion_mnist", profile, variant, **scale, lr=lr, seed=s)
                for s in chosen
            ]
            for lr in (lrs[:2] if profile == "smoke" else lrs)
        }
        for variant, lrs in CNN_LR_GRID.items()
    }


def cnn_lr_grid(profile: str, seeds: Sequence[int] | None = None) -> Plan:
    """:func:`cnn_lr_cells` as a chapter plan."""
    return cells_plan(cnn_lr_cells(profile, seeds))


def cnn_at_rates(
    profile: str, rates: dict[str, float], seeds: Sequence[int] | None = None
) -> Plan:
    """Each CNN variant at its own rate ``rates[variant]`` (chosen on validation), at
    :data:`CPU_CNN` scale, seeds 0, 1, 2 at full. Groups are the variants' names."""
    chosen = _seeds(profile, _full_default(profile, seeds, CPU_CNN_SEEDS))
    scale = by_profile(profile, smoke={}, default={}, full=CPU_CNN)
    return {
        GroupKey(v): [
            cnn_config("fashion_mnist", profile, v, **scale, lr=lr, seed=s)
            for s in chosen
        ]
        for v, lr in rates.items()
    }


CNN_SHIFTS = (-2.8, 0.0, None, 5.6)
"""The shifts ``b`` of GAAF-ReLU's shape ``sigmoid(a x + b)`` in the shift sweep, in
increasing order; None is the default shape's 2.8 (left unset, so that the sweep reuses
the runs of :func:`cnn_cpu_plan`: a config that sets 2.8 hashes differently)."""


DEFAULT_SHIFT = GroupKey("shift 2.8 (default)")
"""The shift sweep's group of the default shape (shift unset, 2.8)."""


def cnn_shift_sweep(profile: str, seeds: Sequence[int] | None = None) -> Plan:
    """GAAF-ReLU without batch norm on Fashion-MNIST at :data:`CPU_CNN` scale (as
    :func:`cnn_cpu_plan`, seeds 0, 1, 2 at full), at each shift of :data:`CNN_SHIFTS`.
    Groups ``"shift -2.8"``, ``"shift 2.8 (default)"``, ..."""
    chosen = _seeds(profile, _full_default(profile, seeds, CPU_CNN_SEEDS))
    scale = by_profile(profile, smoke={}, default={}, full=CPU_CNN)
    return {
        (DEFAULT_SHIFT if shift is None else GroupKey(f"shift {shift:g}")): [
            cnn_config(
                "fashion_mnist", profile, "gaaf", **scale, gaaf_shift=shift, seed=s
            )
            for s in chosen
        ]
        for shift in CNN_SHIFTS
    }


def cnn_config(
    dataset: str, profile: str, variant: str = "base", **overrides: Any
) -> ExperimentConfig:
    """The base CNN on ``dataset`` at ``profile``.

    full: widths (64, 128, 256), Kaiming initialization, SGD with Nesterov momentum 0.9,
    learning rate 0.005 with a cosine schedule over 100 epochs, weight decay 5e-4,
    batches of 128, random crops (and flips where they keep labels), no early stopping
    (the best validation epoch is still reported). default (minutes on a laptop CPU for
    Fashion-MNIST): widths (16, 32, 64), 5 epochs. smoke: widths (8, 16, 32), 1,000
    images, 1 epoch.
    """
    chosen = _variant(variant, CNN_VARIANTS)
    scale = by_profile(
        profile,
        smoke={"widths": (8, 16, 32), "train_subset": 1000, "max_epochs": 1},
        default={"widths": (16, 32, 64), "max_epochs": 5},
        full={},
    )
    base = {
        "dataset": dataset,
        "model": "cnn",
        "widths": (64, 128, 256),
        "activation": "relu",
        "init": "kaiming",
        # the largest of 0.05, 0.02, 0.01, 0.005 at which all four variants trained in a
        # Fashion-MNIST pilot: GAAF-ReLU without batch norm gave NaN above it (its
        # backward is relu' + s = 2 on the positive side, doubling gradients per layer)
        "lr": 0.005,
        "nesterov": True,
        "weight_decay": 5e-4,
        "schedule": "cosine",
        "batch_size": 128,
        "max_epochs": 100,
        "patience": None,
        "monitor": "val_acc",
        "augment": True,
    }
    return ExperimentConfig(**{**base, **scale, **chosen, **overrides})
