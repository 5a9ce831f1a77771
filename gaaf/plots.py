"""Figures and tables the chapters share. Each function returns what it draws.

The chapters call these with the values they computed; nothing here trains or reads
records. Curves are evaluated in float64 on the CPU.
"""

from __future__ import annotations

import functools
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
from gaaf.dropout import (
    XAVIER_STD_1024,
    SlopeGains,
    monte_carlo_slope,
    net_input_moments,
    representative_unit,
    saturation_gain_limit,
    tanh_slope,
)

__all__ = [
    "cost_figure",
    "dropout_explorer",
    "dropout_explorer_figure",
    "dropout_explorer_static",
    "explorer",
    "explorer_figure",
    "explorer_static",
    "gaaf_vs_plain_figure",
    "markdown_table",
    "net_input_figure",
    "sawtooth_figure",
    "shapes_figure",
    "slope",
    "slope_gain_figure",
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
    return _live_figure(controls, explorer_figure)


def _live_figure(
    controls: dict, make_figure: Callable[..., Figure]
):  # pragma: no cover
    """Sliders ``controls`` (name -> widget) above the figure ``make_figure(**values)``,
    redrawn whenever a slider moves."""
    import ipywidgets as widgets

    for w in controls.values():
        w.style = {"description_width": "11em"}
        w.layout = widgets.Layout(width="32em")
    output = widgets.Output()

    def draw(_change: object = None) -> None:
        # the figure goes into the output widget as data (not by capturing display
        # calls inside `with output:`, whose message routing intermittently hung
        # headless executions of the book)
        fig = make_figure(**{name: w.value for name, w in controls.items()})
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


# ------------------------------------------------------------- dropout's variance


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
        ax.hist(z, bins=80, density=True, alpha=0.35, color=f"C{i}")
        grid = _grid(mean - 4.5 * var**0.5, mean + 4.5 * var**0.5, 401)
        gauss = torch.exp(-0.5 * (grid - mean) ** 2 / var) / (2 * torch.pi * var) ** 0.5
        ax.plot(
            grid,
            gauss,
            c=f"C{i}",
            label=(
                f"{label}: mean {mean:.3f} (sampled {z.mean():.3f}), "
                f"var {var:.3f} (sampled {z.var():.3f})"
            ),
        )
    ax.set(title=title, xlabel="net input z", ylabel="density")
    ax.legend(fontsize=8, loc="upper left")
    return fig


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
        color = f"C{i}"
        for ax in axes[:2]:
            ax.plot(c.z0, c.expected, c=color, label=f"p = {c.p:g}, Gaussian approx.")
        axes[2].plot(c.z0, c.gain, c=color, label=f"p = {c.p:g}")
        axes[2].axhline(
            saturation_gain_limit(c.sigma[-1]).item(), c=color, ls=":", lw=1
        )
        for m in markers:
            if m.p != c.p or m.mc is None:
                continue
            for ax in axes[:2]:
                ax.errorbar(
                    m.z0.numpy(),
                    m.mc.numpy(),
                    yerr=2 * m.mc_stderr.numpy(),
                    fmt="o",
                    ms=4,
                    c=color,
                    capsize=2,
                )
            axes[2].errorbar(
                m.z0.numpy(),
                m.mc_gain.numpy(),
                yerr=(2 * m.mc_stderr / m.plain).numpy(),
                fmt="o",
                ms=4,
                c=color,
                capsize=2,
            )
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
    ax, z: Tensor, z0: float, label: str, color: str, lo: float, hi: float
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


def _slope_backdrop(ax, lo: float, hi: float):
    """``tanh'`` on a twin axis of ``ax`` over ``[lo, hi]`` (filled, grey)."""
    twin = ax.twinx()
    grid = _grid(lo, hi, 801)
    twin.fill_between(grid, tanh_slope(grid), color="gray", alpha=0.15, lw=0)
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
    _z_on_slope(ax, result.z, z0, f"z under dropout, p = {p:g}", "C0", lo, hi)
    ax.set(xlabel="net input z", ylabel="density of z", xlim=(lo, hi))
    plain = tanh_slope(torch.tensor(float(z0), dtype=torch.float64)).item()
    title = (
        f"z0 = {z0:g}, weight std {weight_std:.3g}, p = {p:g} (sigma = {sigma:.2f}): "
        f"E[tanh'(z)] = {result.slope:.3g} with dropout, {plain:.3g} without "
        f"(x{result.slope / plain:.3g})"
    )
    ax.set_title(title, fontsize=9)
    return fig


def dropout_explorer_static(
    draws: int = 20_000, fan_in: int = 1024, input_std: float = 1.0, seed: int = 0
) -> Figure:
    """The dropout explorer's story for a page without a kernel: around ``p = 0.5``,
    Xavier weights and ``z0 = 3``, each knob varied in turn; the legend gives the
    expected slope with dropout (Monte Carlo) and the gain over ``tanh'(z0)``."""
    base = {"p": 0.5, "weight_std": XAVIER_STD_1024, "z0": 3.0}
    knobs = {
        "p": (0.2, 0.5, 0.8),
        "weight_std": (XAVIER_STD_1024, 0.05, 0.07),
        "z0": (0.0, 1.5, 3.0),
    }
    titles = {
        "p": "the dropout rate p (weight std 0.031, z0 = 3)",
        "weight_std": "the weight std (p = 0.5, z0 = 3)",
        "z0": "the net input z0 (p = 0.5, weight std 0.031)",
    }
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8), layout="constrained")
    lo, hi = -3.0, 9.0
    for ax, (knob, values) in zip(axes, knobs.items(), strict=True):
        _slope_backdrop(ax, lo, hi)
        for i, value in enumerate(values):
            setting = {**base, knob: value}
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
            _z_on_slope(ax, result.z, setting["z0"], label, f"C{i}", lo, hi)
        ax.set(title=titles[knob], xlabel="net input z", xlim=(lo, hi))
        ax.legend(fontsize=7, loc="upper right")
    axes[0].set_ylabel("density of z")
    return fig


def dropout_explorer(
    draws: int = 20_000, fan_in: int = 1024, input_std: float = 1.0, seed: int = 0
):  # pragma: no cover - needs a live kernel to be useful
    """An ipywidgets explorer of the dropout rate, the weight std and the net input,
    drawing :func:`dropout_explorer_figure` (the other arguments are passed on)."""
    import ipywidgets as widgets

    controls = {
        "p": widgets.FloatSlider(
            value=0.5, min=0.0, max=0.9, step=0.05, description="dropout rate p"
        ),
        "weight_std": widgets.FloatLogSlider(
            value=XAVIER_STD_1024,
            base=10,
            min=-2,
            max=-0.7,
            step=0.01,
            description="weight std",
        ),
        "z0": widgets.FloatSlider(
            value=3.0, min=-6.0, max=6.0, step=0.1, description="net input z0"
        ),
    }
    return _live_figure(
        controls,
        functools.partial(
            dropout_explorer_figure,
            draws=draws,
            fan_in=fan_in,
            input_std=input_std,
            seed=seed,
        ),
    )
