"""Figures of dropout's variance argument for one tanh unit (:mod:`gaaf.dropout`): the
net input under dropout, the slope a unit receives on average, and what the dropout
explorer draws. Dropout rates and a knob's settings are coloured by
:func:`~gaaf.figures.style.level`, never by the variants' palette."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor

from gaaf.dropout import (
    XAVIER_STD_1024,
    SlopeGains,
    monte_carlo_slope,
    net_input_moments,
    representative_unit,
    saturation_gain_limit,
    tanh_slope,
)
from gaaf.figures.activations import grid
from gaaf.figures.style import GREY, level

__all__ = [
    "STATIC_KNOBS",
    "STATIC_SETTING",
    "dropout_explorer_figure",
    "dropout_explorer_static",
    "net_input_figure",
    "slope_gain_figure",
]


def net_input_figure(
    samples: dict[str, Tensor], moments: dict[str, tuple[float, float]], title: str
) -> Figure:
    """Histograms of sampled net inputs beside the Gaussians with the given moments.

    ``samples``: label -> sampled ``z`` (1-D); ``moments``: label -> ``(mean, var)``
    from the formulas, same labels. The legend gives both, formula and sample.
    """
    fig, ax = plt.subplots(figsize=(8, 3.6), layout="constrained")
    for i, (label, z) in enumerate(samples.items()):
        z = z.detach().double().cpu()
        mean, var = moments[label]
        color = level(i + 1, len(samples) + 1)
        ax.hist(z, bins=80, density=True, alpha=0.35, color=color)
        x = grid(mean - 4.5 * var**0.5, mean + 4.5 * var**0.5, 401)
        gauss = torch.exp(-0.5 * (x - mean) ** 2 / var) / (2 * torch.pi * var) ** 0.5
        ax.plot(
            x,
            gauss,
            c=color,
            label=(
                f"{label}: mean {mean:.3f} (sampled {z.mean():.3f}), "
                f"var {var:.3f} (sampled {z.var():.3f})"
            ),
        )
    ax.set(title=title, xlabel="net input z", ylabel="density")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def _markers(axes: Sequence[Axes], m: SlopeGains, color: str) -> None:
    """Monte Carlo markers of ``m`` with two standard errors: slope on ``axes[:2]``,
    gain on ``axes[2]``."""
    assert m.mc is not None and m.mc_stderr is not None and m.mc_gain is not None
    style = {"fmt": "o", "ms": 4, "c": color, "capsize": 2}
    for ax in axes[:2]:
        ax.errorbar(m.z0.numpy(), m.mc.numpy(), yerr=2 * m.mc_stderr.numpy(), **style)
    gain_err = (2 * m.mc_stderr / m.plain).numpy()
    axes[2].errorbar(m.z0.numpy(), m.mc_gain.numpy(), yerr=gain_err, **style)


def slope_gain_figure(
    curves: Sequence[SlopeGains], markers: Sequence[SlopeGains] = ()
) -> Figure:
    """``E[tanh'(z)]`` and its gain over ``tanh'(z0)`` against ``z0``, one colour per rate.

    Curves: the Gaussian approximation (``curves``); markers with error bars: Monte
    Carlo over real masks (``markers``, matched to curves by ``p``). Left: the slope on a
    linear scale; middle: the same on a log scale; right: the gain, log scale, with its
    far-saturation limit ``exp(2 sigma^2)`` dotted.
    """
    fig, axes = plt.subplots(1, 3, figsize=(14, 4), layout="constrained")
    z_ref = curves[0].z0
    for ax in axes[:2]:
        ax.plot(z_ref, tanh_slope(z_ref), c="k", ls="--", label="tanh'(z0), no dropout")
    axes[2].axhline(1.0, c="k", ls="--", lw=1)
    for i, c in enumerate(curves):
        color = level(i + 1, len(curves) + 1)
        for ax in axes[:2]:
            ax.plot(c.z0, c.expected, c=color, label=f"p = {c.p:g}, Gaussian approx.")
        axes[2].plot(c.z0, c.gain, c=color, label=f"p = {c.p:g}")
        limit = saturation_gain_limit(c.sigma[-1]).item()
        axes[2].axhline(limit, c=color, ls=":", lw=1)
        for m in markers:
            if m.p == c.p and m.mc is not None:
                _markers(axes, m, color)
    axes[0].set(
        title="expected slope under dropout", xlabel="dropout-free net input z0"
    )
    axes[0].set_ylabel("E[tanh'(z)]")
    axes[1].set(title="the same, log scale", xlabel="z0", yscale="log")
    axes[2].set(
        title="gain E[tanh'(z)] / tanh'(z0); dotted: $e^{2\\sigma^2}$",
        xlabel="z0",
        yscale="log",
    )
    axes[0].legend(fontsize=7)
    axes[2].legend(fontsize=7, loc="upper left")
    return fig


def _z_on_slope(
    ax: Axes, z: Tensor, z0: float, label: str, color: str, lo: float, hi: float
) -> None:
    """A histogram of sampled ``z`` (step outline) on ``ax``; ``z0`` marked."""
    ax.hist(
        z.double().cpu().clamp(lo, hi),
        bins=80,
        range=(lo, hi),
        density=True,
        histtype="step",
        color=color,
        label=label,
    )
    ax.axvline(z0, c=color, ls=":", lw=1)


def _slope_backdrop(ax: Axes, lo: float, hi: float) -> Axes:
    """``tanh'`` on a twin axis of ``ax`` over ``[lo, hi]`` (filled, grey)."""
    twin = ax.twinx()
    x = grid(lo, hi, 801)
    twin.fill_between(x, tanh_slope(x), color=GREY, alpha=0.15, lw=0)
    twin.set(ylim=(0, 1.05), ylabel="tanh'(z) (grey)")
    ax.set_zorder(twin.get_zorder() + 1)
    ax.patch.set_visible(False)
    return twin


def dropout_explorer_figure(
    p: float = 0.5,
    weight_std: float = XAVIER_STD_1024,
    z0: float = 3.0,
    draws: int = 20_000,
    fan_in: int = 1024,
    input_std: float = 1.0,
    seed: int = 0,
) -> Figure:
    """What the dropout explorer draws: the net input of a representative unit under
    (inverted) dropout, sampled with real masks, over ``tanh'`` (grey); the title gives
    the expected slope with dropout and the slope without it."""
    generator = torch.Generator().manual_seed(seed)
    w, x = representative_unit(z0, fan_in, weight_std, generator, input_std)
    result = monte_carlo_slope(w, x, p, draws, generator)
    sigma = net_input_moments(w, x, p)[1].sqrt().item()
    lo, hi = min(-1.0, z0 - 4 * sigma), max(1.0, z0 + 4 * sigma)
    lo, hi = min(lo, -hi / 4), max(hi, -lo / 4)
    fig, ax = plt.subplots(figsize=(8, 3.8), layout="constrained")
    _slope_backdrop(ax, lo, hi)
    _z_on_slope(ax, result.z, z0, f"z under dropout, p = {p:g}", level(2, 3), lo, hi)
    ax.set(xlabel="net input z", ylabel="density of z", xlim=(lo, hi))
    plain = tanh_slope(torch.tensor(float(z0), dtype=torch.float64)).item()
    title = (
        f"z0 = {z0:g}, weight std {weight_std:.3g}, p = {p:g} (sigma = {sigma:.2f}): "
        f"E[tanh'(z)] = {result.slope:.3g} with dropout, {plain:.3g} without "
        f"(x{result.slope / plain:.3g})"
    )
    ax.set_title(title, fontsize=9)
    return fig


STATIC_SETTING = {"p": 0.5, "weight_std": XAVIER_STD_1024, "z0": 3.0}
"""Where :func:`dropout_explorer_static` starts: ``p = 0.5``, Xavier weights, ``z0 = 3``."""

STATIC_KNOBS = {
    "p": (0.2, 0.5, 0.8),
    "weight_std": (XAVIER_STD_1024, 0.05, 0.07),
    "z0": (0.0, 1.5, 3.0),
}
"""The settings :func:`dropout_explorer_static` gives each knob in turn."""


def dropout_explorer_static(
    draws: int = 20_000, fan_in: int = 1024, input_std: float = 1.0, seed: int = 0
) -> Figure:
    """The dropout explorer's story for a page without a kernel: around
    :data:`STATIC_SETTING`, each knob varied in turn (:data:`STATIC_KNOBS`); the legend
    gives the expected slope with dropout (Monte Carlo) and the gain over ``tanh'(z0)``."""
    titles = {
        "p": "the dropout rate p (weight std 0.031, z0 = 3)",
        "weight_std": "the weight std (p = 0.5, z0 = 3)",
        "z0": "the net input z0 (p = 0.5, weight std 0.031)",
    }
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8), layout="constrained")
    lo, hi = -3.0, 9.0
    for ax, (knob, settings) in zip(axes, STATIC_KNOBS.items(), strict=True):
        _slope_backdrop(ax, lo, hi)
        for i, value in enumerate(settings):
            setting = {**STATIC_SETTING, knob: value}
            generator = torch.Generator().manual_seed(seed)
            w, x = representative_unit(
                setting["z0"], fan_in, setting["weight_std"], generator, input_std
            )
            result = monte_carlo_slope(w, x, setting["p"], draws, generator)
            plain = tanh_slope(torch.tensor(setting["z0"], dtype=torch.float64)).item()
            label = (
                f"{knob.replace('_', ' ')} = {value:.3g}: E[tanh'] = {result.slope:.3g} "
                f"(x{result.slope / plain:.2g})"
            )
            color = level(i + 1, len(settings) + 1)
            _z_on_slope(ax, result.z, setting["z0"], label, color, lo, hi)
        ax.set(title=titles[knob], xlabel="net input z", xlim=(lo, hi))
        ax.legend(fontsize=7, loc="upper right")
    axes[0].set_ylabel("density of z")
    return fig
