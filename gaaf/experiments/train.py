"""One training loop for every network in the book, with early stopping and resumable
checkpoints.

The rule that defines "epochs to converge" (the paper's "training epochs", which it
does not define): after every epoch the validation set is evaluated; an epoch
*improves* when its monitored metric (``val_loss`` by default, or ``val_acc``) is
strictly better than every earlier epoch's. Training stops after ``patience`` epochs in
a row without improvement, or at ``max_epochs``. The **best epoch** (the last epoch
that improved) is the run's epochs to converge, and the network evaluated on the test
set is the one from the best epoch. The same rule applies to every variant compared.

Determinism: the seed sets the initialization and dropout (torch's global generator,
and CUDA's) and, through a generator of its own, the order of the batches and the
augmentation. On the CPU the same seed gives the same numbers, bit for bit.

Checkpoints: after every epoch, everything needed to continue (weights, optimizer and
schedule, all random generators, history, the best weights so far, the early-stopping
count, elapsed time) is written atomically as one file whose first bytes hold a
SHA-256 of the rest. A run killed at any moment restarts from its last complete epoch
and ends with the same result as if it had not been interrupted (bitwise on the CPU).
"""

from __future__ import annotations

import hashlib
import io
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from gaaf.experiments.config import ExperimentConfig
from gaaf.experiments.data import DeviceData, Split
from gaaf.experiments.io import atomic_write_bytes
from gaaf.experiments.models import build_model
from gaaf.experiments.records import trained_outcome

__all__ = [
    "Callback",
    "Diverged",
    "EarlyStopping",
    "evaluate",
    "load_checkpoint",
    "save_checkpoint",
    "train",
]

_MAGIC = b"GAAFCKPT1\n"


class Callback:
    """What a probe plugs into the loop. Every method here does nothing; override the
    ones you need.

    ``attach(model)`` runs once, on the freshly built network (before any resume);
    ``after_backward(model, step)`` after each backward pass (gradients in place, before
    the optimizer step); ``after_epoch(model, epoch)`` after each epoch's training
    steps, before validation. ``state_dict()``/``load_state_dict()`` carry its state
    through checkpoints (None: it has none); ``summary()`` is stored in the run's result
    under ``probes[name]`` (None: nothing is stored).
    """

    name = "callback"

    def attach(self, model: nn.Module) -> None:
        pass

    def after_backward(self, model: nn.Module, step: int) -> None:
        pass

    def after_epoch(self, model: nn.Module, epoch: int) -> None:
        pass

    def state_dict(self) -> dict[str, Any] | None:
        return None

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass

    def summary(self) -> Any:
        return None

    def detach(self) -> None:
        """Called once training ends: remove whatever was hooked into the model."""


class Diverged(RuntimeError):
    """The training or validation loss became NaN or infinite: the run cannot give a
    result."""

    def __init__(
        self,
        config: ExperimentConfig,
        epoch: int,
        history: list[dict],
        starts: list[dict] | None = None,
    ):
        self.epoch, self.history, self.starts = epoch, history, starts or []
        super().__init__(
            f"{config.label} diverged in epoch {epoch} (its loss is not "
            f"finite); lower the learning rate (lr={config.lr:g})"
        )


# ----------------------------------------------------------------------- checkpoints


def save_checkpoint(path: Path | str, state: dict[str, Any]) -> None:
    """Write ``state`` atomically, with a SHA-256 of its bytes in front."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    atomic_write_bytes(path, _MAGIC + hashlib.sha256(payload).digest() + payload)


def load_checkpoint(path: Path | str) -> dict[str, Any] | None:
    """The state saved at ``path``; None if there is none. A damaged file (truncated,
    altered, not a checkpoint) is set aside as ``<path>.corrupt`` with a warning, and
    None is returned, so the run starts over rather than continuing from bad state.
    Something other than a file at ``path`` is a ValueError naming it."""
    path = Path(path)
    if not path.exists():
        return None
    if not path.is_file():
        raise ValueError(f"checkpoint {path} is not a file; move it away and run again")
    blob = path.read_bytes()
    n = len(_MAGIC)
    head, digest, payload = blob[:n], blob[n : n + 32], blob[n + 32 :]
    problem = None
    if head != _MAGIC or hashlib.sha256(payload).digest() != digest:
        problem = "its contents do not match their digest (truncated or altered)"
    else:
        try:
            return torch.load(io.BytesIO(payload), weights_only=True)
        except Exception as err:  # digest matched but torch refused it
            problem = f"it does not load ({type(err).__name__}: {err})"
    corrupt = path.with_name(path.name + ".corrupt")
    path.replace(corrupt)
    warnings.warn(
        f"checkpoint {path} is damaged: {problem}. Moved it to {corrupt}; "
        "the run starts again from its first epoch.",
        stacklevel=2,
    )
    return None


# ------------------------------------------------------------------------ the loop


@torch.no_grad()
def evaluate(
    model: nn.Module, split: Split, batch_size: int = 1000
) -> dict[str, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``split`` (eval mode)."""
    model.eval()
    loss = torch.zeros((), device=split.x.device)
    correct = torch.zeros((), device=split.x.device, dtype=torch.long)
    for start in range(0, len(split), batch_size):
        x, y = split.x[start : start + batch_size], split.y[start : start + batch_size]
        logits = model(x)
        loss += nn.functional.cross_entropy(logits, y, reduction="sum")
        correct += (logits.argmax(1) == y).sum()
    return {"loss": loss.item() / len(split), "acc": correct.item() / len(split)}


def _param_groups(config: ExperimentConfig, model: nn.Module) -> Any:
    """The model's parameters, or with ``lr_layers`` one group per hidden layer (its
    weights and biases at ``lr`` times the layer's multiplier) and one for the rest."""
    if config.lr_layers is None:
        return model.parameters()
    layers = [
        {"params": list(linear.parameters()), "lr": config.lr * m}
        for linear, m in zip(model.linears, config.lr_layers, strict=True)
    ]
    taken = {id(p) for group in layers for p in group["params"]}
    rest = [p for p in model.parameters() if id(p) not in taken]
    return [*layers, {"params": rest}]


def _optimizer(config: ExperimentConfig, model: nn.Module) -> torch.optim.Optimizer:
    params = _param_groups(config, model)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(
        params,
        lr=config.lr,
        momentum=config.momentum,
        nesterov=config.nesterov,
        weight_decay=config.weight_decay,
    )


def _scheduler(config: ExperimentConfig, optimizer: torch.optim.Optimizer):
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=config.max_epochs
        )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0)


@dataclass
class EarlyStopping:
    """The stopping rule, in one place: an epoch *improves* when its ``monitor``
    value is strictly better than every earlier epoch's (lower for a loss, higher for
    an accuracy); the run keeps the weights of the last improving epoch (the best
    epoch) and stops after ``patience`` epochs in a row without improvement (never,
    with ``patience=None``)."""

    monitor: str
    patience: int | None
    epoch: int = 0  # the best epoch so far (0: none yet)
    value: float | None = None  # its monitored value
    weights: dict[str, Tensor] | None = None  # its network's weights
    bad_epochs: int = 0  # epochs since it, none of them improving

    def step(self, epoch: int, value: float, model: nn.Module) -> bool:
        """Record epoch ``epoch``'s monitored value (and ``model``'s weights if it
        improves); True if it improved."""
        lower = self.monitor == "val_loss"
        improves = self.value is None or (
            value < self.value if lower else value > self.value
        )
        if improves:
            self.epoch, self.value, self.bad_epochs = epoch, value, 0
            self.weights = {
                k: v.detach().clone() for k, v in model.state_dict().items()
            }
        else:
            self.bad_epochs += 1
        return improves

    @property
    def stopped(self) -> bool:
        """Whether ``patience`` epochs in a row failed to improve."""
        return self.patience is not None and self.bad_epochs >= self.patience

    def state_dict(self) -> dict[str, Any]:
        """The checkpoint's ``best`` and ``bad_epochs`` (the layout checkpoints have
        always had, so older ones resume)."""
        best = {"epoch": self.epoch, "value": self.value, "model": self.weights}
        return {"best": best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict`'s (or an older checkpoint's) entries."""
        best = saved["best"]
        self.epoch, self.value, self.weights = (
            best["epoch"],
            best["value"],
            best["model"],
        )
        self.bad_epochs = saved["bad_epochs"]


@dataclass
class _State:
    """Everything a run carries from epoch to epoch (and through checkpoints)."""

    config: ExperimentConfig
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    shuffle: torch.Generator
    callbacks: Sequence[Callback]
    history: list[dict[str, float]] = field(default_factory=list)
    stopping: EarlyStopping | None = None  # made from the config when not given
    elapsed: float = 0.0
    step: int = 0
    starts: list[dict[str, Any]] = field(default_factory=list)  # one per (re)start

    def __post_init__(self) -> None:
        if self.stopping is None:
            self.stopping = EarlyStopping(self.config.monitor, self.config.patience)

    @property
    def stopped(self) -> bool:
        return self.stopping.stopped

    @property
    def done(self) -> bool:
        return self.stopped or len(self.history) >= self.config.max_epochs

    def to_checkpoint(self, device: torch.device) -> dict[str, Any]:
        rng = {"torch": torch.get_rng_state(), "shuffle": self.shuffle.get_state()}
        if device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {
            "config_hash": self.config.hash,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": rng,
            "history": self.history,
            **self.stopping.state_dict(),
            "elapsed": self.elapsed,
            "step": self.step,
            "starts": self.starts,
            "hooks": {
                c.name: s for c in self.callbacks if (s := c.state_dict()) is not None
            },
        }

    def restore(self, saved: dict[str, Any], path: Path | str) -> None:
        """Continue from a checkpoint's state; a state of another layout is one clear
        ValueError naming the file."""
        if saved.get("config_hash") != self.config.hash:
            raise ValueError(
                f"checkpoint {path} belongs to another config "
                f"({saved.get('config_hash')}, not {self.config.hash}); "
                "delete it or use another path"
            )
        try:
            self.model.load_state_dict(saved["model"])
            self.optimizer.load_state_dict(saved["optimizer"])
            self.scheduler.load_state_dict(saved["scheduler"])
            torch.set_rng_state(saved["rng"]["torch"])
            self.shuffle.set_state(saved["rng"]["shuffle"])
            if "cuda" in saved["rng"] and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(saved["rng"]["cuda"])
            self.history, self.elapsed = saved["history"], saved["elapsed"]
            self.stopping.load_state_dict(saved)
            self.step = saved["step"]
            self.starts = list(saved.get("starts", []))
            hooks = saved["hooks"]
        except (KeyError, RuntimeError, TypeError, ValueError, IndexError) as err:
            raise ValueError(
                f"checkpoint {path} does not fit this run ({type(err).__name__}: "
                f"{' '.join(str(err).split())[:240]}); delete it to start the run again"
            ) from None
        for callback in self.callbacks:
            if callback.state_dict() is None:
                continue
            if callback.name not in hooks:
                raise ValueError(
                    f"checkpoint {path} was written without the {callback.name!r} "
                    "hook, which would miss the epochs before it; delete the checkpoint "
                    "to rerun from the start with it"
                )
            callback.load_state_dict(hooks[callback.name])


def _start(
    config: ExperimentConfig, device: torch.device, callbacks: Sequence[Callback]
) -> _State:
    """A fresh run: seeded initialization, optimizer, schedule, batch order."""
    torch.manual_seed(config.seed)
    if device.type == "cuda":
        torch.cuda.manual_seed_all(config.seed)
    model = build_model(config).to(device)
    for callback in callbacks:
        callback.attach(model)
    optimizer = _optimizer(config, model)
    return _State(
        config,
        model,
        optimizer,
        _scheduler(config, optimizer),
        torch.Generator().manual_seed(config.seed),
        callbacks,
    )


def _epoch(state: _State, data: DeviceData, train_split: Split) -> None:
    """One epoch of training steps, then validation; appends to the history."""
    config, model, device = state.config, state.model, train_split.x.device
    start = time.perf_counter()
    model.train()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    for x, y in data.batches(
        train_split, config.batch_size, state.shuffle, config.augment
    ):
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y)
        state.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        state.step += 1
        for callback in state.callbacks:
            callback.after_backward(model, state.step)
        state.optimizer.step()
        loss_sum += loss.detach() * len(y)
        correct += (logits.argmax(1) == y).sum()
    epoch = len(state.history) + 1
    if not math.isfinite(loss_sum.item()):
        raise Diverged(config, epoch, state.history, state.starts)
    for callback in state.callbacks:
        callback.after_epoch(model, epoch)
    lr = state.optimizer.param_groups[-1]["lr"]  # the base rate (lr_layers aside)
    state.scheduler.step()
    val = evaluate(model, data.val)
    if not math.isfinite(val["loss"]):  # weights blew up in the epoch's last steps
        raise Diverged(config, epoch, state.history, state.starts)
    state.elapsed += time.perf_counter() - start
    state.history.append(
        {
            "epoch": epoch,
            "train_loss": loss_sum.item() / len(train_split),
            "train_acc": correct.item() / len(train_split),
            "val_loss": val["loss"],
            "val_acc": val["acc"],
            "lr": lr,
            "seconds": time.perf_counter() - start,
        }
    )
    state.stopping.step(epoch, state.history[-1][config.monitor], model)


def _check_batches(config: ExperimentConfig, n_train: int) -> None:
    if config.batch_norm and n_train % config.batch_size == 1:
        raise ValueError(
            f"batch_size {config.batch_size} leaves a last batch of one example of the "
            f"{n_train} training images (train_subset {config.train_subset}), which "
            "batch norm cannot train on; change batch_size or train_subset"
        )


def _pinned_threads(state: _State, device: torch.device) -> int | None:
    """On the CPU, the thread count of the run's first start if this start has
    another (None otherwise): results are bitwise reproducible only under one count."""
    first = state.starts[0].get("threads") if state.starts else None
    if device.type != "cpu" or first is None or first == torch.get_num_threads():
        return None
    warnings.warn(
        f"{state.config.label} started under {first} thread(s); it resumes under "
        f"{first} too (not {torch.get_num_threads()}), so that it ends bit for bit as "
        "an uninterrupted run",
        stacklevel=3,
    )
    return first


def train(
    config: ExperimentConfig,
    data: DeviceData,
    checkpoint: Path | str | None = None,
    progress: bool = True,
    callbacks: Sequence[Callback] = (),
    start_info: dict[str, Any] | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train the network ``config`` describes on ``data`` (already on its device).

    Trains on the first ``config.train_subset`` training images if that is set.
    Resumes from ``checkpoint`` when it holds a run of this config, and writes it after
    every epoch. Returns the network with its best-epoch weights, and the result:
    per-epoch ``history``, ``best_epoch`` (epochs to converge), ``epochs_run``,
    ``stopped_early``, the validation and test metrics of the best epoch, the training
    time in seconds (summed over interruptions), the callbacks' summaries, and
    ``starts``: for the first start and every resume, the epoch it began after, the
    thread count and ``start_info`` (the caller's provenance). On the CPU a resume runs
    under the first start's thread count. Raises :class:`Diverged` when the training or
    validation loss stops being finite.
    """
    device = data.train.x.device
    if config.train_subset is not None and config.train_subset > len(data.train):
        raise ValueError(
            f"train_subset must be at most the {len(data.train)} training images of "
            f"{config.dataset}, got {config.train_subset}; use None for all of them"
        )
    train_split = data.train.head(config.train_subset)
    _check_batches(config, len(train_split))
    state = _start(config, device, callbacks)
    saved = load_checkpoint(checkpoint) if checkpoint is not None else None
    if saved is not None:
        state.restore(saved, checkpoint)  # type: ignore[arg-type]
    pinned, threads = _pinned_threads(state, device), torch.get_num_threads()
    if pinned is not None:
        torch.set_num_threads(pinned)
    try:
        state.starts.append(
            {
                "epoch": len(state.history),
                "threads": torch.get_num_threads(),
                **(start_info or {}),
            }
        )
        return _loop(state, data, train_split, checkpoint, progress)
    finally:
        for callback in callbacks:
            callback.detach()
        if pinned is not None:
            torch.set_num_threads(threads)


def _loop(
    state: _State,
    data: DeviceData,
    train_split: Split,
    checkpoint: Path | str | None,
    progress: bool,
) -> tuple[nn.Module, dict[str, Any]]:
    config, device = state.config, train_split.x.device
    bar = tqdm(
        total=config.max_epochs,
        initial=len(state.history),
        desc=config.label,
        unit="epoch",
        disable=not progress,
        leave=True,  # on Colab each run's bar stays, under the plan's
    )
    while not state.done:
        _epoch(state, data, train_split)
        if checkpoint is not None:
            save_checkpoint(checkpoint, state.to_checkpoint(device))
        bar.update(1)
        bar.set_postfix(
            train_loss=f"{state.history[-1]['train_loss']:.4f}",
            val_acc=f"{state.history[-1]['val_acc']:.4f}",
            best=state.stopping.epoch,
        )
    bar.close()
    return state.model, _result(state, data)


def _result(state: _State, data: DeviceData) -> dict[str, Any]:
    """The best epoch's network evaluated on the test set, and the run's numbers."""
    state.model.load_state_dict(state.stopping.weights)
    at_best = state.history[state.stopping.epoch - 1]
    test = evaluate(state.model, data.test)
    probes = {c.name: s for c in state.callbacks if (s := c.summary()) is not None}
    outcome = trained_outcome(
        history=state.history,
        best_epoch=state.stopping.epoch,
        stopped_early=state.stopped,
        val_loss=at_best["val_loss"],
        val_acc=at_best["val_acc"],
        test_loss=test["loss"],
        test_acc=test["acc"],
        train_seconds=state.elapsed,
        probes=probes,
    )
    return {**outcome, "starts": state.starts}
