"""The sentences of the co-adaptation and gradient-flow chapters that depend on the
records, computed from them (so a rerun with other results cannot leave the text
wrong): a verdict in brief, how a per-layer measure changes with dropout, the shape of
the saturated fraction over layers, and where dropout's extra gradient comes from.

Verdict words come from :mod:`gaaf.analysis.claims` (the rule: :mod:`gaaf.analysis.verdicts`); this
module only says them with their numbers.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence

from gaaf.analysis import paper
from gaaf.analysis.claims import (
    FLOW_NAMES,
    claim2,
    claim3,
    paper_quantity,
    sensitivity_ratios,
    slope_mechanism,
)
from gaaf.analysis.fairness import flatness_verdict, noise_slope_verdict
from gaaf.analysis.matched_loss import claim2_matched, judged_loss
from gaaf.analysis.measures import slope_factor
from gaaf.analysis.stats import (
    Groups,
    LayerValue,
    Record,
    flow_value,
    layer_count,
    present,
    probe_value,
    ratio_of_means,
    shortest_run,
    welch,
)
from gaaf.analysis.verdicts import NOT_IN_PAPER, SUPPORTED, Verdict
from gaaf.book.formatting import listed
from gaaf.book.tables import number
from gaaf.experiments.data import DATASETS
from gaaf.experiments.labels import GroupKey, display

__all__ = [
    "FLAT",
    "brief",
    "flat_brief",
    "gradient_flow_verdict",
    "layer_change",
    "layer_ratios",
    "matched_reading",
    "probe_caveat",
    "profile",
    "saturation_reading",
    "seed_counts",
    "sensitivity_count",
    "sensitivity_sentence",
    "slope_epochs",
    "slope_reading",
    "times",
]


def times(ratios: Sequence[float | None]) -> str:
    """Ratios as multipliers, layer 1 first: ``"×1.06, ×1.15 and ×1.14"``."""
    return listed(["n/a" if r is None else f"×{number(r)}" for r in ratios])


def seed_counts(groups: Groups) -> str:
    """How many seeds the groups have: ``"5 seeds each"``, or per group where they
    differ (``"5 (base), 4 (dropout) and 5 (GAAF) seeds"``)."""
    shown = present(groups)
    counts = {name: len(records) for name, records in shown.items()}
    if len(set(counts.values())) == 1:
        n = next(iter(counts.values()))
        return f"{n} seed{'s' if n != 1 else ''} each"
    return listed([f"{n} ({display(name)})" for name, n in counts.items()]) + " seeds"


def _seeds(n: tuple[int, int]) -> str:
    return f"{n[0]} vs {n[1]} seeds"


def brief(v: Verdict, label: str, what: str) -> str:
    """A verdict in one sentence: ``label`` and the word, then its judged comparisons'
    ratios (``what``, layer 1 first), the seeds, how many 95% intervals exclude 0 and
    the paper's ratios where it gives them."""
    judged = [e for e in v.numbers if e.word != NOT_IN_PAPER]
    text = f"**{label}: *{v.word}*.**"
    if not judged or any(e.ratio is None for e in judged):
        return text + " Not measured here."
    tested = [e for e in judged if e.interval is not None]
    excluding = sum(
        e.interval is not None and e.interval.excludes_zero() for e in tested
    )
    seeds = listed(sorted({_seeds(e.n) for e in judged}))
    text += (
        f" {what}: {times([e.ratio for e in judged])} (layer 1 first; {seeds}; the 95% "
        f"interval of the difference excludes 0 in {excluding} of {len(judged)})"
    )
    papers = [e.paper for e in judged if e.paper is not None]
    if len(papers) == len(judged):
        shown = [p if e.relative else None for p, e in zip(papers, judged, strict=True)]
        text += f"; the paper: {times(shown)}"
    return text + "."


def layer_ratios(
    groups: Groups, value: LayerValue, other: str, base: str = "base"
) -> tuple[list[float | None], int, tuple[int, int]]:
    """Per layer: mean ``value`` of ``other`` over the base's; how many 95% intervals
    of the difference exclude 0; the seeds on each side."""
    a, b = groups.get(other) or [], groups.get(base) or []
    ratios, excluding = [], 0
    for k in range(layer_count(groups)):
        va, vb = [value(r, k) for r in a], [value(r, k) for r in b]
        ratios.append(ratio_of_means(va, vb))
        interval = welch(va, vb) if va and vb else None
        excluding += interval is not None and interval.excludes_zero()
    return ratios, excluding, (len(a), len(b))


def _where(ratios: Sequence[float | None]) -> str:
    """``"higher in every layer"``, ``"lower in every layer"``, ``"higher in 2 of 3
    layers"``."""
    known = [r for r in ratios if r is not None]
    higher = sum(r > 1 for r in known)
    if known and higher == len(known):
        return "higher in every layer"
    if known and not any(r >= 1 for r in known):
        return "lower in every layer"
    return f"higher in {higher} of {len(ratios)} layers"


def layer_change(
    groups: Groups, value: LayerValue, what: str, other: str = "dropout"
) -> str:
    """``"<what> is higher with dropout than without in every layer (x1.06, ...,
    layer 1 first; 5 vs 5 seeds, the 95% interval of the difference excludes 0 in 3 of
    3)"``, from the records; "with GAAF than without" for ``other="gaaf"``."""
    ratios, excluding, n = layer_ratios(groups, value, other)
    if not n[0] or not n[1]:
        return f"{what} with {display(other)} against without is not measured here"
    where = _where(ratios).replace(
        " in ", f" with {display(other)} than without in ", 1
    )
    return (
        f"{what} is {where} ({times(ratios)}, layer 1 first; {_seeds(n)}, the 95% "
        f"interval of the difference excludes 0 in {excluding} of {len(ratios)})"
    )


def sensitivity_count(sensitivity: Groups, value: LayerValue, model: str = "dropout"):
    """Over the one-seed sensitivity settings: ``(higher, total, lowest ratio)``, how
    many (setting, ``model`` variant, layer) comparisons with the same setting's base
    are higher, and the lowest ratio (None where nothing was run)."""
    ratios = [
        r
        for found in sensitivity_ratios(sensitivity, value)
        if GroupKey.parse(found.name).variant.startswith(model)
        for r in found.ratios
        if r is not None
    ]
    return sum(r > 1 for r in ratios), len(ratios), min(ratios, default=None)


def sensitivity_sentence(sensitivity: Groups, value: LayerValue) -> str:
    """What the one-seed sensitivity runs say of dropout's effect on ``value``, as a
    clause (:func:`sensitivity_count`)."""
    higher, total, lowest = sensitivity_count(sensitivity, value)
    if not total:
        return "no sensitivity runs have records"
    return (
        f"in the one-seed sensitivity runs dropout raised it in {higher} of {total} "
        f"layer comparisons (lowest ratio ×{number(lowest)})"
    )


# ------------------------------------------------------------------- saturation

FLAT = 0.1
"""A per-layer profile is *flat* when its range is at most this fraction of its mean."""


def profile(series: Sequence[float], flat: float = FLAT) -> str:
    """The shape of a per-layer series: ``"rises with the layer"``, ``"falls with the
    layer"``, ``"is flat across layers"`` (range within ``flat`` of the mean) or
    ``"varies across layers"``."""
    mean = statistics.fmean(series)
    if max(series) - min(series) <= flat * abs(mean):
        return "is flat across layers"
    if all(b > a for a, b in itertools.pairwise(series)):
        return "rises with the layer"
    if all(b < a for a, b in itertools.pairwise(series)):
        return "falls with the layer"
    return "varies across layers"


def _percent(fractions: Sequence[float]) -> str:
    return listed([f"{number(100 * f)}%" for f in fractions])


def saturation_reading(groups: Groups, value: LayerValue) -> str:
    """The saturated fraction's shape over layers with and without dropout and of
    their ratio, and what that makes of "more so in higher layers"."""
    shown = present(groups)
    if "base" not in shown or "dropout" not in shown:
        return "Not measured here: the base or the dropout network has no records."
    layers = layer_count(shown)
    mean = {
        name: [
            statistics.fmean(value(r, k) for r in shown[name]) for k in range(layers)
        ]
        for name in ("base", "dropout")
    }
    ratios = [d / b for d, b in zip(mean["dropout"], mean["base"], strict=True)]
    shapes = {name: profile(m) for name, m in mean.items()}
    ratio_shape = profile(ratios)
    if shapes["dropout"] == "rises with the layer":
        holds = "holds in the fraction itself"
    elif ratio_shape == "rises with the layer":
        holds = "holds only relative to the base, not in the fraction itself"
    else:
        holds = "does not hold, neither in the fraction nor relative to the base"
    return (
        f"With dropout the saturated fraction {shapes['dropout']} "
        f"({_percent(mean['dropout'])}, layer 1 first); without dropout it "
        f"{shapes['base']} ({_percent(mean['base'])}), so dropout's ratio to the base "
        f'{ratio_shape} ({times(ratios)}). "More so in higher layers" {holds}.'
    )


# ------------------------------------------------------------- the slope factor


def _mean_per_epoch(records: Sequence[Record], series, epoch: int, k: int) -> float:
    return statistics.fmean(series(r)[epoch - 1][k] for r in records)


def _dh(record: Record) -> list[list[float]]:
    return record.flow("dh")


def slope_epochs(groups: Groups, epochs: Sequence[int] = (1, 2, 5, 10)) -> list[int]:
    """The epochs of the per-epoch slope table: ``epochs`` that every run has, and the
    last epoch every run has."""
    last = shortest_run(present(groups))
    return sorted({e for e in epochs if e <= last} | {last})


def slope_reading(groups: Groups) -> str:
    """Where dropout's extra gradient comes from, per epoch: in how many of the
    epochs every run has the slope factor is lower with dropout in every layer (and
    from which epoch on), and the ranges of the slope-factor and ``|dL/dh|`` ratios
    over those epochs."""
    shown = present(groups)
    if "base" not in shown or "dropout" not in shown:
        return "Not measured here: the base or the dropout network has no records."
    last, layers = shortest_run(shown), layer_count(shown)
    factor, dh = {}, {}
    for e in range(1, last + 1):
        for k in range(layers):
            f, h = (
                [_mean_per_epoch(shown[n], s, e, k) for n in ("dropout", "base")]
                for s in (slope_factor, _dh)
            )
            factor[e, k], dh[e, k] = f[0] / f[1], h[0] / h[1]
    lower = [
        e for e in range(1, last + 1) if all(factor[e, k] < 1 for k in range(layers))
    ]
    since = next(
        (e for e in range(1, last + 1) if all(x in lower for x in range(e, last + 1))),
        None,
    )
    word = "lower" if since is not None else "not always lower"
    when = (
        f"at every epoch from epoch {since} to {last}"
        if since is not None
        else f"in every layer at {len(lower)} of the first {last} epochs"
    )
    more = all(x > 1 for x in dh.values())
    return (
        f"The slope factor is {word} with dropout than without in every layer {when} "
        f"(the epochs every run has; dropout / base {_range(factor.values())}). "
        f"Dropout's |dL/dh| is {_range(dh.values())} the base's over those epochs: "
        + (
            "the extra gradient arrives at the units' outputs, and tanh passes on a "
            "smaller share of it, not a larger one."
            if more and since is not None
            else "the records do not show one simple source of the extra gradient."
        )
    )


def _range(ratios) -> str:
    ratios = list(ratios)
    return f"×{number(min(ratios))} to ×{number(max(ratios))}"


# ------------------------------------------------------- the chapter's verdict


def gradient_flow_verdict(
    groups: Groups,
    sensitivity: Groups | None = None,
    probed: Groups | None = None,
    fair: Groups | None = None,
) -> str:
    """The gradient-flow chapter's verdict in brief, Markdown: claim 2 judged at
    matched training loss, with the paper's whole-run mean beside it, for the gradient
    the paper most plausibly measured; claim 3 with the shape of the saturated fraction
    over layers; the slope mechanism within one network (``probed``: networks with the
    masks-on/off probe) and between networks; and the flat-region claim (``fair``: the
    arms at their own learning rates, with the flatness probes)."""
    which = paper_quantity(groups)
    q = which.closest if which is not None else "dz"
    matched = claim2_matched(groups, q)
    whole = claim2(groups, sensitivity, quantity=q)
    lines = [
        brief(
            matched,
            f"Claim 2, dropout multiplies the gradient reaching each layer by about "
            f"{number(paper.GRADIENT_FLOW_FACTOR)}, at equal training loss",
            f"{FLOW_NAMES[q]}, dropout / base at training loss "
            + _matched_loss(matched),
        ),
        "",
        brief(
            whole,
            "The same over all iterations, the paper's measure (a whole-run mean of runs "
            "of different length)",
            "dropout / base",
        ),
        "",
        brief(
            claim3(groups, sensitivity),
            "Claim 3, dropout pushes net inputs into saturation",
            "fraction of |z| > 2, dropout / base",
        )
        + " "
        + saturation_reading(groups, probe_value("net_inputs", "saturated")),
        "",
    ]
    if probed is not None:
        lines += [
            brief(
                noise_slope_verdict(probed),
                "The variance mechanism within one network (the same weights, dropout "
                "masks on against off)",
                "slope factor, masks on / off",
            ),
            "",
        ]
    lines.append(
        brief(
            slope_mechanism(groups),
            "Between networks: dropout's gradient meets steeper slopes of tanh",
            f"slope factor over the first {_last(groups)} epochs, dropout / base",
        )
    )
    if fair is not None:
        lines += ["", flat_brief(fair)]
    return "\n".join(lines)


def _matched_loss(v: Verdict) -> str:
    loss = judged_loss(v)
    return "(no loss both networks passed through)" if loss is None else f"{loss:.3g}"


def flat_brief(fair: Groups) -> str:
    """The flat-region claim in one paragraph: its word, and per arm the comparisons'
    words against the base."""
    v = flatness_verdict(fair)
    tested = [e for e in v.numbers if e.diff is not None]
    if not tested:
        return (
            f"**A flat region, a more robust network: *{v.word}*.** No record of the "
            "arms at their own learning rates carries the flatness probes yet."
        )
    parts = "; ".join(f"{e.what}: {e.word}" for e in tested)
    return f"**A flat region, a more robust network: *{v.word}*.** {parts}."


def _last(groups: Groups) -> int | str:
    shown = present(groups)
    return shortest_run(shown) if shown else "n/a"


def slope_value(epochs: int) -> LayerValue:
    """The slope factor ``mean|dL/dz| / mean|dL/dh|`` of a record over its first
    ``epochs`` epochs, as a :data:`~gaaf.analysis.stats.LayerValue`."""
    dz, dh = flow_value("dz", epochs), flow_value("dh", epochs)
    return lambda r, k: dz(r, k) / dh(r, k)


def claim2_reading(groups: Groups) -> str:
    """Claim 2 read as the paper most plausibly measured it: dropout's ratio over all
    iterations and over the epochs every run has, against the paper's."""
    which = paper_quantity(groups)
    shown = present(groups)
    if which is None or "dropout" not in shown:
        return "Not measured here: the base or the dropout network has no records."
    q, last = which.closest, shortest_run(shown)
    every = layer_ratios(groups, flow_value(q), "dropout")[0]
    matched = layer_ratios(groups, flow_value(q, last), "dropout")[0]
    return (
        f"Read as the paper most plausibly measured it, as {FLOW_NAMES[q]}, dropout "
        f"multiplies the gradient reaching each hidden layer by {_range(every)} over all "
        f"iterations and by {_range(matched)} over the first {last} epochs, against the "
        f"paper's {_range(paper.gradient_flow_ratios())}."
    )


def gaaf_reading(groups: Groups) -> list[str]:
    """What GAAF does to the slope factor, ``|dL/dh|`` (over the epochs every run
    has) and the saturated fraction, against the base, as sentences."""
    shown = present(groups)
    if "gaaf" not in shown or "base" not in shown:
        return ["GAAF or the base network has no records here."]
    last = shortest_run(shown)
    measures = (
        (slope_value(last), f"the slope factor over the first {last} epochs"),
        (flow_value("dh", last), f"|dL/dh| over the first {last} epochs"),
        (probe_value("net_inputs", "saturated"), "the saturated fraction"),
    )
    return [layer_change(groups, v, what, "gaaf") for v, what in measures]


# ------------------------------------------------------------------- the runs


def constant_units(groups: Groups) -> str:
    """How many units had a constant value on the test set (left out of the
    correlations), over all groups, seeds and layers, as a sentence."""
    value = probe_value("correlations", "constant_units")
    counts = {
        name: sum(value(r, k) for r in rs for k in range(layer_count(groups)))
        for name, rs in present(groups).items()
    }
    if not any(counts.values()):
        return "No unit had a constant value on the test set, in any layer or seed."
    shown = listed([f"{number(n)} ({display(name)})" for name, n in counts.items()])
    return (
        f"Units with a constant value on the test set (left out), all seeds: {shown}."
    )


def sensitivity_settings(sensitivity: Groups) -> str:
    """What the sensitivity runs vary, read from their configs: ``"256 units per
    layer, learning rates 0.01 and 0.001, hidden dropout 0.5 and 0.25, 1 seed each"``."""
    configs = [r["config"] for rs in present(sensitivity).values() for r in rs]
    if not configs:
        return "no sensitivity runs"
    widths = listed(sorted({f"{c['widths'][0]:g}" for c in configs}))
    lrs = sorted({c["lr"] for c in configs}, reverse=True)
    rates = sorted({c["dropout_hidden"] for c in configs if c["dropout_hidden"]})
    return (
        f"{widths} units per layer, learning rates {listed([f'{x:g}' for x in lrs])}, "
        f"hidden dropout {listed([f'{x:g}' for x in rates])}, "
        f"{seed_counts(sensitivity)}"
    )


def xavier_std(record: Record, k: int) -> float:
    """The standard deviation of hidden layer ``k``'s incoming weights at Xavier
    initialization, ``sqrt(2 / (n_in + n_out))``, from the record's config."""
    config = record["config"]
    widths = config["widths"]
    n_in = math.prod(DATASETS[config["dataset"]].shape) if k == 0 else widths[k - 1]
    return math.sqrt(2 / (n_in + widths[k]))


def probe_caveat(groups: Groups, value: LayerValue, what: str) -> str:
    """What a probe of trained networks can and cannot say: the epochs each network
    trained before it was probed (at its best epoch), and whether GAAF, which has no
    noise, changes ``what`` as much as dropout (then the probe does not single out
    dropout's noise)."""
    shown = present(groups)
    if "base" not in shown or "dropout" not in shown:
        return ""
    trained = listed(
        [
            f"{statistics.fmean(r['best_epoch'] for r in rs):.0f} ({display(n)})"
            for n, rs in shown.items()
        ]
    )
    text = (
        f"The probes are taken at each network's best epoch, on average epoch "
        f"{trained}: networks trained for very different lengths."
    )
    drop = [r for r in layer_ratios(groups, value, "dropout")[0] if r]
    gaaf = [r for r in layer_ratios(groups, value, "gaaf")[0] if r]
    if drop and gaaf:
        similar = min(gaaf) - 1 >= 0.5 * (min(drop) - 1) and all(r > 1 for r in gaaf)
        text += (
            f" GAAF, which has no noise, raises {what} as much as dropout "
            f"({times(gaaf)} against {times(drop)}): the measure does not single out "
            "what dropout's noise does, so it says little about co-adaptation."
            if similar
            else f" GAAF, which has no noise, changes {what} by {times(gaaf)}, against "
            f"dropout's {times(drop)}."
        )
    return text


def matched_reading(v: Verdict) -> str:
    """What claim 2 at equal training loss (``v``, from
    :func:`gaaf.analysis.matched_loss.claim2_matched`) says about the whole-run means, one
    sentence per outcome."""
    dropout = [e.ratio for e in v.numbers if e.a == "dropout" and e.ratio is not None]
    if not dropout:
        return "At equal training loss the comparison is not measured here."
    ratios = times(dropout)
    if v.word == SUPPORTED:
        return (
            f"At equal training loss dropout still passes {ratios} the base's gradient "
            "(layer 1 first): more gradient at the same loss, as the paper's "
            "acceleration has it."
        )
    return (
        f"At equal training loss the ratio is {ratios} (layer 1 first; the verdict at "
        f"the top, *{v.word}*): dropout's larger whole-run gradients come from its "
        "higher, noisy training loss, which it never brings down, not from "
        "acceleration."
    )
