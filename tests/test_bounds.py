"""GAAF's forward change against its bound (gaaf.analysis.bounds), and as the GAAF
chapter shows it (gaaf.book.prose.gaaf_derived)."""

from __future__ import annotations

import pytest
import torch

from gaaf import ACTIVATIONS, DEFAULT_K, default_shape
from gaaf.analysis.bounds import (
    FORWARD_DTYPES,
    ForwardError,
    forward_errors,
    forward_points,
    worst,
)
from gaaf.book.prose.gaaf_derived import forward_sentence, forward_table


def test_the_points_are_uniform_and_multiples_of_one_over_k():
    x = forward_points(5_000, K=100.0, generator=torch.Generator().manual_seed(0))
    assert x.dtype == torch.float64 and x.shape == (10_000,)
    assert x.abs().max() <= 10
    uniform, multiples = x[:5_000], x[5_000:]
    assert uniform.min() < -9 and uniform.max() > 9  # the whole range
    # each is n / K for a whole n (as the float division gives it): a sawtooth jump
    assert torch.equal(multiples, (multiples * 100).round() / 100)
    again = forward_points(5_000, K=100.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, again)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        forward_points(0)


@pytest.mark.parametrize("K", [DEFAULT_K, 10.0])
def test_every_activation_and_dtype_stays_within_its_bound(K):
    x = forward_points(20_000, K, generator=torch.Generator().manual_seed(1))
    errors = forward_errors(x, K)
    assert [(e.activation, e.dtype) for e in errors] == [
        (name, str(dtype).removeprefix("torch."))
        for name in ACTIVATIONS
        for dtype in FORWARD_DTYPES
    ]
    for e in errors:
        assert e.bound == default_shape(e.activation).peak / (2 * K)
        assert e.within and e.within_pointwise
        assert e.ratio > 0.5  # the sawtooth reaches near its amplitude
    assert forward_sentence(errors).startswith("Every change is within its bound")


def test_a_subset_of_activations_and_dtypes():
    x = forward_points(100, generator=torch.Generator().manual_seed(2))
    errors = forward_errors(x, activations=["relu"], dtypes=[torch.float64])
    assert [(e.activation, e.dtype) for e in errors] == [("relu", "float64")]


def test_the_worst_the_table_and_the_sentence():
    errors = [
        ForwardError("tanh", "float32", 4e-5, 5e-5, True, True),
        ForwardError("relu", "float64", 6e-5, 5e-5, False, False),
    ]
    assert worst(errors) is errors[1]
    headers, rows = forward_table(errors)
    assert headers[-1] == "ratio - 1"
    assert rows == [
        ["tanh", "float32", 4e-5, 5e-5, "-0.2"],
        ["relu", "float64", 6e-5, 5e-5, "+0.2"],
    ]
    assert forward_sentence(errors).startswith("Some changes exceed their bound")
    with pytest.raises(ValueError, match="errors must be at least one measurement"):
        worst([])
