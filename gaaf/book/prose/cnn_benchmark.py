"""The convolutional chapter's own tables and sentences: what the CPU-scale
Fashion-MNIST runs, the learning-rate pilot and the shift sweep show, and a plain word
for the datasets that could not be obtained.

Accuracies in percent keep two decimals, as in :mod:`gaaf.book.tables`; a cell with no
record says :data:`gaaf.experiments.runs.NOT_RUN`.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence
from typing import Any

from gaaf.analysis.paper import CNN_REFERENCE, cnn_gains
from gaaf.analysis.stats import Record, dataset_groups, values, welch
from gaaf.book.formatting import interval
from gaaf.book.tables import Table, mean_std
from gaaf.experiments.labels import DATASETS, GroupKey, display
from gaaf.experiments.plans import CNN_LR_PILOT, CNN_VARIANTS, DEFAULT_SHIFT
from gaaf.experiments.runs import NOT_RUN, Runs

__all__ = [
    "CHANCE",
    "CPU_SCALE",
    "KOBISO_CIFAR10",
    "describe",
    "difference",
    "fair_sentence",
    "pilot_sentence",
    "pilot_table",
    "recoveries",
    "seed_table",
    "shift_sentence",
    "shift_table",
    "spread_sentence",
]

CHANCE = 10.0
"""The accuracy, in percent, that guessing gets on a 10-class dataset. A run that ends
within a point of it did not train."""

KOBISO_CIFAR10: dict[str, float] = {
    "relu": 80.84,
    "5": 65.17,
    "4": 69.24,
    "3": 70.42,
    "2": 74.41,
    "1": 78.00,
    "0": 78.86,
    "-0.5": 79.45,
    "-1": 79.48,
    "-2": 78.00,
    "-3": 77.68,
    "-4": 77.33,
}
"""CIFAR-10 test accuracy (%), not the paper's, of ResNet-20 with ReLU and with
GAAF-ReLU at each of its ``shift`` settings, one run each (Adam, learning rate 0.001,
200 epochs), from the README of the Keras implementation kobiso/GAAF-keras
(github.com/kobiso/GAAF-keras, "Test Results"). Its shift parameter need not have our
sign or scale; what carries over is the spread over shifts."""


def describe(runs: Runs, scale: str | None = None) -> str:
    """:meth:`gaaf.experiments.runs.Runs.describe`, with ``scale`` (if given) naming what the full
    profile's records are (the CPU-scale plans are not the paper's scale), the list of
    groups without records left out where none has one, and the reason a dataset could
    not be loaded (a download error) replaced by one sentence naming the datasets."""
    if runs.found == 0:
        text = f"None of the {runs.total} planned runs has a record."
    else:
        shown = dataclasses.replace(runs, unavailable={})
        text = shown.describe(scale) if scale is not None else shown.describe()
    if not runs.unavailable:
        return text
    names = [DATASETS.get(d, d) for d in runs.unavailable]
    listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    return (
        f"{text} {listed} {'are' if len(names) > 1 else 'is'} not available offline on "
        "the machine that ran this page (torchvision downloads them where the internet "
        f'is reachable, on Colab for instance); their cells say "{NOT_RUN}".'
    )


CPU_SCALE = "the CPU scale (full profile, Fashion-MNIST, channels 16/32/64)"
"""How :func:`describe` names the records of the CPU-scale plans."""


def difference(a: Sequence[float], b: Sequence[float]) -> str:
    """``mean(a) - mean(b)`` with its 95% Welch interval where each side has 2 seeds or
    more: ``"+1.95 [+0.8, +3.1]"``; ``NOT_RUN`` where a side is empty."""
    if not (a and b):
        return NOT_RUN
    diff = statistics.fmean(a) - statistics.fmean(b)
    found = welch(a, b)
    if found is None:
        return f"{diff:+.2f} (no interval: 1 seed)"
    return f"{diff:+.2f} {interval(found.low, found.high)}"


def seed_table(runs: Runs, dataset: str = "fashion_mnist") -> Table:
    """The four CNN variants on ``dataset`` over seeds: runs found of those planned,
    test accuracy (%) as mean (std), and the change against the variant's reference in
    the paper's table (:data:`gaaf.analysis.paper.CNN_REFERENCE`) with its 95% interval."""
    ours = dataset_groups(runs.groups, dataset)
    headers = ["model", "runs", "test acc. (%)", "change [95% interval]"]
    rows = []
    for variant in CNN_VARIANTS:
        found = values(ours.get(variant, []), "test_acc", 100)
        planned = runs.planned.get(GroupKey(variant, dataset=dataset), 0)
        ref = CNN_REFERENCE.get(variant)
        change = "" if ref is None else f"vs {display(ref)}: "
        change += (
            difference(found, values(ours.get(ref, []), "test_acc", 100))
            if ref
            else "(reference)"
        )
        rows.append(
            [display(variant), f"{len(found)} of {planned}", mean_std(found, 2), change]
        )
    return headers, rows


def _pilot_cell(runs: Runs, group: str) -> str:
    if group in runs.diverged:
        return f"diverged (epoch {runs.diverged[group][0]['diverged']['epoch']})"
    found = values(runs.groups.get(group, []), "val_acc", 100)
    return f"{found[0]:.2f}" if found else NOT_RUN


def pilot_table(runs: Runs) -> Table:
    """The learning-rate pilot (:func:`gaaf.experiments.plans.cnn_lr_pilot`): one row per learning
    rate, one column per variant, the best validation accuracy (%) of the 2 epochs, or
    "diverged" and the epoch where the loss stopped being finite."""
    headers = ["learning rate", *map(display, CNN_VARIANTS)]
    rows = [
        [f"{lr:g}", *(_pilot_cell(runs, GroupKey.at_rate(v, lr)) for v in CNN_VARIANTS)]
        for lr in CNN_LR_PILOT
    ]
    return headers, rows


def pilot_sentence(runs: Runs, chance: float = CHANCE) -> str:
    """Which variants diverged or stayed at ``chance`` validation accuracy (%, within
    a point) at which learning rates, in one sentence."""
    bad: dict[str, dict[str, list[str]]] = {}
    for v in CNN_VARIANTS:
        for lr in CNN_LR_PILOT:
            group = GroupKey.at_rate(v, lr)
            acc = values(runs.groups.get(group, []), "val_acc", 100)
            if group in runs.diverged:
                what = "diverged"
            elif acc and _at_chance(acc[0], chance):
                what = "stayed at chance"
            else:
                continue
            bad.setdefault(display(v), {}).setdefault(what, []).append(f"{lr:g}")
    if not bad:
        return (
            "Every variant with a record trained at every learning rate of the pilot."
        )
    parts = [
        f"{name} " + " and ".join(f"{w} at {', '.join(lrs)}" for w, lrs in what.items())
        for name, what in bad.items()
    ]
    others = [display(v) for v in CNN_VARIANTS if display(v) not in bad]
    text = "In the pilot, " + "; ".join(parts) + "."
    if others:
        names = ", ".join(others)
        text += (
            f" {names[0].upper()}{names[1:]} trained at every learning rate that has"
        )
        text += " a record."
    return text


def _at_chance(accuracy: float, chance: float = CHANCE) -> bool:
    """Whether an accuracy (%) lies within a point of ``chance``: the run did not
    train."""
    return accuracy < chance + 1


def _failures(runs: Runs, group: str) -> tuple[int, int]:
    """How many of a group's runs failed to train (diverged, or ended with a test
    accuracy at chance), and how many runs it has."""
    found = values(runs.groups.get(group, []), "test_acc", 100)
    diverged = len(runs.diverged.get(group, []))
    return diverged + sum(map(_at_chance, found)), len(found) + diverged


def shift_table(runs: Runs) -> Table:
    """The shift sweep (:func:`gaaf.experiments.plans.cnn_shift_sweep`): per shift, the runs that
    failed to train (diverged or at chance), test accuracy (%) as mean (std) of the
    runs with a result, and the difference from the default shift with its 95%
    interval."""
    groups = runs.groups
    default = values(groups.get(DEFAULT_SHIFT, []), "test_acc", 100)
    headers = ["shift", "failed", "test acc. (%)", "vs default [95% interval]"]
    rows = []
    for name, records in groups.items():
        found = values(records, "test_acc", 100)
        against = "(reference)" if name == DEFAULT_SHIFT else difference(found, default)
        failed, total = _failures(runs, name)
        rows.append(
            [
                name.removeprefix("shift "),
                f"{failed} of {total}",
                mean_std(found, 2),
                against,
            ]
        )
    return headers, rows


def shift_sentence(runs: Runs) -> str:
    """Whether test accuracy depends on the shift, in words computed from the sweep:
    *depends* when some shift's 95% interval against the default excludes 0, *no
    dependence resolved* when every interval contains 0, *not tested* when no shift
    has 2 seeds on both sides; then how many runs of each shift failed to train, the
    spread of the means, and beside it the spread over shifts of the single CIFAR-10
    runs of :data:`KOBISO_CIFAR10`."""
    groups = runs.groups
    default = values(groups.get(DEFAULT_SHIFT, []), "test_acc", 100)
    means, resolved, tested = {}, [], 0
    for name, records in groups.items():
        found = values(records, "test_acc", 100)
        if found:
            means[name.removeprefix("shift ")] = statistics.fmean(found)
        if name == DEFAULT_SHIFT or not (found and default):
            continue
        interval = welch(found, default)
        if interval is not None:
            tested += 1
            if interval.excludes_zero():
                resolved.append(name.removeprefix("shift "))
    theirs = [a for k, a in KOBISO_CIFAR10.items() if k != "relu"]
    spread = (
        f"kobiso/GAAF-keras's single CIFAR-10 runs spanned {max(theirs) - min(theirs):.1f} "
        f"points over its shifts (from {min(theirs):.2f} to {max(theirs):.2f})"
    )
    if tested == 0:
        return (
            f"**Not tested yet**: no shift has 2 seeds beside the default's "
            f"({runs.found} of the sweep's runs have records). For comparison, {spread}."
        )
    if resolved:
        text = (
            f"**Accuracy depends on the shift**: at shift {', '.join(resolved)} the 95% "
            f"interval against the default excludes 0 ({len(resolved)} of the "
            f"{tested} shifts compared)."
        )
    else:
        text = (
            f"**No dependence on the shift resolved**: all {tested} intervals against "
            "the default contain 0."
        )
    failures = {name.removeprefix("shift "): _failures(runs, name) for name in groups}
    if any(failed for failed, _ in failures.values()):
        counts = "; ".join(f"{n}: {f} of {t}" for n, (f, t) in failures.items())
        text += (
            f" Runs that failed to train (diverged, or within a point of chance, "
            f"{CHANCE:.0f}%), by shift: {counts}. A mean over seeds then mixes runs "
            "that trained with runs that did not, and says less than these counts."
        )
    low, high = min(means, key=means.get), max(means, key=means.get)
    return (
        f"{text} Our means span {means[high] - means[low]:.2f} points (shift {low}: "
        f"{means[low]:.2f}, shift {high}: {means[high]:.2f}); {spread}."
    )


def spread_sentence(runs: Runs, dataset: str = "fashion_mnist") -> str:
    """The paper's CNN gains (:func:`gaaf.analysis.paper.cnn_gains`, GAAF and batch norm
    + GAAF) beside the standard deviation over seeds of each of our variants on
    ``dataset``: for the most and the least spread variant, how many of the paper's
    gains its standard deviation exceeds."""
    gains = [g for v in ("gaaf", "bn_gaaf") for g in cnn_gains(v).values()]
    ours = dataset_groups(runs.groups, dataset)
    stds = {
        v: statistics.stdev(found)
        for v in CNN_VARIANTS
        if len(found := values(ours.get(v, []), "test_acc", 100)) >= 2
    }
    text = (
        f"The paper's gains from GAAF range from {min(gains):+.2f} to {max(gains):+.2f} "
        f"points ({len(gains)} single runs)"
    )
    if not stds:
        return text + "; no variant here has 2 seeds to measure a spread by."

    def exceeds(v: str) -> str:
        n = sum(g < stds[v] for g in gains)
        what = {0: "none of them", len(gains): f"all {len(gains)} of them"}.get(
            n, f"{n} of the {len(gains)}"
        )
        return f"{display(v)}'s {stds[v]:.2f} points exceeds {what}"

    widest = max(stds, key=stds.__getitem__)
    narrowest = min(stds, key=stds.__getitem__)
    spread = exceeds(widest)
    if narrowest != widest:
        spread += f", while {exceeds(narrowest)}"
    largest = sum(g < stds[widest] for g in gains)
    verdict = (
        "one run per cell, as the paper has, cannot tell such a gain from the spread "
        "between seeds of the least stable variant."
        if largest
        else "each of them is larger than the spread between our seeds."
    )
    return (
        f"{text}. The standard deviation over seeds of a variant here: {spread}; "
        f"{verdict}"
    )


def recoveries(
    records: Sequence[Record], chance: float = CHANCE
) -> list[tuple[int, int]]:
    """Runs that sat at chance and recovered: per such run, its seed and the number of
    epochs its validation accuracy stayed within a point of ``chance`` (%) before it
    rose above it."""
    found = []
    for r in records:
        accs = [100 * e["val_acc"] for e in r["history"]]
        stuck = next((i for i, a in enumerate(accs) if not _at_chance(a, chance)), None)
        if stuck:  # at chance for the first `stuck` epochs, then trained
            found.append((r["config"]["seed"], stuck))
    return found


def fair_sentence(grid: Any, fair: Runs, single: Runs | None = None) -> str:
    """The CNN variants each at its own learning rate (chosen on validation), in words:
    the rates, the gains the paper reports (on Fashion-MNIST, not in the paper, so
    reported with their intervals) beside the same gains at one rate for all
    (``single``: groups ``"fashion_mnist: <variant>"``), and the runs that sat at
    chance before training."""
    rates = (
        ", ".join(f"{display(v)} {lr:g}" for v, lr in grid.rates.items()) or "none yet"
    )
    lines = [f"Each variant at its own learning rate, chosen on validation: {rates}."]
    one = {
        k.removeprefix("fashion_mnist: "): v
        for k, v in (single.groups if single else {}).items()
    }
    for a, b in (("gaaf", "base"), ("bn", "base"), ("bn_gaaf", "bn")):
        va = values(fair.groups.get(a, []), "test_acc", 100)
        vb = values(fair.groups.get(b, []), "test_acc", 100)
        text = f"{display(a)} - {display(b)}: {difference(va, vb)} points"
        if one:
            sa = values(one.get(a, []), "test_acc", 100)
            sb = values(one.get(b, []), "test_acc", 100)
            text += f" (at one rate for all: {difference(sa, sb)})"
        lines.append(text + ".")
    slow = {
        display(v): found for v, rs in fair.groups.items() if (found := recoveries(rs))
    }
    for name, found in slow.items():
        listed = ", ".join(
            f"seed {s} for {e} epoch{'s' if e > 1 else ''}" for s, e in found
        )
        lines.append(f"{name} sat at chance before it trained ({listed}).")
    return " ".join(lines)
