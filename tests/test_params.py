"""Chapter parameters: profiles, devices, and the check every chapter's first cell runs."""

from __future__ import annotations

import pytest
import torch

from gaaf.experiments.params import (
    PROFILES,
    by_profile,
    check,
    check_profile,
    resolve_device,
)


def test_profiles():
    assert PROFILES == ("smoke", "default", "full")
    assert [by_profile(p, smoke=1, default=2, full=3) for p in PROFILES] == [1, 2, 3]
    assert check_profile("full") == "full"
    for bad in ("Full", "fast", None, 1):
        with pytest.raises(ValueError, match=r"^profile must be one of"):
            by_profile(bad, smoke=1, default=2, full=3)


def test_resolve_device():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"^device must be"):
        resolve_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_missing_cuda_is_an_error_not_a_silent_fallback():
    with pytest.raises(ValueError, match="no CUDA device is available"):
        resolve_device("cuda")


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"K": 0}, r"^K must be a finite number >= "),
        ({"K": "10000"}, r"^K must be a finite number .*got '10000'$"),
        ({"seeds": [0, 0]}, r"^seeds must be distinct"),
        ({"profile": "smoke", "results": 3}, r"^results must be a folder path"),
        ({"profile": "huge", "K": 0}, r"^profile must be one of"),  # the first bad one
        ({"epochs": 3}, r"^epochs: not a parameter of this chapter"),
    ],
)
def test_check_names_the_first_bad_parameter(parameters, message):
    with pytest.raises(ValueError, match=message):
        check(**parameters)
    assert check(profile="smoke", device="cpu", K=10_000.0, seeds=None)["K"] == 10_000.0
