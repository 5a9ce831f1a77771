"""The book's figures, by subject. Each function returns the figure it draws; nothing
here trains or reads records from disk.

* :mod:`gaaf.book.figures.activations`: the sawtooth, the shape functions, GAAF against the
  plain activation, and the static explorer of K and the shapes;
* :mod:`gaaf.book.figures.dropout`: dropout's variance argument for one unit;
* :mod:`gaaf.book.figures.runs`: learning curves, per-layer histograms and the gradient flow,
  from run records;
* :mod:`gaaf.book.figures.costs`: what an activation call costs, from a benchmark record;
* :mod:`gaaf.book.figures.widgets`: the live explorers (ipywidgets). Import it only where the
  sliders are shown; nothing else imports ipywidgets.

One palette, :data:`~gaaf.book.figures.style.PALETTE`, colours each model variant the same
in every figure (see :mod:`gaaf.book.figures.style`).
"""

from gaaf.book.figures.style import LEVELS, PALETTE, color, level
from gaaf.experiments.labels import DISPLAY, display

__all__ = ["DISPLAY", "LEVELS", "PALETTE", "color", "display", "level"]
