"""Probes of a tanh MLP: what the dropout-analysis chapters measure.

Layers are numbered from the bottom: hidden layer 1 takes the image. For hidden layer
``k`` of an :class:`~gaaf.experiments.models.MLP`:

* the **net input** ``z`` is the input of its activation (``linears[k-1]`` applied to
  the layer below, after batch norm if any), and the unit **value** ``h`` is the
  activation's output (before dropout, which is off in evaluation anyway);
* its **weights** are ``linears[k-1].weight``, the weights *into* layer ``k``.

:class:`GradientFlow` is a training callback (:class:`gaaf.experiments.train.Callback`): the paper's
"gradient flow" table, the mean absolute gradient reaching each hidden layer, over all
training iterations. The other probes look at a trained network on a data split
(:func:`probe`, stored in every MLP record).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gaaf.experiments.train import Callback

__all__ = [
    "CORRELATION_EDGES",
    "NET_INPUT_EDGES",
    "SATURATION_THRESHOLD",
    "WEIGHT_EDGES",
    "GradientFlow",
    "correlation_summary",
    "hidden_values",
    "histogram",
    "mean_over_epochs",
    "net_input_summary",
    "probe",
    "weight_summary",
]

SATURATION_THRESHOLD = 2.0
"""A net input with ``|z| > 2`` is *saturated*: there ``tanh'(z) < 0.071``."""

WEIGHT_EDGES = torch.linspace(-0.4, 0.4, 161, dtype=torch.float64)
CORRELATION_EDGES = torch.linspace(-1.0, 1.0, 101, dtype=torch.float64)
NET_INPUT_EDGES = torch.linspace(-10.0, 10.0, 201, dtype=torch.float64)
"""Fixed bin edges, so histograms of different runs and seeds can be averaged."""


def _hidden_layers(model: nn.Module) -> nn.ModuleList:
    layers = getattr(model, "activations", None)
    if not isinstance(layers, nn.ModuleList) or not hasattr(model, "linears"):
        raise ValueError(
            f"model must be a gaaf.experiments.models.MLP (with .linears and .activations), "
            f"got {type(model).__name__}"
        )
    return layers


class GradientFlow(Callback):
    """Mean absolute gradient reaching each hidden layer, per epoch and overall.

    For every training iteration and hidden layer it adds up three means over the
    batch and the layer's units (or weights): ``dz`` = mean ``|dL/dz|`` (the gradient
    that passes through the units' activation, the paper's quantity as we read it),
    ``dh`` = mean ``|dL/dh|`` (arriving at the units' outputs, before the activation's
    slope) and ``dw`` = mean ``|dL/dW|`` (the layer's incoming weights). L is the batch's *mean*
    cross-entropy, as the optimizer sees it. ``summary()`` gives the per-epoch means and
    the mean over all iterations.
    """

    name = "gradient_flow"
    quantities = ("dz", "dh", "dw")

    def __init__(self) -> None:
        self.epochs: list[
            dict[str, list[float]]
        ] = []  # finished epochs: sums per layer
        self.counts: list[int] = []
        self._sums: torch.Tensor | None = None  # (3 quantities, layers), current epoch
        self._count = 0
        self._model: nn.Module | None = None
        self._handles: list[Any] = []

    # -- wiring ----------------------------------------------------------------------
    def attach(self, model: nn.Module) -> None:
        """Register the tensor hooks that see dL/dz and dL/dh during backward."""
        layers = _hidden_layers(model)
        self._model = model
        param = next(model.parameters())
        self._sums = torch.zeros(
            3, len(layers), dtype=torch.float64, device=param.device
        )
        self._handles = [
            activation.register_forward_hook(self._forward_hook(k))
            for k, activation in enumerate(layers)
        ]

    def detach(self) -> None:
        """Remove the forward hooks from the model (training is over)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _forward_hook(self, k: int):
        def hook(module: nn.Module, inputs: tuple[torch.Tensor], output: torch.Tensor):
            if not (torch.is_grad_enabled() and module.training):
                return
            z = inputs[0]
            if z.requires_grad:
                z.register_hook(lambda g: self._add(0, k, g))
            if output.requires_grad:
                output.register_hook(lambda g: self._add(1, k, g))

        return hook

    def _add(self, quantity: int, k: int, grad: torch.Tensor) -> None:
        assert self._sums is not None
        self._sums[quantity, k] += grad.detach().abs().mean(dtype=torch.float64)

    # -- the Callback methods ----------------------------------------------------------
    def after_backward(self, model: nn.Module, step: int) -> None:
        assert self._sums is not None, "GradientFlow.attach(model) was not called"
        for k, linear in enumerate(model.linears):
            self._sums[2, k] += linear.weight.grad.abs().mean(dtype=torch.float64)
        self._count += 1

    def after_epoch(self, model: nn.Module, epoch: int) -> None:
        assert self._sums is not None
        sums = self._sums.cpu().tolist()
        self.epochs.append(dict(zip(self.quantities, sums, strict=True)))
        self.counts.append(self._count)
        self._sums.zero_()
        self._count = 0

    def state_dict(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "counts": self.counts}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epochs, self.counts = list(state["epochs"]), list(state["counts"])

    def summary(self) -> dict[str, Any]:
        """``per_epoch[q][e][k]``: mean of quantity ``q`` in epoch ``e + 1`` at hidden
        layer ``k + 1``; ``mean[q][k]``: over all iterations; ``iterations``."""
        total = sum(self.counts)
        per_epoch = {
            q: [
                [s / n for s in epoch[q]]
                for epoch, n in zip(self.epochs, self.counts, strict=True)
            ]
            for q in self.quantities
        }
        mean = {
            q: [
                sum(epoch[q][k] for epoch in self.epochs) / total if total else None
                for k in range(len(self.epochs[0][q]) if self.epochs else 0)
            ]
            for q in self.quantities
        }
        return {"per_epoch": per_epoch, "mean": mean, "iterations": total}


def mean_over_epochs(flow: dict[str, Any], quantity: str, epochs: int) -> list[float]:
    """Mean of ``quantity`` per layer over the first ``epochs`` epochs of a
    :class:`GradientFlow` summary (epochs have equal numbers of iterations)."""
    rows = flow["per_epoch"][quantity][:epochs]
    if len(rows) < epochs:
        raise ValueError(f"the run has {len(rows)} epochs, fewer than {epochs}")
    return [sum(col) / len(col) for col in zip(*rows, strict=True)]


# --------------------------------------------------------------- trained-network probes


@torch.no_grad()
def hidden_values(
    model: nn.Module, x: torch.Tensor, batch_size: int = 1000
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Net inputs ``z`` and values ``h`` of every hidden layer on ``x``, in
    evaluation mode: two lists (bottom layer first) of ``(len(x), width)`` tensors."""
    layers = _hidden_layers(model)
    zs: list[list[torch.Tensor]] = [[] for _ in layers]
    hs: list[list[torch.Tensor]] = [[] for _ in layers]

    def keep(k: int):
        def hook(module, inputs, output):
            zs[k].append(inputs[0].detach())
            hs[k].append(output.detach())

        return hook

    handles = [act.register_forward_hook(keep(k)) for k, act in enumerate(layers)]
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(x), batch_size):
            model(x[start : start + batch_size])
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return [torch.cat(z) for z in zs], [torch.cat(h) for h in hs]


def histogram(values: torch.Tensor, edges: torch.Tensor) -> dict[str, Any]:
    """Counts of ``values`` in the bins between ``edges``, plus those below and above."""
    v = values.detach().flatten().double().cpu()
    edges = edges.double().cpu()
    counts = torch.histogram(v.clamp(edges[0], edges[-1]), bins=edges).hist
    below, above = int((v < edges[0]).sum()), int((v > edges[-1]).sum())
    counts[0] -= below
    counts[-1] -= above
    return {
        "edges": edges.tolist(),
        "counts": counts.long().tolist(),
        "below": below,
        "above": above,
    }


def weight_summary(model: nn.Module) -> list[dict[str, Any]]:
    """Per hidden layer: mean, standard deviation and histogram of its incoming weights."""
    _hidden_layers(model)
    rows = []
    for linear in model.linears:
        w = linear.weight.detach().double()
        rows.append(
            {
                "mean": w.mean().item(),
                "std": w.std().item(),
                "histogram": histogram(w, WEIGHT_EDGES),
            }
        )
    return rows


def correlation_summary(h: torch.Tensor) -> dict[str, Any]:
    """Pearson correlations between every pair of units (columns of ``h``) over the
    examples (rows). Units whose value is constant over the examples have no
    correlation and are left out (``constant_units`` counts them). Returns the number of
    ``pairs``, ``mean_abs`` and ``mean`` of the correlations and their histogram."""
    h = h.detach().double()
    centered = h - h.mean(0)
    norms = centered.norm(dim=0)
    live = norms > 1e-12 * max(1.0, float(h.abs().max()))
    centered = centered[:, live] / norms[live]
    r = centered.T @ centered
    i, j = torch.triu_indices(len(r), len(r), offset=1, device=r.device)
    pairs = r[i, j].clamp(-1, 1)
    return {
        "pairs": len(pairs),
        "constant_units": int((~live).sum()),
        "mean_abs": pairs.abs().mean().item() if len(pairs) else None,
        "mean": pairs.mean().item() if len(pairs) else None,
        "histogram": histogram(pairs, CORRELATION_EDGES),
    }


def net_input_summary(
    z: torch.Tensor, threshold: float = SATURATION_THRESHOLD
) -> dict[str, Any]:
    """Of all net inputs in ``z``: the fraction with ``|z| > threshold`` (saturated),
    mean ``|z|``, mean ``tanh'(z)`` (how much gradient the layer lets through) and histogram."""
    z = z.detach().double()
    return {
        "threshold": threshold,
        "saturated": (z.abs() > threshold).double().mean().item(),
        "mean_abs": z.abs().mean().item(),
        "mean_tanh_slope": (1 - torch.tanh(z) ** 2).mean().item(),
        "histogram": histogram(z, NET_INPUT_EDGES),
    }


def probe(model: nn.Module, x: torch.Tensor) -> dict[str, Any]:
    """Every trained-network probe on inputs ``x`` (the test images, in the records):
    per hidden layer, bottom first, ``weights``, ``correlations`` of the unit values and
    ``net_inputs``."""
    zs, hs = hidden_values(model, x)
    return {
        "examples": len(x),
        "weights": weight_summary(model),
        "correlations": [correlation_summary(h) for h in hs],
        "net_inputs": [net_input_summary(z) for z in zs],
    }


# ------------------------------------------ flatness, robustness, noise at fixed weights

PROBE_EXAMPLES = 10_000
"""Training images the flatness probe evaluates (the first of the training part)."""

PERTURBATIONS = (0.05, 0.1)
"""The relative sizes of the flatness probe's random weight perturbations; every weight
matrix ``W`` moves by Gaussian noise scaled to norm ``rho * ||W||``."""

PERTURBATION_DRAWS = 8
"""How many random perturbations of each size the flatness probe averages over."""

INPUT_NOISE = (0.1, 0.3, 0.5)
"""Standard deviations of the robustness probe's Gaussian input noise, in pixel units
(pixels lie in [0, 1]; the noise is not clipped)."""

NOISE_SLOPE_EXAMPLES = 5_000
"""Training images (the first of the training part) the masks-on/off probe runs on."""

PAPER_DROPOUT = (0.2, 0.5)
"""The dropout rates (input, hidden) injected into a network trained without dropout."""

PROBE_SEED = 0
"""Every probe draws its noise from a generator seeded with this, so every network is
probed with the same perturbations, input noise and masks."""


def _loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000):
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    correct = 0
    for i in range(0, len(x), batch):
        logits = model(x[i : i + batch])
        total += nn.functional.cross_entropy(
            logits, y[i : i + batch], reduction="sum"
        ).double()
        correct += int((logits.argmax(1) == y[i : i + batch]).sum())
    return total.item() / len(x), correct / len(x)


def _weights(model: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in model.modules() if isinstance(m, nn.Linear)]


@torch.no_grad()
def flatness(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    sizes: tuple[float, ...] = PERTURBATIONS,
    draws: int = PERTURBATION_DRAWS,
) -> dict[str, Any]:
    """How much the training loss rises when the weights move at random.

    For each relative size ``rho`` and each of ``draws`` draws, every weight matrix
    (hidden and output; biases stay) gets Gaussian noise scaled to ``rho`` times its
    Frobenius norm, and the mean cross-entropy on ``x, y`` (evaluation mode) is
    compared with the unperturbed one. A flatter minimum has a smaller ``rise``.
    Forward passes only, so GAAF (which has no double backward) is probed like tanh.
    """
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(PROBE_SEED)
    weights = _weights(model)
    saved = [w.detach().clone() for w in weights]
    base, _ = _loss(model, x, y)
    rows = []
    try:
        for rho in sizes:
            rises = []
            for _ in range(draws):
                for w, w0 in zip(weights, saved, strict=True):
                    noise = torch.randn(w.shape, generator=generator).to(w)
                    w.copy_(w0 + noise * (rho * w0.norm() / noise.norm()))
                rises.append(_loss(model, x, y)[0] - base)
            t = torch.tensor(rises, dtype=torch.float64)
            rows.append(
                {"rho": rho, "rise": t.mean().item(), "rise_std": t.std().item()}
            )
    finally:
        for w, w0 in zip(weights, saved, strict=True):
            w.copy_(w0)
        model.train(was_training)
    return {"examples": len(x), "draws": draws, "train_loss": base, "perturbed": rows}


@torch.no_grad()
def input_noise(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    pixel_std: torch.Tensor,
    levels: tuple[float, ...] = INPUT_NOISE,
) -> dict[str, Any]:
    """Accuracy on ``x, y`` (normalized images) with Gaussian noise of each standard
    deviation in ``levels`` (pixel units; ``pixel_std`` is the per-channel std the
    normalization divided by) added to every pixel; one fixed draw per level."""
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(PROBE_SEED)
    scale = pixel_std.reshape(1, -1, 1, 1).to(x)
    try:
        clean = _loss(model, x, y)
        rows = []
        for level in levels:
            noise = torch.randn(x.shape, generator=generator).to(x) * (level / scale)
            loss, acc = _loss(model, x + noise, y)
            rows.append({"std": level, "acc": acc, "loss": loss})
    finally:
        model.train(was_training)
    return {
        "examples": len(x),
        "clean": {"acc": clean[1], "loss": clean[0]},
        "noisy": rows,
    }


def _masked_twin(model: nn.Module, rates: tuple[float, float]) -> nn.Module:
    """A copy of the MLP ``model`` with dropout at ``rates`` (input, hidden) and its
    dropout layers (only) in training mode: the same weights, with masks on."""
    import copy

    twin = copy.deepcopy(model).eval()
    twin.input_dropout = nn.Dropout(rates[0]).train()
    twin.dropouts = nn.ModuleList(nn.Dropout(rates[1]).train() for _ in twin.dropouts)
    return twin


def _layer_gradients(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int
) -> dict[str, Any]:
    """Mean |dL/dz|, |dL/dh|, |dL/dW| per hidden layer over batches of ``x``, with the
    model in whatever mode it is in, and the mean loss."""
    layers = _hidden_layers(model)
    n = len(layers)
    sums = torch.zeros(3, n, dtype=torch.float64, device=x.device)
    loss_sum = 0.0

    def add(q: int, k: int):
        def hook(grad: torch.Tensor) -> None:
            sums[q, k] += grad.abs().mean(dtype=torch.float64)

        return hook

    def keep(k: int):
        def hook(module, inputs, output):
            inputs[0].register_hook(add(0, k))
            output.register_hook(add(1, k))

        return hook

    handles = [act.register_forward_hook(keep(k)) for k, act in enumerate(layers)]
    batches = 0
    try:
        for i in range(0, len(x), batch):
            model.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(
                model(x[i : i + batch]), y[i : i + batch]
            )
            loss.backward()
            for k, linear in enumerate(model.linears):
                sums[2, k] += linear.weight.grad.abs().mean(dtype=torch.float64)
            loss_sum += loss.item()
            batches += 1
    finally:
        for handle in handles:
            handle.remove()
        model.zero_grad(set_to_none=True)
    means = (sums / batches).cpu().tolist()
    return {
        "loss": loss_sum / batches,
        "dz": means[0],
        "dh": means[1],
        "dw": means[2],
        "slope": [
            z / h if h else None for z, h in zip(means[0], means[1], strict=True)
        ],
    }


def noise_slope(
    model: nn.Module,
    config: Any,
    x: torch.Tensor,
    y: torch.Tensor,
) -> dict[str, Any]:
    """The paper's mechanism, tested within one network: at the trained weights and on
    the same batches, the gradients through each hidden layer with dropout masks on
    against masks off.

    Masks are the run's own dropout rates, or :data:`PAPER_DROPOUT` injected into a
    network trained without dropout; they are drawn from a generator seeded with
    :data:`PROBE_SEED`. For each mode: the mean loss and, per hidden layer (bottom
    first), mean ``|dL/dz|``, ``|dL/dh|``, ``|dL/dW|`` and the slope factor
    ``dz / dh`` (the mean slope the gradient meets in the activation). The paper's
    mechanism predicts a larger slope factor with masks on.
    """
    rates = (config.dropout_input, config.dropout_hidden)
    injected = not any(rates)
    if injected:
        rates = PAPER_DROPOUT
    plain = _masked_twin(model, (0.0, 0.0)).eval()
    masked = _masked_twin(model, rates)
    batch = config.batch_size
    off = _layer_gradients(plain, x, y, batch)
    devices = [x.device] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(PROBE_SEED)
        on = _layer_gradients(masked, x, y, batch)
    return {
        "examples": len(x),
        "rates": list(rates),
        "injected": injected,
        "masks_off": off,
        "masks_on": on,
    }


def probe_trained(model: nn.Module, config: Any, data: Any) -> dict[str, Any]:
    """Every probe of a trained MLP that a record keeps (``model`` at its best epoch):
    ``test`` (:func:`probe` on the test images), ``flatness`` (on the first
    :data:`PROBE_EXAMPLES` training images), ``input_noise`` (on the test images) and
    ``noise_slope`` (on the first :data:`NOISE_SLOPE_EXAMPLES` training images)."""
    train = data.train.head(config.train_subset)
    return {
        "test": probe(model, data.test.x),
        "flatness": flatness(model, train.x[:PROBE_EXAMPLES], train.y[:PROBE_EXAMPLES]),
        "input_noise": input_noise(model, data.test.x, data.test.y, data.std),
        "noise_slope": noise_slope(
            model,
            config,
            train.x[:NOISE_SLOPE_EXAMPLES],
            train.y[:NOISE_SLOPE_EXAMPLES],
        ),
    }
