"""The verdict on each of the paper's claims, computed from records: its word, the
comparisons it rests on and further measured facts (typed: :class:`SensitivityRatios`,
:class:`SlopeDecomposition`, :class:`LayerTrend`, :class:`SensitivityRun`,
:class:`Reached`), in one place that the chapters (and the introduction) read. The book
words them (:mod:`gaaf.book.wording`).

The rule that turns comparisons into verdict words is written once, in
:mod:`gaaf.analysis.verdicts`; this module applies it to each claim of the paper.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from typing import NamedTuple

from gaaf import validate
from gaaf.analysis import paper
from gaaf.analysis.measures import SPEED_TARGET, epochs_reached
from gaaf.analysis.stats import (
    Groups,
    LayerValue,
    Record,
    dataset_groups,
    flow_value,
    layer_count,
    present,
    probe_value,
    ratio_of_means,
    shortest_run,
    values,
)
from gaaf.analysis.verdicts import Effect, Verdict, compare, verdict
from gaaf.experiments.labels import GroupKey, display

__all__ = [
    "FLOW_NAMES",
    "LayerTrend",
    "PaperQuantity",
    "Reached",
    "SensitivityRatios",
    "SensitivityRun",
    "SlopeDecomposition",
    "claim1",
    "claim2",
    "claim3",
    "claim4",
    "claim4_cnn",
    "claim4_speed",
    "paper_quantity",
    "sensitivity_ratios",
    "slope_mechanism",
]

# ------------------------------------------------------------ per-layer comparisons


def _layer_effects(
    groups: Groups,
    value: LayerValue,
    what: str,
    judged: dict[str, Callable[[int], tuple[float | None, int | None]]],
    others: Sequence[str] = ("dropout", "gaaf"),
) -> list[Effect]:
    """Per other group and hidden layer: mean ``value`` against the base's. ``judged``:
    group -> ``layer -> (paper's ratio, direction)``; other groups are not the paper's."""
    base = groups.get("base") or []
    effects = []
    for other in others:
        records = groups.get(other) or []
        for k in range(layer_count(groups)):
            paper_ratio, direction = (
                judged[other](k) if other in judged else (None, None)
            )
            effects.append(
                compare(
                    f"{what}, layer {k + 1}, {display(other)} vs base",
                    (display(other), [value(r, k) for r in records]),
                    [value(r, k) for r in base],
                    paper_ratio,
                    direction=direction,
                    relative=True,
                )
            )
    return effects


class SensitivityRatios(NamedTuple):
    """A one-seed sensitivity setting's measure against the same setting's base, per
    hidden layer (no interval can judge one seed: the book counts the layers)."""

    what: str
    """The measure, e.g. ``"mean |correlation|"``."""
    name: str
    """The group's key, ``"<setting>: <model>"``."""
    seeds: tuple[int, int]
    """Records of the model and of the setting's base."""
    ratios: tuple[float | None, ...]
    """Per layer, layer 1 first, the model's mean over the base's; None where a side
    has no value."""

    @property
    def higher(self) -> int:
        """In how many layers the model's mean is above the base's."""
        return sum(r is not None and r > 1 for r in self.ratios)


def sensitivity_ratios(
    sensitivity: Groups, value: LayerValue, what: str = ""
) -> list[SensitivityRatios]:
    """For each sensitivity setting and model (one seed each): mean ``value`` per layer
    against the same setting's base."""
    found = []
    shown = {n: rs for n, rs in present(sensitivity).items() if ": " in n}
    for name, records in shown.items():
        key = GroupKey.parse(name)
        base = shown.get(key.with_variant("base"))
        if key.variant == "base" or not base:
            continue
        layers = len(records[0]["config"]["widths"])
        ratios = tuple(
            ratio_of_means([value(r, k) for r in records], [value(r, k) for r in base])
            for k in range(layers)
        )
        found.append(SensitivityRatios(what, name, (len(records), len(base)), ratios))
    return found


def _direction_only(direction: int) -> Callable[[int], tuple[None, int]]:
    return lambda k: (None, direction)


def claim1(groups: Groups, sensitivity: Groups | None = None) -> Verdict:
    """Claim 1, dropout does not avoid co-adaptation: the mean ``|correlation|`` between
    a layer's units is higher with dropout than without, in every hidden layer (the
    paper shows histograms, no size)."""
    value = probe_value("correlations", "mean_abs")
    what = "mean |correlation|"
    effects = _layer_effects(groups, value, what, {"dropout": _direction_only(+1)})
    details = sensitivity_ratios(sensitivity or {}, value, what)
    return verdict(
        "Claim 1 (dropout raises the correlation between units)", effects, details
    )


FLOW_NAMES = {
    "dz": "|dL/dz| (net inputs)",
    "dh": "|dL/dh| (unit outputs)",
    "dw": "|dL/dW| (incoming weights)",
}
"""The three gradients the gradient-flow probe measures, by key."""


def claim2(
    groups: Groups, sensitivity: Groups | None = None, quantity: str = "dz"
) -> Verdict:
    """Claim 2, dropout pushes gradient through: the mean gradient ``quantity`` (a key
    of :data:`FLOW_NAMES`) per hidden layer, over all iterations as the paper measures
    it, with dropout over without, against the paper's ratios
    (:func:`gaaf.analysis.paper.gradient_flow_ratios`). The same over the epochs every run has,
    and the sensitivity runs, are reported beside it."""
    validate.choice("quantity", quantity, FLOW_NAMES)
    name = FLOW_NAMES[quantity].split(" (")[0]
    ratios = paper.gradient_flow_ratios()
    judged = {"dropout": lambda k: (ratios[k], None)}
    effects = _layer_effects(
        groups, flow_value(quantity), f"{name}, all iterations", judged
    )
    shown = present(groups)
    details: list[object] = []
    if "base" in shown:
        epochs = shortest_run(shown)
        matched = f"{name}, first {epochs} epochs"
        extra = _layer_effects(groups, flow_value(quantity, epochs), matched, {})
        details += extra
    sens = present(sensitivity or {})
    if sens:
        sens_epochs = shortest_run(sens)
        what = f"{name}, first {sens_epochs} epochs"
        details += sensitivity_ratios(sens, flow_value(quantity, sens_epochs), what)
    claim = (
        f"Claim 2 measured as {FLOW_NAMES[quantity]} (dropout multiplies the gradient "
        "reaching each layer by about 5)"
    )
    return verdict(claim, effects, details)


class PaperQuantity(NamedTuple):
    """Which gradient the paper's table most plausibly reports: per quantity, our
    base network's mean over all iterations as a multiple of the paper's (geometric
    mean over layers), the closest, and how many base records that rests on."""

    factors: dict[str, float]
    closest: str
    seeds: int


def paper_quantity(groups: Groups) -> PaperQuantity | None:
    """Compare the *size* of each measured gradient of the base network with the
    paper's gradient-flow table (its ratios alone cannot tell the quantities apart);
    None without base records."""
    base = groups.get("base") or []
    if not base:
        return None
    theirs = paper.GRADIENT_FLOW["base"]
    factors = {}
    for q in FLOW_NAMES:
        ours = [statistics.fmean(flow_value(q)(r, k) for r in base) for k in range(3)]
        logs = [math.log(o / t) for o, t in zip(ours, theirs, strict=True)]
        factors[q] = math.exp(statistics.fmean(logs))
    closest = min(factors, key=lambda q: abs(math.log(factors[q])))
    return PaperQuantity(factors, closest, len(base))


class SlopeDecomposition(NamedTuple):
    """Dropout's ``|dL/dz|`` ratio to the base's at one hidden ``layer`` (from 1), as
    the slope factor's ratio times the ``|dL/dh|`` ratio."""

    layer: int
    dz: float
    """``mean|dL/dz|``, dropout over base."""
    dh: float
    """``mean|dL/dh|``, dropout over base."""

    @property
    def slope(self) -> float:
        """The slope factor's ratio, ``dz / dh``."""
        return self.dz / self.dh


def _slope_factors(records: Sequence[Record], epochs: int, k: int) -> list[float]:
    """Per record: mean ``|dL/dz|`` over mean ``|dL/dh|`` at layer ``k`` over the first
    ``epochs`` epochs."""
    dz, dh = flow_value("dz", epochs), flow_value("dh", epochs)
    return [dz(r, k) / dh(r, k) for r in records]


def slope_mechanism(groups: Groups) -> Verdict:
    """Does dropout's extra gradient pass through steeper slopes (the variance
    mechanism: noise moves saturated net inputs where tanh' is larger)? Per layer, over
    the epochs every run has: the slope factor ``mean|dL/dz| / mean|dL/dh|`` with and
    without dropout (the mechanism predicts higher with dropout), and the decomposition
    of dropout's ``|dL/dz|`` ratio into slope factor times ``|dL/dh|`` ratio."""
    shown = present(groups)
    if "base" not in shown or "dropout" not in shown:
        return verdict(SLOPE_CLAIM, [])
    epochs, base, drop = shortest_run(shown), shown["base"], shown["dropout"]
    effects: list[Effect] = []
    details: list[SlopeDecomposition] = []
    for k in range(layer_count(shown)):
        effects.append(
            compare(
                f"slope factor |dL/dz| / |dL/dh|, layer {k + 1}, dropout vs base, "
                f"first {epochs} epochs",
                ("dropout", _slope_factors(drop, epochs, k)),
                _slope_factors(base, epochs, k),
                direction=+1,
            )
        )
        r = {
            q: ratio_of_means(
                [flow_value(q, epochs)(x, k) for x in drop],
                [flow_value(q, epochs)(x, k) for x in base],
            )
            for q in ("dz", "dh")
        }
        details.append(SlopeDecomposition(k + 1, r["dz"], r["dh"]))
    return verdict(SLOPE_CLAIM, effects, details)


SLOPE_CLAIM = "Dropout's extra gradient passes through steeper slopes of tanh"


def claim3(groups: Groups, sensitivity: Groups | None = None) -> Verdict:
    """Claim 3, dropout pushes net inputs into saturation: the fraction of ``|z| > 2``
    per hidden layer is higher with dropout (the paper shows histograms, no size), and
    whether its ratio to the base's rises with the layer ("more so in higher layers")."""
    value = probe_value("net_inputs", "saturated")
    what = "fraction of |z| > 2"
    effects = _layer_effects(groups, value, what, {"dropout": _direction_only(+1)})
    ratios = [e.ratio for e in effects if e.a == "dropout" and e.ratio is not None]
    details: list[object] = []
    if len(ratios) > 1:
        details.append(LayerTrend("dropout", tuple(ratios), relative=True))
    details += _higher_layers(groups, value)
    details += sensitivity_ratios(sensitivity or {}, value, what)
    return verdict(
        "Claim 3 (dropout pushes net inputs into saturation)", effects, details
    )


class LayerTrend(NamedTuple):
    """A group's per-layer values, layer 1 first: the saturated fraction, or with
    ``relative`` its ratio to the base's; "more so in higher layers" asks whether they
    rise with every layer."""

    name: str
    values: tuple[float, ...]
    relative: bool = False

    @property
    def rising(self) -> bool:
        """Whether each layer's value is above the one below it."""
        return all(b > a for a, b in itertools.pairwise(self.values))


def _higher_layers(groups: Groups, value: LayerValue) -> list[LayerTrend]:
    """ "More so in higher layers", in absolute terms: per group, the saturated
    fraction by layer."""
    return [
        LayerTrend(
            name,
            tuple(
                statistics.fmean(value(r, k) for r in records)
                for k in range(layer_count(groups))
            ),
        )
        for name, records in present(groups).items()
    ]


# ------------------------------------------------------------------------ claim 4


class SensitivityRun(NamedTuple):
    """One sensitivity ``setting`` of claim 4 (one seed each): against how many of its
    ``dropout_runs`` GAAF converged in fewer epochs (``faster``) and was at least as
    accurate (``as_good``), and GAAF's accuracy minus the base's in points
    (``vs_base``; None without a base run)."""

    setting: str
    faster: int
    as_good: int
    dropout_runs: int
    vs_base: float | None


def _sensitivity_claim4(sensitivity: Groups) -> list[SensitivityRun]:
    """Per sensitivity setting: GAAF's epochs and accuracy against each dropout run's,
    and its accuracy against the base's (one seed each: counts, no intervals)."""
    by_setting: dict[str, dict[str, dict[str, float]]] = {}
    for name, records in present(sensitivity).items():
        if ": " in name:
            key = GroupKey.parse(name)
            by_setting.setdefault(key.setting, {})[key.variant] = {
                m: statistics.fmean(values(records, m))
                for m in ("test_acc", "best_epoch")
            }
    found = []
    for setting, models in by_setting.items():
        gaaf, base = models.get("gaaf"), models.get("base")
        drops = [v for m, v in models.items() if m.startswith("dropout")]
        if not gaaf or not drops:
            continue
        found.append(
            SensitivityRun(
                setting,
                sum(gaaf["best_epoch"] < d["best_epoch"] for d in drops),
                sum(gaaf["test_acc"] >= d["test_acc"] for d in drops),
                len(drops),
                100 * (gaaf["test_acc"] - base["test_acc"]) if base else None,
            )
        )
    return found


CLAIM4_COMPARISONS = (
    ("gaaf", "dropout", "best_epoch", 1, "epochs to converge", False),
    ("gaaf", "base", "test_acc", 100, "test accuracy (points)", False),
    ("gaaf", "dropout", "test_acc", 100, "test accuracy (points)", True),
)
"""Claim 4 on MNIST: ``(a, b, metric, scale, what, reaches)``, each against the paper's
MNIST table (:func:`gaaf.analysis.paper.mnist_effect`); the last is the claim that GAAF reaches
dropout's accuracy."""


def claim4(groups: Groups, sensitivity: Groups | None = None) -> Verdict:
    """Claim 4 on MNIST, GAAF reaches dropout's accuracy in fewer epochs: GAAF's epochs
    against dropout's, its accuracy against the base's and dropout's, each against the
    paper's difference; then the one-seed sensitivity settings."""
    effects = [
        compare(
            f"{what}, {display(a)} - {display(b)}",
            (display(a), values(groups.get(a, []), metric, scale)),
            values(groups.get(b, []), metric, scale),
            paper.mnist_effect(a, b, metric),
            reaches=reaches,
        )
        for a, b, metric, scale, what, reaches in CLAIM4_COMPARISONS
    ]
    details = _sensitivity_claim4(sensitivity or {})
    claim = "Claim 4 on MNIST (GAAF reaches dropout's accuracy in fewer epochs)"
    return verdict(claim, effects, details)


class Reached(NamedTuple):
    """How many of a group's ``runs`` reached the speed target (``reached``)."""

    name: str
    reached: int
    runs: int


def claim4_speed(
    groups: Groups, target: float = SPEED_TARGET, relative: bool = True
) -> Verdict:
    """Claim 4's "fewer epochs" without the stopping rule: the first epoch whose
    validation accuracy reaches ``target`` (:func:`gaaf.analysis.measures.epochs_to_target`),
    GAAF against dropout and against the base, against the paper's epochs. A run that
    never reached the target leaves the comparison (the details say how many did).

    ``relative`` (the default): sizes are compared as ratios of the means (GAAF's
    epochs as a fraction of the other's, against the paper's 114 / 169), since a
    count of epochs to a target is not the paper's count of training epochs and only
    their proportion carries over; else as differences in epochs against the paper's."""
    reached = {
        name: epochs_reached(records, target) for name, records in groups.items()
    }
    effects = [
        compare(
            f"first epoch at {100 * target:g}% validation accuracy, "
            f"{display(a)} - {display(b)}",
            (display(a), reached.get(a, [])),
            reached.get(b, []),
            paper.MNIST[a]["best_epoch"].mean / paper.MNIST[b]["best_epoch"].mean
            if relative
            else paper.mnist_effect(a, b, "best_epoch"),
            relative=relative,
        )
        for a, b in (("gaaf", "dropout"), ("gaaf", "base"))
    ]
    details = [
        Reached(name, len(reached[name]), len(records))
        for name, records in present(groups).items()
    ]
    claim = f"Claim 4, fewer epochs, measured to {100 * target:g}% validation accuracy"
    return verdict(claim, effects, details)


def claim4_cnn(groups: Groups, datasets: Sequence[str]) -> Verdict:
    """Claim 4 on CNNs: per dataset, GAAF's gain over the base CNN and batch norm +
    GAAF's over batch norm (test accuracy, points), against the paper's gains
    (:func:`gaaf.analysis.paper.cnn_gains`); a dataset the paper did not use is reported, not
    judged."""
    effects = []
    for dataset in datasets:
        ours = dataset_groups(groups, dataset)
        for variant in ("gaaf", "bn_gaaf"):
            reference = paper.CNN_REFERENCE[variant]
            gain = paper.cnn_gains(variant).get(dataset)
            effects.append(
                compare(
                    f"{display(dataset)}, {display(variant)} - {display(reference)} "
                    "(points)",
                    (display(variant), values(ours.get(variant, []), "test_acc", 100)),
                    values(ours.get(reference, []), "test_acc", 100),
                    gain,
                )
            )
    return verdict("Claim 4 on CNNs (GAAF adds accuracy to a CNN)", effects)
