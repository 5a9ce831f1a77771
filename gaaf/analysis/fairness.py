"""Fair comparisons: what each arm's own learning rate, equal training and the same
weights change in the verdicts.

* **Learning rates**: every arm over a grid of rates, each at the rate it does best at
  on validation (the rule of :mod:`gaaf.experiments.selection`).
* **Equal training** (:func:`uncensored`): epochs run per arm, runs stopped by the epoch
  cap (censored: their numbers are lower bounds and enter no verdict), and validation
  accuracy at matched epochs.
* **The slope mechanism within one network** (:func:`noise_slope_verdict`): the slope
  factor with dropout masks on against off, at the same weights and on the same batches.
* **A flat region, a more robust network** (:func:`flatness_verdict`): the paper's last
  claim, measured by the rise of the training loss under random weight perturbations and
  the accuracy under input noise.
"""

from __future__ import annotations

from gaaf.analysis.stats import Groups, Record, present
from gaaf.analysis.verdicts import Verdict, compare, compare_paired, verdict
from gaaf.experiments.labels import display
from gaaf.experiments.probes import INPUT_NOISE, PERTURBATIONS
from gaaf.experiments.selection import censored

__all__ = [
    "MATCHED_EPOCHS",
    "flatness_verdict",
    "noise_slope_verdict",
    "probe_count",
    "uncensored",
    "with_probe",
]

MATCHED_EPOCHS = (10, 30)
"""The epochs at which every arm's validation accuracy is compared, beside the best
epoch's (histories of equal length, whatever the stopping rule did)."""


def uncensored(groups: Groups) -> Groups:
    """``groups`` without the runs stopped by the epoch cap (see
    :func:`gaaf.experiments.selection.censored`): those enter no verdict."""
    return {name: [r for r in rs if not censored(r)] for name, rs in groups.items()}


def _slopes(record: Record, mode: str) -> list[float]:
    return record["probes"]["noise_slope"][mode]["slope"]


def noise_slope_verdict(groups: Groups) -> Verdict:
    """The paper's mechanism within one network: per hidden layer, the slope factor
    ``mean|dL/dz| / mean|dL/dh|`` with dropout masks on against off, at the trained
    weights and on the same batches (:func:`gaaf.experiments.probes.noise_slope`), paired by
    network. The mechanism says the noise moves saturated units to steeper slopes: a
    higher slope factor with masks on. Dropout networks are probed with their own
    masks, the base network with the same masks injected."""
    shown = present(groups)
    effects = []
    for name, how in (
        ("dropout", "its own masks"),
        ("base", "dropout's masks injected"),
    ):
        records = [
            r for r in shown.get(name, []) if "noise_slope" in r.get("probes", {})
        ]
        if not records:
            continue
        for k in range(len(_slopes(records[0], "masks_on"))):
            effects.append(
                compare_paired(
                    f"slope factor, layer {k + 1}, {display(name)} ({how}): masks on - off",
                    ("masks on", [_slopes(r, "masks_on")[k] for r in records]),
                    [_slopes(r, "masks_off")[k] for r in records],
                    direction=+1,
                )
            )
    claim = (
        "The noise raises the slope the gradient meets (same weights, masks on vs off)"
    )
    return verdict(claim, effects)


def _flatness(record: Record, i: int) -> float:
    return record["probes"]["flatness"]["perturbed"][i]["rise"]


def _noisy(record: Record, i: int) -> float:
    return 100 * record["probes"]["input_noise"]["noisy"][i]["acc"]


def flatness_verdict(groups: Groups) -> Verdict:
    """The paper's last claim, that dropout and GAAF make the network converge on a
    flat region and so be more robust: against the base network, the rise of the
    training loss under random weight perturbations of each relative size (lower is
    flatter) and the test accuracy under Gaussian input noise of each size (higher is
    more robust). The paper gives directions, no sizes."""
    shown = with_probe(present(groups), "flatness")
    base = shown.get("base", [])
    effects = []
    for name in ("dropout", "gaaf"):
        records = shown.get(name, [])
        for i, rho in enumerate(PERTURBATIONS):
            effects.append(
                compare(
                    f"training-loss rise under weight noise of {rho:g} × ‖W‖, "
                    f"{display(name)} - base",
                    (display(name), [_flatness(r, i) for r in records]),
                    [_flatness(r, i) for r in base],
                    direction=-1,
                )
            )
        for i, std in enumerate(INPUT_NOISE):
            effects.append(
                compare(
                    f"test accuracy (points) under input noise of std {std:g}, "
                    f"{display(name)} - base",
                    (display(name), [_noisy(r, i) for r in records]),
                    [_noisy(r, i) for r in base],
                    direction=+1,
                )
            )
    claim = "Dropout and GAAF converge on a flat region and are more robust"
    return verdict(claim, effects)


def probe_count(groups: Groups, probe: str) -> dict[str, int]:
    """How many records of each group carry ``probe``."""
    return {
        n: sum(probe in r.get("probes", {}) for r in rs) for n, rs in groups.items()
    }


def with_probe(groups: Groups, probe: str) -> Groups:
    """The records of each group that carry ``probe``."""
    return {
        n: [r for r in rs if probe in r.get("probes", {})] for n, rs in groups.items()
    }
