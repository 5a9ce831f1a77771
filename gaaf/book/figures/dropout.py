"""Figures of dropout's variance argument for one tanh unit (:mod:`gaaf.analysis.variance`): the
net input under dropout, the slope a unit receives on average (beside GAAF's), and what
the dropout explorer draws. Every figure is made by
:func:`~gaaf.book.figures.style.subplots`. Dropout rates and a knob's settings are coloured by
:func:`~gaaf.book.figures.style.level`, never by the variants' palette."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator
from torch import Tensor

from gaaf.analysis.variance import (
    XAVIER_STD_1024,
    SlopeComparison,
    SlopeGains,
    monte_carlo_slope,
    net_input_moments,
    representative_unit,
    saturation_gain_limit,
    tanh_slope,
)
from gaaf.book.figures.activations import grid
from gaaf.book.figures.style import GREY, PALETTE, legend, level, subplots
from gaaf.experiments.probes import SATURATION_THRESHOLD

__all__ = [
    "STATIC_KNOBS",
    "STATIC_SETTING",
    "dropout_explorer_figure",
    "dropout_explorer_static",
    "net_input_figure",
    "slope_comparison_figure",
    "slope_gain_figure",
]


def net_input_figure(
    samples: dict[str, Tensor], moments: dict[str, tuple[float, float]], title: str
) -> Figure:
    """Histograms of sampled net inputs beside the Gaussians with the given moments.

    ``samples``: label -> sampled ``z`` (1-D); ``moments``: label -> ``(mean, var)``
    from the formulas, same labels (the chapter's table gives both, formula and sample).
    """
    fig, (ax,) = subplots(1, 3.2)
    for i, (label, z) in enumerate(samples.items()):
        z = z.detach().double().cpu()
        mean, var = moments[label]
        color = level(i + 1, len(samples) + 1)
        ax.hist(z, bins=80, density=True, alpha=0.35, color=color)
        x = grid(mean - 4.5 * var**0.5, mean + 4.5 * var**0.5, 401)
        gauss = torch.exp(-0.5 * (x - mean) ** 2 / var) / (2 * torch.pi * var) ** 0.5
        ax.plot(x, gauss, c=color, label=f"{label}: mean {mean:.3g}, var {var:.3g}")
    ax.set(title=title, xlabel="net input z", ylabel="density")
    legend(ax, loc="upper left")
    return fig


def _markers(axes: Sequence[Axes], m: SlopeGains, color: str) -> None:
    """Monte Carlo markers of ``m`` with two standard errors: slope on ``axes[0]``,
    gain on ``axes[1]``."""
    assert m.mc is not None and m.mc_stderr is not None and m.mc_gain is not None
    style = {"fmt": "o", "ms": 4, "c": color, "capsize": 2}
    z0 = m.z0.numpy()
    axes[0].errorbar(z0, m.mc.numpy(), yerr=2 * m.mc_stderr.numpy(), **style)
    gain_err = (2 * m.mc_stderr / m.plain).numpy()
    axes[1].errorbar(z0, m.mc_gain.numpy(), yerr=gain_err, **style)


def slope_gain_figure(
    curves: Sequence[SlopeGains], markers: Sequence[SlopeGains] = ()
) -> Figure:
    """``E[tanh'(z)]`` and its gain over ``tanh'(z0)`` against ``z0``, one colour per rate.

    Curves: the Gaussian approximation (``curves``); markers with error bars: Monte
    Carlo over real masks (``markers``, matched to curves by ``p``). Left: the slope;
    right: the gain on a log scale, with its far-saturation limit ``exp(2 sigma^2)``
    dotted.
    """
    fig, axes = subplots(2, 3.4)
    z_ref = curves[0].z0
    axes[0].plot(z_ref, tanh_slope(z_ref), c=GREY, ls="--", label="no dropout")
    axes[1].axhline(1.0, c=GREY, ls="--", lw=1)
    for i, c in enumerate(curves):
        color = level(i + 1, len(curves) + 1)
        axes[0].plot(c.z0, c.expected, c=color, label=f"p = {c.p:g}")
        axes[1].plot(c.z0, c.gain, c=color)
        limit = saturation_gain_limit(c.sigma[-1]).item()
        axes[1].axhline(limit, c=color, ls=":", lw=1)
        for m in markers:
            if m.p == c.p and m.mc is not None:
                _markers(axes, m, color)
    axes[0].set(
        title="expected slope under dropout",
        xlabel="dropout-free net input $z_0$",
        ylabel="$E[\\tanh'(z)]$",
    )
    axes[1].set(
        title="gain over $\\tanh'(z_0)$; dotted: $e^{2\\sigma^2}$",
        xlabel="dropout-free net input $z_0$",
        ylabel="$E[\\tanh'(z)]\\,/\\,\\tanh'(z_0)$",
        yscale="log",
    )
    legend(axes[0])
    return fig


def slope_comparison_figure(c: SlopeComparison) -> Figure:
    """One unit's slope against its net input: plain ``tanh'`` (base), the average over
    dropout masks (dropout) and GAAF-tanh's backward (GAAF). Left: the slopes; right:
    each one's gain over plain ``tanh'`` on a log scale, where the saturated region
    (``|z| > 2``, shaded), in which the claim lives and every slope is near 0 on the
    left, can be read."""
    fig, (ax, gain) = subplots(2, 3.4)
    ax.plot(c.z0, c.plain, c=PALETTE["base"], lw=2.5, label="plain $\\tanh'$")
    ax.plot(c.z0, c.dropout, c=PALETTE["dropout"], label=f"dropout, $p = {c.p:g}$")
    ax.plot(c.z0, c.gaaf, c=PALETTE["gaaf"], label="GAAF: $\\tanh' + s$")
    ax.set(
        title="the slope a tanh unit passes back",
        xlabel="net input (dropout-free) $z_0$",
        ylabel="slope",
        ylim=(0, 1.45 * max(c.gaaf.max().item(), c.plain.max().item())),
    )
    legend(ax, loc="upper left")  # above the curves: the y range leaves room
    gain.axhline(1.0, c=PALETTE["base"], lw=2.5)
    gain.plot(c.z0, c.dropout / c.plain, c=PALETTE["dropout"])
    gain.plot(c.z0, c.gaaf / c.plain, c=PALETTE["gaaf"])
    lo, hi = c.z0.min().item(), c.z0.max().item()
    for a, b in ((lo, -SATURATION_THRESHOLD), (SATURATION_THRESHOLD, hi)):
        if b > a:
            gain.axvspan(a, b, color=GREY, alpha=0.12, lw=0)
    ratios = torch.cat([c.dropout / c.plain, c.gaaf / c.plain])
    low, high = 2 ** (ratios.min().log2().floor()), 2 ** (ratios.max().log2().ceil())
    ticks = [2.0**k for k in range(int(low.log2()), int(high.log2()) + 1)]
    gain.set(
        title="gain over plain $\\tanh'$",
        xlabel="net input (dropout-free) $z_0$",
        ylabel="slope / $\\tanh'(z_0)$",
        yscale="log",
        xlim=(lo, hi),
        ylim=(low.item(), high.item()),
    )
    gain.set_yticks(ticks, [f"{t:g}" for t in ticks])
    gain.yaxis.set_minor_locator(NullLocator())
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


def _slope_backdrop(ax: Axes, lo: float, hi: float) -> None:
    """``tanh'`` over ``[lo, hi]`` behind what ``ax`` holds (filled, grey), scaled to its
    height, with its own scale on the right (a secondary axis, not a second panel)."""
    top = ax.get_ylim()[1]
    x = grid(lo, hi, 801)
    ax.fill_between(x, tanh_slope(x) * top, color=GREY, alpha=0.15, lw=0, zorder=0)
    ax.set_ylim(0, top)
    right = ax.secondary_yaxis(
        "right", functions=(lambda y: y / top, lambda s: s * top)
    )
    right.set_ylabel("$\\tanh'(z)$ (grey)")


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
    fig, (ax,) = subplots(1, 3.6)
    _z_on_slope(ax, result.z, z0, f"z under dropout, p = {p:g}", level(2, 3), lo, hi)
    _slope_backdrop(ax, lo, hi)
    ax.set(xlabel="net input z", ylabel="density of z", xlim=(lo, hi))
    plain = tanh_slope(torch.tensor(float(z0), dtype=torch.float64)).item()
    title = (
        f"z0 = {z0:g}, weight std {weight_std:.3g}, p = {p:g} (σ = {sigma:.3g})\n"
        f"E[tanh'(z)] = {result.slope:.3g} with dropout, {plain:.3g} without "
        f"({result.slope / plain:.3g} times)"
    )
    ax.set_title(title)
    return fig


STATIC_SETTING = {"p": 0.5, "weight_std": XAVIER_STD_1024, "z0": 3.0, "input_std": 1.0}
"""Where :func:`dropout_explorer_static` starts: ``p = 0.5``, Xavier weights, ``z0 = 3``
and inputs ``tanh(u)``, ``u ~ N(0, 1)``."""

STATIC_KNOBS = {
    "p": (0.2, 0.5, 0.8),
    "weight_std": (XAVIER_STD_1024, 0.05, 0.07),
    "z0": (0.0, 1.5, 3.0),
    "input_std": (1.0, 2.5),
}
"""The settings :func:`dropout_explorer_static` gives each knob in turn."""

STATIC_TITLES = {
    "p": "the dropout rate p",
    "weight_std": "the weight spread",
    "z0": "the net input $z_0$",
    "input_std": "the input spread",
}


def dropout_explorer_static(
    draws: int = 20_000, fan_in: int = 1024, input_std: float = 1.0, seed: int = 0
) -> Figure:
    """The dropout explorer's story for a page without a kernel: around
    :data:`STATIC_SETTING` (``input_std`` replacing its input spread), each knob varied
    in turn (:data:`STATIC_KNOBS`), one panel each; the legend gives the gain of the
    expected slope with dropout (Monte Carlo) over ``tanh'(z0)``."""
    fig, axes = subplots(len(STATIC_KNOBS), 2.9)
    lo, hi = -3.0, 9.0
    base = {**STATIC_SETTING, "input_std": input_std}
    for ax, (knob, settings) in zip(axes, STATIC_KNOBS.items(), strict=True):
        for i, value in enumerate(settings):
            setting = {**base, knob: value}
            generator = torch.Generator().manual_seed(seed)
            w, x = representative_unit(
                setting["z0"],
                fan_in,
                setting["weight_std"],
                generator,
                setting["input_std"],
            )
            result = monte_carlo_slope(w, x, setting["p"], draws, generator)
            plain = tanh_slope(torch.tensor(setting["z0"], dtype=torch.float64)).item()
            label = f"{value:.3g}: gain {result.slope / plain:.3g}"
            color = level(i + 1, len(settings) + 1)
            _z_on_slope(ax, result.z, setting["z0"], label, color, lo, hi)
        _slope_backdrop(ax, lo, hi)
        ax.set(title=STATIC_TITLES[knob], xlabel="net input z", xlim=(lo, hi))
        legend(ax, loc="upper right")
    for ax in axes[::2]:
        ax.set_ylabel("density of z")
    return fig
