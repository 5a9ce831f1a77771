"""Figures of GAAF itself: the sawtooth, the shape functions, GAAF against the plain
activation, and what the explorer of K and the shapes draws. Curves are evaluated in
float64 on the CPU; derivatives are autograd's (:func:`slope`)."""

from __future__ import annotations

from collections.abc import Callable

import matplotlib.pyplot as plt
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
from gaaf.figures.style import GREY, PALETTE, PAPER, level

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


def slope(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """The derivative of an elementwise ``fn`` at ``x``, as autograd computes it."""
    x = x.detach().clone().requires_grad_(True)
    fn(x).sum().backward()
    assert x.grad is not None
    return x.grad


def grid(lo: float, hi: float, n: int = 4001) -> Tensor:
    """``n`` evenly spaced float64 points from ``lo`` to ``hi``."""
    return torch.linspace(lo, hi, n, dtype=torch.float64)


def sawtooth_figure(K: float = DEFAULT_K) -> Figure:
    """g(x) at two zoom levels (40 periods, 3 periods), and its derivative by autograd."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), layout="constrained")
    for ax, periods in zip(axes[:2], (40, 3), strict=True):
        x = grid(-periods / K, periods / K, 400 * periods + 1)
        ax.plot(x * K, gradient_acceleration(x, K) * K, lw=0.8, c=ACCELERATED)
        ax.axhline(0.5, ls=":", c=GREY)
        ax.axhline(-0.5, ls=":", c=GREY)
        ax.set(
            title=f"g(x), {2 * periods} periods (K = {K:g})",
            xlabel="K x",
            ylabel="K g(x)",
        )
    wide = grid(-2, 2)
    axes[2].plot(
        wide, slope(lambda t: gradient_acceleration(t, K), wide), c=ACCELERATED
    )
    axes[2].set(title="g'(x) on [-2, 2], by autograd", xlabel="x", ylim=(-0.1, 1.5))
    return fig


def shapes_figure() -> Figure:
    """The default shape functions beside the points read off the paper's Figure 6."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), layout="constrained")
    for ax, name, shape, lo, hi in [
        (axes[0], "tanh", GaussianBump(), -5, 5),
        (axes[1], "relu", ShiftedSigmoid(), -3, 3),
    ]:
        x = grid(lo, hi)
        ax.plot(x, shape(x), c=ACCELERATED, label=repr(shape))
        ax.plot(
            x, ACTIVATIONS[name].derivative(x), ls="--", c=GREY, label=f"{name}'(x)"
        )
        px, ps = zip(*FIGURE6_READINGS[name], strict=True)
        ax.plot(px, ps, "o", c=PAPER, label="read off the paper's Figure 6")
        ax.set(
            title=f"shape function for {name}",
            xlabel="x",
            ylabel="s(x)",
            ylim=(-0.03, 1.5),
        )
        ax.legend(fontsize=8, loc="upper left")
    return fig


def gaaf_vs_plain_figure(K: float = DEFAULT_K) -> Figure:
    """Rows tanh and ReLU; columns: values, the added term in units of 1/K, derivatives."""
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.4), layout="constrained")
    x = grid(-5, 5)
    close = grid(0.5, 0.5 + 4 / K, 2001)
    for row, name in zip(axes, ("tanh", "relu"), strict=True):
        phi = ACTIVATIONS[name]

        def new(t: Tensor, name: str = name) -> Tensor:
            return gaaf(t, name, K=K)

        row[0].plot(x, phi.fn(x), lw=3, alpha=0.4, c=PLAIN, label=f"{name}")
        row[0].plot(x, new(x), ls="--", c=ACCELERATED, label=f"GAAF-{name}")
        row[0].set(title=f"{name}: values", xlabel="x")
        row[1].plot(
            close * K - 0.5 * K, (new(close) - phi.fn(close)) * K, c=ACCELERATED
        )
        row[1].set(
            title=f"K (GAAF-{name} - {name}), four periods", xlabel=f"K x - {0.5 * K:g}"
        )
        row[2].plot(x, slope(phi.fn, x), lw=3, alpha=0.4, c=PLAIN, label=f"{name}'")
        row[2].plot(
            x, slope(new, x), ls="--", c=ACCELERATED, label=f"GAAF-{name} (backward)"
        )
        row[2].set(title=f"{name}: derivatives", xlabel="x")
        for ax in (row[0], row[2]):
            ax.legend(fontsize=8)
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
    fig, axes = plt.subplots(2, 2, figsize=(11, 6), layout="constrained")
    x = grid(-4, 4, 20_001)
    shapes = {"tanh": GaussianBump(c), "relu": ShiftedSigmoid(slope_, shift)}
    for row, (name, shape) in zip(axes, shapes.items(), strict=True):
        phi = ACTIVATIONS[name]

        def new(t: Tensor, name: str = name, shape=shape) -> Tensor:
            return gaaf(t, name, shape, K)

        envelope = shape(x) / (2 * K)
        if K <= 500:
            row[0].plot(
                x, new(x) - phi.fn(x), lw=0.6, c=ACCELERATED, label="GAAF - plain"
            )
        row[0].fill_between(
            x, -envelope, envelope, alpha=0.25, color=ACCELERATED, label="+-s(x) / 2K"
        )
        row[0].set(title=f"{name}: forward change (K = {K:.3g})", xlabel="x")
        row[1].plot(x, slope(phi.fn, x), lw=3, alpha=0.4, c=PLAIN, label=f"{name}'")
        row[1].plot(x, slope(new, x), c=ACCELERATED, label=f"GAAF-{name} backward")
        row[1].plot(x, shape(x), ls=":", c=GREY, label=repr(shape))
        row[1].set(title=f"{name}: gradient", xlabel="x", ylim=(-0.05, 2.2))
        for ax in row:
            ax.legend(fontsize=7, loc="upper left")
    return fig


def explorer_static() -> Figure:
    """The explorer's story for a page without a kernel: each knob varied in turn."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4), layout="constrained")
    x = grid(-5, 5)
    for i, c in enumerate((1.0, GaussianBump.c, 8.0)):
        axes[0].plot(
            x,
            slope(lambda t, c=c: gaaf(t, "tanh", GaussianBump(c)), x),
            c=level(i, 3),
            label=f"c = {c:g}",
        )
    axes[0].plot(x, slope(torch.tanh, x), c=GREY, ls="--", label="tanh'")
    axes[0].set(title="GAAF-tanh backward: the width c", xlabel="x")
    for i, shift in enumerate((0.0, ShiftedSigmoid.shift, 5.0)):
        shape = ShiftedSigmoid(ShiftedSigmoid.slope, shift)
        axes[1].plot(
            x,
            slope(lambda t, s=shape: gaaf(t, "relu", s), x),
            c=level(i, 3),
            label=f"shift = {shift:g}",
        )
    axes[1].plot(x, slope(torch.relu, x), c=GREY, ls="--", label="relu'")
    axes[1].set(
        title=f"GAAF-ReLU backward: the shift (slope {ShiftedSigmoid.slope:g})",
        xlabel="x",
    )
    for i, K in enumerate((10.0, 100.0, DEFAULT_K)):
        axes[2].semilogy(
            x, GaussianBump()(x) / (2 * K), c=level(i, 3), label=f"K = {K:g}"
        )
    axes[2].set(
        title="GAAF-tanh: largest forward change s(x)/2K", xlabel="x", ylim=(1e-7, 1)
    )
    for ax in axes:
        ax.legend(fontsize=8)
    return fig
