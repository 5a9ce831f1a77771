"""Chapter parameters (profiles, devices) and the shared figure and table helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gaaf import plots
from gaaf.activations import FIGURE6_READINGS
from gaaf.params import PROFILES, by_profile, check_profile, resolve_device


def test_profiles():
    assert PROFILES == ("smoke", "default", "full")
    assert [by_profile(p, smoke=1, default=2, full=3) for p in PROFILES] == [1, 2, 3]
    assert check_profile("full") == "full"
    for bad in ("Full", "fast", None, 1):
        with pytest.raises(ValueError, match=r"^profile must be one of"):
            by_profile(bad, smoke=1, default=2, full=3)


def test_resolve_device():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"^device must be"):
        resolve_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_missing_cuda_is_an_error_not_a_silent_fallback():
    with pytest.raises(ValueError, match="no CUDA device is available"):
        resolve_device("cuda")


def test_markdown_table():
    table = plots.markdown_table(["a", "b"], [(1, 0.123456), ("x", 2.0)])
    assert table.splitlines() == [
        "| a | b |",
        "| --- | --- |",
        "| 1 | 0.1235 |",
        "| x | 2 |",
    ]


def test_slope_is_the_autograd_derivative():
    x = torch.linspace(-2, 2, 11, dtype=torch.float64)
    torch.testing.assert_close(plots.slope(torch.sin, x), torch.cos(x))


def test_sawtooth_figure_draws_g_and_its_unit_slope():
    fig = plots.sawtooth_figure(K=100.0)
    saw, _, derivative = (ax.lines[0] for ax in fig.axes)
    assert np.abs(saw.get_ydata()).max() <= 0.5  # K g(x) within +-1/2
    assert np.allclose(derivative.get_ydata(), 1.0)


def test_shapes_figure_marks_the_papers_readings():
    fig = plots.shapes_figure()
    for ax, name in zip(fig.axes, ("tanh", "relu"), strict=True):
        markers = ax.lines[-1]
        readings = np.array(FIGURE6_READINGS[name])
        assert np.allclose(markers.get_xdata(), readings[:, 0])
        assert np.allclose(markers.get_ydata(), readings[:, 1])


@pytest.mark.parametrize(
    ("make", "n_axes"),
    [
        (plots.gaaf_vs_plain_figure, 6),
        (plots.explorer_figure, 4),
        (lambda: plots.explorer_figure(K=20.0, c=1.0, slope_=3.0, shift=0.0), 4),
        (plots.explorer_static, 3),
    ],
)
def test_figures_have_their_panels_and_finite_curves(make, n_axes):
    fig = make()
    assert len(fig.axes) == n_axes
    for ax in fig.axes:
        assert ax.lines or ax.collections, f"empty panel {ax.get_title()!r}"
        assert all(np.isfinite(line.get_ydata()).all() for line in ax.lines)
