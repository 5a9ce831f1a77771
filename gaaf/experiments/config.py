"""What decides a training run's numbers: :class:`ExperimentConfig`, frozen, validated,
hashed by content.

Imports only the leaf modules below it (activations, data, validate); everything that
trains or reports imports this.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from gaaf import validate
from gaaf.activations import ACTIVATION_NAMES, K_RANGE, SHAPES, make_activation
from gaaf.experiments.data import DATASETS

__all__ = ["MAX_LR", "MAX_WIDTH", "SHAPE_FIELDS", "ExperimentConfig"]

MAX_WIDTH = 65_536
"""The widest layer a config accepts (three such MLP layers hold 8.6e9 weights)."""

MAX_LR = 100.0
"""The largest learning rate a config accepts (any lr near it diverges at once; far
beyond it, torch's optimizers overflow)."""

SHAPE_FIELDS = ("gaaf_shape", "gaaf_c", "gaaf_slope", "gaaf_shift", "gaaf_height")
"""The fields that change a ``gaaf_*`` or ``surrogate_*`` activation's shape function."""


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that decides a training run's numbers. Frozen; hashed by content.

    Invalid or unknown values raise one ``ValueError`` that names the field.
    """

    dataset: str = "mnist"
    model: str = "mlp"  # "mlp" or "cnn"
    widths: tuple[int, ...] = (1024, 1024, 1024)  # MLP hidden widths / CNN channels
    activation: str = "tanh"  # see gaaf.activations.ACTIVATION_NAMES
    gaaf_K: float = 10_000.0
    gaaf_shape: str | None = None  # None: the activation's default shape function
    gaaf_c: float | None = None  # None: the shape's default parameter
    gaaf_slope: float | None = None
    gaaf_shift: float | None = None
    gaaf_height: float | None = None
    dropout_input: float = 0.0
    dropout_hidden: float = 0.0
    batch_norm: bool = False
    init: str = "xavier"  # "xavier", "kaiming" or "torch" (PyTorch's default)
    optimizer: str = "sgd"  # "sgd" or "adam"
    lr: float = 0.01
    lr_layers: tuple[float, ...] | None = None  # MLP: lr multiplier per hidden layer
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
        for name in ("widths", "lr_layers"):
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        _canonical_numbers(self)
        _validate(self)

    # -- identity ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for name in ("widths", "lr_layers"):
            if d[name] is not None:
                d[name] = list(d[name])
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
        """A human-readable name that shows what sets the run apart, e.g.
        ``mnist mlp 1024x3 gaaf_tanh lr 0.01 seed 0``. The hash, not the label, is the
        run's identity."""
        parts = [self.dataset, self.model, _widths(self.widths), self.activation]
        shape = [
            f"{f.removeprefix('gaaf_')} {getattr(self, f):g}"
            for f in SHAPE_FIELDS[1:]
            if getattr(self, f) is not None
        ]
        if self.gaaf_shape is not None:
            shape.insert(0, self.gaaf_shape)
        if self.gaaf_K != ExperimentConfig.gaaf_K:
            shape.append(f"K {self.gaaf_K:g}")
        parts += [f"({', '.join(shape)})"] if shape else []
        if self.batch_norm:
            parts.append("bn")
        if self.dropout_input or self.dropout_hidden:
            parts.append(f"drop {self.dropout_input:g}/{self.dropout_hidden:g}")
        if self.optimizer != "sgd":
            parts.append(self.optimizer)
        parts.append(f"lr {self.lr:g}")
        if self.lr_layers is not None:
            parts.append("layers x" + "/".join(f"{m:g}" for m in self.lr_layers))
        if self.optimizer == "sgd" and self.momentum != ExperimentConfig.momentum:
            parts.append(f"momentum {self.momentum:g}")
        return " ".join([*parts, f"seed {self.seed}"])

    @property
    def probed(self) -> bool:
        """Whether a run of this config gets the probes (the gradient flow while it
        trains, the probes of the trained network): MLP runs only, since the probes
        read an MLP's linear layers and activations one by one. Not a field: it
        follows from ``model`` and changes no hash."""
        return self.model == "mlp"

    @property
    def slug(self) -> str:
        """The label as a file name, e.g. ``mnist_mlp_1024x3_gaaf_tanh_lr_0.01_seed_0``."""
        keep = "".join(c if c.isalnum() or c in "._-" else "_" for c in self.label)
        return "_".join(filter(None, keep.split("_")))

    def replace(self, **changes: Any) -> ExperimentConfig:
        return dataclasses.replace(self, **changes)


_FLOAT_FIELDS = tuple(
    f.name for f in dataclasses.fields(ExperimentConfig) if "float" in str(f.type)
)


def _canonical_numbers(c: ExperimentConfig) -> None:
    """Whole numbers given for float fields become floats (``lr=1`` is ``lr=1.0``), so
    equal configs hash alike; bools and other types are left for validation to refuse."""

    def as_float(value: Any) -> Any:
        is_int = isinstance(value, int) and not isinstance(value, bool)
        return float(value) if is_int else value

    for name in _FLOAT_FIELDS:
        value = getattr(c, name)
        if isinstance(value, tuple):
            object.__setattr__(c, name, tuple(as_float(v) for v in value))
        else:
            object.__setattr__(c, name, as_float(value))


def _widths(widths: tuple[int, ...]) -> str:
    if len(set(widths)) == 1:
        return f"{widths[0]}x{len(widths)}"
    return "-".join(map(str, widths))


_CHOICES: dict[str, tuple[Any, ...]] = {
    "dataset": tuple(DATASETS),
    "model": ("mlp", "cnn"),
    "activation": ACTIVATION_NAMES,
    "init": ("xavier", "kaiming", "torch"),
    "optimizer": ("sgd", "adam"),
    "schedule": ("constant", "cosine"),
    "monitor": ("val_loss", "val_acc"),
}


def _validate(c: ExperimentConfig) -> None:
    for field, allowed in _CHOICES.items():
        validate.choice(field, getattr(c, field), allowed)
    for field in ("batch_norm", "nesterov", "augment"):
        validate.boolean(field, getattr(c, field))
    widths = c.widths
    if not (isinstance(widths, tuple) and widths):
        validate.fail("widths", "a non-empty sequence of positive integers", widths)
    for i, width in enumerate(widths):
        validate.integer(f"widths[{i}]", width, at_least=1, at_most=MAX_WIDTH)
    for field in ("batch_size", "max_epochs"):
        validate.integer(field, getattr(c, field), at_least=1)
    for field in ("patience", "train_subset"):
        if getattr(c, field) is not None:
            validate.integer(field, getattr(c, field), at_least=1)
    validate.integer("seed", c.seed, at_least=0, at_most=validate.MAX_SEED)
    for field in ("dropout_input", "dropout_hidden"):
        validate.real(field, getattr(c, field), at_least=0, below=1)
    validate.real("lr", c.lr, above=0, at_most=MAX_LR)
    if c.lr_layers is not None:
        if c.model != "mlp" or not (
            isinstance(c.lr_layers, tuple) and len(c.lr_layers) == len(c.widths)
        ):
            validate.fail(
                "lr_layers",
                f"None, or one multiplier per hidden layer ({len(c.widths)}) of an mlp",
                c.lr_layers,
            )
        for i, m in enumerate(c.lr_layers):
            validate.real(f"lr_layers[{i}]", m, above=0, at_most=MAX_LR / c.lr)
    validate.real("momentum", c.momentum, at_least=0, below=1)
    validate.real("weight_decay", c.weight_decay, at_least=0)
    accelerated = c.activation.startswith(("gaaf_", "surrogate_"))
    if c.gaaf_K != ExperimentConfig.gaaf_K and not c.activation.startswith("gaaf_"):
        validate.fail(
            "gaaf_K", "left at its default unless the activation is gaaf_*", c.gaaf_K
        )
    for field in SHAPE_FIELDS:
        value = getattr(c, field)
        if value is None:
            continue
        if field == "gaaf_shape":
            validate.choice(field, value, SHAPES)
        else:
            validate.real(field, value)
        if not accelerated:
            validate.fail(
                field, "None unless the activation is gaaf_* or surrogate_*", value
            )
    if accelerated:  # the K bound and the shape parameters, checked where they apply
        make_activation(
            c.activation,
            K=_K(c),
            shape=c.gaaf_shape,
            c=c.gaaf_c,
            slope=c.gaaf_slope,
            shift=c.gaaf_shift,
            height=c.gaaf_height,
        )
    else:
        _K(c)


def _K(c: ExperimentConfig) -> float:
    return validate.real("gaaf_K", c.gaaf_K, at_least=K_RANGE[0], at_most=K_RANGE[1])
