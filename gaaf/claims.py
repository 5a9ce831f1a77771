"""The verdict on each of the paper's claims, computed from records: one word, one
sentence and the numbers in it, in one place that the chapters (and the introduction)
read.

**The verdict rule** (:func:`judge`), for one comparison ``mean(a) - mean(b)`` over seeds
against the paper's effect in the same comparison:

* *not tested*: either side has fewer than 2 records (no spread to judge by);
* *supported*: the 95% Welch interval excludes 0 on the paper's side, and the effect is
  at least half the paper's (where the paper gives a size; a ratio effect is compared
  as ``ratio - 1``);
* *partly supported*: only the direction holds, either resolved (the interval excludes
  0 on the paper's side but the effect is under half the paper's) or not (the mean
  difference lies on the paper's side but the interval contains 0);
* *not supported*: the interval excludes 0 against the paper, or it contains 0 with the
  mean difference on the other side from the paper's (the paper's direction is not
  found).

The rule judges a direction and a lower bound on size: an effect larger than the
paper's, in its direction, is *supported*. Where the paper claims that one model
*reaches* another (GAAF reaches dropout's accuracy), its own small difference (GAAF 0.05
points below dropout) is the shortfall it calls reaching, not an effect to reproduce: a
larger shortfall is no agreement. Such a comparison is judged by the same rule on
``mean(a) - mean(b) + |paper's difference|``, direction up, no size: *supported* when
our interval lies above the paper's shortfall, *partly supported* when our mean does but
the interval reaches below it, *not supported* when our mean falls further below.

A claim is as strong as its comparisons (:func:`combine`): *supported* when every tested
comparison is, *not supported* when every tested one is not, *not tested* when none is
tested, else *partly supported*; the sentence says how many were tested. Comparisons
the paper did not make (GAAF's effect on correlations, for instance) are reported with
their numbers, marked *not in the paper*, and do not enter the verdict.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable, Sequence
from typing import NamedTuple

from gaaf import paper
from gaaf.figures.style import display
from gaaf.runs import NOT_RUN
from gaaf.stats import (
    Groups,
    Interval,
    LayerValue,
    SeedPairs,
    dataset_groups,
    flow_value,
    layer_count,
    present,
    probe_value,
    ratio_of_means,
    seed_pairs,
    shortest_run,
    values,
    welch,
)
from gaaf.tables import signed

__all__ = [
    "NOT_IN_PAPER",
    "NOT_SUPPORTED",
    "NOT_TESTED",
    "PARTLY",
    "SUPPORTED",
    "Effect",
    "Verdict",
    "claim1",
    "claim2",
    "claim3",
    "claim4",
    "claim4_cnn",
    "combine",
    "compare",
    "judge",
]

SUPPORTED = "supported"
PARTLY = "partly supported"
NOT_SUPPORTED = "not supported"
NOT_TESTED = "not tested"
NOT_IN_PAPER = "not in the paper"
"""The word of a comparison the paper did not make; it does not enter a verdict."""


def judge(
    interval: Interval | None, size: float, paper_size: float | None, direction: int
) -> str:
    """The verdict rule (see the module docstring) for one comparison: ``interval`` of
    the difference (None: fewer than 2 seeds on a side), our effect ``size`` and the
    paper's ``paper_size`` (None: the paper gives only a direction), on the same scale,
    and the paper's ``direction`` (+1 or -1)."""
    if interval is None:
        return NOT_TESTED
    if interval.excludes_zero():
        if direction * interval.low <= 0 and direction * interval.high <= 0:
            return NOT_SUPPORTED
        if paper_size is not None and abs(size) < 0.5 * abs(paper_size):
            return PARTLY
        return SUPPORTED
    return PARTLY if direction * interval.diff > 0 else NOT_SUPPORTED


class Effect(NamedTuple):
    """One comparison ``a - b`` over seeds, with the paper's and the verdict word."""

    what: str
    """What is compared, e.g. ``"test accuracy (points), GAAF - dropout"``."""
    a: str
    """The display name of side ``a`` (for "GAAF higher in ... seed pairs")."""
    n: tuple[int, int]
    """Records (seeds) on each side."""
    diff: float | None
    """``mean(a) - mean(b)`` (None: a side has no record)."""
    ratio: float | None
    """``mean(a) / mean(b)``."""
    interval: Interval | None
    """The 95% Welch interval of ``diff`` (None: a side has fewer than 2 records)."""
    pairs: SeedPairs | None
    paper: float | None
    """The paper's effect, a difference (or with ``relative`` a ratio)."""
    relative: bool
    """Sizes are compared as ``ratio - 1`` (our ``ratio`` against ``paper``)."""
    word: str
    reaches: bool = False
    """The paper claims that ``a`` reaches ``b``, ``paper`` being the shortfall it calls
    reaching."""


def compare(
    what: str,
    a: tuple[str, Sequence[float]],
    b: Sequence[float],
    paper_effect: float | None = None,
    *,
    direction: int | None = None,
    relative: bool = False,
    reaches: bool = False,
) -> Effect:
    """The :class:`Effect` of ``a = (display name, values)`` against the values ``b``,
    judged by :func:`judge` against ``paper_effect`` (its sign is the paper's direction)
    or, where the paper gives none, ``direction`` alone; with neither, the comparison
    is not the paper's (:data:`NOT_IN_PAPER`). ``reaches``: the paper claims that ``a``
    reaches ``b``, with ``paper_effect`` the shortfall it calls reaching (see the
    module docstring)."""
    name, va = a
    diff = statistics.fmean(va) - statistics.fmean(b) if va and b else None
    ratio = ratio_of_means(va, b)
    interval = welch(va, b) if va and b else None
    pairs = seed_pairs(va, b) if va and b else None
    if relative:  # sizes as ratio - 1
        size = 0.0 if ratio is None else ratio - 1
        theirs = None if paper_effect is None else paper_effect - 1
    else:
        size, theirs = diff or 0.0, paper_effect
    if reaches:  # not further below than the paper's own shortfall
        slack = abs(paper_effect or 0.0)
        shifted = (
            None
            if interval is None
            else interval._replace(
                diff=interval.diff + slack,
                low=interval.low + slack,
                high=interval.high + slack,
            )
        )
        word = judge(shifted, size + slack, None, +1)
    elif theirs is None and direction is None:
        word = NOT_IN_PAPER
    else:
        sign = direction if direction is not None else (1 if (theirs or 0) > 0 else -1)
        word = judge(interval, size, theirs, sign)
    return Effect(
        what,
        name,
        (len(va), len(b)),
        diff,
        ratio,
        interval,
        pairs,
        paper_effect,
        relative,
        word,
        reaches,
    )


def _paper_text(e: Effect) -> str:
    if e.paper is None:
        return ""
    if e.reaches:
        where = "not below it"
        if e.interval is not None and e.interval.high < e.paper:
            where = "our interval lies below it"
        elif e.diff is not None and e.diff < e.paper:
            where = "our mean lies below it"
        return f"; the paper: {signed(e.paper)}, which it calls reaching ({where})"
    return (
        f"; the paper: x{e.paper:.2f}"
        if e.relative
        else f"; the paper: {signed(e.paper)}"
    )


def _line(e: Effect) -> str:
    """One Markdown bullet: the numbers of ``e`` and its word."""
    if e.diff is None:
        return f"- {e.what}: {NOT_RUN}."
    text = f"- {e.what}: {signed(e.diff)}"
    if e.relative and e.ratio is not None:
        text += f" (x{e.ratio:.2f})"
    seeds = f"{e.n[0]} vs {e.n[1]} seeds"
    if e.interval is None:
        text += f" ({seeds}: an interval needs at least 2 per side)"
    else:
        i = e.interval
        resolved = "excludes 0" if i.excludes_zero() else "contains 0 (not resolved)"
        text += (
            f", 95% interval [{signed(i.low)}, {signed(i.high)}] {resolved} "
            f"({seeds}; {e.a} {e.pairs})"
        )
    return text + _paper_text(e) + f": *{e.word}*."


def combine(effects: Sequence[Effect]) -> str:
    """A claim's word from its comparisons' (see the module docstring)."""
    words = [e.word for e in effects if e.word not in (NOT_IN_PAPER, NOT_TESTED)]
    if not words:
        return NOT_TESTED
    if all(w == SUPPORTED for w in words):
        return SUPPORTED
    if all(w == NOT_SUPPORTED for w in words):
        return NOT_SUPPORTED
    return PARTLY


class Verdict(NamedTuple):
    """A claim's verdict: its ``word``, a ``sentence`` that states it with the counts it
    rests on, the comparisons (``numbers``) and further measured statements
    (``details``, e.g. one-seed sensitivity runs, which no interval can judge)."""

    claim: str
    word: str
    sentence: str
    numbers: tuple[Effect, ...]
    details: tuple[str, ...] = ()

    def markdown(self) -> str:
        """The sentence, then one bullet per comparison and per detail."""
        return "\n".join([self.sentence, "", *map(_line, self.numbers), *self.details])


def _verdict(
    claim: str, effects: Sequence[Effect], details: Sequence[str] = ()
) -> Verdict:
    judged = [e for e in effects if e.word != NOT_IN_PAPER]
    tested = [e for e in judged if e.word != NOT_TESTED]
    word = combine(effects)
    counts = ", ".join(
        f"{sum(e.word == w for e in tested)} {w}"
        for w in (SUPPORTED, PARTLY, NOT_SUPPORTED)
        if any(e.word == w for e in tested)
    )
    sentence = f"**{claim}: {word}.** {len(tested)} of {len(judged)} comparisons tested"
    sentence += f" ({counts})." if counts else "."
    return Verdict(claim, word, sentence, tuple(effects), tuple(details))


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


def _sensitivity_lines(sensitivity: Groups, value: LayerValue, what: str) -> list[str]:
    """For each sensitivity setting and model (one seed each): in how many layers mean
    ``value`` is above the same setting's base."""
    lines = []
    shown = {n: rs for n, rs in present(sensitivity).items() if ": " in n}
    for name, records in shown.items():
        setting, model = name.split(": ", 1)
        base = shown.get(f"{setting}: base")
        if model == "base" or not base:
            continue
        layers = len(records[0]["config"]["widths"])
        ratios = [
            ratio_of_means([value(r, k) for r in records], [value(r, k) for r in base])
            for k in range(layers)
        ]
        higher = sum(r is not None and r > 1 for r in ratios)
        shown_ratios = ", ".join(f"x{r:.2f}" for r in ratios if r is not None)
        lines.append(
            f"- {what}, {display(name)} / base ({len(records)} vs {len(base)} seeds): "
            f"higher in {higher} of {layers} layers ({shown_ratios}, layer 1 first)."
        )
    return lines


def _direction_only(direction: int) -> Callable[[int], tuple[None, int]]:
    return lambda k: (None, direction)


def claim1(groups: Groups, sensitivity: Groups | None = None) -> Verdict:
    """Claim 1, dropout does not avoid co-adaptation: the mean ``|correlation|`` between
    a layer's units is higher with dropout than without, in every hidden layer (the
    paper shows histograms, no size)."""
    value = probe_value("correlations", "mean_abs")
    what = "mean |correlation|"
    effects = _layer_effects(groups, value, what, {"dropout": _direction_only(+1)})
    details = _sensitivity_lines(sensitivity or {}, value, what)
    return _verdict(
        "Claim 1 (dropout raises the correlation between units)", effects, details
    )


def claim2(groups: Groups, sensitivity: Groups | None = None) -> Verdict:
    """Claim 2, dropout pushes gradient through: the mean ``|dL/dz|`` per hidden layer,
    over all iterations as the paper measures it, with dropout over without, against
    the paper's ratios (:func:`gaaf.paper.gradient_flow_ratios`). The same over the
    epochs every run has, and the sensitivity runs, are reported beside it."""
    ratios = paper.gradient_flow_ratios()
    judged = {"dropout": lambda k: (ratios[k], None)}
    effects = _layer_effects(
        groups, flow_value("dz"), "|dL/dz|, all iterations", judged
    )
    shown = present(groups)
    details: list[str] = []
    if "base" in shown:
        epochs = shortest_run(shown)
        matched = f"|dL/dz|, first {epochs} epochs"
        extra = _layer_effects(groups, flow_value("dz", epochs), matched, {})
        details += [_line(e) for e in extra]
    sens = present(sensitivity or {})
    if sens:
        sens_epochs = shortest_run(sens)
        what = f"|dL/dz|, first {sens_epochs} epochs"
        details += _sensitivity_lines(sens, flow_value("dz", sens_epochs), what)
    claim = "Claim 2 (dropout multiplies the gradient reaching each layer by about 5)"
    return _verdict(claim, effects, details)


def claim3(groups: Groups, sensitivity: Groups | None = None) -> Verdict:
    """Claim 3, dropout pushes net inputs into saturation: the fraction of ``|z| > 2``
    per hidden layer is higher with dropout (the paper shows histograms, no size), and
    whether its ratio to the base's rises with the layer ("more so in higher layers")."""
    value = probe_value("net_inputs", "saturated")
    what = "fraction of |z| > 2"
    effects = _layer_effects(groups, value, what, {"dropout": _direction_only(+1)})
    ratios = [e.ratio for e in effects if e.a == "dropout" and e.ratio is not None]
    details = []
    if len(ratios) > 1:
        rising = all(b > a for a, b in itertools.pairwise(ratios))
        shown = ", ".join(f"x{r:.2f}" for r in ratios)
        details.append(
            f"- dropout / base by layer ({shown}, layer 1 first): "
            + (
                "rises with every layer."
                if rising
                else "does not rise with every layer."
            )
        )
    details += _sensitivity_lines(sensitivity or {}, value, what)
    return _verdict(
        "Claim 3 (dropout pushes net inputs into saturation)", effects, details
    )


# ------------------------------------------------------------------------ claim 4


def _sensitivity_claim4(sensitivity: Groups) -> list[str]:
    """Per sensitivity setting: GAAF's epochs and accuracy against each dropout run's,
    and its accuracy against the base's (one seed each: counts, no intervals)."""
    by_setting: dict[str, dict[str, dict[str, float]]] = {}
    for name, records in present(sensitivity).items():
        if ": " in name:
            setting, model = name.split(": ", 1)
            by_setting.setdefault(setting, {})[model] = {
                m: statistics.fmean(values(records, m))
                for m in ("test_acc", "best_epoch")
            }
    lines = []
    for setting, models in by_setting.items():
        gaaf, base = models.get("gaaf"), models.get("base")
        drops = [v for m, v in models.items() if m.startswith("dropout")]
        if not gaaf or not drops:
            continue
        faster = sum(gaaf["best_epoch"] < d["best_epoch"] for d in drops)
        as_good = sum(gaaf["test_acc"] >= d["test_acc"] for d in drops)
        vs_base = (
            f"; GAAF {100 * (gaaf['test_acc'] - base['test_acc']):+.2f} points vs base"
            if base
            else ""
        )
        lines.append(
            f"- sensitivity setting {setting}: GAAF converged in fewer epochs than "
            f"{faster} of {len(drops)} dropout runs, and was at least as accurate as "
            f"{as_good} of {len(drops)}{vs_base}."
        )
    return lines


CLAIM4_COMPARISONS = (
    ("gaaf", "dropout", "best_epoch", 1, "epochs to converge", False),
    ("gaaf", "base", "test_acc", 100, "test accuracy (points)", False),
    ("gaaf", "dropout", "test_acc", 100, "test accuracy (points)", True),
)
"""Claim 4 on MNIST: ``(a, b, metric, scale, what, reaches)``, each against the paper's
MNIST table (:func:`gaaf.paper.mnist_effect`); the last is the claim that GAAF reaches
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
    return _verdict(claim, effects, details)


def claim4_cnn(groups: Groups, datasets: Sequence[str]) -> Verdict:
    """Claim 4 on CNNs: per dataset, GAAF's gain over the base CNN and batch norm +
    GAAF's over batch norm (test accuracy, points), against the paper's gains
    (:func:`gaaf.paper.cnn_gains`); a dataset the paper did not use is reported, not
    judged."""
    effects = []
    for dataset in datasets:
        ours = dataset_groups(groups, dataset)
        for variant in ("gaaf", "bn_gaaf"):
            reference = paper.CNN_REFERENCE[variant]
            gain = paper.cnn_gains(variant).get(dataset)
            effects.append(
                compare(
                    f"{dataset}, {display(variant)} - {display(reference)} (points)",
                    (display(variant), values(ours.get(variant, []), "test_acc", 100)),
                    values(ours.get(reference, []), "test_acc", 100),
                    gain,
                )
            )
    return _verdict("Claim 4 on CNNs (GAAF adds accuracy to a CNN)", effects)
