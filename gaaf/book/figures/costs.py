"""What GAAF costs, drawn from a benchmark record (``python -m gaaf bench activations``,
see :mod:`gaaf.experiments.bench`). Tensor sizes are coloured by
:func:`~gaaf.book.figures.style.level`."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from gaaf.book.figures.style import GREY, PALETTE, legend, level, subplots
from gaaf.experiments.labels import display
from gaaf.experiments.runs import training_minutes

__all__ = ["cost_figure", "variant_of", "wall_time_figure"]


def cost_figure(record: dict[str, Any], dtype: str = "float32") -> Figure:
    """Forward + backward time relative to the plain activation's (tanh or relu) in
    the same mode and run, compiled against compiled and eager against eager
    (:func:`gaaf.book.cost_tables.same_mode_ratio`), per variant, one bar per tensor size,
    for the rows of ``dtype``."""
    from gaaf.book.cost_tables import same_mode_ratio

    rows = [r for r in record["activations"] if r["dtype"] == dtype]
    sizes = sorted({r["elements"] for r in rows})
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    ratio = {(r["variant"], r["elements"]): same_mode_ratio(record, r) for r in rows}
    fig, (ax,) = subplots(1, height=0.45 * len(variants) + 1.4)
    width = 0.8 / len(sizes)
    for i, n in enumerate(sizes):
        shown = [(j, ratio.get((v, n))) for j, v in enumerate(variants)]
        shown = [(j, r) for j, r in shown if r is not None]
        ax.barh(
            [j + i * width for j, _ in shown],
            [r for _, r in shown],
            height=width,
            color=level(i + 1, len(sizes) + 1),
            label=f"{n:,} elements",
        )
    import textwrap

    ax.set_yticks(  # long names on two lines, so that the figure keeps its width
        [j + width * (len(sizes) - 1) / 2 for j in range(len(variants))],
        [textwrap.fill(v, 18) for v in variants],
    )
    ax.invert_yaxis()
    ax.axvline(1.0, c=GREY, ls=":")
    ax.set(
        xscale="log",
        xlabel="time / the plain activation's, same mode (eager or compiled)",
        title=f"{dtype} on {record['provenance']['device']}",
    )
    legend(ax, title="tensor size", loc="lower right")
    return fig


def variant_of(config: dict[str, Any]) -> str:
    """The palette's key for a run: its model variant, as the chapters name it."""
    gaaf = config["activation"].startswith(("gaaf_", "surrogate_"))
    dropout = config["dropout_input"] or config["dropout_hidden"]
    if config.get("batch_norm"):
        return "bn_gaaf" if gaaf else "bn"
    return "gaaf" if gaaf else "dropout" if dropout else "base"


def wall_time_figure(records: list[dict[str, Any]]) -> Figure:
    """Each run's training time (summed over its resumes) against its number of
    epochs, one colour per variant: what each run cost on the machine that computed
    it."""
    fig, (ax,) = subplots(1, height=3.6)
    groups: dict[str, list[tuple[int, float]]] = {}
    for record in records:
        point = (len(record["history"]), training_minutes(record))
        groups.setdefault(variant_of(record["config"]), []).append(point)
    for key in PALETTE:
        if key in groups:
            epochs, minutes = zip(*groups[key], strict=True)
            ax.scatter(epochs, minutes, s=18, color=PALETTE[key], label=display(key))
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="epochs run",
        ylabel="training time (minutes)",
        title=f"{len(records)} recorded runs",
    )
    legend(ax)
    return fig
