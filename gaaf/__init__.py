"""gaaf: Gradient Acceleration in Activation Functions (Hahn & Choi, 2018), re-examined."""

from gaaf.activations import (
    ACTIVATIONS,
    DEFAULT_K,
    GAAF,
    Activation,
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

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_K",
    "GAAF",
    "Activation",
    "GAAFReLU",
    "GAAFTanh",
    "GaussianBump",
    "ShiftedSigmoid",
    "__version__",
    "default_shape",
    "gaaf",
    "gaaf_relu",
    "gaaf_tanh",
    "gradient_acceleration",
    "naive_gaaf",
]
