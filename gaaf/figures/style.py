"""The book's one palette and its display names.

:data:`PALETTE` gives every model variant one colour in every figure (and
:data:`DISPLAY` one name in every figure and table); :data:`LEVELS` colours ordered
values of one quantity (dropout rates, tensor sizes, a knob's settings) and is distinct
from the variants' colours, so a colour never means both a model and a level.
"""

from __future__ import annotations

__all__ = ["DISPLAY", "GREY", "LEVELS", "PALETTE", "PAPER", "color", "display", "level"]

PALETTE: dict[str, str] = {
    "base": "#1f77b4",  # blue
    "dropout": "#ff7f0e",  # orange
    "gaaf": "#2ca02c",  # green
    "bn": "#9467bd",  # purple
    "bn_gaaf": "#8c564b",  # brown
}
"""Variant key -> colour (``base``, ``dropout``, ``gaaf`` for the MLP; ``base``,
``bn``, ``gaaf``, ``bn_gaaf`` for the CNN)."""

DISPLAY: dict[str, str] = {
    "base": "base",
    "dropout": "dropout",
    "gaaf": "GAAF",
    "bn": "BN",
    "bn_gaaf": "BN + GAAF",
}
"""Variant key -> how figures and tables name it."""

PAPER = "#d62728"
"""The colour of the paper's own numbers and readings where a figure shows them."""

LEVELS = ("#fa9fb5", "#f768a1", "#dd3497", "#ae017e", "#7a0177", "#49006a")
"""Colours of ordered levels, lightest first, such as dropout rates, tensor sizes or a
knob's settings."""

GREY = "#7f7f7f"
"""Reference curves (a plain derivative, ``tanh'`` behind a histogram)."""


def _split(name: str) -> tuple[str, str]:
    """``"lr 0.01: gaaf"`` -> ``("lr 0.01: ", "gaaf")``; a plain key has no prefix."""
    prefix, sep, key = name.rpartition(": ")
    return prefix + sep, key


def display(name: str) -> str:
    """A group's name for a reader: its variant key (the part after the last ``": "``)
    by :data:`DISPLAY`, e.g. ``"lr 0.01: gaaf"`` -> ``"lr 0.01: GAAF"``; names that are
    not variant keys (``"dropout 0.25"``) are kept."""
    prefix, key = _split(name)
    return prefix + DISPLAY.get(key, key)


def color(name: str) -> str | None:
    """A group's colour by its variant key (``"fashion_mnist: bn"`` -> ``PALETTE["bn"]``);
    a variant with settings (``"dropout 0.25"``) takes its variant's colour; None for a
    name that is not a variant (matplotlib's next colour)."""
    key = _split(name)[1]
    return PALETTE.get(key, PALETTE.get(key.split(" ")[0]))


def level(i: int, n: int) -> str:
    """The colour of level ``i`` of ``n`` ordered levels, spread over :data:`LEVELS`
    from light to dark."""
    if n <= 1:
        return LEVELS[len(LEVELS) // 2]
    return LEVELS[round(i * (len(LEVELS) - 1) / (n - 1))]
