"""The paper's networks, built from an experiment config.

* :class:`MLP`: the MNIST network, hidden layers ``Linear -> [BatchNorm] -> activation ->
  [Dropout]``, input dropout before the first layer. The paper says only "three hidden
  tanh layers"; widths, dropout rates and initialization are config fields (see
  :mod:`gaaf.experiments.plans` for the defaults and why).
* :class:`CNN`: the "base CNN" for CIFAR, SVHN and (here) Fashion-MNIST, which the paper
  does not describe. We use a plain VGG-style network: three blocks of two 3x3
  convolutions (64, 128, 256 channels) each followed by 2x2 max pooling, then global
  average pooling and one linear layer; ``[BatchNorm]`` after each convolution and
  ``[Dropout]`` after each block are options, as is input dropout.

Activations are named: ``tanh``, ``relu``, ``sigmoid``, their GAAF versions
``gaaf_tanh``, ``gaaf_relu``, ``gaaf_sigmoid`` and their surrogate-gradient twins
``surrogate_*`` (:data:`gaaf.activations.ACTIVATION_NAMES`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
from torch import nn

from gaaf.activations import make_activation
from gaaf.experiments.config import ExperimentConfig
from gaaf.experiments.data import DATASETS

__all__ = ["CNN", "MLP", "build_model", "config_activation"]


def _dropout(p: float) -> nn.Module:
    return nn.Dropout(p) if p > 0 else nn.Identity()


class MLP(nn.Module):
    """Fully connected network: ``in_shape`` -> ``widths`` hidden layers -> ``classes``.

    ``self.linears[i]``, ``self.activations[i]`` are hidden layer ``i``'s affine map and
    activation (hook the activation for the net inputs ``z`` and outputs ``h``).
    """

    def __init__(
        self,
        in_shape: tuple[int, ...],
        widths: tuple[int, ...],
        classes: int,
        activation: Callable[[], nn.Module],
        dropout_input: float = 0.0,
        dropout_hidden: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        sizes = [int(torch.tensor(in_shape).prod()), *widths]
        self.input_dropout = _dropout(dropout_input)
        self.linears = nn.ModuleList(
            nn.Linear(a, b) for a, b in itertools.pairwise(sizes)
        )
        self.norms = nn.ModuleList(
            nn.BatchNorm1d(w) if batch_norm else nn.Identity() for w in widths
        )
        self.activations = nn.ModuleList(activation() for _ in widths)
        self.dropouts = nn.ModuleList(_dropout(dropout_hidden) for _ in widths)
        self.out = nn.Linear(sizes[-1], classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_dropout(x.flatten(1))
        for linear, norm, act, drop in zip(
            self.linears, self.norms, self.activations, self.dropouts, strict=True
        ):
            x = drop(act(norm(linear(x))))
        return self.out(x)


class CNN(nn.Module):
    """VGG-style network: blocks of two 3x3 convolutions and a 2x2 max pool, then global
    average pooling and a linear classifier. ``widths`` are the blocks' channels."""

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        widths: tuple[int, ...],
        classes: int,
        activation: Callable[[], nn.Module],
        dropout_input: float = 0.0,
        dropout_hidden: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [_dropout(dropout_input)]
        channels = in_shape[0]
        for width in widths:
            for _ in range(2):
                layers += [
                    nn.Conv2d(channels, width, 3, padding=1, bias=not batch_norm)
                ]
                layers += [
                    nn.BatchNorm2d(width) if batch_norm else nn.Identity(),
                    activation(),
                ]
                channels = width
            layers += [nn.MaxPool2d(2), _dropout(dropout_hidden)]
        self.features = nn.Sequential(*layers)
        self.out = nn.Linear(channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x).mean(dim=(2, 3)))


def _initialize(model: nn.Module, scheme: str) -> None:
    if scheme == "torch":
        return
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            if scheme == "xavier":
                nn.init.xavier_uniform_(module.weight)
            else:  # kaiming
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)


def config_activation(config: ExperimentConfig) -> nn.Module:
    """A fresh activation module as ``config`` describes it."""
    return make_activation(
        config.activation,
        K=config.gaaf_K,
        shape=config.gaaf_shape,
        c=config.gaaf_c,
        slope=config.gaaf_slope,
        shift=config.gaaf_shift,
        height=config.gaaf_height,
    )


def build_model(config: ExperimentConfig) -> nn.Module:
    """The network ``config`` describes, initialized from the current torch seed."""
    info = DATASETS[config.dataset]

    def activation() -> nn.Module:
        return config_activation(config)

    cls = {"mlp": MLP, "cnn": CNN}[config.model]
    model = cls(
        info.shape,
        config.widths,
        info.classes,
        activation,
        dropout_input=config.dropout_input,
        dropout_hidden=config.dropout_hidden,
        batch_norm=config.batch_norm,
    )
    _initialize(model, config.init)
    return model
