"""The one set of argument checks the library uses.

Each check returns the value it accepted (converted where that is its job) or raises
one ``ValueError`` whose message starts with the parameter's name and ends with the
value it got: ``lr must be a finite number > 0, got -1``. A leaf module: it imports
nothing else from gaaf.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "boolean",
    "choice",
    "fail",
    "integer",
    "real",
    "real_tensor",
    "seed_list",
]

MAX_SEED = 2**63 - 1
"""The largest seed ``torch.manual_seed`` accepts."""


def fail(name: str, requirement: str, value: object) -> None:
    """Raise the library's one error: ``<name> must be <requirement>, got <value>``."""
    raise ValueError(f"{name} must be {requirement}, got {value!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def real(
    name: str,
    value: object,
    *,
    above: float | None = None,
    at_least: float | None = None,
    below: float | None = None,
    at_most: float | None = None,
    nonzero: bool = False,
) -> float:
    """``value`` as a finite float within the given bounds.

    Accepts Python numbers (not bools) and real one-element tensors.
    """
    number: float | None = None
    if (
        _is_int(value)
        or isinstance(value, float)
        or (
            isinstance(value, Tensor)
            and value.numel() == 1
            and not value.is_complex()
            and value.dtype != torch.bool
        )
    ):
        number = float(value)
    bounds = []
    if above is not None:
        bounds.append(f"> {above:g}")
    if at_least is not None:
        bounds.append(f">= {at_least:g}")
    if below is not None:
        bounds.append(f"< {below:g}")
    if at_most is not None:
        bounds.append(f"<= {at_most:g}")
    if nonzero:
        bounds.append("!= 0")
    requirement = "a finite number" + (f" {' and '.join(bounds)}" if bounds else "")
    if number is None or not math.isfinite(number):
        fail(name, requirement, value)
    assert number is not None
    if (
        (above is not None and not number > above)
        or (at_least is not None and not number >= at_least)
        or (below is not None and not number < below)
        or (at_most is not None and not number <= at_most)
        or (nonzero and number == 0)
    ):
        fail(name, requirement, value)
    return number


def integer(
    name: str, value: object, *, at_least: int | None = None, at_most: int | None = None
) -> int:
    """``value`` if it is an int (not a bool) within the given bounds."""
    bounds = []
    if at_least is not None:
        bounds.append(f">= {at_least}")
    if at_most is not None:
        bounds.append(f"<= {at_most}")
    requirement = "an integer" + (f" {' and '.join(bounds)}" if bounds else "")
    if not _is_int(value):
        fail(name, requirement, value)
    assert isinstance(value, int)
    if (at_least is not None and value < at_least) or (
        at_most is not None and value > at_most
    ):
        fail(name, requirement, value)
    return value


def boolean(name: str, value: object) -> bool:
    """``value`` if it is True or False."""
    if not isinstance(value, bool):
        fail(name, "True or False", value)
    return bool(value)


def choice(name: str, value: Any, allowed: Collection[Any]) -> Any:
    """``value`` if it is one of ``allowed``."""
    if (
        not isinstance(value, (str, int, float, bool, type(None)))
        or value not in allowed
    ):
        fail(name, f"one of {', '.join(map(repr, allowed))}", value)
    return value


def seed_list(name: str, value: object) -> list[int]:
    """A non-empty list of distinct seeds, each an integer in ``[0, 2**63 - 1]``.

    Duplicates are refused: one run counted twice would shrink every interval.
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        fail(name, "a non-empty list of distinct integer seeds", value)
    seeds = [
        integer(f"{name}[{i}]", s, at_least=0, at_most=MAX_SEED)
        for i, s in enumerate(value)
    ]  # type: ignore[arg-type]
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        fail(name, f"distinct (seed {repeated[0]} appears more than once)", value)
    return seeds


def real_tensor(name: str, value: object) -> Tensor:
    """``value`` as a finite float64 tensor (keeping a tensor's device)."""
    if isinstance(value, Tensor):
        if value.is_complex() or value.dtype == torch.bool:
            fail(name, "a real number or tensor", value)
        out = value.detach().to(torch.float64)
    else:
        try:
            out = torch.as_tensor(value, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            fail(name, "a real number or tensor", value)
    if not torch.isfinite(out).all():
        fail(name, "finite", value)
    return out
