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
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import torch
from torch import nn
from tqdm.auto import tqdm

from gaaf.data import DeviceData, Split
from gaaf.io import atomic_write_bytes
from gaaf.models import build_model

if TYPE_CHECKING:
    from gaaf.experiments import ExperimentConfig

__all__ = ["TrainHook", "evaluate", "load_checkpoint", "save_checkpoint", "train"]

_MAGIC = b"GAAFCKPT1\n"


class TrainHook(Protocol):
    """What a probe can plug into the loop. Every method is optional.

    ``attach(model)`` runs once, on the freshly built network (before any resume);
    ``after_backward(model, step)`` runs after each backward pass (gradients in place,
    before the optimizer step); ``after_epoch(model, epoch)`` after each epoch's
    training steps, before validation; ``state_dict``/``load_state_dict`` carry its state
    through checkpoints; ``summary()`` is stored in the run's result under ``name``.
    """

    name: str


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
    None is returned, so the run starts over rather than continuing from bad state."""
    path = Path(path)
    if not path.exists():
        return None
    blob = path.read_bytes()
    n = len(_MAGIC)
    head, digest, payload = blob[:n], blob[n : n + 32], blob[n + 32 :]
    problem = None
    if head != _MAGIC or hashlib.sha256(payload).digest() != digest:
        problem = "its contents do not match their digest (truncated or altered)"
    else:
        try:
            return torch.load(io.BytesIO(payload), weights_only=True)
        except (
            Exception
        ) as err:  # pragma: no cover - digest matched but torch refused it
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


def _optimizer(config: ExperimentConfig, model: nn.Module) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
    return torch.optim.SGD(
        model.parameters(),
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


def _rng_states(device: torch.device, shuffle: torch.Generator) -> dict[str, Any]:
    states = {"torch": torch.get_rng_state(), "shuffle": shuffle.get_state()}
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _restore_rng(states: dict[str, Any], shuffle: torch.Generator) -> None:
    torch.set_rng_state(states["torch"])
    shuffle.set_state(states["shuffle"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def _improves(value: float, best: float | None, monitor: str) -> bool:
    if best is None:
        return True
    return value < best if monitor == "val_loss" else value > best


def train(
    config: ExperimentConfig,
    data: DeviceData,
    checkpoint: Path | str | None = None,
    progress: bool = True,
    hooks: Sequence[TrainHook] = (),
) -> tuple[nn.Module, dict[str, Any]]:
    """Train the network ``config`` describes on ``data`` (already on its device).

    Trains on the first ``config.train_subset`` training images if that is set.
    Resumes from ``checkpoint`` when it holds a run of this config, and writes it after
    every epoch. Returns the network with its best-epoch weights, and the result:
    per-epoch ``history``, ``best_epoch`` (epochs to converge), ``epochs_run``,
    ``stopped_early``, the validation and test metrics of the best epoch, the training
    time in seconds (summed over interruptions) and the hooks' summaries.
    """
    device = data.train.x.device
    train_split = data.train.head(config.train_subset)
    torch.manual_seed(config.seed)
    if device.type == "cuda":
        torch.cuda.manual_seed_all(config.seed)
    model = build_model(config).to(device)
    for hook in hooks:
        if hasattr(hook, "attach"):
            hook.attach(model)
    optimizer = _optimizer(config, model)
    scheduler = _scheduler(config, optimizer)
    shuffle = torch.Generator().manual_seed(config.seed)

    history: list[dict[str, float]] = []
    best: dict[str, Any] = {"epoch": 0, "value": None, "model": None}
    bad_epochs, elapsed, step = 0, 0.0, 0
    state = load_checkpoint(checkpoint) if checkpoint is not None else None
    if state is not None:
        if state["config_hash"] != config.hash:
            raise ValueError(
                f"checkpoint {checkpoint} belongs to another config "
                f"({state['config_hash']}, not {config.hash}); delete it or use another path"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        _restore_rng(state["rng"], shuffle)
        history, best, bad_epochs = state["history"], state["best"], state["bad_epochs"]
        elapsed, step = state["elapsed"], state["step"]
        for hook in hooks:
            if hasattr(hook, "load_state_dict"):
                if hook.name not in state["hooks"]:
                    raise ValueError(
                        f"checkpoint {checkpoint} was written without the {hook.name!r} "
                        "hook, which would miss the epochs before it; delete the checkpoint "
                        "to rerun from the start with it"
                    )
                hook.load_state_dict(state["hooks"][hook.name])

    stopped = config.patience is not None and bad_epochs >= config.patience
    bar = tqdm(
        total=config.max_epochs,
        initial=len(history),
        desc=config.label,
        unit="epoch",
        disable=not progress,
        leave=False,
    )
    while len(history) < config.max_epochs and not stopped:
        start = time.perf_counter()
        model.train()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        for x, y in data.batches(
            train_split, config.batch_size, shuffle, config.augment
        ):
            logits = model(x)
            loss = nn.functional.cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            step += 1
            for hook in hooks:
                if hasattr(hook, "after_backward"):
                    hook.after_backward(model, step)
            optimizer.step()
            loss_sum += loss.detach() * len(y)
            correct += (logits.argmax(1) == y).sum()
        epoch = len(history) + 1
        for hook in hooks:
            if hasattr(hook, "after_epoch"):
                hook.after_epoch(model, epoch)
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        val = evaluate(model, data.val)
        elapsed += time.perf_counter() - start
        history.append(
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
        value = history[-1][config.monitor]
        if _improves(value, best["value"], config.monitor):
            state_copy = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best, bad_epochs = {"epoch": epoch, "value": value, "model": state_copy}, 0
        else:
            bad_epochs += 1
        stopped = config.patience is not None and bad_epochs >= config.patience
        if checkpoint is not None:
            save_checkpoint(
                checkpoint,
                {
                    "config_hash": config.hash,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "rng": _rng_states(device, shuffle),
                    "history": history,
                    "best": best,
                    "bad_epochs": bad_epochs,
                    "elapsed": elapsed,
                    "step": step,
                    "hooks": {
                        h.name: h.state_dict()
                        for h in hooks
                        if hasattr(h, "state_dict")
                    },
                },
            )
        bar.update(1)
        bar.set_postfix(
            train_loss=f"{history[-1]['train_loss']:.4f}",
            val_acc=f"{history[-1]['val_acc']:.4f}",
            best=best["epoch"],
        )
    bar.close()

    model.load_state_dict(best["model"])
    at_best = history[best["epoch"] - 1]
    test = evaluate(model, data.test)
    result = {
        "history": history,
        "best_epoch": best["epoch"],
        "epochs_run": len(history),
        "stopped_early": stopped,
        "val_loss": at_best["val_loss"],
        "val_acc": at_best["val_acc"],
        "test_loss": test["loss"],
        "test_acc": test["acc"],
        "train_seconds": elapsed,
        "probes": {h.name: h.summary() for h in hooks if hasattr(h, "summary")},
    }
    return model, result
