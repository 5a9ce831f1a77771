"""The book's one palette, and the rules every figure keeps.

:data:`PALETTE` gives every model variant one colour in every figure (its name is
:func:`gaaf.experiments.labels.display`'s); :data:`LEVELS` colours ordered
values of one quantity (dropout rates, tensor sizes, a knob's settings) and is distinct
from the variants' colours, so a colour never means both a model and a level.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from gaaf.experiments.labels import GroupKey

__all__ = [
    "DISTINCT",
    "GREY",
    "LEGEND_ROOM",
    "LEVELS",
    "MAX_COLUMNS",
    "MIN_FONT",
    "PALETTE",
    "PAPER",
    "RC",
    "WIDTH",
    "color",
    "color_distance",
    "hidden",
    "legend",
    "level",
    "problems",
    "subplots",
]

WIDTH = 7.0
"""The width of every figure in inches, that of the book's content column, so that its
text is shown at the size it was set (a wider figure is shrunk, and its text with it)."""

MAX_COLUMNS = 2
"""At most two panels side by side at :data:`WIDTH`; more panels wrap to a new row."""

MIN_FONT = 11.0
"""The smallest text in a figure, in points. At :data:`WIDTH` and 150 dpi a figure is
1,050 px wide; on a phone (390 px, a content column of about 336 px) it is shown at
under a third of that, and 11 pt (23 px) still reads at 7 CSS px, where 10 pt does
not (6.7 px, measured by the page check)."""

RC: dict[str, Any] = {
    "font.size": 12,
    "axes.titlesize": 12,
    "axes.labelsize": 12,
    "xtick.labelsize": MIN_FONT,
    "ytick.labelsize": MIN_FONT,
    "legend.fontsize": MIN_FONT,
    "legend.title_fontsize": MIN_FONT,
    "figure.dpi": 150,
    "savefig.dpi": 150,
}
"""The book's matplotlib settings (legible text, sharp at the content width)."""


def subplots(
    panels: int = 1, height: float = 3.2, **kwargs: Any
) -> tuple[Figure, list[Any]]:
    """A book figure of ``panels`` axes: :data:`WIDTH` wide, at most
    :data:`MAX_COLUMNS` per row (``height`` inches per row), with :data:`RC` in force.
    Returns the figure and the axes as a flat list (unused panels removed)."""
    plt.rcParams.update(RC)
    cols = min(panels, MAX_COLUMNS)
    rows = -(-panels // cols)
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(WIDTH, height * rows),
        layout="constrained",
        squeeze=False,
        **kwargs,
    )
    flat = list(axes.flat)
    for ax in flat[panels:]:
        ax.remove()
    return fig, flat[:panels]


PALETTE: dict[str, str] = {
    "base": "#1f77b4",  # blue
    "dropout": "#ff7f0e",  # orange
    "gaaf": "#2ca02c",  # green
    "bn": "#9467bd",  # purple
    "bn_gaaf": "#8c564b",  # brown
}
"""Variant key -> colour (``base``, ``dropout``, ``gaaf`` for the MLP; ``base``,
``bn``, ``gaaf``, ``bn_gaaf`` for the CNN)."""

PAPER = "#d62728"
"""The colour of the paper's own numbers and readings where a figure shows them."""

LEVELS = ("#fa9fb5", "#f768a1", "#dd3497", "#ae017e", "#7a0177", "#49006a")
"""Colours of ordered levels, lightest first, such as dropout rates, tensor sizes or a
knob's settings."""

GREY = "#7f7f7f"
"""Reference curves (a plain derivative, ``tanh'`` behind a histogram)."""


DISTINCT = 25.0
"""The least colour difference (CIE76 ΔE in Lab) between two colours of the book's
figures: under it, two curves read as one (about 2 is the smallest a reader sees side
by side; lines on white need far more)."""


def color_distance(a: str, b: str) -> float:
    """How different two colours look: CIE76 ΔE, the distance in CIE Lab (D65)."""

    def lab(c: str) -> np.ndarray:
        rgb = np.array(to_rgb(c))
        linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
        xyz = _RGB_TO_XYZ @ linear / _WHITE
        f = np.where(
            xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29
        )
        return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])

    return float(np.linalg.norm(lab(a) - lab(b)))


_RGB_TO_XYZ = np.array(
    [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
)
_WHITE = np.array([0.95047, 1.0, 1.08883])  # D65


def color(name: str) -> str | None:
    """A group's colour by its variant key (``"fashion_mnist: bn"`` -> ``PALETTE["bn"]``);
    a variant with settings (``"dropout 0.25"``) takes its variant's colour; None for a
    name that is not a variant (matplotlib's next colour)."""
    key = GroupKey.parse(name).variant
    return PALETTE.get(key, PALETTE.get(key.split(" ")[0]))


def level(i: int, n: int) -> str:
    """The colour of level ``i`` of ``n`` ordered levels, spread over :data:`LEVELS`
    from light to dark."""
    if n <= 1:
        return LEVELS[len(LEVELS) // 2]
    return LEVELS[round(i * (len(LEVELS) - 1) / (n - 1))]


def problems(fig: Figure) -> list[str]:
    """What makes ``fig`` hard to read in the book, as sentences (empty: nothing):
    wider than :data:`WIDTH`, more than :data:`MAX_COLUMNS` panels in a row, visible
    text under :data:`MIN_FONT` points, and whatever it hides (:func:`hidden`)."""
    found = []
    if fig.get_figwidth() > WIDTH + 1e-6:
        found.append(f"{fig.get_figwidth():g} in wide, more than {WIDTH:g}")
    rows: dict[float, int] = {}
    for ax in fig.axes:
        if ax.get_visible() and ax.get_label() != "<colorbar>":
            top = round(ax.get_position().y1, 2)
            rows[top] = rows.get(top, 0) + 1
    if rows and max(rows.values()) > MAX_COLUMNS:
        found.append(f"{max(rows.values())} panels in a row, more than {MAX_COLUMNS}")
    small = sorted(
        {
            t.get_fontsize()
            for t in fig.findobj(lambda a: hasattr(a, "get_fontsize"))
            if t.get_visible()
            and getattr(t, "get_text", lambda: "x")()
            and t.get_fontsize() < MIN_FONT
        }
    )
    if small:
        found.append(f"text at {small} pt, under {MIN_FONT:g}")
    return found + hidden(fig)


def hidden(fig: Figure) -> list[str]:
    """What ``fig`` hides from its reader, as sentences (empty: nothing): plotted
    points outside their axes, a legend over plotted points, texts (titles, axis and
    tick labels) that overlap. Not yet part of :func:`problems`: some older figures
    still fail it."""
    fig.canvas.draw()  # lays the figure out: legends and texts get their places
    return _outside(fig) + _covered(fig) + _overlaps(fig)


def _points(ax: Any) -> list[Any]:
    """The data points of ``ax``'s lines and line collections, in data coordinates."""
    out = []
    for line in ax.get_lines():
        if not line.get_visible() or line.get_transform() != ax.transData:
            continue  # hidden, or drawn in axes units (axvline, axhline)
        xy = np.column_stack([line.get_xdata(orig=False), line.get_ydata(orig=False)])
        if xy.size and np.issubdtype(xy.dtype, np.number):
            out.append(xy.astype(float))
    for coll in ax.collections:
        for seg in getattr(coll, "get_segments", list)():
            out.append(np.asarray(seg, dtype=float))
    return out


def _outside(fig: Figure) -> list[str]:
    """Axes whose plotted points fall outside their limits (a y-range that cuts the
    curves off)."""
    found = []
    for ax in fig.axes:
        (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
        lost = total = 0
        for xy in _points(ax):
            finite = xy[np.isfinite(xy).all(axis=1)]
            eps_x, eps_y = 1e-9 * (abs(x1 - x0) + 1), 1e-9 * (abs(y1 - y0) + 1)
            out = (
                (finite[:, 0] < x0 - eps_x)
                | (finite[:, 0] > x1 + eps_x)
                | (finite[:, 1] < y0 - eps_y)
                | (finite[:, 1] > y1 + eps_y)
            )
            lost += int(out.sum())
            total += len(finite)
        if lost:
            title = ax.get_title() or ax.get_ylabel() or "a panel"
            found.append(
                f"{lost} of {total} plotted points lie outside the axes of {title!r}"
            )
    return found


def _covered_points(ax: Any) -> int:
    """How many of ``ax``'s plotted points its legend covers (the figure drawn),
    counting points along each line segment too, as drawn."""
    legend = ax.get_legend()
    if legend is None or not legend.get_visible():
        return 0
    box = legend.get_window_extent()
    covered = 0
    for xy in _points(ax):
        finite = xy[np.isfinite(xy).all(axis=1)]
        if len(finite):
            shown = ax.transData.transform(finite)  # and 16 points along each segment:
            steps = np.linspace(0, 1, 16, endpoint=False)[:, None, None]
            shown = np.concatenate(
                [shown, (shown[:-1] + steps * np.diff(shown, axis=0)).reshape(-1, 2)]
            )
            x, y = shown.T
            inside = (x > box.x0) & (x < box.x1) & (y > box.y0) & (y < box.y1)
            covered += int(inside.sum())
    return covered


def _covered(fig: Figure) -> list[str]:
    """Legends drawn over plotted points of their own axes."""
    found = []
    for ax in fig.axes:
        if covered := _covered_points(ax):
            title = ax.get_title() or ax.get_ylabel() or "a panel"
            found.append(f"the legend of {title!r} covers {covered} plotted points")
    return found


LEGEND_ROOM = ((0.0, 0.2), (0.0, 0.4), (0.2, 0.0), (0.4, 0.0), (0.3, 0.3), (0.6, 0.6))
"""How :func:`legend` makes room for a legend that covers data: the y-range grown below
and above, as shares of its span, tried in turn."""


def legend(ax: Any, ceiling: float | None = None, **kwargs: Any) -> Any:
    """``ax.legend(**kwargs)`` where it covers no plotted point: at the place asked
    for, else matplotlib's best place inside the panel; failing that, room made below
    or above the data (:data:`LEGEND_ROOM`; the range never grown past ``ceiling``,
    such as 100 for a percentage, nor below 0 where the data are not); failing that,
    below the panel, under its axis label (and then the figure's other legends are
    placed again, since the layout moved). No legend (None) when nothing in ``ax`` is
    labelled."""
    if not ax.get_legend_handles_labels()[0] and "handles" not in kwargs:
        return None  # nothing labelled: no legend
    made = _inside(ax, ceiling, kwargs)
    if made is not None:
        return made
    from matplotlib.transforms import ScaledTranslation

    fig = ax.figure
    fig.canvas.draw()
    depth = (
        ax.get_window_extent().y0 - ax.xaxis.label.get_window_extent().y0
    ) / fig.dpi
    under = ax.transAxes + ScaledTranslation(0, -depth - 0.05, fig.dpi_scale_trans)
    kwargs.update(loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=under)
    made = ax.legend(**kwargs)
    fig.canvas.draw()
    for other in fig.axes:
        if other is not ax and other.get_legend() and _covered_points(other):
            title = other.get_legend().get_title().get_text()
            legend(other, **({"title": title} if title else {}))
    return made


def _inside(ax: Any, ceiling: float | None, kwargs: dict[str, Any]) -> Any:
    """A legend inside ``ax`` that covers no plotted point (see :func:`legend`), or
    None with the y-range as it was."""
    low, high = ax.get_ylim()
    asked = kwargs.get("loc", "best")
    for loc in dict.fromkeys([asked, "best"]):
        made = ax.legend(**{**kwargs, "loc": loc})
        ax.figure.canvas.draw()
        if not _covered_points(ax):
            return made
    log = ax.get_yscale() == "log"
    for below, above in LEGEND_ROOM:
        if log:
            span = np.log10(high / low)
            new = (low / 10 ** (below * span), high * 10 ** (above * span))
        else:
            new = (low - below * (high - low), high + above * (high - low))
        if ceiling is not None:
            new = (new[0], min(new[1], max(ceiling, high)))
        if low >= 0 > new[0]:
            new = (0.0, new[1])
        ax.set_ylim(*new)
        ax.figure.canvas.draw()
        if not _covered_points(ax):
            return made
    ax.set_ylim(low, high)
    return None


def _overlaps(fig: Figure) -> list[str]:
    """Texts that overlap: titles, axis labels, tick labels and legends, of any
    panel (a legend wider than its panel runs over the tick labels beside it)."""
    renderer = fig.canvas.get_renderer()
    texts = []
    for ax in fig.axes:
        candidates = [ax.title, ax.xaxis.label, ax.yaxis.label]
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            candidates += [
                label
                for tick in axis.get_major_ticks()
                if low <= tick.get_loc() <= high
                for label in (tick.label1, tick.label2)
                if label.get_visible()
            ]
        texts += [t for t in candidates if t.get_visible() and t.get_text().strip()]
    if fig._suptitle is not None and fig._suptitle.get_text():
        texts.append(fig._suptitle)
    boxes = [(repr(t.get_text()), t.get_window_extent(renderer)) for t in texts]
    legends = [(ax, ax.get_legend()) for ax in fig.axes] + [
        (None, g) for g in fig.legends
    ]
    boxes += [
        (f"the legend of {_name(ax)!r}", g.get_window_extent(renderer))
        for ax, g in legends
        if g is not None and g.get_visible()
    ]
    found = []
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1 :]:
            if box_a.overlaps(box_b) and box_a.width and box_b.width:
                found.append(f"{a} overlaps {b}")
    return found[:5]


def _name(ax: Any) -> str:
    """A panel as a reader would name it: its title, else its y label."""
    if ax is None:
        return "the figure"
    return ax.get_title() or ax.get_ylabel() or "a panel"
