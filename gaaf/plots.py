"""Figures and tables the chapters share. Each function returns what it draws.

The chapters call these with the values they computed; nothing here trains or reads
records. Curves are evaluated in float64 on the CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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

__all__ = [
    "cost_figure",
    "explorer",
    "explorer_figure",
    "explorer_static",
    "gaaf_vs_plain_figure",
    "markdown_table",
    "sawtooth_figure",
    "shapes_figure",
    "slope",
]


def slope(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """The derivative of an elementwise ``fn`` at ``x``, as autograd computes it."""
    x = x.detach().clone().requires_grad_(True)
    fn(x).sum().backward()
    return x.grad


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; floats with 4 significant digits, integers with separators."""

    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _grid(lo: float, hi: float, n: int = 4001) -> Tensor:
    return torch.linspace(lo, hi, n, dtype=torch.float64)


def sawtooth_figure(K: float = DEFAULT_K) -> Figure:
    """g(x) at two zoom levels (40 periods, 3 periods), and its derivative by autograd."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), layout="constrained")
    for ax, periods in zip(axes[:2], (40, 3), strict=True):
        x = _grid(-periods / K, periods / K, 400 * periods + 1)
        ax.plot(x * K, gradient_acceleration(x, K) * K, lw=0.8)
        ax.axhline(0.5, ls=":", c="gray")
        ax.axhline(-0.5, ls=":", c="gray")
        ax.set(
            title=f"g(x), {2 * periods} periods (K = {K:g})",
            xlabel="K x",
            ylabel="K g(x)",
        )
    wide = _grid(-2, 2)
    axes[2].plot(wide, slope(lambda t: gradient_acceleration(t, K), wide))
    axes[2].set(title="g'(x) on [-2, 2], by autograd", xlabel="x", ylim=(-0.1, 1.5))
    return fig


def shapes_figure() -> Figure:
    """The default shape functions beside the points read off the paper's Figure 6."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), layout="constrained")
    for ax, name, shape, lo, hi in [
        (axes[0], "tanh", GaussianBump(), -5, 5),
        (axes[1], "relu", ShiftedSigmoid(), -3, 3),
    ]:
        x = _grid(lo, hi)
        ax.plot(x, shape(x), label=repr(shape))
        ax.plot(
            x, ACTIVATIONS[name].derivative(x), ls="--", c="gray", label=f"{name}'(x)"
        )
        px, ps = zip(*FIGURE6_READINGS[name], strict=True)
        ax.plot(px, ps, "o", c="C3", label="read off the paper's Figure 6")
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
    x = _grid(-5, 5)
    close = _grid(0.5, 0.5 + 4 / K, 2001)
    for row, name in zip(axes, ("tanh", "relu"), strict=True):
        phi = ACTIVATIONS[name]

        def new(t: Tensor, name: str = name) -> Tensor:
            return gaaf(t, name, K=K)

        row[0].plot(x, phi.fn(x), lw=3, alpha=0.4, label=f"{name}")
        row[0].plot(x, new(x), ls="--", label=f"GAAF-{name}")
        row[0].set(title=f"{name}: values", xlabel="x")
        row[1].plot(close * K - 0.5 * K, (new(close) - phi.fn(close)) * K)
        row[1].set(
            title=f"K (GAAF-{name} - {name}), four periods", xlabel=f"K x - {0.5 * K:g}"
        )
        row[2].plot(x, slope(phi.fn, x), lw=3, alpha=0.4, label=f"{name}'")
        row[2].plot(x, slope(new, x), ls="--", label=f"GAAF-{name} (backward)")
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
    x = _grid(-4, 4, 20_001)
    shapes = {"tanh": GaussianBump(c), "relu": ShiftedSigmoid(slope_, shift)}
    for row, (name, shape) in zip(axes, shapes.items(), strict=True):
        phi = ACTIVATIONS[name]

        def new(t: Tensor, name: str = name, shape=shape) -> Tensor:
            return gaaf(t, name, shape, K)

        envelope = shape(x) / (2 * K)
        if K <= 500:
            row[0].plot(x, new(x) - phi.fn(x), lw=0.6, label="GAAF - plain")
        row[0].fill_between(x, -envelope, envelope, alpha=0.25, label="+-s(x) / 2K")
        row[0].set(title=f"{name}: forward change (K = {K:.3g})", xlabel="x")
        row[1].plot(x, slope(phi.fn, x), lw=3, alpha=0.4, label=f"{name}'")
        row[1].plot(x, slope(new, x), label=f"GAAF-{name} backward")
        row[1].plot(x, shape(x), ls=":", c="gray", label=repr(shape))
        row[1].set(title=f"{name}: gradient", xlabel="x", ylim=(-0.05, 2.2))
        for ax in row:
            ax.legend(fontsize=7, loc="upper left")
    return fig


def explorer_static() -> Figure:
    """The explorer's story for a page without a kernel: each knob varied in turn."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4), layout="constrained")
    x = _grid(-5, 5)
    for c in (1.0, GaussianBump.c, 8.0):
        axes[0].plot(
            x,
            slope(lambda t, c=c: gaaf(t, "tanh", GaussianBump(c)), x),
            label=f"c = {c:g}",
        )
    axes[0].plot(x, slope(torch.tanh, x), c="gray", ls="--", label="tanh'")
    axes[0].set(title="GAAF-tanh backward: the width c", xlabel="x")
    for shift in (0.0, ShiftedSigmoid.shift, 5.0):
        shape = ShiftedSigmoid(ShiftedSigmoid.slope, shift)
        axes[1].plot(
            x,
            slope(lambda t, s=shape: gaaf(t, "relu", s), x),
            label=f"shift = {shift:g}",
        )
    axes[1].plot(x, slope(torch.relu, x), c="gray", ls="--", label="relu'")
    axes[1].set(
        title=f"GAAF-ReLU backward: the shift (slope {ShiftedSigmoid.slope:g})",
        xlabel="x",
    )
    for K in (10.0, 100.0, DEFAULT_K):
        axes[2].semilogy(x, GaussianBump()(x) / (2 * K), label=f"K = {K:g}")
    axes[2].set(
        title="GAAF-tanh: largest forward change s(x)/2K", xlabel="x", ylim=(1e-7, 1)
    )
    for ax in axes:
        ax.legend(fontsize=8)
    return fig


def explorer():  # pragma: no cover - needs a live kernel to be useful
    """An ipywidgets explorer of K and the shape parameters, drawing :func:`explorer_figure`."""
    import ipywidgets as widgets

    style = {"description_width": "11em"}
    layout = widgets.Layout(width="32em")
    controls = {
        "K": widgets.FloatLogSlider(
            value=DEFAULT_K, base=10, min=0.5, max=5, description="K (frequency)"
        ),
        "c": widgets.FloatSlider(
            value=GaussianBump.c,
            min=0.3,
            max=10,
            step=0.1,
            description="c (tanh bump width)",
        ),
        "slope_": widgets.FloatSlider(
            value=ShiftedSigmoid.slope,
            min=0.5,
            max=15,
            step=0.1,
            description="ReLU shape slope",
        ),
        "shift": widgets.FloatSlider(
            value=ShiftedSigmoid.shift,
            min=-3,
            max=8,
            step=0.1,
            description="ReLU shape shift",
        ),
    }
    for w in controls.values():
        w.style, w.layout = style, layout

    output = widgets.Output()

    def draw(_change: object = None) -> None:
        # the figure goes into the output widget as data (not by capturing display
        # calls inside `with output:`, whose message routing intermittently hung
        # headless executions of the book)
        fig = explorer_figure(**{name: w.value for name, w in controls.items()})
        output.outputs = ()
        output.append_display_data(fig)
        plt.close(fig)

    for w in controls.values():
        w.observe(draw, names="value")
    draw()
    return widgets.VBox([*controls.values(), output])


def cost_figure(record: dict) -> Figure:
    """Forward + backward time relative to tanh, per variant and size (a bench record)."""
    rows = [r for r in record["activations"] if r["dtype"] == "float32"]
    sizes = sorted({r["elements"] for r in rows})
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    fig, ax = plt.subplots(figsize=(11, 4.2), layout="constrained")
    width = 0.8 / len(sizes)
    for i, n in enumerate(sizes):
        ratios = [
            next(r["vs_tanh"] for r in rows if r["elements"] == n and r["variant"] == v)
            for v in variants
        ]
        ax.barh(
            [j + i * width for j in range(len(variants))],
            ratios,
            height=width,
            label=f"{n:,} elements",
        )
    ax.set_yticks(
        [j + width * (len(sizes) - 1) / 2 for j in range(len(variants))], variants
    )
    ax.invert_yaxis()
    ax.axvline(1.0, c="gray", ls=":")
    ax.set(
        xscale="log",
        xlabel="forward + backward time / torch.tanh's (same run)",
        title=f"float32 on {record['provenance']['device']}",
    )
    ax.legend(fontsize=8)
    return fig
