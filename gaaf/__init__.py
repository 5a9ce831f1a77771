"""gaaf: Gradient Acceleration in Activation Functions (Hahn & Choi, 2018), re-examined."""

from importlib import metadata

from gaaf.activations import (
    ACTIVATIONS,
    DEFAULT_K,
    GAAF,
    Activation,
    Constant,
    GAAFReLU,
    GAAFTanh,
    GaussianBump,
    ShiftedSigmoid,
    Surrogate,
    default_shape,
    gaaf,
    gaaf_relu,
    gaaf_tanh,
    gradient_acceleration,
    naive_gaaf,
    surrogate,
)


def _version() -> str:
    try:
        return metadata.version("gaaf")
    except metadata.PackageNotFoundError:  # imported from a checkout, not installed
        return "0+unknown"


__version__ = _version()
"""From the package metadata (pyproject.toml is the one place the version is typed)."""

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_K",
    "GAAF",
    "Activation",
    "Constant",
    "GAAFReLU",
    "GAAFTanh",
    "GaussianBump",
    "ShiftedSigmoid",
    "Surrogate",
    "__version__",
    "default_shape",
    "gaaf",
    "gaaf_relu",
    "gaaf_tanh",
    "gradient_acceleration",
    "naive_gaaf",
    "surrogate",
]
