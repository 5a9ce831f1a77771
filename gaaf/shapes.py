"""Shape functions ``s(x)`` for GAAF: where the extra gradient is pushed through.

The paper gives no constants, only "an exponential function" for tanh and "a shifted
sigmoid" for ReLU and a drawing (its Figure 6); :class:`Constant` (``s = 1``) is the
book's control, not the paper's. A leaf module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from gaaf import validate

__all__ = [
    "FIGURE6_READINGS",
    "SHAPES",
    "Constant",
    "Figure6Fit",
    "GaussianBump",
    "Shape",
    "ShiftedSigmoid",
    "figure6_table",
    "fit_figure6",
]

FIGURE6_READINGS: dict[str, tuple[tuple[float, float], ...]] = {
    "tanh": ((1.0, 0.75), (2.0, 0.3), (3.0, 0.07)),
    "relu": ((-1.0, 0.05), (-0.45, 0.5), (0.0, 0.95)),
}
"""Points ``(x, s(x))`` read off the paper's drawing of its shape functions (Figure 6).

The paper gives no constants, only "an exponential function" for tanh and "a shifted
sigmoid" for ReLU and this drawing; the defaults of :class:`GaussianBump` and
:class:`ShiftedSigmoid` are least-squares fits to these readings (:func:`fit_figure6`).
"""


class Figure6Fit(NamedTuple):
    """The shape constants that fit the readings of the paper's Figure 6 best
    (:func:`fit_figure6`): the width ``c`` of :class:`GaussianBump` (for tanh), and the
    ``slope`` and ``shift`` of :class:`ShiftedSigmoid` (for ReLU)."""

    c: float
    slope: float
    shift: float


def fit_figure6(
    readings: Mapping[str, Sequence[tuple[float, float]]] | None = None,
) -> Figure6Fit:
    """Least-squares fits of the shape functions' constants to points ``(x, s(x))``,
    ``"tanh"`` and ``"relu"`` (None: :data:`FIGURE6_READINGS`), in float64.

    tanh's bump, ``s = exp(-x**2 / c)``: ``log s = -x**2 / c`` is fitted in ``1/c``
    through the origin, so ``c = sum(x**4) / sum(-x**2 log s)``. ReLU's sigmoid,
    ``s = sigmoid(slope * x + shift)``: ``logit s = slope * x + shift`` is a straight
    line, fitted by ordinary least squares. Each reading needs ``0 < s < 1`` (and
    ``x != 0`` for at least one tanh point).
    """
    readings = FIGURE6_READINGS if readings is None else readings
    bump = torch.tensor(readings["tanh"], dtype=torch.float64)
    sigmoid = torch.tensor(readings["relu"], dtype=torch.float64)
    for name, points in (("tanh", bump), ("relu", sigmoid)):
        s = points[:, 1]
        if not bool(((s > 0) & (s < 1)).all()):
            validate.fail(f"readings[{name!r}]", "values s(x) in (0, 1)", s.tolist())
    x, s = bump.unbind(1)
    c = (x**4).sum() / (x**2 * -s.log()).sum()
    x, s = sigmoid.unbind(1)
    design = torch.stack([x, torch.ones_like(x)], dim=1)
    line = torch.linalg.lstsq(design, torch.logit(s)[:, None]).solution[:, 0]
    return Figure6Fit(c.item(), line[0].item(), line[1].item())


@dataclass(frozen=True)
class GaussianBump:
    """Shape function ``s(x) = height * exp(-x**2 / c)``: the paper's form for tanh,
    with constants fitted to its drawing (the paper gives none).

    Defaults: ``c = 3.4`` is the least-squares fit of ``log s`` to the three points read
    off the paper's Figure 6 (``s(1) ~ 0.75, s(2) ~ 0.3, s(3) ~ 0.07``, see
    :data:`FIGURE6_READINGS`; :func:`fit_figure6` gives 3.38), ``height = 1`` is the
    drawn peak at 0. The independent Keras re-implementation used ``c = 3``.
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


def figure6_table(
    shapes: Mapping[str, Shape] | None = None,
) -> tuple[list[str], list[list[object]]]:
    """Headers and rows: each point of :data:`FIGURE6_READINGS` beside the value of the
    shape function for its activation, ``shapes[name]`` (None: the defaults,
    :class:`GaussianBump` for tanh and :class:`ShiftedSigmoid` for ReLU), and the
    difference ``ours - read``."""
    if shapes is None:
        shapes = {"tanh": GaussianBump(), "relu": ShiftedSigmoid()}
    headers = ["shape for", "x", "read off Figure 6", "our s(x)", "difference"]
    rows: list[list[object]] = []
    for name, points in FIGURE6_READINGS.items():
        for x, read in points:
            ours = shapes[name](torch.tensor(x, dtype=torch.float64)).item()
            rows.append([name, x, read, ours, ours - read])
    return headers, rows
