"""The parameters every chapter notebook takes, and their checks.

Profiles scale a chapter without forking its code (see DESIGN.md):

* ``smoke``: seconds on a CPU; what CI runs through papermill.
* ``default``: what the built book executes when no full-scale record exists; minutes
  at most on a laptop CPU, labelled as reduced scale where that matters.
* ``full``: paper scale; a GPU helps.

:func:`check` is what a chapter's parameter cell hands its parameters to: one clear
error naming the first bad one, before any work starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import torch

from gaaf import validate
from gaaf.activations import K_RANGE
from gaaf.experiments.data import DATASETS

__all__ = ["PROFILES", "by_profile", "check", "check_profile", "resolve_device"]

PROFILES = ("smoke", "default", "full")
"""The profile names, smallest first."""

T = TypeVar("T")


def check_profile(profile: object) -> str:
    """``profile`` if it is one of :data:`PROFILES`, else one clear ValueError."""
    return validate.choice("profile", profile, PROFILES)  # type: ignore[return-value]


def by_profile(profile: str, *, smoke: T, default: T, full: T) -> T:
    """The value for ``profile``: ``by_profile("smoke", smoke=1, default=10, full=100) == 1``."""
    return {"smoke": smoke, "default": default, "full": full}[check_profile(profile)]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when available, else the CPU. Anything else is checked, not guessed.

    Only the CPU and CUDA devices train here. Asking for CUDA where there is none raises
    a ValueError that says what to pass instead, rather than silently training on the CPU.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        resolved = None
    if resolved is None or resolved.type not in ("cpu", "cuda"):
        validate.fail("device", "'auto', 'cpu' or 'cuda[:N]'", device)
    assert resolved is not None
    if resolved.type == "cpu" and resolved.index not in (None, 0):
        validate.fail("device", "'cpu' (the CPU has no index but 0)", device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {device!r} was asked for but no CUDA device is available here; "
            "pass device='auto' or device='cpu' (on Colab: Runtime > Change runtime type > GPU)"
        )
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        validate.fail(
            "device", f"a CUDA device below {torch.cuda.device_count()}", device
        )
    return resolved


def _path(name: str, value: object) -> Path:
    if not isinstance(value, (str, Path)) or not str(value):
        validate.fail(name, "a folder path (a string)", value)
    return Path(value)  # type: ignore[arg-type]


def _datasets(value: object) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        validate.fail("datasets", f"a non-empty list of {', '.join(DATASETS)}", value)
    return [validate.choice(f"datasets[{i}]", d, DATASETS) for i, d in enumerate(value)]


_CHECKS: dict[str, Any] = {
    "profile": check_profile,
    "device": lambda v: (resolve_device(v), v)[1],
    "seeds": lambda v: None if v is None else validate.seed_list("seeds", v),
    "results": lambda v: _path("results", v),
    "data": lambda v: _path("data", v),
    "benchmarks": lambda v: _path("benchmarks", v),
    "K": lambda v: validate.real("K", v, at_least=K_RANGE[0], at_most=K_RANGE[1]),
    "interactive": lambda v: validate.boolean("interactive", v),
    "keep_on_drive": lambda v: validate.boolean("keep_on_drive", v),
    "measure": lambda v: validate.boolean("measure", v),
    "datasets": _datasets,
    "seed": lambda v: validate.integer(
        "seed", v, at_least=0, at_most=validate.MAX_SEED
    ),
    "fan_in": lambda v: validate.integer("fan_in", v, at_least=1),
    "weight_std": lambda v: validate.real("weight_std", v, above=0),
    "input_std": lambda v: validate.real("input_std", v, above=0),
}


def check(**parameters: object) -> dict[str, Any]:
    """Check a chapter's parameters by name; returns them checked (paths as Path).

    Known names: profile, device, seeds (None or distinct integer seeds), results and
    data and benchmarks (folders), K (GAAF's frequency constant), interactive, keep_on_drive and
    measure (True/False), datasets (names of :data:`gaaf.experiments.data.DATASETS`), seed,
    fan_in, weight_std and input_std. Any other name is refused.
    """
    checked = {}
    for name, value in parameters.items():
        if name not in _CHECKS:
            raise ValueError(
                f"{name}: not a parameter of this chapter (known: {', '.join(_CHECKS)})"
            )
        checked[name] = _CHECKS[name](value)
    return checked
