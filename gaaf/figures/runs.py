"""Figures drawn from run records: learning curves, per-layer histograms of a probe,
and the gradient flow per epoch. Groups are coloured by the one palette
(:data:`~gaaf.figures.style.PALETTE`) and named by :func:`~gaaf.figures.style.display`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from gaaf.figures.style import GREY, color, display
from gaaf.measures import slope_factor
from gaaf.stats import Groups, Record, present

__all__ = [
    "EXTRA_COLORS",
    "curve_panels_figure",
    "gradient_flow_figure",
    "histogram_figure",
    "learning_curves_figure",
    "slope_factor_figure",
]


def _ragged(rows: Sequence[Sequence[float]]) -> np.ndarray:
    """Per-epoch series of different lengths as one array, padded with NaN (so that
    ``np.nanmean`` averages each epoch over the runs that reached it)."""
    table = np.full((len(rows), max(map(len, rows))), np.nan)
    for i, row in enumerate(rows):
        table[i, : len(row)] = row
    return table


def _accuracy_zoom(bests: Sequence[float]) -> tuple[float, float]:
    """A y-range for accuracy curves that shows the best epochs' spread."""
    low = min(bests)
    return max(0.0, low - 2 * (1 - low)), 1.0 - 0.5 * (1 - low)


def learning_curves_figure(
    groups: Groups, metric: str = "val_acc", ylim: tuple[float, float] | None = None
) -> Figure:
    """``metric`` per epoch: mean over the seeds still running at that epoch, with the
    band between the lowest and highest seed; a dot at each seed's best epoch."""
    fig, ax = plt.subplots(figsize=(9, 4), layout="constrained")
    bests: list[float] = []
    for name, records in present(groups).items():
        table = _ragged([[e[metric] for e in r["history"]] for r in records])
        epochs = np.arange(1, table.shape[1] + 1)
        c = color(name)
        label = f"{display(name)} ({len(records)} seeds)"
        ax.plot(epochs, np.nanmean(table, 0), label=label, c=c)
        ax.fill_between(
            epochs, np.nanmin(table, 0), np.nanmax(table, 0), alpha=0.2, color=c
        )
        best = [
            (r["best_epoch"], r["history"][r["best_epoch"] - 1][metric])
            for r in records
        ]
        ax.scatter(*zip(*best, strict=True), s=14, color=c, zorder=3)
        bests += [b[1] for b in best]
    if ylim is None and metric.endswith("acc") and bests:
        ylim = _accuracy_zoom(bests)
    ax.set(xlabel="epoch", ylabel=metric.replace("_", " "), xscale="log", ylim=ylim)
    ax.legend()
    return fig


EXTRA_COLORS = ("#17becf", "#bcbd22", "#000000", "#e377c2", "#9edae5", "#dbdb8d")
"""Colours of groups that are not variants of the palette (matplotlib's cyan, olive,
black, pink, light cyan, light olive), given in order of first appearance."""


def curve_panels_figure(
    groups: Groups,
    panels: dict[str, Sequence[str]],
    metric: str = "val_acc",
    name: Callable[[str], str] = display,
) -> Figure:
    """``metric`` per epoch, mean over the seeds still running, one panel per entry of
    ``panels`` (title -> group names), two panels a row. Each group keeps one colour in
    every panel: its variant's (:func:`~gaaf.figures.style.color`), else one of
    :data:`EXTRA_COLORS`. Accuracies are shown in percent."""
    shown = present(groups)
    others = [n for ns in panels.values() for n in ns if n in shown and not color(n)]
    extra = dict(zip(dict.fromkeys(others), EXTRA_COLORS, strict=False))
    rows = max(1, (len(panels) + 1) // 2)
    fig, axes = plt.subplots(
        rows, 2, figsize=(11, 4 * rows), layout="constrained", squeeze=False
    )
    scale = 100 if metric.endswith("acc") else 1
    bests: list[float] = []
    for ax, (title, names) in zip(axes.flat, panels.items(), strict=False):
        for group in (n for n in names if n in shown):
            table = _ragged([[e[metric] for e in r["history"]] for r in shown[group]])
            epochs = np.arange(1, table.shape[1] + 1)
            n = len(shown[group])
            label = f"{name(group)} ({n} seed{'s' if n != 1 else ''})"
            c = color(group) or extra.get(group)
            mean = np.nanmean(table, 0)
            ax.plot(epochs, scale * mean, label=label, c=c, lw=1.8)
            bests.append(float(np.nanmax(mean)))
        ylabel = metric.replace("_", " ") + (" (%)" if scale == 100 else "")
        ax.set(title=title, xlabel="epoch", ylabel=ylabel, xscale="log")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=10)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    if scale == 100 and bests:
        low, high = _accuracy_zoom(bests)
        for ax in axes.flat:
            ax.set_ylim(scale * low, scale * high)
    return fig


def _density(hist: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """A recorded histogram as ``(bin centres, density)``; values outside the edges
    count in the total, so densities of different spreads compare."""
    edges = np.asarray(hist["edges"])
    counts = np.asarray(hist["counts"], float)
    total = counts.sum() + hist["below"] + hist["above"]
    return (edges[:-1] + edges[1:]) / 2, counts / (total * np.diff(edges))


def _smooth(y: np.ndarray, width_bins: float = 1.5) -> np.ndarray:
    """``y`` convolved with a Gaussian of ``width_bins`` bins, centred, same length as
    ``y`` (also when ``y`` is shorter than the kernel)."""
    k = np.arange(-4 * width_bins, 4 * width_bins + 1)
    kernel = np.exp(-0.5 * (k / width_bins) ** 2)
    full = np.convolve(y, kernel / kernel.sum(), mode="full")
    start = (len(kernel) - 1) // 2
    return full[start : start + len(y)]


def histogram_figure(
    groups: Groups,
    histograms: Callable[[Record], list[dict[str, Any]]],
    xlabel: str,
    xlim: tuple[float, float] | None = None,
    marks: Sequence[float] = (),
) -> Figure:
    """One panel per hidden layer (bottom layer on the left): for each group, the
    normalized histogram averaged over seeds (steps) and a smoothed density curve.
    ``histograms(record)`` gives a record's per-layer histograms (e.g.
    :func:`gaaf.stats.probe_histograms`)."""
    shown = present(groups)
    layers = len(histograms(next(iter(shown.values()))[0]))
    fig, axes = plt.subplots(1, layers, figsize=(4 * layers, 3.4), layout="constrained")
    axes = np.atleast_1d(axes)
    for k, ax in enumerate(axes):
        for name, records in shown.items():
            dens = [_density(histograms(r)[k]) for r in records]
            x, y = dens[0][0], np.mean([d[1] for d in dens], 0)
            c = color(name)
            edges = np.asarray(histograms(records[0])[k]["edges"])
            ax.stairs(y, edges, color=c, alpha=0.35)
            ax.plot(x, _smooth(y), color=c, label=display(name))
        for m in marks:
            ax.axvline(m, c=GREY, ls=":", lw=0.8)
        ax.set(title=f"layer {k + 1}", xlabel=xlabel, xlim=xlim)
    axes[0].set_ylabel("density")
    axes[0].legend()
    return fig


def gradient_flow_figure(groups: Groups, quantity: str = "dz") -> Figure:
    """Mean ``|gradient|`` per epoch, one panel per hidden layer, mean over seeds (log)."""
    shown = present(groups)
    first = next(iter(shown.values()))[0]
    layers = len(first["probes"]["gradient_flow"]["mean"][quantity])
    fig, axes = plt.subplots(
        1, layers, figsize=(4 * layers, 3.3), layout="constrained", sharey=True
    )
    axes = np.atleast_1d(axes)
    for k, ax in enumerate(axes):
        for name, records in shown.items():
            per_epoch = [
                [e[k] for e in r["probes"]["gradient_flow"]["per_epoch"][quantity]]
                for r in records
            ]
            table = _ragged(per_epoch)
            epochs = np.arange(1, table.shape[1] + 1)
            ax.plot(
                epochs, np.nanmean(table, 0), color=color(name), label=display(name)
            )
        ax.set(title=f"layer {k + 1}", xlabel="epoch", yscale="log", xscale="log")
    axes[0].set_ylabel(f"mean |dL/d{quantity[1:]}| per epoch")
    axes[0].legend()
    return fig


LAYER_STYLES = ("-", "--", ":")
"""Line styles of hidden layers 1, 2, 3 (colour stays the variant's)."""


def slope_factor_figure(groups: Groups) -> Figure:
    """Left: the slope factor ``mean|dL/dz| / mean|dL/dh|`` per epoch (the part of the
    gradient at a unit's output that tanh passes on); right: ``mean|dL/dh|`` per epoch
    (log), what arrives at the units' outputs. Mean over seeds; one colour per variant,
    one line style per layer."""
    shown = present(groups)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for name, records in shown.items():
        factors = [slope_factor(r) for r in records]
        arriving = [r["probes"]["gradient_flow"]["per_epoch"]["dh"] for r in records]
        for k, style in enumerate(LAYER_STYLES[: len(factors[0][0])]):
            for ax, series in ((left, factors), (right, arriving)):
                table = _ragged([[e[k] for e in run] for run in series])
                epochs = np.arange(1, table.shape[1] + 1)
                label = f"{display(name)}, layer {k + 1}" if ax is left else None
                ax.plot(
                    epochs, np.nanmean(table, 0), style, color=color(name), label=label
                )
    left.set(xscale="log", xlabel="epoch", ylabel="mean |dL/dz| / mean |dL/dh|")
    right.set(xscale="log", yscale="log", xlabel="epoch", ylabel="mean |dL/dh|")
    left.legend(fontsize=8, ncols=2)
    return fig
