"""Dropout's variance argument (Hahn & Choi's claim 2), computed for one tanh unit.

A unit's net input under dropout is ``z = sum_i w_i d_i x_i`` with independent masks
``d_i``. Two conventions:

* the paper's (and the original dropout paper's) plain masks ``d_i ~ Bernoulli(1-p)``:
  ``E[z] = (1-p) sum w x`` and ``Var[z] = p (1-p) sum w^2 x^2``; at test time the
  weights are multiplied by ``1-p``;
* PyTorch's inverted dropout (``nn.Dropout``, what the book's networks train with),
  masks ``d_i / (1-p)``: ``E[z] = sum w x`` and ``Var[z] = p/(1-p) sum w^2 x^2``.

Written with the test-time weights (``(1-p) w`` for plain masks, ``w`` for inverted) the
two agree: the mean is the dropout-free net input ``z0`` and the variance is
``p/(1-p) sum w^2 x^2``. By the central limit theorem ``z`` is close to
``N(z0, sigma^2)`` for a wide layer, and a unit receives on average the slope
``E[tanh'(z)]`` instead of ``tanh'(z0)``.

This module gives:

* :func:`net_input_moments`, the exact mean and variance of ``z`` under both conventions;
* :func:`expected_slope`, ``E[tanh'(z)]`` for ``z ~ N(z0, sigma^2)`` (broadcasting);
* :func:`monte_carlo_slope`, the same with real Bernoulli masks on a concrete unit;
* :func:`representative_unit`, a concrete unit of a wide tanh layer with a chosen
  dropout-free net input;
* :func:`slope_gains`, all of the above over a range of net inputs, for the chapter;
* :func:`unit_gains`, the same at a few net inputs for other weights and inputs, and
  :func:`weight_std_for_gain`, the weights a given far-saturation gain needs;
* :func:`slope_comparison`, the slope with dropout beside GAAF's, and the chapters'
  findings as typed facts (:func:`variance_facts`, :func:`gaaf_facts`) for the book
  to word.

All computations run in float64 unless stated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from gaaf import validate
from gaaf.activations import DEFAULT_K, gaaf

__all__ = [
    "XAVIER_STD_1024",
    "GaafFacts",
    "Gap",
    "MonteCarloSlope",
    "SlopeComparison",
    "SlopeGains",
    "UnitGains",
    "VarianceFacts",
    "approximation_gap",
    "expected_slope",
    "gaaf_facts",
    "gain_crossover",
    "monte_carlo_slope",
    "net_input_moments",
    "representative_unit",
    "saturation_gain_limit",
    "slope_comparison",
    "slope_gains",
    "tanh_slope",
    "unit_gains",
    "variance_facts",
    "weight_std_for_gain",
]

XAVIER_STD_1024 = math.sqrt(2.0 / (1024 + 1024))
"""Standard deviation of Xavier (Glorot) initial weights of a 1024-to-1024 layer, 0.03125."""


# --------------------------------------------------------------------------- checks


def _rate(p: object) -> float:
    """A dropout rate in ``[0, 1)``."""
    return validate.real("p", p, at_least=0, below=1)


def _count(name: str, value: object) -> int:
    return validate.integer(name, value, at_least=1)


def _unit(w: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
    for name, t in (("w", w), ("x", x)):
        if not isinstance(t, Tensor) or not t.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor, got {t!r}")
        if t.dim() == 0:
            raise ValueError(
                f"{name} must have a last (fan-in) dimension, got a scalar"
            )
    if w.shape[-1] != x.shape[-1]:
        raise ValueError(
            f"w and x must have the same fan-in (last dimension), "
            f"got {tuple(w.shape)} and {tuple(x.shape)}"
        )
    return w, x


# ------------------------------------------------------------------------ moments


def tanh_slope(z: Tensor) -> Tensor:
    """``tanh'(z) = 1 / cosh(z)^2``, accurate deep in saturation (``1 - tanh^2`` is 0
    in float64 beyond ``|z| ~ 19``; this keeps the relative accuracy up to
    ``|z| ~ 350``). Same shape and dtype as ``z``."""
    return torch.cosh(z).reciprocal().square()


def net_input_moments(
    w: Tensor, x: Tensor, p: float, inverted: bool = True
) -> tuple[Tensor, Tensor]:
    """Exact mean and variance of ``z = sum_i w_i d_i x_i`` over dropout masks.

    ``w`` and ``x``: shape ``(..., fan_in)``, broadcast against each other; the sum runs
    over the last dimension. ``p``: the dropout rate (probability of dropping an input),
    in ``[0, 1)``. ``inverted=True``: masks ``d_i / (1-p)`` as in ``torch.nn.Dropout``
    (mean ``sum w x``, variance ``p/(1-p) sum w^2 x^2``); ``False``: the paper's plain
    masks ``d_i ~ Bernoulli(1-p)`` (mean ``(1-p) sum w x``, variance
    ``p (1-p) sum w^2 x^2``). Returns ``(mean, var)`` of shape ``...``, in the units of
    ``w x``.
    """
    p = _rate(p)
    w, x = _unit(w, x)
    wx = w * x
    plain_mean, square_sum = wx.sum(-1), wx.square().sum(-1)
    if inverted:
        return plain_mean, square_sum * (p / (1.0 - p))
    return plain_mean * (1.0 - p), square_sum * (p * (1.0 - p))


# ------------------------------------------------------- slope: Gaussian approximation


def _peak(z0: Tensor, sigma: Tensor) -> Tensor:
    """Where ``phi(t) tanh'(z0 + sigma t)`` peaks in ``t``: the root of
    ``t + 2 sigma tanh(z0 + sigma t)``, which increases in ``t`` and has its root in
    ``[-2 sigma, 2 sigma]``; found by bisection (60 halvings: float64 resolution)."""
    lo, hi = -2.0 * sigma - 1e-12, 2.0 * sigma + 1e-12
    for _ in range(60):
        mid = (lo + hi) / 2
        above = mid + 2.0 * sigma * torch.tanh(z0 + sigma * mid) > 0
        hi, lo = torch.where(above, mid, hi), torch.where(above, lo, mid)
    return (lo + hi) / 2


def expected_slope(z0: Tensor | float, sigma: Tensor | float) -> Tensor:
    """``E[tanh'(z)]`` for ``z ~ N(z0, sigma^2)``: the Gaussian (central-limit)
    approximation of the slope a unit receives on average under dropout.

    ``z0`` (the dropout-free net input) and ``sigma`` (the dropout standard deviation of
    the net input, ``>= 0``) are numbers or tensors; they broadcast. Returns a float64
    tensor of the broadcast shape, on their device. ``sigma = 0`` gives ``tanh'(z0)``.

    Method: ``E = int phi(t) tanh'(z0 + sigma t) dt`` by the trapezoidal rule on a
    uniform grid in the standard normal variable ``t``, centred where the integrand peaks
    and spanning 12 on each side (the integrand is log-concave with curvature >= 1, so
    it is below ``e^-72`` of its peak beyond that), with step ``min(0.1, 0.3/sigma)``.
    The integrand is analytic, so the rule converges geometrically; relative error below
    ``1e-10`` for ``sigma <= 10`` (tested against adaptive quadrature and Gauss-Hermite).
    Gauss-Hermite alone is exact to ``1e-12`` for ``sigma <= 1`` but loses accuracy
    beyond (``tanh'`` has poles at ``+-i pi/2``: 2% off at ``sigma = 5`` with 128 nodes).
    """
    z0, sigma = torch.broadcast_tensors(
        validate.real_tensor("z0", z0), validate.real_tensor("sigma", sigma)
    )
    if (sigma < 0).any():
        validate.fail("sigma", "all >= 0", f"a minimum of {sigma.min().item():g}")
    if z0.numel() == 0:
        return z0.clone()
    noisy = sigma > 0
    s = torch.where(noisy, sigma, torch.ones_like(sigma))  # placeholder where sigma = 0
    # one step for all elements: the finest any of them needs
    step = min(0.1, 0.3 / s.max().item())
    n = 2 * math.ceil(12.0 / step) + 1
    offsets = torch.linspace(-12.0, 12.0, n, dtype=torch.float64, device=s.device)
    t = _peak(z0, s).unsqueeze(-1) + offsets
    density = torch.exp(-0.5 * t.square()) / math.sqrt(2.0 * math.pi)
    integrand = density * tanh_slope(z0.unsqueeze(-1) + s.unsqueeze(-1) * t)
    noisy_slope = torch.trapezoid(integrand, dx=24.0 / (n - 1), dim=-1)
    return torch.where(noisy, noisy_slope, tanh_slope(z0))


def saturation_gain_limit(sigma: Tensor | float) -> Tensor:
    """``exp(2 sigma^2)``: the limit of ``E[tanh'(z)] / tanh'(z0)`` as ``|z0| -> inf``.

    Far in saturation ``tanh'(z) ~ 4 exp(-2|z|)`` and ``E[exp(-2z)] = exp(-2 z0 + 2
    sigma^2)`` for a Gaussian; since ``tanh'(z) <= 4 exp(-2|z|)`` everywhere, the gain
    is also at most ``(1 + exp(-2|z0|))^2 exp(2 sigma^2)`` for every ``z0``. Float64.
    """
    sigma = validate.real_tensor("sigma", sigma)
    return torch.exp(2.0 * sigma.square())


# ------------------------------------------------------ slope: Monte Carlo, real masks


class MonteCarloSlope(NamedTuple):
    """What :func:`monte_carlo_slope` returns."""

    slope: float
    """The mean of ``tanh'(z)`` over the sampled masks."""
    z: Tensor
    """The sampled net inputs, shape ``(draws,)``, float64, on ``w``'s device."""

    @property
    def stderr(self) -> float:
        """The standard error of ``slope``: the sample std of ``tanh'(z)`` / sqrt(draws)."""
        n = self.z.numel()
        return tanh_slope(self.z).std().item() / math.sqrt(n) if n > 1 else math.nan


def monte_carlo_slope(
    w: Tensor,
    x: Tensor,
    p: float,
    draws: int,
    generator: torch.Generator | None = None,
    inverted: bool = True,
    chunk: int = 4096,
) -> MonteCarloSlope:
    """The mean slope ``tanh'(z)`` of one unit over ``draws`` independent dropout masks.

    ``w``, ``x``: shape ``(fan_in,)``, on the same device (the masks are drawn there, with
    ``generator``, which must live on that device). Each draw keeps every input
    independently with probability ``1-p`` and computes ``z = sum_i w_i d_i x_i``
    (divided by ``1-p`` when ``inverted``, as ``torch.nn.Dropout`` does). Masks are drawn
    ``chunk`` at a time, so memory is ``chunk * fan_in`` values whatever ``draws`` is.
    """
    p = _rate(p)
    draws, chunk = _count("draws", draws), _count("chunk", chunk)
    w, x = _unit(w, x)
    if w.dim() != 1 or x.dim() != 1:
        raise ValueError(
            f"w and x must be one unit's vectors of shape (fan_in,), "
            f"got {tuple(w.shape)} and {tuple(x.shape)}"
        )
    wx = (w * x).to(torch.float64)
    z = torch.empty(draws, dtype=torch.float64, device=wx.device)
    for start in range(0, draws, chunk):
        m = min(chunk, draws - start)
        keep = torch.rand((m, wx.numel()), generator=generator, device=wx.device).ge_(p)
        z[start : start + m] = keep.to(torch.float64) @ wx
    if inverted:
        z /= 1.0 - p
    return MonteCarloSlope(tanh_slope(z).mean().item(), z)


# ------------------------------------------------------------ a representative unit


def representative_unit(
    z0: float,
    fan_in: int = 1024,
    weight_std: float = XAVIER_STD_1024,
    generator: torch.Generator | None = None,
    input_std: float = 1.0,
) -> tuple[Tensor, Tensor]:
    """A concrete unit ``(w, x)`` of a wide tanh layer with dropout-free net input ``z0``.

    Inputs ``x_i = tanh(u_i)``, ``u_i ~ N(0, input_std^2)``: the outputs of the tanh
    layer below. Weights ``w_i ~ N(0, weight_std^2)``, then moved by the smallest change
    (in Euclidean norm, along ``x``) that makes ``sum_i w_i x_i = z0`` exactly: a unit
    far in saturation is one whose weights align with its input. Returns two float64
    tensors of shape ``(fan_in,)`` on the CPU; drawn with ``generator`` (the same seed
    gives the same ``x`` and the same weights up to that change, whatever ``z0``).
    """
    z0 = validate.real("z0", z0)
    fan_in = _count("fan_in", fan_in)
    weight_std = validate.real("weight_std", weight_std, above=0)
    input_std = validate.real("input_std", input_std, above=0)
    u = torch.randn(fan_in, generator=generator, dtype=torch.float64)
    x = torch.tanh(u * input_std)
    w = torch.randn(fan_in, generator=generator, dtype=torch.float64) * weight_std
    w += (z0 - w @ x) / (x @ x) * x
    return w, x


@dataclass(frozen=True)
class SlopeGains:
    """The slope a representative unit receives under dropout, for a range of ``z0``.

    All tensors have shape ``(len(z0),)`` and are float64 on the CPU.
    """

    p: float
    """The dropout rate (inverted dropout, as ``torch.nn.Dropout``)."""
    z0: Tensor
    """Dropout-free net inputs (the mean of ``z`` under dropout)."""
    sigma: Tensor
    """The standard deviation of ``z`` under dropout, exact for each unit."""
    plain: Tensor
    """``tanh'(z0)``: the slope without dropout."""
    expected: Tensor
    """``E[tanh'(z)]`` in the Gaussian approximation, ``z ~ N(z0, sigma^2)``."""
    mc: Tensor | None = None
    """``E[tanh'(z)]`` by Monte Carlo over real Bernoulli masks (None: not sampled)."""
    mc_stderr: Tensor | None = None
    """The Monte Carlo standard errors (None when not sampled)."""

    @property
    def gain(self) -> Tensor:
        """``expected / plain``: how many times the slope without dropout."""
        return self.expected / self.plain

    @property
    def mc_gain(self) -> Tensor | None:
        """``mc / plain`` (None: not sampled)."""
        return None if self.mc is None else self.mc / self.plain


def slope_gains(
    z0: Tensor | list[float],
    p: float,
    *,
    fan_in: int = 1024,
    weight_std: float = XAVIER_STD_1024,
    input_std: float = 1.0,
    seed: int = 0,
    draws: int = 0,
    device: str | torch.device = "cpu",
) -> SlopeGains:
    """For each ``z0``: build :func:`representative_unit` (seeded with ``seed``, so the
    units differ only in the weight change that sets ``z0``), take its exact dropout
    standard deviation from :func:`net_input_moments` (inverted dropout at rate ``p``),
    and the expected slope by :func:`expected_slope`; with ``draws > 0`` also by
    :func:`monte_carlo_slope` on ``device`` (masks seeded with ``seed + 1``).
    """
    p = _rate(p)
    z0 = validate.real_tensor("z0", z0).flatten().cpu()
    validate.integer("seed", seed, at_least=0, at_most=validate.MAX_SEED)
    if draws:
        _count("draws", draws)
    device = torch.device(device)
    sigmas, mcs, errs = [], [], []
    masks = torch.Generator(device=device).manual_seed(seed + 1) if draws else None
    for value in z0.tolist():
        units = torch.Generator().manual_seed(seed)
        w, x = representative_unit(value, fan_in, weight_std, units, input_std)
        sigmas.append(net_input_moments(w, x, p)[1].sqrt())
        if draws:
            result = monte_carlo_slope(w.to(device), x.to(device), p, draws, masks)
            mcs.append(result.slope)
            errs.append(result.stderr)
    sigma = torch.stack(sigmas)
    return SlopeGains(
        p=p,
        z0=z0,
        sigma=sigma,
        plain=tanh_slope(z0),
        expected=expected_slope(z0, sigma),
        mc=torch.tensor(mcs, dtype=torch.float64) if draws else None,
        mc_stderr=torch.tensor(errs, dtype=torch.float64) if draws else None,
    )


# ------------------------------------------------------------ what the chapter reads


def gain_crossover(gains: SlopeGains) -> float | None:
    """The smallest ``z0`` of ``gains`` at which dropout raises the slope (gain > 1);
    None where it raises it nowhere on the grid."""
    helped = gains.z0[gains.gain > 1]
    return float(helped.min()) if helped.numel() else None


class Gap(NamedTuple):
    """Where real masks and the Gaussian approximation differ most (:func:`approximation_gap`)."""

    relative: float
    """``(Monte Carlo - Gaussian) / Gaussian`` there."""
    z0: float
    stderrs: float
    """The absolute difference in Monte Carlo standard errors."""


def approximation_gap(gains: SlopeGains) -> Gap:
    """The net input at which the Monte Carlo slope of ``gains`` is relatively furthest
    from the Gaussian approximation (``gains`` must have been sampled)."""
    if gains.mc is None or gains.mc_stderr is None:
        validate.fail("gains", "sampled (slope_gains with draws > 0)", gains.p)
    assert gains.mc is not None and gains.mc_stderr is not None
    gap = (gains.mc - gains.expected) / gains.expected
    i = int(gap.abs().argmax())
    stderrs = abs(gains.mc[i] - gains.expected[i]) / gains.mc_stderr[i]
    return Gap(float(gap[i]), float(gains.z0[i]), float(stderrs))


def weight_std_for_gain(
    gain: float, p: float, fan_in: int, mean_square_input: float
) -> float:
    """The weight standard deviation ``s`` at which the far-saturation gain
    ``exp(2 sigma^2)`` (:func:`saturation_gain_limit`) reaches ``gain``, with
    ``sigma^2 ~ p/(1-p) * fan_in * s^2 * E[x^2]`` (a unit whose inputs have mean square
    ``mean_square_input``): ``s = sqrt(ln(gain) / 2 / (p/(1-p) fan_in E[x^2]))``."""
    gain = validate.real("gain", gain, above=1)
    p = validate.real("p", p, above=0, below=1)
    fan_in = _count("fan_in", fan_in)
    mean_square_input = validate.real("mean_square_input", mean_square_input, above=0)
    return math.sqrt(0.5 * math.log(gain) / (p / (1 - p) * fan_in * mean_square_input))


class UnitGains(NamedTuple):
    """One row of :func:`unit_gains`."""

    weight_std: float
    input_std: float
    p: float
    mean_square_input: float
    """``E[x^2]`` of the unit's inputs."""
    sigma: float
    """The dropout noise at the first ``z0``."""
    gains: tuple[float, ...]
    """``E[tanh'(z)] / tanh'(z0)`` (Gaussian approximation) at each ``z0``."""
    limit: float
    """``exp(2 sigma^2)`` at the last ``z0``."""


def unit_gains(
    weight_stds: tuple[float, ...],
    input_stds: tuple[float, ...],
    rates: tuple[float, ...],
    z0: tuple[float, ...] = (0.0, 3.0),
    fan_in: int = 1024,
    seed: int = 0,
) -> list[UnitGains]:
    """The gain of :func:`slope_gains` at a few ``z0`` for the representative unit with
    each weight std, input spread and dropout rate (in that nesting order)."""
    rows = []
    for std in weight_stds:
        for spread in input_stds:
            x = representative_unit(
                0.0, fan_in, std, torch.Generator().manual_seed(seed), spread
            )[1]
            for p in rates:
                g = slope_gains(
                    list(z0),
                    p,
                    fan_in=fan_in,
                    weight_std=std,
                    input_std=spread,
                    seed=seed,
                )
                rows.append(
                    UnitGains(
                        weight_std=std,
                        input_std=spread,
                        p=p,
                        mean_square_input=x.square().mean().item(),
                        sigma=g.sigma[0].item(),
                        gains=tuple(g.gain.tolist()),
                        limit=saturation_gain_limit(g.sigma[-1]).item(),
                    )
                )
    return rows


# ---------------------------------------------------------- dropout against GAAF


class SlopeComparison(NamedTuple):
    """What :func:`slope_comparison` returns: the slope a tanh unit receives at each
    net input, three ways. Tensors of shape ``(len(z0),)``, float64 on the CPU."""

    p: float
    """The dropout rate."""
    z0: Tensor
    """Net inputs; for dropout, the dropout-free net input (the mean of ``z``)."""
    sigma: Tensor
    """The dropout standard deviation of the net input at each ``z0``."""
    plain: Tensor
    """``tanh'(z0)``: the slope of a plain unit."""
    dropout: Tensor
    """``E[tanh'(z)]`` under dropout at rate ``p`` (Gaussian approximation)."""
    gaaf: Tensor
    """GAAF-tanh's backward at ``z0`` by autograd (default shape): ``tanh' + s``."""


def slope_comparison(
    z0: Tensor | list[float], p: float, K: float = DEFAULT_K, **unit: object
) -> SlopeComparison:
    """The slope of :func:`representative_unit` (``unit``: the keyword arguments of
    :func:`slope_gains`) without dropout, with dropout at rate ``p`` (on average over the
    masks, :func:`slope_gains`) and with GAAF-tanh instead (frequency ``K``, the
    default shape), at each net input ``z0``."""
    gains = slope_gains(z0, p, **unit)  # type: ignore[arg-type]
    x = gains.z0.clone().requires_grad_(True)
    gaaf(x, "tanh", K=K).sum().backward()
    assert x.grad is not None
    return SlopeComparison(
        gains.p, gains.z0, gains.sigma, gains.plain, gains.expected, x.grad
    )


def _nearest(z0: Tensor, at: float) -> int:
    return int((z0 - at).abs().argmin())


class VarianceFacts(NamedTuple):
    """What :func:`variance_facts` returns: the dropout chapter's finding as numbers
    (the book words them)."""

    p: float
    """The dropout rate."""
    z0: float
    """The net input of the grid nearest to the one asked about (a saturated unit)."""
    sigma: float
    """The dropout standard deviation of the net input at the grid's first ``z0`` (0)."""
    gain: float
    """``E[tanh'(z)] / tanh'(z0)`` at that net input ``z0``."""
    kept: float
    """The same ratio at the grid's first ``z0`` (0), the share of slope kept there."""
    limit: float
    """The far-saturation gain ``exp(2 sigma^2)`` at the grid's last ``z0``."""
    factor: float
    """The paper's factor the limit is held against."""
    needed_std: float
    """The weight spread at which the limit reaches the paper's factor."""
    weight_std: float
    """The initial weight spread of the unit."""

    @property
    def holds(self) -> bool:
        """Whether dropout raises the slope of the saturated unit (gain above 1)."""
        return self.gain > 1

    @property
    def reaches(self) -> bool:
        """Whether the far-saturation limit reaches the paper's factor."""
        return not self.limit < self.factor

    @property
    def needed_ratio(self) -> float:
        """How many times the initial weight spread the needed one is."""
        return self.needed_std / self.weight_std


def variance_facts(
    gains: SlopeGains, at: float, factor: float, needed_std: float, weight_std: float
) -> VarianceFacts:
    """The dropout chapter's finding for the representative unit's ``gains`` (its grid
    must start at ``z0 = 0``): the gain at the grid point nearest ``at``, its
    far-saturation limit, the slope kept at 0, and the weight spread ``needed_std`` at
    which the limit reaches the paper's ``factor`` (against ``weight_std``)."""
    i, g = _nearest(gains.z0, at), gains.gain
    limit = saturation_gain_limit(gains.sigma[-1])
    z0, sigma = float(gains.z0[i]), float(gains.sigma[0])
    numbers = (g[i], g[0], limit, factor, needed_std, weight_std)
    return VarianceFacts(float(gains.p), z0, sigma, *map(float, numbers))


class GaafFacts(NamedTuple):
    """What :func:`gaaf_facts` returns: the GAAF chapter's finding as numbers (the book
    words them)."""

    p: float
    """The dropout rate GAAF is compared with."""
    change: float
    """The largest forward change measured."""
    bound: float
    """Its bound ``max(s)/2K``."""
    within: bool
    """Whether every change was within its bound up to float rounding."""
    z0: float
    """The net input of the grid nearest to the one asked about (a saturated unit)."""
    by_gaaf: float
    """How many times ``tanh'`` GAAF's slope is at that net input ``z0``."""
    by_dropout: float
    """How many times ``tanh'`` dropout's slope is there, on average."""
    plain_at_0: float
    """``tanh'`` at the grid point nearest 0."""
    dropout_at_0: float
    """Dropout's average slope at the grid point nearest 0."""
    gaaf_at_0: float
    """GAAF's slope at the grid point nearest 0."""

    @property
    def dropout_lowers(self) -> bool:
        """Whether dropout lowers the slope at 0 (below ``tanh'``)."""
        return self.dropout_at_0 < self.plain_at_0


def gaaf_facts(
    comparison: SlopeComparison, at: float, change: float, bound: float, within: bool
) -> GaafFacts:
    """The GAAF chapter's finding: the largest forward change measured (``change``)
    against its bound ``max(s)/2K`` (``bound``; ``within``: whether every change was
    within its bound up to float rounding), and the slope GAAF and dropout give a unit
    at the net input of ``comparison`` nearest ``at`` and nearest 0 (``comparison`` must
    include both)."""
    c = comparison
    i, o = _nearest(c.z0, at), _nearest(c.z0, 0.0)
    ratios = (c.gaaf[i] / c.plain[i], c.dropout[i] / c.plain[i])
    at_0 = (c.plain[o], c.dropout[o], c.gaaf[o])
    numbers = map(float, (c.z0[i], *ratios, *at_0))
    return GaafFacts(float(c.p), float(change), float(bound), bool(within), *numbers)
