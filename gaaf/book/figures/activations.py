"""Figures of GAAF itself: the sawtooth, the shape functions, GAAF against the plain
activation, and what the explorer of K and the shapes draws. Curves are evaluated in
float64 on the CPU; derivatives are autograd's (:func:`slope`)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from matplotlib.figure import Figure
from torch import Tensor

from gaaf.activations import (
    ACTIVATIONS,
    DEFAULT_K,
    FIGURE6_READINGS,
    GaussianBump,
    ShiftedSigmoid,
    gaaf,
    gradient_acceleration,
)
from gaaf.book.figures.style import GREY, PALETTE, PAPER, legend, level, subplots

__all__ = [
    "explorer_figure",
    "explorer_static",
    "gaaf_vs_plain_figure",
    "grid",
    "sawtooth_figure",
    "shapes_figure",
    "slope",
]

PLAIN, ACCELERATED = PALETTE["base"], PALETTE["gaaf"]
_RELU_DEFAULTS = {"slope": ShiftedSigmoid.slope, "shift": ShiftedSigmoid.shift}


def slope(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """The derivative of an elementwise ``fn`` at ``x``, as autograd computes it."""
    x = x.detach().clone().requires_grad_(True)
    fn(x).sum().backward()
    assert x.grad is not None
    return x.grad


def grid(lo: float, hi: float, n: int = 4001) -> Tensor:
    """``n`` evenly spaced float64 points from ``lo`` to ``hi``."""
    return torch.linspace(lo, hi, n, dtype=torch.float64)


def sawtooth_figure(K: float = DEFAULT_K, periods: int = 3) -> Figure:
    """g(x) in two views. Left: a zoom on ``2 * periods`` periods around 0 (both axes in
    units of 1/K), where the teeth are visible. Right: ``g`` and its derivative by
    autograd over ``[-2, 2]``, where ``g`` (at most ``1/(2K)``) lies on 0 and its
    derivative is 1."""
    fig, axes = subplots(2, 3.0)
    x = grid(-periods / K, periods / K, 400 * periods + 1)
    axes[0].plot(x * K, gradient_acceleration(x, K) * K, lw=1, c=ACCELERATED)
    for level_ in (0.5, -0.5):
        axes[0].axhline(level_, ls=":", c=GREY)
    axes[0].set(
        title=f"zoom: {2 * periods} periods (K = {K:g})",
        xlabel="K x",
        ylabel="K g(x)",
    )
    wide = grid(-2, 2)
    axes[1].plot(
        wide,
        slope(lambda t: gradient_acceleration(t, K), wide),
        c=ACCELERATED,
        label="g'(x), autograd",
    )
    axes[1].plot(wide, gradient_acceleration(wide, K), c=GREY, ls="--", label="g(x)")
    axes[1].set(title="full range", xlabel="x", ylim=(-0.1, 1.5))
    legend(axes[1], loc="upper left")
    return fig


def shapes_figure() -> Figure:
    """The default shape functions beside the points read off the paper's Figure 6."""
    fig, axes = subplots(2, 3.2)
    for ax, name, shape, lo, hi in [
        (axes[0], "tanh", GaussianBump(), -5, 5),
        (axes[1], "relu", ShiftedSigmoid(), -3, 3),
    ]:
        x = grid(lo, hi)
        ax.plot(x, shape(x), c=ACCELERATED, label="our s(x)")
        ax.plot(
            x, ACTIVATIONS[name].derivative(x), ls="--", c=GREY, label=f"{name}'(x)"
        )
        px, ps = zip(*FIGURE6_READINGS[name], strict=True)
        ax.plot(px, ps, "o", c=PAPER, label="paper's Figure 6")
        ax.set(
            title=f"shape function for {name}",
            xlabel="x",
            ylabel="s(x)",
            ylim=(-0.03, 1.5),
        )
        legend(ax, loc="upper left")
    return fig


def gaaf_vs_plain_figure(K: float = DEFAULT_K) -> Figure:
    """Columns tanh and ReLU; rows: values, the added term in units of 1/K (four
    periods), derivatives."""
    fig, axes = subplots(6, 2.5)
    x = grid(-5, 5)
    close = grid(0.5, 0.5 + 4 / K, 2001)
    for column, name in enumerate(("tanh", "relu")):
        values, added, slopes = axes[column::2]
        phi = ACTIVATIONS[name]

        def new(t: Tensor, name: str = name) -> Tensor:
            return gaaf(t, name, K=K)

        values.plot(x, phi.fn(x), lw=3, alpha=0.4, c=PLAIN, label=f"{name}")
        values.plot(x, new(x), ls="--", c=ACCELERATED, label=f"GAAF-{name}")
        values.set(title=f"{name}: values", xlabel="x")
        added.plot(close * K - 0.5 * K, (new(close) - phi.fn(close)) * K, c=ACCELERATED)
        added.set(
            title=f"{name}: added term, times K",
            xlabel=f"K x - {0.5 * K:g}",
        )
        slopes.plot(x, slope(phi.fn, x), lw=3, alpha=0.4, c=PLAIN, label=f"{name}'")
        slopes.plot(x, slope(new, x), ls="--", c=ACCELERATED, label="GAAF backward")
        slopes.set(title=f"{name}: derivatives", xlabel="x")
        for ax in (values, slopes):
            legend(ax, loc="upper left")
    return fig


def explorer_figure(
    K: float = DEFAULT_K,
    c: float = GaussianBump.c,
    slope_: float = ShiftedSigmoid.slope,
    shift: float = ShiftedSigmoid.shift,
) -> Figure:
    """What the explorer draws: for tanh and ReLU, the forward change and the gradient.

    Left: ``phi_new - phi`` with its envelope ``+-s(x)/(2K)`` (the sawtooth itself is
    drawn where K is small enough to resolve). Right: ``phi'`` and GAAF's backward.
    """
    fig, axes = subplots(4, 2.9)
    x = grid(-4, 4, 20_001)
    shapes = {"tanh": GaussianBump(c), "relu": ShiftedSigmoid(slope_, shift)}
    for row, (name, shape) in enumerate(shapes.items()):
        change, gradient = axes[2 * row : 2 * row + 2]
        phi = ACTIVATIONS[name]

        def new(t: Tensor, name: str = name, shape=shape) -> Tensor:
            return gaaf(t, name, shape, K)

        envelope = shape(x) / (2 * K)
        if K <= 500:
            change.plot(x, new(x) - phi.fn(x), lw=0.6, c=ACCELERATED, label="change")
        change.fill_between(
            x, -envelope, envelope, alpha=0.25, color=ACCELERATED, label="±s(x)/2K"
        )
        change.set(title=f"{name}: forward change (K = {K:.3g})", xlabel="x")
        gradient.plot(x, slope(phi.fn, x), lw=3, alpha=0.4, c=PLAIN, label=f"{name}'")
        gradient.plot(x, slope(new, x), c=ACCELERATED, label="GAAF backward")
        gradient.plot(x, shape(x), ls=":", c=GREY, label="s(x)")
        gradient.set(title=f"{name}: gradient", xlabel="x", ylim=(-0.05, 2.2))
        legend(change, loc="upper left")
        legend(gradient, loc="upper left")
    return fig


def explorer_static() -> Figure:
    """The explorer's story for a page without a kernel: each knob varied in turn, one
    panel each (the tanh bump's width c, the ReLU shape's slope and shift, and K)."""
    fig, axes = subplots(4, 2.9)
    x = grid(-5, 5)
    for i, c in enumerate((1.0, GaussianBump.c, 8.0)):
        axes[0].plot(
            x,
            slope(lambda t, c=c: gaaf(t, "tanh", GaussianBump(c)), x),
            c=level(i, 3),
            label=f"c = {c:g}",
        )
    axes[0].plot(x, slope(torch.tanh, x), c=GREY, ls="--", label="tanh'")
    axes[0].set(title="GAAF-tanh backward: width c", xlabel="x")
    for ax, knob, values in [
        (axes[1], "shift", (0.0, ShiftedSigmoid.shift, 5.0)),
        (axes[2], "slope", (1.0, ShiftedSigmoid.slope, 15.0)),
    ]:
        for i, value in enumerate(values):
            shape = ShiftedSigmoid(**{**_RELU_DEFAULTS, knob: value})
            ax.plot(
                x,
                slope(lambda t, s=shape: gaaf(t, "relu", s), x),
                c=level(i, 3),
                label=f"{knob} = {value:g}",
            )
        ax.plot(x, slope(torch.relu, x), c=GREY, ls="--", label="relu'")
        ax.set(title=f"GAAF-ReLU backward: {knob}", xlabel="x", ylim=(-0.05, 2.2))
    changes = {K: GaussianBump()(x) / (2 * K) for K in (10.0, 100.0, DEFAULT_K)}
    for i, (K, change) in enumerate(changes.items()):
        axes[3].semilogy(x, change, c=level(i, 3), label=f"K = {K:g}")
    lowest = float(min(change.min() for change in changes.values()))
    axes[3].set(
        title="GAAF-tanh: largest forward change", xlabel="x", ylim=(lowest / 3, 10)
    )
    axes[3].set_ylabel("s(x) / 2K")
    for ax in axes:
        legend(ax, loc="upper left")
    return fig
