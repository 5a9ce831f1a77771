"""The parameters every chapter notebook takes: ``profile`` and ``device``.

Profiles scale a chapter without forking its code (see DESIGN.md):

* ``smoke``: seconds on a CPU; what CI runs through papermill.
* ``default``: what the built book executes when no full-scale record exists; minutes
  at most on a laptop CPU, labelled as reduced scale where that matters.
* ``full``: paper scale; a GPU helps.
"""

from __future__ import annotations

from typing import TypeVar

import torch

PROFILES = ("smoke", "default", "full")
"""The profile names, smallest first."""

T = TypeVar("T")


def check_profile(profile: object) -> str:
    """``profile`` if it is one of :data:`PROFILES`, else one clear ValueError."""
    if profile not in PROFILES:
        raise ValueError(
            f"profile must be one of {', '.join(map(repr, PROFILES))}, got {profile!r}"
        )
    return profile  # type: ignore[return-value]


def by_profile(profile: str, *, smoke: T, default: T, full: T) -> T:
    """The value for ``profile``: ``by_profile("smoke", smoke=1, default=10, full=100) == 1``."""
    return {"smoke": smoke, "default": default, "full": full}[check_profile(profile)]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when available, else the CPU. Anything else is checked, not guessed.

    Asking for CUDA where there is none raises a ValueError that says what to pass
    instead, rather than silently training on the CPU.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}"
        ) from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {device!r} was asked for but no CUDA device is available here; "
            "pass device='auto' or device='cpu' (on Colab: Runtime > Change runtime type > GPU)"
        )
    return resolved
