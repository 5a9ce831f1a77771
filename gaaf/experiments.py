"""Experiments as records: frozen configs with a stable hash, idempotent runs that resume,
JSON records with provenance, aggregation over seeds, and the book's profiles.

``run(config, results_dir)`` returns the complete record of ``config`` if one exists;
otherwise it trains, resuming from the config's checkpoint if an earlier run was
interrupted, and writes the record atomically. Records live at
``<results_dir>/<dataset>/<slug>-<hash>.json``; checkpoints, deleted once the record
is written, at ``<results_dir>/checkpoints/<hash>.pt``.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import math
import platform
import statistics
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import gaaf
from gaaf.data import DATASETS, load
from gaaf.io import atomic_write_json
from gaaf.models import ACTIVATION_NAMES
from gaaf.params import by_profile, resolve_device
from gaaf.probes import GradientFlow, probe

__all__ = [
    "CNN_DATASETS",
    "CNN_VARIANTS",
    "MNIST_VARIANTS",
    "ExperimentConfig",
    "aggregate",
    "cnn_config",
    "cnn_plan",
    "load_record",
    "mnist_benchmark",
    "mnist_config",
    "mnist_plan",
    "mnist_sensitivity",
    "record_path",
    "run",
    "seeds",
]

RECORD_FORMAT = 2
"""2: MLP records carry ``probes`` (gradient flow while training, and the trained
network's weights, unit correlations and net inputs on the test set)."""


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that decides a training run's numbers. Frozen; hashed by content.

    Invalid or unknown values raise one ``ValueError`` that names the field.
    """

    dataset: str = "mnist"
    model: str = "mlp"  # "mlp" or "cnn"
    widths: tuple[int, ...] = (
        1024,
        1024,
        1024,
    )  # MLP hidden widths / CNN block channels
    activation: str = "tanh"  # see gaaf.models.ACTIVATION_NAMES
    gaaf_K: float = 10_000.0
    gaaf_c: float | None = None  # None: the library's default shape for the activation
    gaaf_slope: float | None = None
    gaaf_shift: float | None = None
    gaaf_height: float | None = None
    dropout_input: float = 0.0
    dropout_hidden: float = 0.0
    batch_norm: bool = False
    init: str = "xavier"  # "xavier", "kaiming" or "torch" (PyTorch's default)
    optimizer: str = "sgd"  # "sgd" or "adam"
    lr: float = 0.01
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: str = "constant"  # "constant" or "cosine" (over max_epochs)
    batch_size: int = 100
    max_epochs: int = 300
    patience: int | None = 20  # epochs without improvement; None: always max_epochs
    monitor: str = "val_loss"  # "val_loss" or "val_acc"
    augment: bool = False
    train_subset: int | None = None  # first N training images only (smoke runs)
    seed: int = 0

    def __post_init__(self) -> None:
        _validate(self)

    # -- identity ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["widths"] = list(self.widths)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExperimentConfig:
        unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(
                f"{unknown[0]}: not a config field (unknown: {', '.join(unknown)})"
            )
        return cls(**d)

    @property
    def hash(self) -> str:
        """16 hex digits of the SHA-256 of the config's canonical JSON.

        Fields set to None are left out, so a field added later with default None
        (meaning "as before") keeps every existing record's hash valid.
        """
        fields = {k: v for k, v in self.to_dict().items() if v is not None}
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        """A short human-readable name, e.g. ``mnist mlp gaaf_tanh drop 0.2/0.5 seed 0``."""
        parts = [self.dataset, self.model, self.activation]
        if self.batch_norm:
            parts.append("bn")
        if self.dropout_input or self.dropout_hidden:
            parts.append(f"drop {self.dropout_input:g}/{self.dropout_hidden:g}")
        return " ".join([*parts, f"seed {self.seed}"])

    @property
    def slug(self) -> str:
        return self.label.replace("/", "-").replace(" ", "_")

    def replace(self, **changes: Any) -> ExperimentConfig:
        return dataclasses.replace(self, **changes)


def _fail(field: str, message: str, value: object) -> None:
    raise ValueError(f"{field} {message}, got {value!r}")


def _validate(c: ExperimentConfig) -> None:
    choices = {
        "dataset": tuple(DATASETS),
        "model": ("mlp", "cnn"),
        "activation": ACTIVATION_NAMES,
        "init": ("xavier", "kaiming", "torch"),
        "optimizer": ("sgd", "adam"),
        "schedule": ("constant", "cosine"),
        "monitor": ("val_loss", "val_acc"),
    }
    for field, allowed in choices.items():
        if getattr(c, field) not in allowed:
            _fail(
                field,
                f"must be one of {', '.join(map(repr, allowed))}",
                getattr(c, field),
            )
    for field in ("batch_norm", "nesterov", "augment"):
        if not isinstance(getattr(c, field), bool):
            _fail(field, "must be True or False", getattr(c, field))

    def is_int(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    def is_real(v: object) -> bool:
        return is_int(v) or (isinstance(v, float) and math.isfinite(v))

    widths = c.widths
    if isinstance(widths, list):
        widths = tuple(widths)
        object.__setattr__(c, "widths", widths)
    if not (
        isinstance(widths, tuple)
        and widths
        and all(is_int(w) and w > 0 for w in widths)
    ):
        _fail("widths", "must be a non-empty sequence of positive integers", c.widths)
    for field in ("batch_size", "max_epochs"):
        if not (is_int(getattr(c, field)) and getattr(c, field) >= 1):
            _fail(field, "must be an integer >= 1", getattr(c, field))
    for field in ("patience", "train_subset"):
        value = getattr(c, field)
        if value is not None and not (is_int(value) and value >= 1):
            _fail(field, "must be None or an integer >= 1", value)
    if not (is_int(c.seed) and c.seed >= 0):
        _fail("seed", "must be an integer >= 0", c.seed)
    for field in ("dropout_input", "dropout_hidden"):
        value = getattr(c, field)
        if not (is_real(value) and 0 <= value < 1):
            _fail(field, "must be a number in [0, 1)", value)
    if not (is_real(c.lr) and c.lr > 0):
        _fail("lr", "must be a number > 0", c.lr)
    if not (is_real(c.momentum) and 0 <= c.momentum < 1):
        _fail("momentum", "must be a number in [0, 1)", c.momentum)
    if not (is_real(c.weight_decay) and c.weight_decay >= 0):
        _fail("weight_decay", "must be a number >= 0", c.weight_decay)
    if not (is_real(c.gaaf_K) and c.gaaf_K > 0):
        _fail("gaaf_K", "must be a finite number > 0", c.gaaf_K)
    shape_fields = ("gaaf_c", "gaaf_slope", "gaaf_shift", "gaaf_height")
    for field in shape_fields:
        value = getattr(c, field)
        if value is None:
            continue
        if not is_real(value):
            _fail(field, "must be None or a finite number", value)
        if not c.activation.startswith("gaaf_"):
            _fail(
                field,
                "only applies to a gaaf_* activation; activation is",
                c.activation,
            )
    if c.activation.startswith("gaaf_"):  # shape parameters must fit the shape
        from gaaf.models import make_activation

        make_activation(
            c.activation, c.gaaf_K, c.gaaf_c, c.gaaf_slope, c.gaaf_shift, c.gaaf_height
        )


# ------------------------------------------------------------------------- profiles

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


def _check_variant(variant: str, variants: dict[str, dict[str, Any]]) -> None:
    if variant not in variants:
        allowed = ", ".join(map(repr, variants))
        raise ValueError(f"variant must be one of {allowed}, got {variant!r}")


def seeds(profile: str) -> list[int]:
    """Seeds per configuration: 1 (smoke), 2 (default), 5 (full, as the paper)."""
    return by_profile(profile, smoke=[0], default=[0, 1], full=[0, 1, 2, 3, 4])


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
    _check_variant(variant, MNIST_VARIANTS)
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
    return ExperimentConfig(**{**scale, **MNIST_VARIANTS[variant], **overrides})


def mnist_benchmark(
    profile: str,
    variants: Sequence[str] = tuple(MNIST_VARIANTS),
    seed_list: Sequence[int] | None = None,
) -> list[ExperimentConfig]:
    """The paper's MNIST table at ``profile``: each variant, for each of ``seed_list``
    (None: the profile's :func:`seeds`)."""
    chosen = seeds(profile) if seed_list is None else _check_seeds(seed_list)
    return [mnist_config(profile, v, seed=s) for v in variants for s in chosen]


def _check_seeds(seed_list: Sequence[int]) -> list[int]:
    if isinstance(seed_list, (str, bytes)) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seed_list
    ):
        raise ValueError(
            f"seeds must be None or a list of integers >= 0, got {seed_list!r}"
        )
    if not seed_list:
        raise ValueError("seeds must not be empty")
    return list(seed_list)


SENSITIVITY_LRS = (0.01, 0.001)
SENSITIVITY_DROPOUT = (0.5, 0.25)
SENSITIVITY_WIDTH = 256


def mnist_plan(
    profile: str, seed_list: Sequence[int] | None = None
) -> dict[str, list[ExperimentConfig]]:
    """The MNIST benchmark as a chapter plan: ``base``, ``dropout``, ``GAAF``, each for
    ``seed_list`` (None: the profile's seeds)."""
    return {
        name: mnist_benchmark(profile, [variant], seed_list)
        for name, variant in (
            ("base", "base"),
            ("dropout", "dropout"),
            ("GAAF", "gaaf"),
        )
    }


def mnist_sensitivity(profile: str) -> dict[str, list[ExperimentConfig]]:
    """The unstated hyperparameters, varied at reduced width and seeds, as a plan.

    Three hidden layers of 256 units (full and default profiles; 1024 is the main
    benchmark's width, so width is varied too), learning rates 0.01 and 0.001, and for
    each: base, GAAF, and dropout with hidden rates 0.5 and 0.25 (input 0.2). One seed.
    Group names read ``"lr 0.01: dropout 0.25"``.
    """
    reduced = {"widths": (SENSITIVITY_WIDTH,) * 3}
    width = by_profile(profile, smoke={}, default=reduced, full=reduced)
    plan = {}
    for lr in SENSITIVITY_LRS:
        plan[f"lr {lr:g}: base"] = [mnist_config(profile, "base", lr=lr, **width)]
        plan[f"lr {lr:g}: GAAF"] = [mnist_config(profile, "gaaf", lr=lr, **width)]
        for p in SENSITIVITY_DROPOUT:
            plan[f"lr {lr:g}: dropout {p:g}"] = [
                mnist_config(profile, "dropout", lr=lr, dropout_hidden=p, **width)
            ]
    return plan


CNN_DATASETS = ("fashion_mnist", "cifar10", "cifar100", "svhn")


def cnn_plan(
    profile: str,
    datasets: Sequence[str] = CNN_DATASETS,
    seed_list: Sequence[int] | None = None,
) -> dict[str, list[ExperimentConfig]]:
    """The CNN benchmark as a chapter plan: group ``"<dataset>: <variant>"`` for each
    dataset and variant of :data:`CNN_VARIANTS`, for ``seed_list`` (None: seed 0 only,
    at every profile: the paper reports single runs)."""
    chosen = [0] if seed_list is None else _check_seeds(seed_list)
    return {
        f"{dataset}: {variant}": [
            cnn_config(dataset, profile, variant, seed=s) for s in chosen
        ]
        for dataset in datasets
        for variant in CNN_VARIANTS
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
    _check_variant(variant, CNN_VARIANTS)
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
    return ExperimentConfig(**{**base, **scale, **CNN_VARIANTS[variant], **overrides})


# -------------------------------------------------------------------------- records


def record_path(config: ExperimentConfig, results_dir: Path | str) -> Path:
    return Path(results_dir) / config.dataset / f"{config.slug}-{config.hash}.json"


def checkpoint_path(config: ExperimentConfig, results_dir: Path | str) -> Path:
    return Path(results_dir) / "checkpoints" / f"{config.hash}.pt"


def load_record(path: Path | str) -> dict[str, Any]:
    """A complete record, checked: it parses, is complete, and its config hashes to its
    name. Anything else is a ValueError naming the file."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
        config = ExperimentConfig.from_dict(record["config"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(
            f"record {path} is unreadable ({type(err).__name__}: {err})"
        ) from None
    if not record.get("complete") or record.get("hash") != config.hash:
        raise ValueError(f"record {path} is incomplete or does not match its config")
    if record.get("format") != RECORD_FORMAT:
        raise ValueError(
            f"record {path} has format {record.get('format')}, this gaaf reads format "
            f"{RECORD_FORMAT}; delete the file to rerun it"
        )
    return record


def _git_commit() -> str | None:
    here = Path(gaaf.__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        )
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"cpu: {model} ({torch.get_num_threads()} threads)"


def provenance(device: torch.device, wall_seconds: float) -> dict[str, Any]:
    return {
        "gaaf_version": gaaf.__version__,
        "git_commit": _git_commit(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "device": device_name(device),
        "wall_seconds": wall_seconds,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
    }


def run(
    config: ExperimentConfig,
    results_dir: Path | str = "results",
    device: str | torch.device = "auto",
    progress: bool = True,
    data_root: Path | str | None = None,
) -> dict[str, Any]:
    """The record of ``config``: read if complete, else trained (resuming) and written."""
    from gaaf.train import train

    path = record_path(config, results_dir)
    if path.exists():
        return load_record(path)
    device = resolve_device(device)
    start = time.perf_counter()
    data = load(config.dataset, device, root=data_root)
    checkpoint = checkpoint_path(config, results_dir)
    hooks = [GradientFlow()] if config.model == "mlp" else []
    model, result = train(
        config, data, checkpoint=checkpoint, progress=progress, hooks=hooks
    )
    if config.model == "mlp":
        result["probes"]["test"] = probe(model, data.test.x)
    record = {
        "format": RECORD_FORMAT,
        "complete": True,
        "hash": config.hash,
        "label": config.label,
        "config": config.to_dict(),
        **result,
        "provenance": provenance(device, time.perf_counter() - start),
    }
    atomic_write_json(path, record)
    checkpoint.unlink(missing_ok=True)
    return record


def run_all(
    configs: Iterable[ExperimentConfig],
    results_dir: Path | str = "results",
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """:func:`run` for each config, in order."""
    return [run(config, results_dir, **kwargs) for config in configs]


# ----------------------------------------------------------------------- aggregation


def aggregate(
    records: Sequence[dict[str, Any]],
    metrics: Sequence[str] = ("test_acc", "best_epoch"),
) -> list[dict[str, Any]]:
    """Group records that differ only in their seed; per group: ``n``, and for each
    metric its mean and sample standard deviation (n - 1 in the denominator; None for
    a single seed). Groups keep the order in which they first appear."""
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
            values = [float(r[metric]) for r in members]
            row[f"{metric}_mean"] = statistics.fmean(values)
            row[f"{metric}_std"] = statistics.stdev(values) if len(values) > 1 else None
        rows.append(row)
    return rows
