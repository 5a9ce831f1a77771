"""What GAAF costs, drawn from a benchmark record (``python -m gaaf bench activations``,
see :mod:`gaaf.bench`). Tensor sizes are coloured by :func:`~gaaf.figures.style.level`."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from gaaf.figures.style import GREY, level

__all__ = ["cost_figure"]


def cost_figure(record: dict[str, Any], dtype: str = "float32") -> Figure:
    """Forward + backward time relative to ``torch.tanh``'s in the same run, per variant
    (one bar per tensor size), for the rows of ``dtype``."""
    rows = [r for r in record["activations"] if r["dtype"] == dtype]
    sizes = sorted({r["elements"] for r in rows})
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    ratio = {(r["variant"], r["elements"]): r["vs_tanh"] for r in rows}
    fig, ax = plt.subplots(figsize=(11, 4.2), layout="constrained")
    width = 0.8 / len(sizes)
    for i, n in enumerate(sizes):
        ax.barh(
            [j + i * width for j in range(len(variants))],
            [ratio[(v, n)] for v in variants],
            height=width,
            color=level(i + 1, len(sizes) + 1),
            label=f"{n:,} elements",
        )
    ax.set_yticks(
        [j + width * (len(sizes) - 1) / 2 for j in range(len(variants))], variants
    )
    ax.invert_yaxis()
    ax.axvline(1.0, c=GREY, ls=":")
    ax.set(
        xscale="log",
        xlabel="forward + backward time / torch.tanh's (same run)",
        title=f"{dtype} on {record['provenance']['device']}",
    )
    ax.legend(fontsize=8)
    return fig
