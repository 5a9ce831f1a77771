"""Gradient acceleration in activation functions (GAAF), Hahn & Choi (2018).

The paper adds to an activation ``phi`` a term that is invisible in the forward pass
but has slope 1 almost everywhere::

    g(x)       = (x*K - floor(x*K) - 0.5) / K           # |g| <= 1/(2K), g'(x) = 1 a.e.
    phi_new(x) = phi(x) + g(x) * s(x)

so the gradient becomes ``phi'(x) + s(x) + g(x) * s'(x)``: the shape function ``s``
says where extra gradient is pushed through (the paper switches it off deep in the
saturation regions). ``K`` is the frequency constant, 10,000 in all of the paper's
experiments.

This module gives:

* :func:`gradient_acceleration`, the sawtooth ``g``;
* the shape functions :class:`~gaaf.shapes.GaussianBump` (for tanh and sigmoid) and
  :class:`~gaaf.shapes.ShiftedSigmoid` (for ReLU);
* :func:`gaaf` (generic), :func:`gaaf_tanh` and :func:`gaaf_relu`, backed by one
  ``torch.autograd.Function`` that saves only its input for backward and computes
  ``grad * (phi' + s + g * s')`` itself, which is exactly what autograd gives for the
  paper's formula (``floor`` has zero derivative);
* the modules :class:`GAAF`, :class:`GAAFTanh` and :class:`GAAFReLU`;
* :func:`naive_gaaf`, the paper's formula written with plain torch ops, kept as the
  reference the tests and the book compare against (it stores six input-sized tensors
  for backward and overflows in float16; do not train with it).

Precision. ``x*K`` overflows float16 for ``|x| >= 6.55`` and then ``inf - inf`` is NaN.
All arithmetic here runs in float32 for float16 and bfloat16 inputs (the results are
cast back), and ``x`` is clamped, before the multiplication by ``K``, to the range
beyond which ``x*K`` is a whole number in the working precision anyway (so ``g`` is
``-0.5/K`` there, exactly as the unclamped formula gives wherever it does not overflow).
GAAF is therefore finite wherever the plain activation is, in every floating dtype and
under ``torch.autocast``; NaN inputs give NaN, ``+-inf`` give the plain activation's
limits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gaaf import validate
from gaaf.shapes import (
    FIGURE6_READINGS,
    SHAPES,
    Constant,
    GaussianBump,
    Shape,
    ShiftedSigmoid,
)

__all__ = [
    "ACTIVATIONS",
    "ACTIVATION_NAMES",
    "DEFAULT_K",
    "FIGURE6_READINGS",
    "GAAF",
    "K_RANGE",
    "SHAPES",
    "Activation",
    "Constant",
    "GAAFReLU",
    "GAAFTanh",
    "GaussianBump",
    "ShiftedSigmoid",
    "Surrogate",
    "default_shape",
    "gaaf",
    "gaaf_relu",
    "gaaf_tanh",
    "gradient_acceleration",
    "make_activation",
    "make_shape",
    "naive_gaaf",
    "surrogate",
]

DEFAULT_K = 10_000.0
"""The paper's frequency constant K, used in all of its experiments."""

K_RANGE = (1e-3, 1e30)
"""The K the arithmetic supports. Above 1e30, ``x*K`` and ``K`` itself near float32's
limit (3.4e38) and GAAF would return NaN; below 1e-3, the sawtooth's amplitude
``0.5/K`` (times the shape's height) leaves float16's range (65504), and GAAF's forward
is no longer anywhere near ``phi``. Within it GAAF is finite wherever ``phi`` is."""


def _check_K(K: object) -> float:
    return validate.real("K", K, at_least=K_RANGE[0], at_most=K_RANGE[1])


# --------------------------------------------------------------------------- checks


def _opmath(x: Tensor) -> Tensor:
    """The tensor GAAF computes on: float32 for the 16-bit float types, else ``x``."""
    if not x.is_floating_point():
        raise ValueError(f"GAAF needs a floating-point input, got dtype {x.dtype}")
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


# ------------------------------------------------------------------- the sawtooth g


def _whole_number_limit(dtype: torch.dtype, K: float) -> float:
    """A bound beyond which ``x*K`` is a whole number in ``dtype`` (so ``g = -0.5/K``).

    Every float of magnitude >= 1/eps is a whole number; clamping ``x`` to
    ``+-4 / (eps * K)`` therefore leaves ``g`` unchanged wherever ``x*K`` does not
    overflow, and keeps it finite where it would.
    """
    return 4.0 / (torch.finfo(dtype).eps * K)


def _k_g(x: Tensor, K: float) -> Tensor:
    """``K * g(x)`` on an opmath tensor (float32 or float64); a new tensor."""
    limit = _whole_number_limit(x.dtype, K)
    xk = x.clamp(-limit, limit).mul_(K)
    return xk.sub_(torch.floor(xk)).sub_(0.5)


def _g(x: Tensor, K: float) -> Tensor:
    return _k_g(x, K).div_(K)


def gradient_acceleration(x: Tensor, K: float = DEFAULT_K) -> Tensor:
    """The paper's gradient acceleration function ``g(x) = (x*K - floor(x*K) - 0.5) / K``.

    A sawtooth of period ``1/K`` and amplitude ``1/(2K)`` whose slope is 1 everywhere
    except at its jumps. Computed in float32 for 16-bit inputs; returns ``x``'s dtype
    and shape. Autograd sees slope 1 (``floor`` has zero derivative).
    """
    K = _check_K(K)
    return _g(_opmath(x), K).to(x.dtype)


# -------------------------------------------------------------------- activations


@dataclass(frozen=True)
class Activation:
    """A plain activation ``phi`` with its derivative ``phi'`` (both of ``x``).

    ``kernel_fn``, if given, is how GAAF's own kernels evaluate ``phi`` (the same
    function, computed faster, possibly in place); ``fn`` is the reference.
    """

    name: str
    fn: Callable[[Tensor], Tensor]
    derivative: Callable[[Tensor], Tensor]
    kernel_fn: Callable[[Tensor], Tensor] | None = None


FAST_TANH_ERROR = 2e-7
"""The float32 forward of tanh used by GAAF differs from ``torch.tanh`` by at most this
(1.79e-7 measured); GAAF's forward stays within ``1/(2K)`` of tanh (up to this) for
every K, and within ``1/(2K)`` itself for K up to ``1 / (2 * FAST_TANH_ERROR)``."""


def _fast_tanh(x: Tensor) -> Tensor:
    if x.dtype == torch.float64:
        return torch.tanh(x)
    # float32 (the working precision of the 16-bit types too): 2 sigmoid(2x) - 1, the
    # same function, within 2e-7 of torch.tanh (FAST_TANH_ERROR; below GAAF's own
    # 1/(2K) for every K up to 2.5e6), and a sigmoid is several times cheaper than a
    # tanh on CPUs
    return torch.sigmoid(x * 2.0).mul_(2.0).sub_(1.0)


def _tanh_derivative(x: Tensor) -> Tensor:
    if x.dtype == torch.float64:
        # (1 - y)(1 + y) from y = tanh(x): autograd's tanh backward, from the same y
        y = torch.tanh(x)
        return torch.rsub(y, 1.0).mul_(y.add_(1.0))
    # float32 (also the working precision of the 16-bit types): 4 sigmoid(2x)
    # sigmoid(-2x), the same function; two sigmoids cost less than one tanh on CPUs,
    # and where tanh rounds to +-1 this still gives the true, tiny slope
    x2 = x * 2.0
    return torch.sigmoid(x2).mul_(x2.neg_().sigmoid_()).mul_(4.0)


def _relu_derivative(x: Tensor) -> Tensor:
    return torch.sign(x).clamp_(min=0.0)  # 0 at the kink, as autograd's relu gives


def _sigmoid_derivative(x: Tensor) -> Tensor:
    y = torch.sigmoid(x)
    return torch.rsub(y, 1.0).mul_(y)  # as autograd's sigmoid backward, from the same y


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", torch.tanh, _tanh_derivative, _fast_tanh),
    "relu": Activation("relu", torch.relu, _relu_derivative),
    "sigmoid": Activation("sigmoid", torch.sigmoid, _sigmoid_derivative),
}
"""The plain activations GAAF knows by name."""


def default_shape(activation: str) -> Shape:
    """The default shape function for a named activation.

    tanh: :class:`~gaaf.shapes.GaussianBump` (the paper's). relu:
    :class:`~gaaf.shapes.ShiftedSigmoid` (the paper's). sigmoid (not in the paper): the
    tanh bump carried through
    ``sigmoid(x) = (1 + tanh(x/2)) / 2``, i.e. ``GaussianBump(c=4*3.4, height=1/4)``,
    which gives sigmoid the same relative acceleration tanh gets.
    """
    if activation == "tanh":
        return GaussianBump()
    if activation == "relu":
        return ShiftedSigmoid()
    if activation == "sigmoid":
        tanh_bump = GaussianBump()
        return GaussianBump(c=4.0 * tanh_bump.c, height=tanh_bump.height / 4.0)
    raise ValueError(
        f"activation: no default shape for {activation!r}; pass shape= explicitly "
        f"(known activations: {', '.join(ACTIVATIONS)})"
    )


def _activation(activation: str | Activation) -> Activation:
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str) and activation in ACTIVATIONS:
        return ACTIVATIONS[activation]
    raise ValueError(
        f"activation must be one of {', '.join(map(repr, ACTIVATIONS))} or an Activation, "
        f"got {activation!r}"
    )


def _shape(shape: object, activation: Activation) -> Shape:
    if shape is None:
        return default_shape(activation.name)
    if isinstance(shape, (GaussianBump, ShiftedSigmoid, Constant)):
        return shape
    if (
        callable(shape)
        and callable(getattr(shape, "derivative", None))
        and hasattr(shape, "peak")
    ):
        return shape  # a user-defined shape with the same interface
    raise ValueError(
        "shape must be a GaussianBump, a ShiftedSigmoid, a Constant, or an object with "
        f"__call__(x), derivative(x) and peak, got {shape!r}"
    )


# ------------------------------------------------------------- the autograd function


@dataclass(frozen=True)
class _Spec:
    activation: Activation
    shape: Shape
    K: float
    surrogate: bool = False  # forward phi exactly; backward phi' + s


def _spec(
    activation: str | Activation, shape: object, K: object, surrogate: bool = False
) -> _Spec:
    act = _activation(activation)
    return _Spec(act, _shape(shape, act), _check_K(K), surrogate)


_CHUNK = 1 << 18
"""Elements per chunk in eager mode: each chunk's temporaries stay in the CPU's cache."""


def _chunked(kernel: Callable[..., Tensor], *tensors: Tensor) -> Tensor:
    """``kernel(*tensors, out=...)`` on matching chunks of ``tensors`` (same shape);
    the result has the last tensor's shape and dtype. Large tensors go chunk by chunk
    so that GAAF's dozen elementwise steps run on cached data, each chunk written in
    place into the result; under torch.compile, in one piece (inductor fuses them)."""
    like = tensors[-1]
    if like.numel() <= _CHUNK or torch.compiler.is_compiling():
        return kernel(*tensors, out=None).to(like.dtype)
    out = torch.empty(like.shape, dtype=like.dtype, device=like.device)
    flat = [t.reshape(-1) for t in tensors]
    out_flat = out.view(-1)
    for start in range(0, out_flat.numel(), _CHUNK):
        end = start + _CHUNK
        kernel(*(t[start:end] for t in flat), out=out_flat[start:end])
    return out


def _shape_value_and_slope(shape: Shape, x: Tensor) -> tuple[Tensor, Tensor]:
    """New tensors ``(s(x), s'(x))``; the kernels update the first in place."""
    if isinstance(shape, (GaussianBump, ShiftedSigmoid, Constant)):
        return shape.value_and_slope(x)
    # a user's shape may return a view of x or of its own state: copy it
    return shape(x).clone(), shape.derivative(x)


def _forward_kernel(x: Tensor, spec: _Spec, out: Tensor | None) -> Tensor:
    xo = _opmath(x)
    phi = spec.activation.kernel_fn or spec.activation.fn
    if spec.surrogate:  # the plain activation itself, not a faster equivalent
        y = spec.activation.fn(xo)
        return y if out is None else out.copy_(y)
    # phi + (K g) s / K
    return torch.addcmul(
        phi(xo), _k_g(xo, spec.K), spec.shape(xo), value=1.0 / spec.K, out=out
    )


def _backward_kernel(
    grad: Tensor, x: Tensor, spec: _Spec, out: Tensor | None
) -> Tensor:
    xo = _opmath(x)
    s, s_slope = _shape_value_and_slope(spec.shape, xo)
    slope = s  # the surrogate's: s; GAAF's: s + g s'
    if not spec.surrogate:
        slope.addcmul_(_k_g(xo, spec.K), s_slope, value=1.0 / spec.K)
    slope.add_(spec.activation.derivative(xo))
    return torch.mul(slope, grad.to(slope.dtype), out=out)


def _gaaf_forward(x: Tensor, spec: _Spec) -> Tensor:
    return _chunked(lambda xc, out: _forward_kernel(xc, spec, out), x)


def _gaaf_backward(grad: Tensor, x: Tensor, spec: _Spec) -> Tensor:
    return _chunked(lambda gc, xc, out: _backward_kernel(gc, xc, spec, out), grad, x)


class _GAAFFunction(torch.autograd.Function):
    """``phi(x) + g(x) s(x)``; saves only ``x``, recomputes the rest in backward."""

    @staticmethod
    def forward(ctx, x: Tensor, spec: _Spec) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.spec = spec
        return _gaaf_forward(x, spec)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, None]:  # type: ignore[override]
        if torch.is_grad_enabled():  # backward(create_graph=True)
            raise RuntimeError(
                "GAAF does not support double backward (create_graph=True, "
                "torch.autograd.grad of a gradient): its backward is computed by its "
                "own kernels, which autograd cannot differentiate again"
            )
        (x,) = ctx.saved_tensors
        return _gaaf_backward(grad, x, ctx.spec), None


def _apply(x: Tensor, spec: _Spec) -> Tensor:
    _opmath(x)  # one clear error for integer or complex inputs
    return _GAAFFunction.apply(x, spec)


# ------------------------------------------------------------------ functional API


def gaaf(
    x: Tensor,
    activation: str | Activation = "tanh",
    shape: Shape | None = None,
    K: float = DEFAULT_K,
) -> Tensor:
    """``phi(x) + g(x) * s(x)`` for any activation; same shape and dtype as ``x``.

    ``activation`` is a name from :data:`ACTIVATIONS` or an :class:`Activation`;
    ``shape`` defaults to :func:`default_shape` of the activation.
    """
    return _apply(x, _spec(activation, shape, K))


def gaaf_tanh(
    x: Tensor, K: float = DEFAULT_K, c: float = GaussianBump.c, height: float = 1.0
) -> Tensor:
    """GAAF-tanh: ``tanh(x) + g(x) * height * exp(-x**2 / c)``."""
    return gaaf(x, "tanh", GaussianBump(c, height), K)


def gaaf_relu(
    x: Tensor,
    K: float = DEFAULT_K,
    slope: float = ShiftedSigmoid.slope,
    shift: float = ShiftedSigmoid.shift,
    height: float = 1.0,
) -> Tensor:
    """GAAF-ReLU: ``relu(x) + g(x) * height * sigmoid(slope * x + shift)``."""
    return gaaf(x, "relu", ShiftedSigmoid(slope, shift, height), K)


def naive_gaaf(
    x: Tensor,
    activation: str | Activation = "tanh",
    shape: Shape | None = None,
    K: float = DEFAULT_K,
) -> Tensor:
    """The paper's formula in plain torch ops, in ``x``'s own dtype: the reference.

    Autograd of this is the gradient GAAF must reproduce. It saves six input-sized
    tensors for backward and returns NaN in float16 for ``|x| >= 6.55`` (``x*K``
    overflows); use :func:`gaaf` to train.
    """
    spec = _spec(activation, shape, K)
    g = (x * spec.K - torch.floor(x * spec.K) - 0.5) / spec.K
    return spec.activation.fn(x) + g * spec.shape(x)


def surrogate(
    x: Tensor,
    activation: str | Activation = "tanh",
    shape: Shape | None = None,
) -> Tensor:
    """The surrogate-gradient twin of GAAF: forward exactly ``phi(x)``, backward
    ``phi'(x) + s(x)``.

    GAAF's forward differs from ``phi`` by at most ``peak(s) / (2K)`` and its backward
    is ``phi' + s + g s'`` with ``|g| <= 1/(2K)``; this drops both ``g`` terms. If it
    trains like GAAF, the sawtooth is only a way to write a surrogate gradient. Same
    memory (saves only ``x``) and precision guarantees as :func:`gaaf`.
    """
    return _apply(x, _spec(activation, shape, DEFAULT_K, surrogate=True))


# ---------------------------------------------------------------------- modules


class GAAF(nn.Module):
    """GAAF as a module: ``phi(x) + g(x) * s(x)`` for a named or custom activation.

    >>> GAAF("sigmoid")
    GAAF(activation='sigmoid', shape=GaussianBump(c=13.6, height=0.25), K=10000)
    """

    surrogate = False

    def __init__(
        self,
        activation: str | Activation = "tanh",
        shape: Shape | None = None,
        K: float = DEFAULT_K,
    ) -> None:
        super().__init__()
        self.spec = _spec(activation, shape, K, surrogate=self.surrogate)

    @property
    def activation(self) -> Activation:
        return self.spec.activation

    @property
    def shape(self) -> Shape:
        return self.spec.shape

    @property
    def K(self) -> float:
        return self.spec.K

    def forward(self, x: Tensor) -> Tensor:
        """GAAF of ``x``, elementwise; same shape and dtype."""
        return _apply(x, self.spec)

    def extra_repr(self) -> str:
        return (
            f"activation={self.activation.name!r}, shape={self.shape!r}, K={self.K:g}"
        )


class Surrogate(GAAF):
    """The surrogate-gradient module: forward ``phi(x)``, backward ``phi'(x) + s(x)``
    (see :func:`surrogate`).

    >>> Surrogate("tanh")
    Surrogate(activation='tanh', shape=GaussianBump(c=3.4, height=1.0))
    """

    surrogate = True

    def __init__(
        self, activation: str | Activation = "tanh", shape: Shape | None = None
    ) -> None:
        super().__init__(activation, shape, DEFAULT_K)

    def extra_repr(self) -> str:
        return f"activation={self.activation.name!r}, shape={self.shape!r}"


class GAAFTanh(GAAF):
    """GAAF-tanh: ``tanh(x) + g(x) * height * exp(-x**2 / c)`` (defaults: the paper's)."""

    def __init__(
        self, K: float = DEFAULT_K, c: float = GaussianBump.c, height: float = 1.0
    ) -> None:
        super().__init__("tanh", GaussianBump(c, height), K)

    def extra_repr(self) -> str:
        return f"K={self.K:g}, c={self.shape.c:g}, height={self.shape.height:g}"


class GAAFReLU(GAAF):
    """GAAF-ReLU: ``relu(x) + g(x) * height * sigmoid(slope*x + shift)``."""

    def __init__(
        self,
        K: float = DEFAULT_K,
        slope: float = ShiftedSigmoid.slope,
        shift: float = ShiftedSigmoid.shift,
        height: float = 1.0,
    ) -> None:
        super().__init__("relu", ShiftedSigmoid(slope, shift, height), K)

    def extra_repr(self) -> str:
        s = self.shape
        return (
            f"K={self.K:g}, slope={s.slope:g}, shift={s.shift:g}, height={s.height:g}"
        )


# ------------------------------------------------------------ activations by name

_PLAIN_MODULES: dict[str, Callable[[], nn.Module]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
}
ACTIVATION_NAMES = (
    *_PLAIN_MODULES,
    *(f"gaaf_{name}" for name in _PLAIN_MODULES),
    *(f"surrogate_{name}" for name in _PLAIN_MODULES),
)
"""Every activation a network can be built with, by name. ``tanh``, ``gaaf_tanh`` (GAAF),
``surrogate_tanh`` (:class:`Surrogate`), and the same for relu and sigmoid."""

_SHAPE_PARAMETERS = ("c", "slope", "shift", "height")


def make_shape(
    activation: str, shape: str | None = None, **parameters: float | None
) -> Shape:
    """The shape function for the plain ``activation``: ``shape`` by name (a key of
    :data:`~gaaf.shapes.SHAPES`; None: the activation's :func:`default_shape`), with the given
    parameters replacing its defaults (parameters left at None keep them)."""
    if shape is None:
        base = default_shape(activation)
    else:
        base = SHAPES[validate.choice("shape", shape, SHAPES)]()
    given = {k: v for k, v in parameters.items() if v is not None}
    fields = {f.name for f in dataclasses.fields(base)}
    for key in given:
        if key not in fields:
            raise ValueError(
                f"gaaf_{key} does not apply to the shape {type(base).__name__} "
                f"(its parameters: {', '.join(sorted(fields))})"
            )
    return dataclasses.replace(base, **given)


def make_activation(
    name: str,
    K: float = DEFAULT_K,
    shape: str | None = None,
    **parameters: float | None,
) -> nn.Module:
    """A fresh activation module by name (:data:`ACTIVATION_NAMES`). For ``gaaf_*`` and
    ``surrogate_*``, ``shape`` and the shape ``parameters`` (``c``, ``slope``,
    ``shift``, ``height``) are as in :func:`make_shape`; ``K`` applies to ``gaaf_*``."""
    validate.choice("activation", name, ACTIVATION_NAMES)
    unknown = sorted(set(parameters) - set(_SHAPE_PARAMETERS))
    if unknown:
        raise ValueError(f"{unknown[0]}: not a shape parameter")
    if name in _PLAIN_MODULES:
        return _PLAIN_MODULES[name]()
    kind, base = name.split("_", 1)
    chosen = make_shape(base, shape, **parameters)
    if kind == "surrogate":
        return Surrogate(base, chosen)
    return GAAF(base, chosen, K)
