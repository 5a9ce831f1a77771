"""The book's figures, by subject. Each function returns the figure it draws; nothing
here trains or reads records from disk.

* :mod:`gaaf.figures.activations`: the sawtooth, the shape functions, GAAF against the
  plain activation, and the static explorer of K and the shapes;
* :mod:`gaaf.figures.dropout`: dropout's variance argument for one unit;
* :mod:`gaaf.figures.runs`: learning curves, per-layer histograms and the gradient flow,
  from run records;
* :mod:`gaaf.figures.costs`: what an activation call costs, from a benchmark record;
* :mod:`gaaf.figures.widgets`: the live explorers (ipywidgets). Import it only where the
  sliders are shown; nothing else imports ipywidgets.

One palette, :data:`~gaaf.figures.style.PALETTE`, colours each model variant the same
in every figure (see :mod:`gaaf.figures.style`).
"""

from gaaf.figures.style import DISPLAY, LEVELS, PALETTE, color, display, level

__all__ = ["DISPLAY", "LEVELS", "PALETTE", "color", "display", "level"]
