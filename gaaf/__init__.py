"""gaaf: Gradient Acceleration in Activation Functions (Hahn & Choi, 2018), re-examined."""

import warnings
from importlib import metadata

# The activations need only torch, which warns on import when numpy is missing (its numpy
# bridge, which they never use): not on a plain install of gaaf, where numpy belongs to
# the experiments extra. A numpy that is there but fails to load is still reported.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Failed to initialize NumPy: No module named")
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
