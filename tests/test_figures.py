"""The book's figures: their panels and curves, the one palette, and the live explorers."""

from __future__ import annotations

import math

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from builders import make_record

from gaaf.analysis.stats import probe_histograms
from gaaf.analysis.variance import (
    XAVIER_STD_1024,
    monte_carlo_slope,
    net_input_moments,
    representative_unit,
    slope_comparison,
    slope_gains,
    tanh_slope,
)
from gaaf.book.figures import LEVELS, PALETTE, color, level, style
from gaaf.book.figures.activations import (
    explorer_figure,
    explorer_static,
    gaaf_vs_plain_figure,
    sawtooth_figure,
    shapes_figure,
    slope,
)
from gaaf.book.figures.costs import cost_figure
from gaaf.book.figures.dropout import (
    dropout_explorer_figure,
    dropout_explorer_static,
    net_input_figure,
    slope_comparison_figure,
    slope_gain_figure,
)
from gaaf.book.figures.runs import (
    EXTRA_COLORS,
    gradient_flow_figure,
    histogram_figure,
    learning_curves_figure,
    slope_factor_figure,
)
from gaaf.book.figures.style import problems
from gaaf.experiments.labels import DISPLAY, display
from gaaf.experiments.records import Record


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def same_color(a, b) -> bool:
    return mcolors.to_hex(a) == mcolors.to_hex(b)


# ------------------------------------------------------------------------ palette


def test_one_palette_for_the_variants_and_another_for_levels():
    assert set(PALETTE) == {"base", "dropout", "gaaf", "bn", "bn_gaaf"} == set(DISPLAY)
    assert DISPLAY["gaaf"] == "GAAF" and DISPLAY["bn_gaaf"] == "BN + GAAF"
    variants = {mcolors.to_hex(c) for c in PALETTE.values()}
    assert len(variants) == len(PALETTE)
    assert not variants & {mcolors.to_hex(c) for c in LEVELS}
    assert display("lr 0.01: gaaf") == "lr 0.01: GAAF"
    assert display("fashion_mnist: bn_gaaf") == "Fashion-MNIST: BN + GAAF"
    assert display("cifar10") == "CIFAR-10"
    assert display("lr 0.01: dropout 0.25") == "lr 0.01: dropout 0.25"
    assert color("svhn: bn") == PALETTE["bn"]
    assert color("lr 0.001: dropout 0.5") == PALETTE["dropout"]
    assert color("surrogate") is None
    assert (level(0, 3), level(2, 3)) == (LEVELS[0], LEVELS[-1])
    assert level(1, 3) in LEVELS[1:-1]
    assert level(0, 1) == LEVELS[len(LEVELS) // 2]


def test_no_two_colours_of_a_figure_look_alike():
    """Every group colour (the variants', the extra groups', the paper's red, the
    reference grey) at least DISTINCT apart in CIE Lab; the light cyan the "c 1" runs
    once had beside the surrogate's cyan was not."""
    shown = [*PALETTE.values(), style.PAPER, style.GREY, *EXTRA_COLORS]
    close = [
        (a, b, round(d, 1))
        for i, a in enumerate(shown)
        for b in shown[i + 1 :]
        if (d := style.color_distance(a, b)) < style.DISTINCT
    ]
    assert close == []
    assert style.color_distance("#17becf", "#9edae5") < style.DISTINCT  # the old pair
    assert style.color_distance("#000000", "#ffffff") == pytest.approx(100, abs=0.1)


# ---------------------------------------------------------------------- activations


def test_slope_is_the_autograd_derivative():
    x = torch.linspace(-2, 2, 11, dtype=torch.float64)
    torch.testing.assert_close(slope(torch.sin, x), torch.cos(x))


def test_sawtooth_figure_draws_g_and_its_unit_slope():
    fig = sawtooth_figure(K=100.0)
    assert style.problems(fig) == [] and len(fig.axes) == 2
    saw = fig.axes[0].lines[0]
    derivative, wide = fig.axes[1].lines[:2]
    assert np.abs(saw.get_ydata()).max() <= 0.5  # K g(x) within +-1/2
    assert np.ptp(saw.get_xdata()) == pytest.approx(6.0)  # a zoom: six periods
    assert np.allclose(derivative.get_ydata(), 1.0)
    assert np.abs(wide.get_ydata()).max() <= 0.5 / 100  # g at full range: on 0


def test_shapes_figure_marks_the_readings_and_draws_the_fitted_shapes():
    fig = shapes_figure()
    assert style.problems(fig) == []
    readings = {  # read off the paper's Figure 6, typed here from the chapter's table
        "tanh": [(1.0, 0.75), (2.0, 0.3), (3.0, 0.07)],
        "relu": [(-1.0, 0.05), (-0.45, 0.5), (0.0, 0.95)],
    }

    def tanh_shape(x):
        return math.exp(-(x**2) / 3.4)

    def relu_shape(x):
        return 1 / (1 + math.exp(-(5.9 * x + 2.8)))

    for ax, name, shape in zip(
        fig.axes, ("tanh", "relu"), (tanh_shape, relu_shape), strict=True
    ):
        markers = ax.lines[-1]
        assert np.allclose(markers.get_xdata(), [x for x, _ in readings[name]])
        assert np.allclose(markers.get_ydata(), [y for _, y in readings[name]])
        curve = ax.lines[0]
        xs, ys = curve.get_xdata(), curve.get_ydata()
        for x in (-2.0, 0.0, 1.0):
            i = int(np.argmin(np.abs(xs - x)))
            assert ys[i] == pytest.approx(shape(xs[i]), abs=1e-12)


@pytest.mark.parametrize(
    ("make", "n_axes"),
    [
        (gaaf_vs_plain_figure, 6),
        (explorer_figure, 4),
        (lambda: explorer_figure(K=20.0, c=1.0, slope_=3.0, shift=0.0), 4),
        (explorer_static, 4),
    ],
)
def test_figures_have_their_panels_and_finite_curves(make, n_axes):
    fig = make()
    assert len(fig.axes) == n_axes
    assert style.problems(fig) == []
    for ax in fig.axes:
        assert ax.lines or ax.collections, f"empty panel {ax.get_title()!r}"
        assert all(np.isfinite(line.get_ydata()).all() for line in ax.lines)


def test_gaaf_against_plain_uses_the_variant_colours():
    fig = gaaf_vs_plain_figure()
    plain, accelerated = fig.axes[0].lines[:2]
    assert same_color(plain.get_color(), PALETTE["base"])
    assert same_color(accelerated.get_color(), PALETTE["gaaf"])


# -------------------------------------------------------------------------- dropout


def test_dropout_figures_have_their_panels_and_finite_curves():
    w, x = representative_unit(2.0, 128, 0.05, torch.Generator().manual_seed(0))
    z = monte_carlo_slope(w, x, 0.5, 500, torch.Generator().manual_seed(1)).z
    moments = {"inverted": tuple(v.item() for v in net_input_moments(w, x, 0.5))}
    curves = [slope_gains(torch.linspace(0, 4, 9), p) for p in (0.2, 0.5)]
    markers = [slope_gains([0.0, 2.0], 0.5, draws=200)]
    for fig, n_axes in [
        (net_input_figure({"inverted": z}, moments, "z"), 1),
        (slope_gain_figure(curves, markers), 2),
        (dropout_explorer_figure(0.5, 0.05, 2.0, draws=500, fan_in=128), 1),
        (dropout_explorer_static(draws=200, fan_in=128), 4),
    ]:
        assert len(fig.axes) == n_axes
        assert style.problems(fig) == []
        for ax in fig.axes:
            assert ax.lines or ax.collections or ax.patches, ax.get_title()
            assert all(np.isfinite(line.get_ydata()).all() for line in ax.lines)
    # dropout rates are levels, not variants
    rate_colors = {mcolors.to_hex(line.get_color()) for line in fig.axes[0].lines}
    assert not rate_colors & {mcolors.to_hex(c) for c in PALETTE.values()}


def test_slope_comparison_draws_the_slopes_and_their_gains_over_plain_tanh():
    comparison = slope_comparison(torch.linspace(-4, 4, 17), 0.5, fan_in=128)
    fig = slope_comparison_figure(comparison)
    assert len(fig.axes) == 2 and style.problems(fig) == []
    plain, dropout, gaaf = fig.axes[0].lines
    for line, key in ((plain, "base"), (dropout, "dropout"), (gaaf, "gaaf")):
        assert same_color(line.get_color(), PALETTE[key])
        assert np.isfinite(line.get_ydata()).all()
    x = plain.get_xdata()
    assert np.allclose(plain.get_ydata(), 1 / np.cosh(x) ** 2)
    surrogate = 1 / np.cosh(x) ** 2 + np.exp(-(x**2) / 3.4)  # tanh' + s, to g s'
    assert np.allclose(gaaf.get_ydata(), surrogate, atol=1e-4)
    middle = len(x) // 2  # z0 = 0: dropout lowers the slope, GAAF doubles it
    assert dropout.get_ydata()[middle] < 1 < gaaf.get_ydata()[middle]
    gain = fig.axes[1]
    assert gain.get_yscale() == "log"
    one, dropout_gain, gaaf_gain = gain.lines
    assert np.allclose(one.get_ydata(), 1)
    assert np.allclose(gaaf_gain.get_ydata(), gaaf.get_ydata() / plain.get_ydata())
    assert np.allclose(
        dropout_gain.get_ydata(), dropout.get_ydata() / plain.get_ydata()
    )
    shaded = [p.get_x() for p in gain.patches]  # the saturated sides, |z0| > 2
    assert len(shaded) == 2


def test_explorer_title_reports_both_slopes():
    fig = dropout_explorer_figure(0.5, XAVIER_STD_1024, 3.0, draws=2000)
    title = fig.axes[0].get_title()
    assert "with dropout" in title and f"{tanh_slope(torch.tensor(3.0)):.3g}" in title


# ------------------------------------------------------------------------ records


def record(acc: list[float], best: int, dz: list[list[float]]) -> Record:
    """A two-layer record: validation accuracy per epoch ``acc``, ``dz`` per epoch and
    one histogram of net inputs in both layers."""
    hist = {"edges": [-1.0, 0.0, 1.0], "counts": [3, 1], "below": 0, "above": 0}
    return make_record(
        widths=[8, 8],
        history=[{"val_acc": a, "val_loss": 1 - a} for a in acc],
        best_epoch=best,
        probes={
            "gradient_flow": {"per_epoch": {"dz": dz}, "mean": {"dz": dz[0]}},
            "test": {"net_inputs": [{"histogram": hist}, {"histogram": hist}]},
        },
    )


GROUPS = {
    "base": [record([0.90, 0.95], 2, [[1.0, 2.0], [0.5, 1.0]])],
    "gaaf": [
        record([0.92, 0.96, 0.97], 3, [[2.0, 2.0]] * 3),
        record([0.91, 0.97], 2, [[3.0, 3.0]] * 2),
    ],
    "dropout": [],
}


def test_learning_curves_average_the_seeds_that_reached_each_epoch():
    fig = learning_curves_figure(GROUPS, "val_acc")
    assert style.problems(fig) == []
    ax = fig.axes[0]
    base, gaaf = ax.lines
    assert same_color(base.get_color(), PALETTE["base"])
    assert same_color(gaaf.get_color(), PALETTE["gaaf"])
    # epoch 3: only the first GAAF seed ran it (accuracies in percent)
    assert list(gaaf.get_ydata()) == pytest.approx([91.5, 96.5, 97.0])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["base (1 seed)", "GAAF (2 seeds)"]
    # three epochs at most: a linear epoch axis
    assert ax.get_xscale() == "linear"


def test_learning_curves_two_metrics_every_variant_its_colour_long_runs_log():
    # 60 epochs: a logarithmic epoch axis; every variant of the palette its own colour
    accs = [0.9 + 0.001 * e for e in range(60)]
    variants = ("base", "bn", "gaaf", "bn_gaaf", "dropout")
    groups = {v: [record(accs, 5, [[1.0, 1.0]] * 60)] for v in variants}
    fig = learning_curves_figure(groups, ("val_acc", "val_loss"))
    assert style.problems(fig) == [] and len(fig.axes) == 2
    assert [ax.get_xscale() for ax in fig.axes] == ["log", "log"]
    assert fig.axes[1].lines[0].get_ydata()[1] == pytest.approx(1 - 0.901)
    colours = {line.get_label(): line.get_color() for line in fig.axes[0].lines}
    assert len(set(map(mcolors.to_hex, colours.values()))) == len(variants)
    for v in variants:
        assert same_color(colours[f"{display(v)} (1 seed)"], PALETTE[v])


def test_histograms_and_gradient_flow_per_layer():
    fig = histogram_figure(GROUPS, probe_histograms("net_inputs"), "z", marks=(-2, 2))
    assert len(fig.axes) == 2 and problems(fig) == []
    # 3 of 4 values in [-1, 0): density 0.75 there
    assert fig.axes[0].patches[0].get_data()[0][0] == pytest.approx(0.75)
    fig = gradient_flow_figure(GROUPS)
    assert len(fig.axes) == 2 and problems(fig) == []
    base, gaaf = fig.axes[1].lines
    assert list(base.get_ydata()) == [2.0, 1.0]
    assert list(gaaf.get_ydata()) == [2.5, 2.5, 2.0]
    assert not fig.axes[0].patches  # no window asked for: nothing shaded
    fig = gradient_flow_figure(GROUPS, window=2)
    assert all(len(ax.patches) == 1 for ax in fig.axes)  # epochs 1 to 2, every layer
    assert fig.axes[0].patches[0].get_x() == 1 and problems(fig) == []


def three_layers(seed_flow: float) -> Record:
    """A three-layer record: histograms per layer, dz and dh over two epochs."""
    hist = {"edges": [-1.0, 0.0, 1.0], "counts": [1, 1], "below": 0, "above": 0}
    per_epoch = {"dz": [[seed_flow] * 3] * 2, "dh": [[2 * seed_flow] * 3] * 2}
    mean = {q: epochs[0] for q, epochs in per_epoch.items()}
    return make_record(
        widths=[8, 8, 8],
        epochs_run=2,
        probes={
            "gradient_flow": {"per_epoch": per_epoch, "mean": mean},
            "test": {"correlations": [{"histogram": hist}] * 3},
        },
    )


def test_three_layer_figures_wrap_two_panels_a_row_dropout_drawn_on_top():
    groups = {v: [three_layers(1.0)] for v in ("base", "dropout", "gaaf")}
    fig = histogram_figure(groups, probe_histograms("correlations"), "r")
    assert len(fig.axes) == 3 and problems(fig) == []
    lines = {line.get_label(): line for line in fig.axes[0].lines}
    assert lines["dropout"].get_zorder() > lines["GAAF"].get_zorder()
    assert lines["GAAF"].get_linestyle() == "--"
    fig = gradient_flow_figure(groups)
    assert len(fig.axes) == 3 and problems(fig) == []
    fig = slope_factor_figure(groups)
    assert len(fig.axes) == 2 and problems(fig) == []
    assert list(fig.axes[0].lines[0].get_ydata()) == [0.5, 0.5]  # dz / dh


def test_cost_figure_has_one_bar_per_variant_and_size():
    rows = [
        {
            "dtype": "float32",
            "elements": n,
            "variant": v,
            "median_ms": r,
            "plain": "tanh",
        }
        for n in (10, 20)
        for v, r in (("tanh", 1.0), ("GAAF", 2.0), ("naive", 8.0))
    ]
    fig = cost_figure({"activations": rows, "provenance": {"device": "cpu"}})
    bars = fig.axes[0].patches
    assert len(bars) == 6 and sorted(b.get_width() for b in bars) == [1, 1, 2, 2, 8, 8]
    sizes = {mcolors.to_hex(b.get_facecolor()) for b in bars}
    assert len(sizes) == 2 and sizes <= {mcolors.to_hex(c) for c in LEVELS}


# ------------------------------------------------------------------------ widgets


def test_the_live_explorers_redraw_when_a_slider_moves():
    widgets = pytest.importorskip("gaaf.book.figures.widgets")
    import ipywidgets

    drawn = []

    def make_figure(a):
        drawn.append(a)
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, a])
        return fig

    slider = ipywidgets.FloatSlider(value=1.0, min=0, max=5)
    box = widgets.live_figure({"a": slider}, make_figure)
    output = box.children[-1]
    assert drawn == [1.0] and len(output.outputs) == 1
    slider.value = 2.0
    assert drawn == [1.0, 2.0] and len(output.outputs) == 1
    explorer = widgets.explorer()
    assert len(explorer.children) == 5 and len(explorer.children[-1].outputs) == 1
    dropout = widgets.dropout_explorer(draws=100, fan_in=32)
    assert [w.description for w in dropout.children[:3]] == [
        "dropout rate p",
        "weight std",
        "net input z0",
    ]


def test_every_book_figure_is_made_by_the_style_helper():
    """One place sets the width, panels per row and text size of the book's figures
    (gaaf.book.figures.style.subplots); a module calling plt.subplots itself escapes it."""
    from pathlib import Path

    import gaaf.book.figures

    folder = Path(gaaf.book.figures.__file__).parent
    offenders = [
        p.name
        for p in folder.glob("*.py")
        if p.name != "style.py" and "plt.subplots(" in p.read_text()
    ]
    assert not offenders, f"use style.subplots in {offenders}"


def test_the_checker_finds_data_outside_its_axes_a_covering_legend_and_overlaps():
    import matplotlib.pyplot as plt

    from gaaf.book.figures.style import problems, subplots

    fig, (ax,) = subplots(1)
    ax.plot([1, 2, 3], [85, 88, 91], label="curve")
    assert problems(fig) == []
    ax.set_ylim(0, 55)  # the CNN figure's old defect: every point above the axis
    assert problems(fig) == ["3 of 3 plotted points lie outside the axes of 'a panel'"]
    plt.close(fig)

    fig, (ax,) = subplots(1)
    ax.plot([0, 1], [0.97, 0.97], label="a line under the legend")
    ax.set(xlim=(-0.1, 1.1), ylim=(0, 1))
    ax.legend(loc="upper center")  # over the line's middle, between its two points
    assert any("the legend of" in p for p in problems(fig))
    ax.axvline(0.5)  # drawn in axes units: never "outside"
    plt.close(fig)

    fig, (ax,) = subplots(1)
    ax.plot([1, 2], [1, 2])
    ax.set_xticks([1, 1.001], ["a long label", "another long label"])
    assert any("overlaps" in p for p in problems(fig))
    plt.close(fig)


def test_the_fair_comparison_figures_pass_the_checker():
    from pathlib import Path

    from gaaf.book.figures.fair import gradient_vs_loss_figure, rate_figure
    from gaaf.book.figures.style import hidden, problems
    from gaaf.experiments import plans, runs, selection

    results = Path(__file__).resolve().parents[1] / "results"
    grid = selection.collect_grid(plans.mnist_lr_cells, "default", results)
    groups = runs.collect(plans.mnist_plan, "default", results).groups
    for fig in (
        rate_figure(grid.cells, grid.rates),
        gradient_vs_loss_figure(groups, "dw", 0.12),
    ):
        assert problems(fig) == [] and hidden(fig) == []


def test_a_legend_is_placed_where_it_covers_no_data():
    from gaaf.book.figures.style import _covered_points, legend, problems, subplots

    x = np.linspace(0, 1, 50)
    fig, (ax,) = subplots(1)
    for k in range(6):  # curves filling the panel: no room inside at first
        ax.plot(x, k / 5 + 0 * x, label=f"level {k}")
    legend(ax)
    assert _covered_points(ax) == 0 and problems(fig) == []
    plt.close(fig)

    fig, (left, right) = subplots(2)
    for ax in (left, right):
        ax.plot([1, 10], [10, 90], label="rising")
        ax.plot([1, 10], [50, 50], label="flat")
        ax.plot([1, 10], [90, 10], label="falling")
    legend(left, ceiling=100.0)  # a percentage: the range stops at 100
    assert left.get_ylim()[1] <= 100.0 and _covered_points(left) == 0


def test_histograms_show_the_range_that_holds_nearly_all_values():
    from gaaf.book.figures.runs import SHOWN_SHARE, _window

    edges = np.linspace(-10, 10, 201)
    counts = np.zeros(200)
    counts[95:105] = 1000  # values in [-0.5, 0.5]
    counts[0] = 1  # a thin tail at -10
    hist = {"edges": edges.tolist(), "counts": counts.tolist(), "below": 0, "above": 0}
    low, high = _window([hist])
    assert -0.6 <= low < -0.4 and 0.4 < high <= 0.6  # the tail is under 1 - share
    counts[0] = 10_000 * (1 - SHOWN_SHARE)  # a tail of the whole cut is kept
    hist["counts"] = counts.tolist()
    assert _window([hist])[0] == -10.0


def test_a_chapter_figure_with_a_problem_is_a_warning(monkeypatch):
    import warnings

    from gaaf.book import chapter
    from gaaf.book.figures.style import subplots

    monkeypatch.setitem(__import__("sys").modules, "myst_nb", None)  # no myst-nb
    fig, (ax,) = subplots(1)
    ax.plot([1, 2, 3], [85, 88, 91])
    ax.set_ylim(0, 55)
    with pytest.warns(UserWarning, match="figure 'curves': 3 of 3 plotted points"):
        chapter.glue("curves", fig)
    ax.set_ylim(80, 95)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chapter.glue("curves", fig)


def test_a_panel_with_nothing_labelled_gets_no_legend():
    import warnings

    from gaaf.book.figures.style import legend, subplots

    _fig, (ax,) = subplots(1)
    ax.plot([1, 2], [1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert legend(ax) is None and ax.get_legend() is None
