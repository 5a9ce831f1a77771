"""Figures drawn from run records: learning curves, per-layer histograms of a probe,
and the gradient flow per epoch. Groups are coloured by the one palette
(:data:`~gaaf.book.figures.style.PALETTE`) and named by :func:`~gaaf.experiments.labels.display`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from gaaf.analysis.measures import slope_factor
from gaaf.analysis.stats import Groups, Record, present
from gaaf.book.figures.style import GREY, color, legend, subplots
from gaaf.experiments.labels import METRICS, GroupKey, display

__all__ = [
    "EXTRA_COLORS",
    "HISTOGRAM_STYLES",
    "LINEAR_UP_TO",
    "SHOWN_SHARE",
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


LINEAR_UP_TO = 30
"""Runs of at most this many epochs are drawn on a linear epoch axis; longer ones on a
logarithmic axis, which spreads the first epochs of runs of hundreds."""


def _seeds(n: int) -> str:
    return f"{n} seed{'' if n == 1 else 's'}"


def _colours(names: Sequence[str]) -> dict[str, str]:
    """Each group's colour: its variant's (:func:`~gaaf.book.figures.style.color`), else one
    of :data:`EXTRA_COLORS` in order of first appearance."""
    others = [n for n in dict.fromkeys(names) if not color(n)]
    extra = dict(zip(others, EXTRA_COLORS, strict=False))
    return {n: color(n) or extra.get(n, GREY) for n in names}


def _epoch_axis(ax: Any, longest: int) -> None:
    """A linear epoch axis for short runs, a logarithmic one for long runs."""
    ax.set_xlabel("epoch" if longest <= LINEAR_UP_TO else "epoch (log scale)")
    if longest > LINEAR_UP_TO:
        ax.set_xscale("log")


def _ylabel(metric: str) -> str:
    shown = METRICS.get(metric, metric.replace("_", " "))
    return shown + (" (%)" if metric.endswith("acc") else "")


def learning_curves_figure(
    groups: Groups,
    metric: str | Sequence[str] = "val_acc",
    height: float = 3.4,
    reference: float | None = None,
    paper: dict[str, float] | None = None,
) -> Figure:
    """``metric`` per epoch, one panel per metric (``("val_acc", "val_loss")``: two
    panels side by side): mean over the seeds still running at that epoch, with the
    band between the lowest and highest seed, and a dot at each seed's best epoch.
    Accuracies in percent, on a y-range that holds every plotted point; on accuracy
    panels a grey dashed line at ``reference`` (a fraction, e.g. the 98% target) and a
    dotted line in each group's colour at ``paper[group]`` (the paper's accuracy, a
    fraction). Colours by :func:`~gaaf.book.figures.style.color`, else
    :data:`EXTRA_COLORS`; a linear epoch axis for runs of at most
    :data:`LINEAR_UP_TO` epochs."""
    metrics = [metric] if isinstance(metric, str) else list(metric)
    shown = present(groups)
    colours = _colours(list(shown))
    fig, axes = subplots(len(metrics), height)
    longest = max((len(r["history"]) for rs in shown.values() for r in rs), default=1)
    for ax, m in zip(axes, metrics, strict=True):
        scale = 100 if m.endswith("acc") else 1
        for name, records in shown.items():
            table = scale * _ragged([[e[m] for e in r["history"]] for r in records])
            epochs = np.arange(1, table.shape[1] + 1)
            c = colours[name]
            label = f"{display(name)} ({_seeds(len(records))})"
            ax.plot(epochs, np.nanmean(table, 0), label=label, c=c)
            ax.fill_between(
                epochs, np.nanmin(table, 0), np.nanmax(table, 0), alpha=0.2, color=c
            )
            best = [
                (r["best_epoch"], table[i, r["best_epoch"] - 1])
                for i, r in enumerate(records)
            ]
            ax.scatter(*zip(*best, strict=True), s=12, color=c, zorder=3)
            variant = GroupKey.parse(name).variant
            if scale == 100 and paper and variant in paper:
                ax.axhline(scale * paper[variant], c=c, ls=":", lw=1.2)
        if scale == 100 and reference is not None:
            ax.axhline(scale * reference, c=GREY, ls="--", lw=0.9)
        ax.set(ylabel=_ylabel(m))
        _epoch_axis(ax, longest)
        ax.grid(alpha=0.3)
    if shown:
        legend(axes[0], ceiling=100.0 if metrics[0].endswith("acc") else None)
    return fig


EXTRA_COLORS = (
    "#17becf",  # cyan
    "#bcbd22",  # olive
    "#000000",  # black
    "#e377c2",  # pink
    "#637939",  # moss
    "#7b4173",  # plum
    "#01665e",  # teal
    "#bf812d",  # ochre
)
"""Colours of groups that are not variants of the palette, given in order of first
appearance: each at least :data:`~gaaf.book.figures.style.DISTINCT` apart (CIE Lab)
from every other, from the variants' and from the paper's red and the reference grey."""


def curve_panels_figure(
    groups: Groups,
    panels: dict[str, Sequence[str]],
    metric: str = "val_acc",
    name: Callable[[str], str] = display,
    height: float = 3.0,
) -> Figure:
    """``metric`` per epoch, mean over the seeds still running, one panel per entry of
    ``panels`` (title -> group names), two panels a row, each on a y-range that holds
    all its curves. Each group keeps one colour in
    every panel: its variant's (:func:`~gaaf.book.figures.style.color`), else one of
    :data:`EXTRA_COLORS`. Accuracies are shown in percent; a linear epoch axis for runs
    of at most :data:`LINEAR_UP_TO` epochs."""
    shown = present(groups)
    colours = _colours([n for ns in panels.values() for n in ns if n in shown])
    fig, axes = subplots(len(panels), height)
    scale = 100 if metric.endswith("acc") else 1
    drawn = [shown[n] for ns in panels.values() for n in ns if n in shown]
    longest = max((len(r["history"]) for rs in drawn for r in rs), default=1)
    for ax, (title, names) in zip(axes, panels.items(), strict=True):
        for group in (n for n in names if n in shown):
            table = _ragged([[e[metric] for e in r["history"]] for r in shown[group]])
            epochs = np.arange(1, table.shape[1] + 1)
            shown_as = name(group)
            head, _, rest = shown_as.partition(": ")
            if rest and title.startswith(head):  # the title names the dataset already
                shown_as = rest
            label = f"{shown_as} ({_seeds(len(shown[group]))})"
            mean = np.nanmean(table, 0)
            ax.plot(epochs, scale * mean, label=label, c=colours[group], lw=1.6)
        ax.set(title=title, ylabel=_ylabel(metric))
        _epoch_axis(ax, longest)
        ax.grid(alpha=0.3)
    for ax in (ax for ax in axes if ax.lines):  # every range set: the layout settled
        legend(ax, ceiling=100.0 if scale == 100 else None)
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


HISTOGRAM_STYLES: dict[str, dict[str, Any]] = {
    "base": {"ls": "-", "lw": 1.6, "zorder": 3},
    "dropout": {"ls": "-", "lw": 2.2, "zorder": 5},
    "gaaf": {"ls": "--", "lw": 1.6, "zorder": 4},
}
"""Line style per variant in the per-layer histograms. Dropout is drawn on top and
thicker, GAAF dashed, so that no curve hides another where they coincide."""


SHOWN_SHARE = 0.995
"""A histogram figure without a given x-range shows the range that holds this share of
every run's values in every layer (the rest, thin tails, lies beyond it)."""


def _window(hists: Sequence[dict[str, Any]], share: float = SHOWN_SHARE) -> list[float]:
    """The x-range holding ``share`` of the values of each of ``hists`` (recorded
    histograms), cut evenly from both tails, within the recorded edges."""
    low, high = np.inf, -np.inf
    for hist in hists:
        edges = np.asarray(hist["edges"])
        counts = np.asarray(hist["counts"], float)
        total = counts.sum() + hist["below"] + hist["above"]
        below = (
            hist["below"] + np.cumsum(counts)
        ) / total  # share below each bin's top
        cut = (1 - share) / 2
        low = min(low, edges[int(np.searchsorted(below, cut))])
        top = min(1 + int(np.searchsorted(below, 1 - cut)), len(edges) - 1)
        high = max(high, edges[top])
    return [float(low), float(high)]


def histogram_figure(
    groups: Groups,
    histograms: Callable[[Record], list[dict[str, Any]]],
    xlabel: str,
    xlim: tuple[float, float] | None = None,
    marks: Sequence[float] = (),
    height: float = 2.8,
) -> Figure:
    """One panel per hidden layer (two a row, bottom layer first): for each group, the
    normalized histogram averaged over seeds (light steps) and a smoothed density curve
    (:data:`HISTOGRAM_STYLES`), drawn over ``xlim``, by default the range that holds
    :data:`SHOWN_SHARE` of every run's values. ``histograms(record)`` gives a record's
    per-layer histograms (e.g. :func:`gaaf.analysis.stats.probe_histograms`)."""
    shown = present(groups)
    layers = len(histograms(next(iter(shown.values()))[0]))
    every = [h for rs in shown.values() for r in rs for h in histograms(r)]
    low, high = xlim if xlim is not None else _window(every)
    fig, axes = subplots(layers, height, sharex=True)
    for k, ax in enumerate(axes):
        for name, records in shown.items():
            dens = [_density(histograms(r)[k]) for r in records]
            x, y = dens[0][0], np.mean([d[1] for d in dens], 0)
            edges = np.asarray(histograms(records[0])[k]["edges"])
            keep = (edges[:-1] >= low - 1e-12) & (edges[1:] <= high + 1e-12)
            c = color(name)
            style = HISTOGRAM_STYLES.get(GroupKey.parse(name).variant, {})
            kept_edges = np.append(edges[:-1][keep], edges[1:][keep][-1:])
            ax.stairs(y[keep], kept_edges, color=c, alpha=0.25, zorder=1)
            ax.plot(x[keep], _smooth(y)[keep], color=c, label=display(name), **style)
        for m in marks:
            ax.axvline(m, c=GREY, ls=":", lw=0.8)
        ax.set(title=f"layer {k + 1}", xlim=(low, high))
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.tick_params(labelbottom=True)
        ax.set_xlabel(xlabel)
        if k % 2 == 0:
            ax.set_ylabel("density")
    legend(axes[0])
    return fig


def gradient_flow_figure(
    groups: Groups, quantity: str = "dz", window: int | None = None
) -> Figure:
    """Mean ``|gradient|`` of ``quantity`` per epoch, one panel per hidden layer (two
    a row), mean over seeds (log scales); epochs 1 to ``window`` (the ones every run
    has, over which the chapter also compares) shaded."""
    shown = present(groups)
    first = next(iter(shown.values()))[0]
    layers = len(first.gradient_flow["mean"][quantity])
    fig, axes = subplots(layers, 2.6, sharey=True)
    for k, ax in enumerate(axes):
        if window:
            ax.axvspan(1, window, color=GREY, alpha=0.15, lw=0)
        for name, records in shown.items():
            per_epoch = [[e[k] for e in r.flow(quantity)] for r in records]
            table = _ragged(per_epoch)
            epochs = np.arange(1, table.shape[1] + 1)
            ax.plot(
                epochs, np.nanmean(table, 0), color=color(name), label=display(name)
            )
        ax.set(title=f"layer {k + 1}", xlabel="epoch", yscale="log", xscale="log")
        ax.tick_params(labelleft=True)
        if k % 2 == 0:
            ax.set_ylabel(f"mean |dL/d{'W' if quantity == 'dw' else quantity[1:]}|")
    legend(axes[0])
    return fig


LAYER_STYLES = ("-", "--", ":")
"""Line styles of hidden layers 1, 2, 3 (colour stays the variant's)."""


def slope_factor_figure(groups: Groups) -> Figure:
    """Left: the slope factor ``mean|dL/dz| / mean|dL/dh|`` per epoch (the part of the
    gradient at a unit's output that tanh passes on); right: ``mean|dL/dh|`` per epoch
    (log), what arrives at the units' outputs. Mean over seeds; one colour per variant,
    one line style per layer; the legend below the panels."""
    shown = present(groups)
    fig, (left, right) = subplots(2, 3.2)
    for name, records in shown.items():
        factors = [slope_factor(r) for r in records]
        arriving = [r.flow("dh") for r in records]
        for k, style in enumerate(LAYER_STYLES[: len(factors[0][0])]):
            for ax, series in ((left, factors), (right, arriving)):
                table = _ragged([[e[k] for e in run] for run in series])
                epochs = np.arange(1, table.shape[1] + 1)
                label = f"{display(name)}, layer {k + 1}" if ax is left else None
                ax.plot(
                    epochs, np.nanmean(table, 0), style, color=color(name), label=label
                )
    left.set(xscale="log", xlabel="epoch", ylabel="slope factor |dL/dz| / |dL/dh|")
    right.set(xscale="log", yscale="log", xlabel="epoch", ylabel="mean |dL/dh|")
    fig.legend(loc="outside lower center", ncols=len(shown))
    return fig
