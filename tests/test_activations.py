"""Numerics of the GAAF activations: definition, bounds, gradients, precision, memory."""

from __future__ import annotations

import math

import pytest
import torch

from gaaf import (
    ACTIVATIONS,
    DEFAULT_K,
    GAAF,
    GAAFReLU,
    GAAFTanh,
    GaussianBump,
    ShiftedSigmoid,
    default_shape,
    gaaf,
    gaaf_relu,
    gaaf_tanh,
    gradient_acceleration,
    naive_gaaf,
)
from gaaf.activations import FIGURE6_READINGS
from gaaf.analysis.bounds import forward_error
from gaaf.shapes import figure6_table, fit_figure6

NAMES = list(ACTIVATIONS)
K = DEFAULT_K


def probe_points(dtype: torch.dtype, n: int = 20_000, seed: int = 0) -> torch.Tensor:
    """Uniform points in [-10, 10] plus exact multiples of 1/K (the sawtooth's jumps)."""
    gen = torch.Generator().manual_seed(seed)
    uniform = torch.rand(n, generator=gen, dtype=torch.float64) * 20 - 10
    multiples = torch.randint(-100_000, 100_001, (n,), generator=gen).double() / K
    edges = torch.tensor(
        [0.0, 1 / K, -1 / K, 0.5 / K, 1.0, -1.0, 10.0, -10.0], dtype=torch.float64
    )
    return torch.cat([uniform, multiples, edges]).to(dtype)


def slope_of(fn, x: torch.Tensor, grad_out: torch.Tensor | None = None) -> torch.Tensor:
    x = x.detach().clone().requires_grad_(True)
    y = fn(x)
    y.backward(torch.ones_like(y) if grad_out is None else grad_out)
    return x.grad


# ----------------------------------------------------------------------- g itself


def test_gradient_acceleration_is_the_papers_sawtooth():
    x = probe_points(torch.float64)
    g = gradient_acceleration(x)
    expected = (x * K - torch.floor(x * K) - 0.5) / K
    assert torch.equal(g, expected)
    assert g.abs().max() <= 0.5 / K
    # between jumps it rises with slope 1: at the centre of a tooth g is ~0
    centres = (torch.arange(-50, 50, dtype=torch.float64) + 0.5) / K
    assert gradient_acceleration(centres).abs().max() < 1e-12
    # and autograd sees slope 1 everywhere
    assert torch.equal(slope_of(gradient_acceleration, x), torch.ones_like(x))


@pytest.mark.parametrize("k", [10.0, 1e4, 1e6])
def test_gradient_acceleration_period_and_amplitude(k):
    gen = torch.Generator().manual_seed(3)
    teeth = torch.randint(-int(3 * k), int(3 * k), (10_000,), generator=gen).double()
    offset = 0.01 + 0.98 * torch.rand(10_000, generator=gen, dtype=torch.float64)
    x = (teeth + offset) / k  # away from the jumps, where rounding decides the tooth
    g = gradient_acceleration(x, k)
    assert g.abs().max() <= 0.5 / k
    torch.testing.assert_close(g, (offset - 0.5) / k, atol=1e-9 / k, rtol=0)
    shifted = gradient_acceleration(x + 7 / k, k)  # seven whole periods on
    torch.testing.assert_close(shifted, g, atol=1e-9 / k, rtol=0)


# --------------------------------------------------------------------- the forward


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_forward_within_one_over_2k_of_the_plain_activation(name, dtype):
    measured = forward_error(probe_points(torch.float64), name, dtype, K)
    assert measured.bound == default_shape(name).peak / (2 * K)
    assert measured.change > 0 and measured.within
    # pointwise, the term is g(x) s(x) with |g| <= 1/(2K)
    assert measured.within_pointwise


@pytest.mark.parametrize("name", NAMES)
def test_forward_equals_the_papers_formula(name):
    x = probe_points(torch.float64)
    torch.testing.assert_close(gaaf(x, name), naive_gaaf(x, name), rtol=0, atol=1e-15)


# -------------------------------------------------------------------- the backward


@pytest.mark.parametrize("name", NAMES)
def test_backward_equals_autograd_of_the_naive_formula(name):
    x = probe_points(torch.float64)
    grad_out = torch.randn(
        x.shape, generator=torch.Generator().manual_seed(1), dtype=x.dtype
    )
    ours = slope_of(lambda t: gaaf(t, name), x, grad_out)
    reference = slope_of(lambda t: naive_gaaf(t, name), x, grad_out)
    torch.testing.assert_close(ours, reference, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_backward_matches_finite_differences_inside_a_tooth(name):
    # At the centre of a sawtooth tooth g is smooth with slope 1, so a finite difference
    # much shorter than the period 1/K sees the whole derivative phi' + s + g s'.
    gen = torch.Generator().manual_seed(2)
    n = torch.randint(-60_000, 60_000, (2_000,), generator=gen).double()
    x = (n + 0.5) / K
    x = x[x.abs() > 1e-3]  # keep ReLU's kink out of the stencil
    h = 1e-3 / K
    with torch.no_grad():
        fd = (gaaf(x + h, name) - gaaf(x - h, name)) / (2 * h)
    torch.testing.assert_close(
        slope_of(lambda t: gaaf(t, name), x), fd, rtol=1e-6, atol=1e-8
    )


@pytest.mark.parametrize("name", NAMES)
def test_backward_is_the_smooth_surrogate_phi_prime_plus_s(name):
    # The backward is phi'(x) + s(x) up to the tiny g(x) s'(x) term.
    x = probe_points(torch.float64, n=5_000)
    x = x[x.abs() > 1e-3]
    h = 1e-6
    phi, shape = ACTIVATIONS[name].fn, default_shape(name)
    with torch.no_grad():
        surrogate = (phi(x + h) - phi(x - h)) / (2 * h) + shape(x)
        s_prime_max = (
            shape.derivative(torch.linspace(-10, 10, 100_001, dtype=x.dtype))
            .abs()
            .max()
        )
    gap = (slope_of(lambda t: gaaf(t, name), x) - surrogate).abs()
    assert gap.max() <= s_prime_max / (2 * K) + 1e-8


def test_naive_formula_overflows_in_float16():
    """The pitfall the library avoids: x*K overflows float16 at |x| >= 6.55."""
    x = torch.tensor([6.0, 7.0, -7.0, 100.0], dtype=torch.float16)
    y = naive_gaaf(x, "tanh")
    assert torch.isfinite(y[0]) and torch.isnan(y[1:]).all()


def wide_points(dtype: torch.dtype) -> torch.Tensor:
    big = torch.tensor([6.55, 7.0, 100.0, 1e3, 3e4, 6e4, 65504.0])
    grid = torch.linspace(-60_000, 60_000, 4001)
    return torch.cat([grid, big, -big, torch.linspace(-10, 10, 4001)]).to(dtype)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_finite_and_close_to_float32(name, dtype):
    x = wide_points(dtype)
    plain = ACTIVATIONS[name].fn(x)
    finite = torch.isfinite(plain)
    assert finite.sum() > 0.9 * x.numel()
    y = gaaf(x, name)
    assert y.dtype == dtype and torch.isfinite(y[finite]).all()
    ref = gaaf(x.float(), name)
    tol = {torch.float16: 1e-3, torch.bfloat16: 8e-3}[dtype]
    torch.testing.assert_close(y[finite].float(), ref[finite], rtol=tol, atol=tol)

    grad = slope_of(lambda t: gaaf(t, name), x)
    ref_grad = slope_of(lambda t: gaaf(t, name), x.float())
    assert grad.dtype == dtype and torch.isfinite(grad).all()
    torch.testing.assert_close(grad.float(), ref_grad, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("module", [GAAFTanh, GAAFReLU])
def test_autocast_gives_finite_results_close_to_float32(dtype, module):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(32, 64), module(), torch.nn.Linear(64, 8))
    x = (
        torch.randn(256, 32) * 50
    )  # pre-activations far into the range where x*K overflows
    ref = net(x)
    with torch.autocast("cpu", dtype=dtype):
        out = net(x)
    assert out.dtype == dtype and torch.isfinite(out).all()
    scale = ref.abs().max()
    torch.testing.assert_close(out.float(), ref, rtol=0.03, atol=0.03 * scale.item())
    with torch.autocast("cpu", dtype=dtype):
        net(x).float().square().mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())


# ------------------------------------------------------------ special inputs, shapes


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64]
)
def test_nan_and_inf_behave_like_the_plain_activation(name, dtype):
    x = torch.tensor([math.inf, -math.inf, math.nan], dtype=dtype)
    torch.testing.assert_close(gaaf(x, name), ACTIVATIONS[name].fn(x), equal_nan=True)
    grad = slope_of(lambda t: gaaf(t, name), x[:2])
    assert torch.isfinite(grad).all()
    if name != "relu":  # saturated at both ends: no gradient, as for the plain one
        assert torch.equal(grad, torch.zeros_like(grad))


@pytest.mark.parametrize(
    "make",
    [
        lambda: torch.randn(()),
        lambda: torch.randn(0),
        lambda: torch.randn(7),
        lambda: torch.randn(2, 3, 4, 5),
        lambda: torch.randn(6, 5).t(),  # non-contiguous
    ],
)
def test_any_shape(make):
    x = make()
    y = gaaf_tanh(x)
    assert y.shape == x.shape
    grad = slope_of(gaaf_tanh, x)
    assert grad.shape == x.shape
    torch.testing.assert_close(grad, slope_of(naive_gaaf, x))


def test_integer_input_is_rejected():
    with pytest.raises(ValueError, match="floating-point"):
        gaaf_tanh(torch.arange(3))


# -------------------------------------------------------------------------- memory


def saved_tensors(fn, x: torch.Tensor) -> list[torch.Tensor]:
    saved: list[torch.Tensor] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x)
    return saved


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_saves_exactly_the_input_for_backward(name, dtype):
    x = torch.randn(64, 128, dtype=dtype, requires_grad=True)
    saved = saved_tensors(lambda t: gaaf(t, name), x)
    assert len(saved) == 1
    assert saved[0].numel() == x.numel() and saved[0].dtype == dtype
    assert saved[0].data_ptr() == x.data_ptr()  # the input itself, not a copy


def test_naive_formula_saves_several_input_sized_tensors():
    x = torch.randn(64, 128, requires_grad=True)
    saved = saved_tensors(naive_gaaf, x)
    saved_elements = sum(t.numel() for t in saved)
    assert saved_elements >= 5 * x.numel()


# --------------------------------------------------------------- torch.compile, CUDA


def test_torch_compile_matches_eager():
    torch._dynamo.reset()
    modules = torch.nn.ModuleList([GAAFTanh(), GAAFReLU(), GAAF("sigmoid")])

    def f(t):
        return sum(m(t * (i + 1)) for i, m in enumerate(modules))

    compiled = torch.compile(f, fullgraph=True)
    x = torch.randn(4096) * 4
    torch.testing.assert_close(compiled(x), f(x), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(
        slope_of(compiled, x), slope_of(f, x), rtol=1e-6, atol=1e-6
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("name", NAMES)
def test_cuda_matches_cpu(name, dtype):
    x = wide_points(dtype)
    torch.testing.assert_close(
        gaaf(x.cuda(), name).cpu(), gaaf(x, name), rtol=1e-5, atol=1e-6
    )
    cuda_grad = slope_of(lambda t: gaaf(t, name), x.cuda()).cpu()
    torch.testing.assert_close(
        cuda_grad, slope_of(lambda t: gaaf(t, name), x), rtol=1e-5, atol=1e-6
    )


# ----------------------------------------------------------- shapes, API, defaults


def test_default_shapes_fit_the_papers_drawing():
    fit = fit_figure6()  # least squares through FIGURE6_READINGS
    assert abs(GaussianBump().c - fit.c) < 0.05
    assert abs(ShiftedSigmoid().slope - fit.slope) < 0.05
    assert abs(ShiftedSigmoid().shift - fit.shift) < 0.05
    headers, rows = figure6_table()
    assert len(headers) == 5
    assert len(rows) == sum(len(points) for points in FIGURE6_READINGS.values())
    for name, x, read, ours, difference in rows:
        assert ours == pytest.approx(default_shape(name)(torch.tensor(x)).item())
        assert difference == pytest.approx(ours - read) and abs(difference) < 0.04


def test_the_figure6_fit_recovers_exact_shapes():
    # readings taken off exact curves give their constants back
    bump, sigmoid = GaussianBump(c=2.5), ShiftedSigmoid(slope=4.0, shift=1.5)
    readings = {
        "tanh": [
            (x, bump(torch.tensor(x, dtype=torch.float64)).item())
            for x in (0.5, 1.0, 2.0)
        ],
        "relu": [
            (x, sigmoid(torch.tensor(x, dtype=torch.float64)).item())
            for x in (-1.0, -0.3, 0.4)
        ],
    }
    fit = fit_figure6(readings)
    assert fit == pytest.approx((2.5, 4.0, 1.5), abs=1e-9)
    assert fit_figure6() == fit_figure6(FIGURE6_READINGS)
    with pytest.raises(ValueError, match=r"readings\['relu'\] must be values s\(x\)"):
        fit_figure6({"tanh": readings["tanh"], "relu": [(0.0, 1.0), (1.0, 0.5)]})


def test_sigmoid_default_shape_is_the_tanh_bump_carried_through():
    # sigmoid(x) = (1 + tanh(x/2)) / 2, so its acceleration is s_tanh(x/2) / 4
    x = torch.linspace(-12, 12, 301, dtype=torch.float64)
    torch.testing.assert_close(default_shape("sigmoid")(x), GaussianBump()(x / 2) / 4)


def test_modules_and_functional_forms_agree():
    x = torch.randn(1000, dtype=torch.float64) * 3
    assert torch.equal(GAAFTanh(K=500, c=2.0)(x), gaaf_tanh(x, K=500, c=2.0))
    assert torch.equal(GAAFReLU(slope=4, shift=1)(x), gaaf_relu(x, slope=4, shift=1))
    assert torch.equal(GAAF("relu")(x), gaaf_relu(x))
    assert torch.equal(GAAF("tanh")(x), gaaf(x))


def test_custom_shape_object_is_accepted():
    class Flat:
        peak = 0.5

        def __call__(self, x):
            return torch.full_like(x, 0.5)

        def derivative(self, x):
            return torch.zeros_like(x)

    x = torch.linspace(-3, 3, 101, dtype=torch.float64)
    slope = slope_of(lambda t: gaaf(t, "sigmoid", Flat()), x)
    torch.testing.assert_close(slope, torch.sigmoid(x) * (1 - torch.sigmoid(x)) + 0.5)


def test_a_custom_shape_that_returns_its_input_cannot_corrupt_it():
    class Identity:
        peak = 1.0

        def __call__(self, x):
            return x

        def derivative(self, x):
            return torch.ones_like(x)

    x = torch.linspace(-1, 1, 11, requires_grad=True)
    kept = x.detach().clone()
    gaaf(x, "tanh", Identity(), K=10.0).sum().backward()
    assert torch.equal(x.detach(), kept)


def test_readable_repr():
    assert repr(GAAFTanh()) == "GAAFTanh(K=10000, c=3.4, height=1)"
    assert repr(GAAFReLU()) == "GAAFReLU(K=10000, slope=5.9, shift=2.8, height=1)"
    assert repr(GAAF("sigmoid")) == (
        "GAAF(activation='sigmoid', shape=GaussianBump(c=13.6, height=0.25), K=10000)"
    )


@pytest.mark.parametrize(
    ("make", "parameter"),
    [
        (lambda: GAAFTanh(K=0), "K"),
        (lambda: GAAFTanh(K=-5), "K"),
        (lambda: GAAFTanh(K=math.inf), "K"),
        (lambda: GAAFTanh(K=math.nan), "K"),
        (lambda: GAAFTanh(K="10000"), "K"),
        (lambda: GAAFTanh(K=True), "K"),
        (lambda: GAAFTanh(K=None), "K"),
        (lambda: gaaf_tanh(torch.zeros(2), K=-1), "K"),
        (lambda: gradient_acceleration(torch.zeros(2), K=0), "K"),
        (lambda: GAAFTanh(c=0), "c"),
        (lambda: GAAFTanh(c=math.nan), "c"),
        (lambda: GAAFTanh(height="1"), "height"),
        (lambda: GAAFReLU(slope=0), "slope"),
        (lambda: GAAFReLU(shift=math.inf), "shift"),
        (lambda: GAAF("swish"), "activation"),
        (lambda: GAAF(3), "activation"),
        (lambda: GAAF("tanh", shape=42), "shape"),
    ],
)
def test_bad_parameters_raise_value_error_naming_them(make, parameter):
    with pytest.raises(ValueError, match=rf"^{parameter}\b"):
        make()


def test_modules_survive_deepcopy_and_pickle():
    import copy
    import pickle

    net = torch.nn.Sequential(torch.nn.Linear(3, 4), GAAFTanh(K=100), GAAF("sigmoid"))
    x = torch.randn(5, 3)
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert torch.equal(clone(x), net(x))
        assert repr(clone) == repr(net)


def test_float32_kernels_compute_tanh_and_its_slope_accurately():
    # float32 kernels compute tanh and tanh' from sigmoids (faster on CPUs); compare
    # with float64 torch.tanh, saturation included
    from gaaf.activations import _fast_tanh, _tanh_derivative

    x64 = torch.linspace(-20, 20, 400_001, dtype=torch.float64)
    x32 = x64.float()
    exact = torch.tanh(x32.double())
    assert (_fast_tanh(x32).double() - exact).abs().max() < 2e-7
    slope = torch.cosh(x32.double()).pow(-2)  # 1 - tanh^2, accurate in saturation
    relative = (_tanh_derivative(x32).double() - slope).abs() / slope
    assert relative.max() < 1e-5  # also where tanh(x) rounds to +-1 in float32


def test_large_tensors_are_processed_in_chunks_with_the_same_result():
    from gaaf import activations

    n = 3 * activations._CHUNK + 12_345
    x = (torch.randn(2, n // 2) * 4).t()  # non-contiguous, larger than a chunk
    pieces = torch.cat([gaaf_tanh(p) for p in x.reshape(-1).split(10_000)])
    # (equal up to the last bit that vectorized and scalar loop tails may round apart)
    torch.testing.assert_close(gaaf_tanh(x).reshape(-1), pieces, rtol=1e-6, atol=1e-7)
    grad = slope_of(gaaf_tanh, x).reshape(-1)
    small = torch.cat([slope_of(gaaf_tanh, p) for p in x.reshape(-1).split(10_000)])
    torch.testing.assert_close(grad, small, rtol=1e-6, atol=1e-7)


def test_compiled_path_also_saves_only_the_input():
    torch._dynamo.reset()
    x = torch.randn(64, 128, requires_grad=True)
    saved = saved_tensors(torch.compile(gaaf_tanh), x)
    assert sum(t.numel() for t in saved) == x.numel()


@pytest.mark.parametrize(
    "shape", [GaussianBump(2.0, 0.5), ShiftedSigmoid(4.0, 1.0, 0.7)]
)
def test_shape_functions_are_autograd_safe_and_their_derivatives_right(shape):
    x = torch.linspace(-6, 6, 1001, dtype=torch.float64)
    torch.testing.assert_close(slope_of(shape, x), shape.derivative(x))
    value, slope = shape.value_and_slope(x)
    torch.testing.assert_close(value, shape(x))
    torch.testing.assert_close(slope, shape.derivative(x))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_surrogate_is_phi_forward_and_phi_prime_plus_s_backward(name, dtype):
    from gaaf import Surrogate, surrogate

    x = probe_points(dtype, n=5_000)
    phi, shape = ACTIVATIONS[name].fn, default_shape(name)
    module = Surrogate(name)
    with torch.no_grad():
        torch.testing.assert_close(module(x), phi(x))  # forward: phi, exactly enough
        torch.testing.assert_close(surrogate(x, name), phi(x))
    x64 = x.double()
    inside = x64[(x64.abs() > 1e-3)]  # away from ReLU's kink
    with torch.no_grad():
        h = 1e-6
        expected = (phi(inside + h) - phi(inside - h)) / (2 * h) + shape(inside)
    got = slope_of(lambda t: surrogate(t, name), inside)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-7)
    x = x.clone().requires_grad_(True)
    saved = saved_tensors(lambda t: surrogate(t, name), x)
    assert len(saved) == 1 and saved[0].data_ptr() == x.data_ptr()  # the input only
