"""Shape functions ``s(x)`` for GAAF: where the extra gradient is pushed through.

The paper gives no constants, only "an exponential function" for tanh and "a shifted
sigmoid" for ReLU and a drawing (its Figure 6); :class:`Constant` (``s = 1``) is the
book's control, not the paper's. A leaf module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from gaaf import validate

__all__ = [
    "FIGURE6_READINGS",
    "SHAPES",
    "Constant",
    "GaussianBump",
    "Shape",
    "ShiftedSigmoid",
]

FIGURE6_READINGS: dict[str, tuple[tuple[float, float], ...]] = {
    "tanh": ((1.0, 0.75), (2.0, 0.3), (3.0, 0.07)),
    "relu": ((-1.0, 0.05), (-0.45, 0.5), (0.0, 0.95)),
}
"""Points ``(x, s(x))`` read off the paper's drawing of its shape functions (Figure 6).

The paper gives no constants, only "an exponential function" for tanh and "a shifted
sigmoid" for ReLU and this drawing; the defaults of :class:`GaussianBump` and
:class:`ShiftedSigmoid` are least-squares fits to these readings.
"""


@dataclass(frozen=True)
class GaussianBump:
    """Shape function ``s(x) = height * exp(-x**2 / c)``: the paper's form for tanh,
    with constants fitted to its drawing (the paper gives none).

    Defaults: ``c = 3.4`` is the least-squares fit of ``log s`` to the three points read
    off the paper's Figure 6 (``s(1) ~ 0.75, s(2) ~ 0.3, s(3) ~ 0.07``, see
    :data:`FIGURE6_READINGS`; the fit gives 3.38), ``height = 1`` is the drawn peak at 0.
    The independent Keras re-implementation used ``c = 3``.
    """

    c: float = 3.4
    height: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "c", validate.real("c", self.c, above=0))
        object.__setattr__(self, "height", validate.real("height", self.height))

    @property
    def peak(self) -> float:
        """``max |s(x)|`` over the real line."""
        return abs(self.height)

    def __call__(self, x: Tensor) -> Tensor:
        s = torch.exp(
            x.square().mul_(-1.0 / self.c)
        )  # autograd-safe: exp's output kept
        return s if self.height == 1.0 else s * self.height

    def derivative(self, x: Tensor) -> Tensor:
        """``s'(x) = -2x/c * s(x)``; 0 (not NaN) at ``x = +-inf``."""
        return self.value_and_slope(x)[1]

    def value_and_slope(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(s(x), s'(x))`` computed together (new tensors)."""
        # exp(-x**2/c) is exactly 0 in float64 once x**2/c > 746; clamping there
        # changes no finite result and turns s' at +-inf into 0 instead of -inf * 0.
        cutoff = math.sqrt(800.0 * self.c)
        xc = x.clamp(-cutoff, cutoff)
        s = self(xc)
        return s, xc.mul_(s).mul_(-2.0 / self.c)


@dataclass(frozen=True)
class ShiftedSigmoid:
    """Shape function ``s(x) = height * sigmoid(slope * x + shift)``: the paper's form
    for ReLU, with constants fitted to its drawing (the paper gives none).

    Defaults: ``slope = 5.9, shift = 2.8`` are the least-squares fit of ``logit s`` to
    the points read off the paper's Figure 6 (``s(-1) ~ 0.05, s(-0.45) ~ 0.5,
    s(0) ~ 0.95``, see :data:`FIGURE6_READINGS`): acceleration on the whole positive
    side, fading out over the first unit of the flat negative side.
    """

    slope: float = 5.9
    shift: float = 2.8
    height: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "slope", validate.real("slope", self.slope, nonzero=True)
        )
        object.__setattr__(self, "shift", validate.real("shift", self.shift))
        object.__setattr__(self, "height", validate.real("height", self.height))

    @property
    def peak(self) -> float:
        """``sup |s(x)|`` over the real line."""
        return abs(self.height)

    def __call__(self, x: Tensor) -> Tensor:
        s = torch.sigmoid(x.mul(self.slope).add_(self.shift))  # autograd-safe
        return s if self.height == 1.0 else s * self.height

    def derivative(self, x: Tensor) -> Tensor:
        """``s'(x) = height * slope * sigma * (1 - sigma)``."""
        return self.value_and_slope(x)[1]

    def value_and_slope(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(s(x), s'(x))`` computed together (new tensors)."""
        sig = torch.sigmoid(x.mul(self.slope).add_(self.shift))
        slope = torch.rsub(sig, 1.0).mul_(sig).mul_(self.height * self.slope)
        return (sig if self.height == 1.0 else sig.mul_(self.height)), slope


@dataclass(frozen=True)
class Constant:
    """Shape function ``s(x) = height`` everywhere: no shape at all.

    Every unit's slope is raised by ``height`` wherever it sits, saturated or not; the
    book's control for "does the shape matter?" (not in the paper).
    """

    height: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "height", validate.real("height", self.height))

    @property
    def peak(self) -> float:
        return abs(self.height)

    def __call__(self, x: Tensor) -> Tensor:
        return torch.full_like(x, self.height)

    def derivative(self, x: Tensor) -> Tensor:
        return torch.zeros_like(x)

    def value_and_slope(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self(x), self.derivative(x)


Shape = GaussianBump | ShiftedSigmoid | Constant

SHAPES: dict[str, type] = {
    "bump": GaussianBump,
    "shifted_sigmoid": ShiftedSigmoid,
    "constant": Constant,
}
"""Shape functions by name (the config field ``gaaf_shape``)."""
