"""The live explorers: sliders above a figure that is redrawn when a slider moves.

The only module of ``gaaf`` that imports ipywidgets (the ``book`` extra); chapters
import it where they show sliders, nothing else does. Written for the API that
ipywidgets 7.7 (Colab's) and 8 share: ``FloatSlider``, ``FloatLogSlider``, ``VBox``,
``Output.append_display_data`` and ``observe``. Without a kernel the sliders do
nothing; the chapters show a static figure beside them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from gaaf.activations import DEFAULT_K, GaussianBump, ShiftedSigmoid
from gaaf.analysis.variance import XAVIER_STD_1024
from gaaf.book.figures.activations import explorer_figure
from gaaf.book.figures.dropout import dropout_explorer_figure

__all__ = ["dropout_explorer", "explorer", "live_figure"]


def live_figure(
    controls: dict[str, widgets.ValueWidget], make_figure: Callable[..., Figure]
) -> widgets.VBox:
    """Sliders ``controls`` (keyword -> widget) above ``make_figure(**values)``, redrawn
    whenever a slider moves. The figure goes into an ``Output`` widget as display data
    (not by capturing ``display`` inside ``with output:``, whose message routing
    intermittently hung headless executions of the book)."""
    for (
        w
    ) in controls.values():  # as wide as the column, at most 32em (phones: narrower)
        w.style = {"description_width": "11em"}
        w.layout = widgets.Layout(width="100%", max_width="32em")
    output = widgets.Output()

    def draw(_change: object = None) -> None:
        fig = make_figure(**{name: w.value for name, w in controls.items()})
        output.outputs = ()
        output.append_display_data(fig)
        plt.close(fig)

    for w in controls.values():
        w.observe(draw, names="value")
    draw()
    return widgets.VBox([*controls.values(), output])


def explorer() -> widgets.VBox:
    """K and the shape parameters, drawing
    :func:`~gaaf.book.figures.activations.explorer_figure`."""
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
    return live_figure(controls, explorer_figure)


def dropout_explorer(
    draws: int = 20_000, fan_in: int = 1024, input_std: float = 1.0, seed: int = 0
) -> widgets.VBox:
    """The dropout rate, the weight std and the net input, drawing
    :func:`~gaaf.book.figures.dropout.dropout_explorer_figure` (the other arguments are
    passed on)."""
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
    figure = functools.partial(
        dropout_explorer_figure,
        draws=draws,
        fan_in=fan_in,
        input_std=input_std,
        seed=seed,
    )
    return live_figure(controls, figure)
