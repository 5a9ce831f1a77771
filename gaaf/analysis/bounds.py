"""GAAF's forward change, measured against its bound.

Since the sawtooth ``g`` never exceeds ``1/(2K)``, GAAF changes an activation's value by
at most ``max(s)/(2K)``, and at each ``x`` by at most ``|s(x)|/(2K)``. This module
measures the largest change over given inputs, for each activation the library knows and
each floating-point type, and says whether every change is within its bound up to the
rounding of the plain activation's value (``2 eps max(1, |phi(x)|)``). The GAAF chapter
shows it (the book words the measurements), and the tests hold the library to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from gaaf import validate
from gaaf.activations import ACTIVATIONS, DEFAULT_K, default_shape, gaaf

__all__ = [
    "FORWARD_DTYPES",
    "ForwardError",
    "forward_error",
    "forward_errors",
    "forward_points",
    "worst",
]

FORWARD_DTYPES = (torch.float32, torch.float64)
"""The floating-point types the forward change is measured in by default."""

_RANGE = 10.0  # the inputs lie in [-_RANGE, _RANGE]


class ForwardError(NamedTuple):
    """The largest forward change of one activation in one dtype, and its bound.

    ``change`` is ``max |gaaf(x) - phi(x)|`` over the inputs, ``bound`` is
    ``max(s)/(2K)``; ``within``: every change is at most ``bound`` plus the rounding of
    ``phi(x)``; ``within_pointwise``: every change is at most ``|s(x)|/(2K)`` plus that
    rounding (the tighter bound, at each input)."""

    activation: str
    dtype: str
    change: float
    bound: float
    within: bool
    within_pointwise: bool

    @property
    def ratio(self) -> float:
        """``change / bound``: at most 1, up to rounding."""
        return self.change / self.bound


def forward_points(
    n: int,
    K: float = DEFAULT_K,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
) -> Tensor:
    """``2 n`` float64 inputs in ``[-10, 10]``: ``n`` uniform, then ``n`` whole multiples
    of ``1/K`` (where the sawtooth jumps), drawn from ``generator`` (None: the global
    one) on ``device``."""
    n = validate.integer("n", n, at_least=1)
    uniform = torch.rand(
        2, n, generator=generator, dtype=torch.float64, device=device
    ).mul_(2 * _RANGE)
    uniform.sub_(_RANGE)
    multiples = uniform[1].mul_(K).round_().div_(K)
    return torch.cat([uniform[0], multiples])


def forward_error(
    x: Tensor, activation: str, dtype: torch.dtype, K: float = DEFAULT_K
) -> ForwardError:
    """The largest change GAAF (:func:`gaaf.activations.gaaf`, the activation's default
    shape) makes to ``activation``'s value over ``x`` taken to ``dtype``, against its
    bounds (see :class:`ForwardError`)."""
    x = x.to(dtype)
    shape = default_shape(activation)
    phi = ACTIVATIONS[activation].fn(x)
    change = (gaaf(x, activation, K=K) - phi).abs_()
    rounding = phi.abs().clamp_(min=1).mul_(2 * torch.finfo(dtype).eps)
    bound = shape.peak / (2 * K)
    pointwise = shape(x).abs_().div_(2 * K).add_(rounding)
    return ForwardError(
        activation,
        str(dtype).removeprefix("torch."),
        change.max().item(),
        bound,
        bool((change <= rounding.add_(bound)).all()),
        bool((change <= pointwise).all()),
    )


def forward_errors(
    x: Tensor,
    K: float = DEFAULT_K,
    activations: Iterable[str] | None = None,
    dtypes: Sequence[torch.dtype] = FORWARD_DTYPES,
) -> list[ForwardError]:
    """:func:`forward_error` for each of ``activations`` (None: every one the library
    knows) in each of ``dtypes``, activation by activation."""
    names = list(ACTIVATIONS) if activations is None else list(activations)
    return [forward_error(x, name, dtype, K) for name in names for dtype in dtypes]


def worst(errors: Sequence[ForwardError]) -> ForwardError:
    """The measurement closest to (or furthest beyond) its bound: the largest ratio."""
    if not errors:
        validate.fail("errors", "at least one measurement", errors)
    return max(errors, key=lambda e: e.ratio)
