"""Dropout's variance argument: moments of the net input, expected slopes, and what
the chapter reads (its figures are tested in test_figures.py)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from numpy.polynomial.hermite_e import hermegauss
from scipy.integrate import quad

from gaaf.analysis.variance import (
    XAVIER_STD_1024,
    SlopeComparison,
    SlopeGains,
    approximation_gap,
    expected_slope,
    gaaf_facts,
    gain_crossover,
    monte_carlo_slope,
    net_input_moments,
    representative_unit,
    saturation_gain_limit,
    slope_comparison,
    slope_gains,
    tanh_slope,
    unit_gains,
    variance_facts,
    weight_std_for_gain,
)
from gaaf.book.prose.dropout_variance import variance_finding
from gaaf.book.prose.gaaf_derived import gaaf_finding


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------- moments


def enumerated_moments(w, x, p, inverted):
    """Mean and variance of z over all 2**n masks, weighted by their probabilities."""
    n = len(w)
    scale = 1.0 / (1.0 - p) if inverted else 1.0
    mean = second = 0.0
    for mask in itertools.product((0, 1), repeat=n):
        prob = math.prod((1.0 - p) if d else p for d in mask)
        z = sum(wi * d * xi * scale for wi, d, xi in zip(w, mask, x, strict=True))
        mean += prob * z
        second += prob * z * z
    return mean, second - mean * mean


@pytest.mark.parametrize("inverted", [True, False])
@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 0.7])
def test_moments_equal_the_enumeration_of_all_masks(p, inverted):
    g = generator(1)
    w = torch.randn(7, generator=g, dtype=torch.float64)
    x = torch.tanh(torch.randn(7, generator=g, dtype=torch.float64))
    mean, var = net_input_moments(w, x, p, inverted=inverted)
    exact_mean, exact_var = enumerated_moments(w.tolist(), x.tolist(), p, inverted)
    assert mean.item() == pytest.approx(exact_mean, rel=1e-12, abs=1e-14)
    assert var.item() == pytest.approx(exact_var, rel=1e-10, abs=1e-14)


def test_moments_closed_form_and_broadcasting():
    w = torch.tensor([[1.0, 2.0], [0.5, -1.0]], dtype=torch.float64)
    x = torch.tensor([1.0, 1.0], dtype=torch.float64)
    mean, var = net_input_moments(w, x, 0.5, inverted=False)
    assert mean.tolist() == [1.5, -0.25]  # (1-p) sum w x
    assert var.tolist() == [1.25, 0.3125]  # p (1-p) sum w^2 x^2
    mean, var = net_input_moments(w, x, 0.5)
    assert mean.tolist() == [3.0, -0.5]  # sum w x
    assert var.tolist() == [5.0, 1.25]  # p/(1-p) sum w^2 x^2


@pytest.mark.parametrize("inverted", [True, False])
def test_monte_carlo_moments_agree_within_sampling_error(inverted):
    w, x = representative_unit(2.0, 256, 0.06, generator(2))
    draws = 20_000
    result = monte_carlo_slope(w, x, 0.5, draws, generator(3), inverted=inverted)
    mean, var = (v.item() for v in net_input_moments(w, x, 0.5, inverted=inverted))
    assert result.z.shape == (draws,)
    assert abs(result.z.mean().item() - mean) < 4 * math.sqrt(var / draws)
    # the sample variance of a near-Gaussian sum has standard error var sqrt(2/n)
    assert abs(result.z.var().item() - var) < 4 * var * math.sqrt(2 / draws)
    assert result.slope == pytest.approx(tanh_slope(result.z).mean().item())
    assert 0 < result.stderr < 0.01


def test_no_dropout_means_no_noise():
    w, x = representative_unit(1.5, 64, 0.05, generator())
    result = monte_carlo_slope(w, x, 0.0, 10, generator())
    torch.testing.assert_close(result.z, torch.full((10,), 1.5, dtype=torch.float64))
    assert net_input_moments(w, x, 0.0)[1].item() == 0.0


# ----------------------------------------------------------- the expected slope


def test_expected_slope_without_noise_is_the_plain_slope():
    z0 = torch.linspace(-8, 8, 33, dtype=torch.float64)
    torch.testing.assert_close(expected_slope(z0, 0.0), tanh_slope(z0))
    # second order in sigma: E = tanh'(z0) + sigma^2/2 tanh'''(z0) + O(sigma^4)
    t = torch.tanh(z0)
    third = -2 * (1 - t**2) * (1 - 3 * t**2)
    torch.testing.assert_close(
        expected_slope(z0, 1e-3), tanh_slope(z0) + 0.5e-6 * third, rtol=1e-9, atol=1e-15
    )


def test_expected_slope_is_symmetric_and_broadcasts():
    z0 = torch.tensor([[0.0], [1.0], [3.0]], dtype=torch.float64)
    sigma = torch.tensor([0.0, 0.3, 0.6, 2.0], dtype=torch.float64)
    e = expected_slope(z0, sigma)
    assert e.shape == (3, 4) and e.dtype == torch.float64
    torch.testing.assert_close(expected_slope(-z0, sigma), e, rtol=1e-12, atol=0)
    assert expected_slope(2.0, 0.5).shape == ()


@pytest.mark.parametrize("sigma", [0.3, 0.6, 1.0])
def test_expected_slope_agrees_with_gauss_hermite(sigma):
    nodes, weights = hermegauss(150)
    for z0 in (0.0, 1.0, 2.5, 5.0, 9.0):
        reference = (weights / np.cosh(z0 + sigma * nodes) ** 2).sum()
        reference /= math.sqrt(2 * math.pi)
        assert expected_slope(z0, sigma).item() == pytest.approx(reference, rel=1e-11)


def test_expected_slope_agrees_with_adaptive_quadrature_for_large_noise():
    sigma = 5.0
    for z0 in (0.0, 4.0, 15.0):

        def density(z, z0=z0):
            return math.exp(-0.5 * ((z - z0) / sigma) ** 2) / math.cosh(z) ** 2

        points = sorted({0.0, z0})
        reference, _ = quad(density, -60, z0 + 60, points=points, epsrel=1e-12)
        reference /= sigma * math.sqrt(2 * math.pi)
        assert expected_slope(z0, sigma).item() == pytest.approx(reference, rel=1e-10)


def test_expected_slope_closed_form_limits():
    # very wide noise: tanh' integrates to 2, so E -> 2 * (normal density at z0)
    for z0 in (0.0, 20.0):
        wide = expected_slope(z0, 50.0).item()
        density = math.exp(-0.5 * (z0 / 50) ** 2) / (50 * math.sqrt(2 * math.pi))
        assert wide == pytest.approx(2 * density, rel=1e-3)
    # far in saturation the gain tends to exp(2 sigma^2) (Gaussian moment generation)
    for sigma in (0.3, 0.6):
        gain = expected_slope(20.0, sigma) / tanh_slope(torch.tensor(20.0).double())
        assert gain.item() == pytest.approx(math.exp(2 * sigma**2), rel=1e-8)
        assert saturation_gain_limit(sigma).item() == pytest.approx(
            math.exp(2 * sigma**2)
        )


def test_gain_is_bounded_above_and_below_one_at_the_centre():
    z0 = torch.linspace(0, 12, 121, dtype=torch.float64)
    for sigma in (0.3, 0.6, 1.0):
        gain = expected_slope(z0, sigma) / tanh_slope(z0)
        bound = (1 + torch.exp(-2 * z0)) ** 2 * saturation_gain_limit(sigma)
        assert (gain <= bound * (1 + 1e-12)).all()
        assert gain[0] < 1  # the noise lowers the slope of a unit at 0
        assert (gain[z0 >= 2] > 1).all()  # and raises that of a saturated unit


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_gaussian_approximation_matches_real_masks(p):
    gains = slope_gains([0.0, 2.0, 3.0], p, draws=20_000, seed=4)
    assert gains.mc is not None and gains.mc_stderr is not None
    error = (gains.mc - gains.expected).abs()
    assert (error < 4 * gains.mc_stderr + 0.01 * gains.expected).all(), (
        gains.mc,
        gains.expected,
    )
    assert gains.gain[0] < 1 < gains.gain[1] < gains.gain[2]
    assert (gains.mc_gain[1:] > 1).all()


# -------------------------------------------------------- the representative unit


def test_representative_unit():
    w, x = representative_unit(3.0, 1024, XAVIER_STD_1024, generator(5))
    assert w.shape == x.shape == (1024,) and w.dtype == torch.float64
    assert (w @ x).item() == pytest.approx(3.0, abs=1e-12)
    assert x.abs().max() < 1
    assert w.std().item() == pytest.approx(XAVIER_STD_1024, rel=0.1)
    w0, x0 = representative_unit(0.0, 1024, XAVIER_STD_1024, generator(5))
    torch.testing.assert_close(x, x0)  # same seed, same inputs
    # the weights moved only along x
    torch.testing.assert_close(w - w0, (w - w0) @ x / (x @ x) * x)


def test_slope_gains_sigma_matches_the_formula():
    gains = slope_gains([0.0, 1.0], 0.5, fan_in=1024, weight_std=0.05)
    assert gains.mc is None and gains.mc_gain is None
    # sigma^2 ~ p/(1-p) * fan_in * std^2 * E[tanh(u)^2], E[tanh(u)^2] = 0.394 for N(0, 1)
    assert gains.sigma[0].item() == pytest.approx(
        math.sqrt(1024 * 0.05**2 * 0.394), rel=0.1
    )
    torch.testing.assert_close(gains.plain, tanh_slope(gains.z0))
    torch.testing.assert_close(gains.gain, gains.expected / gains.plain)


# ------------------------------------------------------------- bad parameters


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda w, x: net_input_moments(w, x, 1.0), "p"),
        (lambda w, x: net_input_moments(w, x, -0.1), "p"),
        (lambda w, x: net_input_moments(w, x, float("nan")), "p"),
        (lambda w, x: net_input_moments(w, x, "0.5"), "p"),
        (lambda w, x: net_input_moments(w, x[:3], 0.5), "w and x"),
        (lambda w, x: monte_carlo_slope(w, x, 0.5, 0), "draws"),
        (lambda w, x: monte_carlo_slope(w, x, 0.5, 2.5), "draws"),
        (lambda w, x: monte_carlo_slope(w[None], x[None], 0.5, 10), "w and x"),
        (lambda w, x: expected_slope(1.0, -0.5), "sigma"),
        (lambda w, x: expected_slope(float("inf"), 0.5), "z0"),
        (lambda w, x: expected_slope("a", 0.5), "z0"),
        (lambda w, x: representative_unit(1.0, 0), "fan_in"),
        (lambda w, x: representative_unit(1.0, 8, 0.0), "weight_std"),
        (lambda w, x: representative_unit(1.0, 8, 0.1, input_std=-1.0), "input_std"),
        (lambda w, x: representative_unit(float("nan")), "z0"),
        (lambda w, x: slope_gains([1.0], 0.5, seed=-1), "seed"),
    ],
)
def test_bad_parameters_raise_one_clear_error(call, name):
    w, x = representative_unit(1.0, 8, 0.1, generator())
    with pytest.raises(ValueError, match=rf"^{name} must"):
        call(w, x)


# ------------------------------------------------------------ what the chapter reads


def test_weight_std_for_a_gain_by_hand():
    # exp(2 sigma^2) = e needs sigma^2 = 1/2 = p/(1-p) n s^2 E[x^2] = 1 * 2 * s^2 * 1
    assert weight_std_for_gain(math.e, 0.5, 2, 1.0) == pytest.approx(0.5)
    # p = 0.2: p/(1-p) = 1/4, so sigma^2 = ln(5)/2 = n s^2 E[x^2] / 4
    s = weight_std_for_gain(5.0, 0.2, 1024, 0.25)
    assert s == pytest.approx(math.sqrt(2 * math.log(5) / 256))
    # and the representative unit with that std has about that far-saturation gain (its
    # inputs do not depend on its weights' std)
    x = representative_unit(0.0, 1024, 0.03, generator(), 1.0)[1]
    s = weight_std_for_gain(5.0, 0.5, 1024, x.square().mean().item())
    w, x = representative_unit(0.0, 1024, s, generator(), 1.0)
    sigma = net_input_moments(w, x, 0.5)[1].sqrt()
    assert saturation_gain_limit(sigma).item() == pytest.approx(5.0, rel=0.1)
    with pytest.raises(ValueError, match=r"^gain must be a finite number > 1"):
        weight_std_for_gain(1.0, 0.5, 2, 1.0)


def gains(z0, gain, mc=None):
    z0 = torch.tensor(z0, dtype=torch.float64)
    plain = torch.ones_like(z0)
    expected = torch.tensor(gain, dtype=torch.float64)
    mc = None if mc is None else torch.tensor(mc, dtype=torch.float64)
    stderr = None if mc is None else torch.full_like(z0, 0.01)
    return SlopeGains(0.5, z0, torch.ones_like(z0), plain, expected, mc, stderr)


def test_gain_crossover_and_approximation_gap():
    assert gain_crossover(gains([0.0, 1.0, 2.0, 3.0], [0.8, 0.99, 1.2, 1.5])) == 2.0
    assert gain_crossover(gains([0.0, 1.0], [0.8, 0.9])) is None
    # relative gaps +10%, -25%, +5%: the largest is at z0 = 1, 0.05 / 0.01 = 5 errors
    gap = approximation_gap(gains([0.0, 1.0, 2.0], [0.5, 0.2, 1.0], [0.55, 0.15, 1.05]))
    assert gap.relative == pytest.approx(-0.25) and gap.z0 == 1.0
    assert gap.stderrs == pytest.approx(5.0)
    with pytest.raises(ValueError, match=r"^gains must be sampled"):
        approximation_gap(gains([0.0], [0.5]))


def test_unit_gains_are_the_slope_gains_of_each_unit():
    (row,) = unit_gains((0.05,), (2.5,), (0.2,), z0=(0.0, 3.0), fan_in=64, seed=3)
    g = slope_gains([0.0, 3.0], 0.2, fan_in=64, weight_std=0.05, input_std=2.5, seed=3)
    x = representative_unit(0.0, 64, 0.05, generator(3), 2.5)[1]
    assert (row.weight_std, row.input_std, row.p) == (0.05, 2.5, 0.2)
    assert row.mean_square_input == pytest.approx(x.square().mean().item())
    assert row.gains == pytest.approx(tuple(g.gain.tolist()))
    assert row.limit == pytest.approx(math.exp(2 * g.sigma[1].item() ** 2))


def test_slope_comparison_puts_dropout_beside_gaaf():
    c = slope_comparison([0.0, 3.0], 0.5, K=10_000.0, fan_in=64, seed=3)
    g = slope_gains([0.0, 3.0], 0.5, fan_in=64, seed=3)
    torch.testing.assert_close(c.dropout, g.expected)
    torch.testing.assert_close(c.plain, tanh_slope(g.z0))
    shape = torch.exp(-g.z0.square() / 3.4)  # GAAF-tanh's default shape
    torch.testing.assert_close(c.gaaf, c.plain + shape, atol=1e-4, rtol=0)


def comparison(dropout, gaaf):
    z0 = torch.tensor([0.0, 3.0], dtype=torch.float64)
    plain = torch.tensor([1.0, 0.01], dtype=torch.float64)
    as_tensor = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    return SlopeComparison(
        0.5, z0, torch.full_like(z0, 0.6), plain, as_tensor(dropout), as_tensor(gaaf)
    )


def test_the_variance_facts_follow_the_numbers():
    facts = variance_facts(
        gains([0.0, 3.0, 6.0], [0.8, 2.0, 2.1]), 3.2, 5.0, 0.05, XAVIER_STD_1024
    )
    # sigma = 1 here: limit exp(2) = 7.39 reaches 5; 2.0 times at z0 = 3 is more
    assert (facts.p, facts.z0, facts.sigma) == (0.5, 3.0, 1.0)
    assert (facts.gain, facts.kept) == (2.0, 0.8)
    assert facts.limit == pytest.approx(math.exp(2))
    assert (facts.factor, facts.needed_std, facts.weight_std) == (
        5.0,
        0.05,
        XAVIER_STD_1024,
    )
    assert facts.holds and facts.reaches
    assert facts.needed_ratio == pytest.approx(1.6)
    assert all(type(v) in (float, bool) for v in facts)
    facts = variance_facts(gains([0.0, 3.0], [0.8, 0.9]), 3.0, 10.0, 0.05, 0.05)
    assert not facts.holds and not facts.reaches and facts.needed_ratio == 1.0


def test_the_gaaf_facts_follow_the_numbers():
    facts = gaaf_facts(comparison([0.7, 0.02], [2.0, 0.08]), 2.9, 4e-5, 5e-5, True)
    assert (facts.p, facts.change, facts.bound, facts.within) == (0.5, 4e-5, 5e-5, True)
    assert facts.z0 == 3.0
    assert facts.by_gaaf == pytest.approx(8.0)
    assert facts.by_dropout == pytest.approx(2.0)
    assert (facts.plain_at_0, facts.dropout_at_0, facts.gaaf_at_0) == (1.0, 0.7, 2.0)
    assert facts.dropout_lowers
    assert all(type(v) in (float, bool) for v in facts)
    facts = gaaf_facts(comparison([1.2, 0.02], [2.0, 0.08]), 3.0, 1e-4, 5e-5, False)
    assert not facts.within and not facts.dropout_lowers


def test_the_book_words_the_findings():
    facts = variance_facts(
        gains([0.0, 3.0, 6.0], [0.8, 2.0, 2.1]), 3.0, 5.0, 0.05, XAVIER_STD_1024
    )
    text = variance_finding(facts)
    assert (
        "argument holds" in text and "more slope than without dropout (2 times" in text
    )
    assert "7.39" in text and "reaches the paper's factor of 5" in text
    assert "keeps 80%" in text and "1.6 times the initial one" in text
    text = variance_finding(
        variance_facts(gains([0.0, 3.0], [0.8, 0.9]), 3.0, 10.0, 0.05, 0.05)
    )
    assert "argument does not hold" in text and "on average no more slope" in text
    assert "stays below the paper's factor of 10" in text
    text = gaaf_finding(
        gaaf_facts(comparison([0.7, 0.02], [2.0, 0.08]), 3.0, 4e-5, 5e-5, True)
    )
    assert (
        "4 × 10⁻⁵, is within float rounding of its bound max(s)/2K = 5 × 10⁻⁵" in text
    )
    assert "multiplies tanh' by 8" in text and "on average by 2 " in text
    assert "dropout lowers the slope (to 0.7)" in text and "raises it to 2." in text
    text = gaaf_finding(
        gaaf_facts(comparison([1.2, 0.02], [2.0, 0.08]), 3.0, 1e-4, 5e-5, False)
    )
    assert "exceeds, beyond rounding, its bound" in text
    assert "dropout raises the slope" in text
