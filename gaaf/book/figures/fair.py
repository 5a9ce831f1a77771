"""Figures of the fair comparisons: gradient against training loss (claim 2 at
matched loss), and accuracy against learning rate (each arm at its own best rate)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from gaaf.analysis.stats import Groups, present
from gaaf.book.figures.style import GREY, color, legend, subplots
from gaaf.experiments.labels import display

__all__ = ["gradient_vs_loss_figure", "rate_figure"]

_SYMBOL = {"dw": "W", "dz": "z", "dh": "h"}


def gradient_vs_loss_figure(
    groups: Groups, quantity: str = "dw", loss: float | None = None
) -> Figure:
    """Per hidden layer, each run's mean ``|gradient|`` per epoch against its running
    training loss that epoch (log-log; one thin line per run, the variant's colour);
    ``loss``, the matched training loss of the verdict, as a dotted line."""
    shown = present(groups)
    first = next(iter(shown.values()))[0]
    layers = len(first.gradient_flow["mean"][quantity])
    fig, axes = subplots(layers, 2.8, sharey=True)
    for k, ax in enumerate(axes):
        for name, records in shown.items():
            for i, r in enumerate(records):
                per_epoch = r.flow(quantity)
                losses = [row["train_loss"] for row in r["history"]][: len(per_epoch)]
                ax.plot(
                    losses,
                    [e[k] for e in per_epoch],
                    color=color(name),
                    alpha=0.7,
                    lw=1,
                    label=display(name) if i == 0 else None,
                )
        if loss is not None:
            ax.axvline(loss, color=GREY, ls=":", lw=1)
        ax.set(title=f"layer {k + 1}", xscale="log", yscale="log")
        ax.set_xlabel("training loss (epoch mean)")
        ax.tick_params(labelleft=True)
        if k % 2 == 0:
            ax.set_ylabel(
                f"mean |dL/d{quantity[1:].upper() if quantity == 'dw' else quantity[1:]}|"
            )
    legend(axes[0])
    return fig


def rate_figure(
    grid: Mapping[str, Mapping[float, Sequence[dict[str, Any] | None]]],
    chosen: Mapping[str, float | None],
    metrics: Sequence[str] = ("val_acc", "test_acc"),
) -> Figure:
    """Accuracy (%) against learning rate (log), one line per arm: the mean over seeds,
    a bar from the lowest to the highest seed, the rate chosen on validation ringed.
    Rates where a seed diverged are marked with a cross at the panel's foot; seeds
    without a record yet are left out."""
    fig, axes = subplots(len(metrics), 3.0, sharex=True)
    rates = sorted({lr for cells in grid.values() for lr in cells})
    names = {"val_acc": "validation accuracy (%)", "test_acc": "test accuracy (%)"}
    for ax, metric in zip(axes, metrics, strict=True):
        lows = []
        for arm, cells in grid.items():
            xs, means, los, his, crosses = [], [], [], [], []
            for lr, records in sorted(cells.items()):
                found = [r for r in records if r is not None]
                if any("diverged" in r for r in found):
                    crosses.append(lr)
                    continue
                if not found:
                    continue
                values = [100 * r[metric] for r in found]
                xs.append(lr)
                means.append(float(np.mean(values)))
                los.append(min(values))
                his.append(max(values))
            if not xs:
                continue
            lows.append(min(los))
            c = color(arm)
            ax.plot(xs, means, "o-", color=c, label=display(arm), ms=4)
            ax.vlines(xs, los, his, color=c, lw=2, alpha=0.5)
            best = chosen.get(arm)
            if best in xs:
                i = xs.index(best)
                ax.plot([best], [means[i]], "o", ms=11, mfc="none", mec=c, mew=1.5)
            for lr in crosses:
                ax.annotate(
                    "×",
                    (lr, 0),
                    xycoords=("data", "axes fraction"),
                    color=c,
                    ha="center",
                    va="bottom",
                )
        ax.set(xscale="log", xlabel="learning rate", ylabel=names.get(metric, metric))
        ax.set_xticks(rates, [f"{r:g}" for r in rates])
        ax.xaxis.set_minor_locator(NullLocator())
    legend(axes[0])
    return fig
