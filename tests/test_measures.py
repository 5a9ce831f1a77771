"""Measures from one record: speed without the stopping rule, gradient flow."""

from __future__ import annotations

import pytest
from builders import make_record

from gaaf.analysis import measures
from gaaf.experiments.records import Record


def record(val_acc, dz=None, dh=None) -> Record:
    """A two-layer record: validation accuracy per epoch ``val_acc``; with ``dz`` and
    ``dh`` per epoch, a gradient-flow probe (``dw`` as ``dz``)."""
    history = [{"epoch": e + 1, "val_acc": a} for e, a in enumerate(val_acc)]
    probes = {}
    if dz is not None:
        probes["gradient_flow"] = {"per_epoch": {"dz": dz, "dh": dh, "dw": dz}}
    return make_record(widths=(8, 8), history=history, probes=probes)


def test_epochs_to_target_is_the_first_epoch_at_or_above_it():
    r = record([0.95, 0.979, 0.98, 0.97, 0.99])
    assert measures.epochs_to_target(r, 0.98) == 3
    assert measures.epochs_to_target(r, 0.995) is None
    with pytest.raises(ValueError, match=r"^target must be"):
        measures.epochs_to_target(r, 98)


def test_accuracy_at_an_epoch():
    r = record([0.9, 0.95])
    assert measures.accuracy_at(r, 2) == 0.95 and measures.accuracy_at(r, 3) is None


def test_slope_factor_divides_dz_by_dh_per_epoch_and_layer():
    r = record([0.9, 0.9], dz=[[1.0, 3.0], [2.0, 0.5]], dh=[[4.0, 4.0], [4.0, 1.0]])
    assert measures.slope_factor(r) == [[0.25, 0.75], [0.5, 0.5]]
    with pytest.raises(ValueError, match="no gradient-flow probe"):
        measures.slope_factor(record([0.9]))
