"""From records to what the chapters show: which runs a chapter uses, tables with the
paper's numbers beside ours, intervals over seeds, and the figures drawn from records.

Which records a chapter shows (:func:`runs`), by its ``profile`` parameter:

* ``smoke`` and ``full``: the configs of that profile; any without a record is trained
  (resuming an interrupted run), so re-running a chapter never redoes finished work.
* ``default`` (what the built book uses): the **full-profile records that exist**,
  without training anything, when there is at least one; the page says how many of the
  planned runs it found. Only when there is none are the default profile's reduced-scale
  configs run (and read from their records the next time), labelled as reduced scale.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from gaaf.data import DataError
from gaaf.experiments import ExperimentConfig, load_record, record_path, run
from gaaf.params import check_profile

__all__ = [
    "NOT_RUN",
    "PAPER_CNN",
    "PAPER_GRADIENT_FLOW",
    "PAPER_MNIST",
    "Runs",
    "claim1_summary",
    "claim4_summary",
    "claims23_summary",
    "cnn_table",
    "common_settings",
    "compare_seeds",
    "dataset_groups",
    "diff_interval",
    "format_mean_std",
    "gradient_flow_columns",
    "gradient_flow_figure",
    "gradient_flow_table",
    "histogram_figure",
    "interval_rows",
    "layer_columns",
    "layer_difference_rows",
    "layer_rows",
    "learning_curves_figure",
    "mean_std",
    "mnist_table",
    "probe_histograms",
    "probe_value",
    "runs",
    "sensitivity_table",
    "shortest_run",
    "values",
]

NOT_RUN = "not run here"
"""What a table cell says where nothing was measured."""


@dataclass
class Runs:
    """The records a chapter shows, by group, and what was planned but is missing."""

    profile: str  # the profile of the records shown
    groups: dict[str, list[dict[str, Any]]]  # group name -> records (one per seed)
    planned: dict[str, int]  # group name -> number of planned configs
    missing: list[str] = field(default_factory=list)  # groups without any record
    unavailable: dict[str, str] = field(default_factory=dict)  # dataset -> why

    def describe(self) -> str:
        """One Markdown sentence: which profile, how many runs found of those planned."""
        found = sum(len(r) for r in self.groups.values())
        total = sum(self.planned.values())
        scale = {
            "full": "full profile (paper scale)",
            "default": "**reduced scale** (default profile: no full-profile record "
            'exists yet; run with `profile = "full"` for paper scale)',
            "smoke": "**smoke profile** (a seconds-long check, not a result)",
        }[self.profile]
        text = f"Runs shown: {scale}; {found} of {total} planned runs have records."
        if self.missing:
            text += f" Without records ({NOT_RUN}): {', '.join(self.missing)}."
        if self.unavailable:
            names = ", ".join(self.unavailable)
            first, why = next(iter(self.unavailable.items()))
            text += f" Datasets not available here: {names}. For {first}: {why}"
        return text


def runs(
    plan: Callable[[str], dict[str, list[ExperimentConfig]]],
    profile: str,
    results: Path | str,
    device: str = "auto",
    data_root: Path | str | None = None,
    progress: bool = True,
) -> Runs:
    """The records of ``plan(profile)`` (group name -> configs), chosen as the module
    docstring says. A group whose dataset cannot be obtained (no internet, no mirror)
    is reported in ``missing`` with the reason instead of stopping the chapter; every
    other error stops it."""
    check_profile(profile)
    if profile == "default":
        full = plan("full")
        found = {
            name: [
                load_record(p)
                for c in configs
                if (p := record_path(c, results)).exists()
            ]
            for name, configs in full.items()
        }
        if any(found.values()):
            missing = [n for n, recs in found.items() if not recs]
            planned = {n: len(c) for n, c in full.items()}
            return Runs("full", found, planned, missing)
    configs = plan(profile)
    groups: dict[str, list[dict[str, Any]]] = {}
    unavailable: dict[str, str] = {}  # dataset -> why it could not be loaded
    for name, group in configs.items():
        done = []
        for config in group:
            if config.dataset in unavailable:
                break
            try:
                done.append(
                    run(config, results, device, progress=progress, data_root=data_root)
                )
            except DataError as err:
                unavailable[config.dataset] = str(err)
        groups[name] = done
    missing = [n for n, recs in groups.items() if not recs]
    planned = {n: len(c) for n, c in configs.items()}
    return Runs(profile, groups, planned, missing, unavailable)


# ------------------------------------------------------------------------ statistics


def mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (None for one value)."""
    values = [float(v) for v in values]
    return statistics.fmean(values), (
        statistics.stdev(values) if len(values) > 1 else None
    )


def format_mean_std(
    values: Sequence[float], scale: float = 1.0, digits: int = 2
) -> str:
    """``"98.23 (0.08)"``: mean (std) of ``values * scale``; one value alone; no values:
    ``not run here``."""
    if not values:
        return NOT_RUN
    mean, std = mean_std([v * scale for v in values])
    if std is None:
        return f"{mean:.{digits}f} (1 seed)"
    return f"{mean:.{digits}f} ({std:.{digits}f})"


def diff_interval(
    a: Sequence[float], b: Sequence[float], level: float = 0.95
) -> tuple[float, float, float] | None:
    """Welch's t interval for mean(a) - mean(b): ``(difference, low, high)``; None when
    either side has fewer than two values (no spread to judge it by)."""
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    diff = a.mean() - b.mean()
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = stats.t.ppf(0.5 + level / 2, dof) * se
    return diff, diff - half, diff + half


def compare_seeds(a: Sequence[float], b: Sequence[float]) -> str:
    """How often a value of ``a`` exceeds one of ``b`` over all pairs of seeds, in
    words, e.g. ``"higher in 25 of 25 seed pairs"``."""
    wins = sum(x > y for x in a for y in b)
    return f"higher in {wins} of {len(a) * len(b)} seed pairs"


def layer_rows(
    groups: dict[str, list[dict[str, Any]]],
    value: Callable[[dict[str, Any], int], float],
    layers: int,
    fmt: str = "{:.3g}",
) -> tuple[list[str], list[list[str]]]:
    """A per-layer table: one row per hidden layer (top layer first, as the paper), one
    column per group with ``value(record, layer_index)`` as mean (std) over seeds."""
    headers = ["layer", *groups]
    rows = []
    for k in reversed(range(layers)):
        row = [f"layer {k + 1}"]
        for records in groups.values():
            values = [value(r, k) for r in records]
            if not values:
                row.append(NOT_RUN)
                continue
            mean, std = mean_std(values)
            row.append(fmt.format(mean) + (f" ({fmt.format(std)})" if std else ""))
        rows.append(row)
    return headers, rows


# --------------------------------------------------------------------------- figures

COLORS = {"base": "C0", "dropout": "C1", "GAAF": "C2", "gaaf": "C2"}


def _ragged(rows: Sequence[Sequence[float]]) -> np.ndarray:
    """Per-epoch series of different lengths as one array, padded with NaN (so that
    ``np.nanmean`` averages each epoch over the runs that reached it)."""
    table = np.full((len(rows), max(map(len, rows))), np.nan)
    for i, row in enumerate(rows):
        table[i, : len(row)] = row
    return table


def learning_curves_figure(
    groups: dict[str, list[dict[str, Any]]],
    metric: str = "val_acc",
    ylim: tuple[float, float] | None = None,
) -> Figure:
    """``metric`` per epoch: mean over the seeds still running at that epoch, with the
    band between the lowest and highest seed; a dot at each seed's best epoch."""
    fig, ax = plt.subplots(figsize=(9, 4), layout="constrained")
    bests: list[float] = []
    for name, records in groups.items():
        if not records:
            continue
        table = _ragged([[e[metric] for e in r["history"]] for r in records])
        epochs = np.arange(1, table.shape[1] + 1)
        color = COLORS.get(name)
        ax.plot(
            epochs,
            np.nanmean(table, 0),
            label=f"{name} ({len(records)} seeds)",
            c=color,
        )
        ax.fill_between(
            epochs, np.nanmin(table, 0), np.nanmax(table, 0), alpha=0.2, color=color
        )
        best = [
            (r["best_epoch"], r["history"][r["best_epoch"] - 1][metric])
            for r in records
        ]
        ax.scatter(*zip(*best, strict=True), s=14, color=color, zorder=3)
        bests += [b[1] for b in best]
    if ylim is None and metric.endswith("acc") and bests:  # zoom on the best epochs
        low = min(bests)
        ylim = (max(0.0, low - 2 * (1 - low)), 1.0 - 0.5 * (1 - low))
    ax.set(xlabel="epoch", ylabel=metric.replace("_", " "), xscale="log", ylim=ylim)
    ax.legend()
    return fig


def _density(hist: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    edges = np.asarray(hist["edges"])
    counts = np.asarray(hist["counts"], float)
    total = counts.sum() + hist["below"] + hist["above"]
    return (edges[:-1] + edges[1:]) / 2, counts / (total * np.diff(edges))


def _smooth(y: np.ndarray, width_bins: float = 1.5) -> np.ndarray:
    k = np.arange(-4 * width_bins, 4 * width_bins + 1)
    kernel = np.exp(-0.5 * (k / width_bins) ** 2)
    return np.convolve(y, kernel / kernel.sum(), mode="same")


def histogram_figure(
    groups: dict[str, list[dict[str, Any]]],
    histograms: Callable[[dict[str, Any]], list[dict[str, Any]]],
    xlabel: str,
    xlim: tuple[float, float] | None = None,
    marks: Sequence[float] = (),
) -> Figure:
    """One panel per hidden layer (bottom layer on the left): for each group, the
    normalized histogram averaged over seeds (steps) and a smoothed density curve.
    ``histograms(record)`` gives a record's per-layer histograms."""
    layers = next(len(histograms(r[0])) for r in groups.values() if r)
    fig, axes = plt.subplots(1, layers, figsize=(4 * layers, 3.4), layout="constrained")
    for k, ax in enumerate(np.atleast_1d(axes)):
        for name, records in groups.items():
            if not records:
                continue
            dens = [_density(histograms(r)[k]) for r in records]
            x, y = dens[0][0], np.mean([d[1] for d in dens], 0)
            color = COLORS.get(name)
            ax.stairs(
                y,
                np.asarray(histograms(records[0])[k]["edges"]),
                color=color,
                alpha=0.35,
            )
            ax.plot(x, _smooth(y), color=color, label=name)
        for m in marks:
            ax.axvline(m, c="gray", ls=":", lw=0.8)
        ax.set(title=f"layer {k + 1}", xlabel=xlabel, xlim=xlim)
    np.atleast_1d(axes)[0].set_ylabel("density")
    np.atleast_1d(axes)[0].legend()
    return fig


# ----------------------------------------------------------------- the paper's tables

PAPER_MNIST = {
    "base": {"test_acc": (98.23, 0.075), "best_epoch": (82, 16.6)},
    "dropout": {"test_acc": (98.40, 0.034), "best_epoch": (169, 9.7)},
    "GAAF": {"test_acc": (98.35, 0.059), "best_epoch": (114, 24.8)},
}
"""The paper's MNIST table, (mean, std) over its 5 runs; accuracy in percent."""

PAPER_GRADIENT_FLOW = {
    "base": [1.07e-04, 1.40e-04, 9.35e-05],
    "dropout": [5.93e-04, 6.52e-04, 5.83e-04],
}
"""The paper's mean ``|gradient|`` per hidden layer (layer 1 first), over all iterations."""

PAPER_CNN = {
    "cifar100": {"base": 59.63, "bn": 67.48, "gaaf": 61.29, "bn_gaaf": 69.36},
    "cifar10": {"base": 89.55, "bn": 91.10, "gaaf": 90.16, "bn_gaaf": 91.92},
    "svhn": {"base": 92.03, "bn": 93.80, "gaaf": 92.19, "bn_gaaf": 94.16},
}
"""The paper's CNN table, top-1 test accuracy in percent (single numbers)."""


def values(records: Sequence[dict[str, Any]], metric: str) -> list[float]:
    """``metric`` of each record (``test_acc``, ``best_epoch``, ``train_seconds``...)."""
    return [float(r[metric]) for r in records]


def mnist_table(
    groups: dict[str, list[dict[str, Any]]],
) -> tuple[list[str], list[list[str]]]:
    """The paper's MNIST table with ours beside it: test accuracy (%) and epochs to
    converge, mean (std) over seeds, the differences of the means, and wall time."""
    headers = [
        "model",
        "seeds",
        "test acc. (%), ours",
        "paper",
        "ours - paper",
        "epochs, ours",
        "paper",
        "ours - paper",
        "train time per run",
    ]
    rows = []
    for name, records in groups.items():
        paper = PAPER_MNIST[name]
        acc, epochs = values(records, "test_acc"), values(records, "best_epoch")
        row = [name, str(len(records))]
        for ours, (p_mean, p_std), scale, digits in (
            (acc, paper["test_acc"], 100, 2),
            (epochs, paper["best_epoch"], 1, 1),
        ):
            row.append(format_mean_std(ours, scale, digits))
            row.append(f"{p_mean:g} ({p_std:g})")
            row.append(
                f"{mean_std(ours)[0] * scale - p_mean:+.{digits}f}" if ours else NOT_RUN
            )
        seconds = values(records, "train_seconds")
        row.append(f"{statistics.fmean(seconds) / 60:.1f} min" if seconds else NOT_RUN)
        rows.append(row)
    return headers, rows


def interval_rows(
    groups: dict[str, list[dict[str, Any]]],
    comparisons: Sequence[tuple[str, str, str, float]],
    level: float = 0.95,
) -> tuple[list[str], list[list[str]]]:
    """For each ``(a, b, metric, scale)``: mean(a) - mean(b) of ``metric * scale`` with
    its Welch t interval over seeds, whether the interval excludes 0, and how the seeds
    compare pair by pair."""
    headers = [
        "comparison",
        "difference",
        f"{level:.0%} interval",
        "excludes 0",
        "seeds",
    ]
    rows = []
    for a, b, metric, scale in comparisons:
        va = [v * scale for v in values(groups[a], metric)]
        vb = [v * scale for v in values(groups[b], metric)]
        label = f"{metric}: {a} - {b}"
        found = diff_interval(va, vb, level)
        if found is None:
            rows.append(
                [
                    label,
                    NOT_RUN if not (va and vb) else "fewer than 2 seeds",
                    "",
                    "",
                    "",
                ]
            )
            continue
        d, lo, hi = found
        excludes = "yes" if lo > 0 or hi < 0 else "no"
        rows.append(
            [
                label,
                f"{d:+.3g}",
                f"[{lo:+.3g}, {hi:+.3g}]",
                excludes,
                f"{a} {compare_seeds(va, vb)}",
            ]
        )
    return headers, rows


def common_settings(records: Sequence[dict[str, Any]]) -> str:
    """The config fields shared by all ``records`` (seed left out), as one Markdown line."""
    configs = [r["config"] for r in records]
    if not configs:
        return NOT_RUN
    shared = {
        k: v
        for k, v in configs[0].items()
        if k != "seed" and v is not None and all(c.get(k) == v for c in configs)
    }
    return ", ".join(f"`{k}={v}`" for k, v in shared.items())


def gradient_flow_figure(
    groups: dict[str, list[dict[str, Any]]], quantity: str = "dz"
) -> Figure:
    """Mean ``|gradient|`` per epoch, one panel per hidden layer, mean over seeds (log)."""
    layers = next(
        len(r[0]["probes"]["gradient_flow"]["mean"][quantity])
        for r in groups.values()
        if r
    )
    fig, axes = plt.subplots(
        1, layers, figsize=(4 * layers, 3.3), layout="constrained", sharey=True
    )
    for k, ax in enumerate(axes):
        for name, records in groups.items():
            if not records:
                continue
            per_epoch = [
                [e[k] for e in r["probes"]["gradient_flow"]["per_epoch"][quantity]]
                for r in records
            ]
            table = _ragged(per_epoch)
            ax.plot(
                np.arange(1, table.shape[1] + 1),
                np.nanmean(table, 0),
                color=COLORS.get(name),
                label=name,
            )
        ax.set(title=f"layer {k + 1}", xlabel="epoch", yscale="log", xscale="log")
    axes[0].set_ylabel(f"mean |dL/d{quantity[1:]}| per epoch")
    axes[0].legend()
    return fig


def sensitivity_table(
    groups: dict[str, list[dict[str, Any]]],
) -> tuple[list[str], list[list[str]]]:
    """One row per sensitivity group: test accuracy, best epoch, epochs run, and
    whether early stopping ended the run (mean over seeds where there are several)."""
    headers = [
        "setting",
        "seeds",
        "test acc. (%)",
        "best epoch",
        "epochs run",
        "stopped",
    ]
    rows = []
    for name, records in groups.items():
        if not records:
            rows.append([name, "0", NOT_RUN, "", "", ""])
            continue
        stopped = sum(bool(r["stopped_early"]) for r in records)
        rows.append(
            [
                name,
                str(len(records)),
                format_mean_std(values(records, "test_acc"), 100, 2),
                format_mean_std(values(records, "best_epoch"), 1, 1),
                format_mean_std(values(records, "epochs_run"), 1, 1),
                f"{stopped} of {len(records)}",
            ]
        )
    return headers, rows


def _by_setting(groups: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """Sensitivity groups ``"<setting>: <model>"`` -> setting -> model -> mean metric."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, records in groups.items():
        if not records or ": " not in name:
            continue
        setting, model = name.split(": ", 1)
        out.setdefault(setting, {})[model] = {
            "test_acc": statistics.fmean(values(records, "test_acc")),
            "best_epoch": statistics.fmean(values(records, "best_epoch")),
        }
    return out


def claim4_summary(
    groups: dict[str, list[dict[str, Any]]],
    sensitivity: dict[str, list[dict[str, Any]]] | None = None,
) -> str:
    """Claim 4 in measured sentences: GAAF's epochs against dropout's and its accuracy
    against the base's and dropout's, with intervals; then the sensitivity settings."""
    lines = []
    for a, b, metric, scale, what in (
        ("GAAF", "dropout", "best_epoch", 1, "epochs to converge"),
        ("GAAF", "base", "test_acc", 100, "test accuracy (points)"),
        ("GAAF", "dropout", "test_acc", 100, "test accuracy (points)"),
    ):
        if not (groups.get(a) and groups.get(b)):
            lines.append(f"- {what}, {a} - {b}: {NOT_RUN}.")
            continue
        va = [v * scale for v in values(groups[a], metric)]
        vb = [v * scale for v in values(groups[b], metric)]
        found = diff_interval(va, vb)
        diff = statistics.fmean(va) - statistics.fmean(vb)
        text = f"- {what}, {a} - {b}: {diff:+.3g}"
        if found:
            text += f", 95% interval [{found[1]:+.3g}, {found[2]:+.3g}]"
        text += f" ({len(va)} vs {len(vb)} seeds; {a} {compare_seeds(va, vb)})."
        lines.append(text)
    for setting, models in _by_setting(sensitivity or {}).items():
        gaaf = models.get("GAAF")
        drops = {m: v for m, v in models.items() if m.startswith("dropout")}
        if not gaaf or not drops:
            continue
        faster = sum(gaaf["best_epoch"] < d["best_epoch"] for d in drops.values())
        as_good = sum(gaaf["test_acc"] >= d["test_acc"] for d in drops.values())
        base = models.get("base")
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
    return "\n".join(lines)


def layer_difference_rows(
    groups: dict[str, list[dict[str, Any]]],
    value: Callable[[dict[str, Any], int], float],
    layers: int,
    baseline: str = "base",
) -> tuple[list[str], list[list[str]]]:
    """Per layer (top first) and per other group: mean ``value`` minus the baseline's,
    with its 95% Welch interval over seeds."""
    others = [g for g in groups if g != baseline]
    headers = ["layer", *(f"{g} - {baseline}" for g in others)]
    rows = []
    for k in reversed(range(layers)):
        row = [f"layer {k + 1}"]
        for g in others:
            a = [value(r, k) for r in groups[g]]
            b = [value(r, k) for r in groups[baseline]]
            found = diff_interval(a, b)
            if found is None:
                row.append(
                    NOT_RUN if not (a and b) else f"{np.mean(a) - np.mean(b):+.3g}"
                )
            else:
                row.append(f"{found[0]:+.3g} [{found[1]:+.3g}, {found[2]:+.3g}]")
        rows.append(row)
    return headers, rows


def layer_columns(
    groups: dict[str, list[dict[str, Any]]],
    value: Callable[[dict[str, Any], int], float],
    layers: int,
) -> tuple[list[str], list[list[str]]]:
    """One row per group, one column per layer (bottom first): mean ``value``."""
    headers = ["setting", *(f"layer {k + 1}" for k in range(layers))]
    rows = []
    for name, records in groups.items():
        if not records:
            rows.append([name, *([NOT_RUN] * layers)])
            continue
        rows.append(
            [
                name,
                *(
                    f"{np.mean([value(r, k) for r in records]):.3g}"
                    for k in range(layers)
                ),
            ]
        )
    return headers, rows


def _flow(record: dict[str, Any], quantity: str, epochs: int | None) -> list[float]:
    from gaaf.probes import mean_over_epochs

    flow = record["probes"]["gradient_flow"]
    return (
        flow["mean"][quantity]
        if epochs is None
        else mean_over_epochs(flow, quantity, epochs)
    )


def shortest_run(groups: dict[str, list[dict[str, Any]]]) -> int:
    """The fewest epochs any record in ``groups`` trained."""
    return min(r["epochs_run"] for records in groups.values() for r in records)


def gradient_flow_table(
    groups: dict[str, list[dict[str, Any]]], quantity: str = "dz", matched: bool = False
) -> tuple[list[str], list[list[str]]]:
    """The paper's gradient-flow table with ours: per hidden layer (top first), mean
    ``|gradient|`` per group (mean (std) over seeds), ours with / without dropout and GAAF /
    base as ratios of the means, and the paper's two columns and ratio. ``matched``:
    average over the first epochs every run has, instead of all iterations."""
    epochs = shortest_run(groups) if matched else None
    present = {n: rs for n, rs in groups.items() if rs}
    layers = len(_flow(next(iter(present.values()))[0], quantity, epochs))
    span = f"first {epochs} epochs" if matched else "all iterations"
    headers = [f"layer ({span})", *present]
    ratios = [
        (a, "base") for a in ("dropout", "GAAF") if a in present and "base" in present
    ]
    headers += [f"{a} / {b}" for a, b in ratios]
    if quantity == "dz":
        headers += ["paper: without dropout", "paper: with dropout", "paper: ratio"]
    rows = []
    for k in reversed(range(layers)):
        row = [f"layer {k + 1}"]
        means = {}
        for name, records in present.items():
            vals = [_flow(r, quantity, epochs)[k] for r in records]
            means[name], std = mean_std(vals)
            row.append(f"{means[name]:.3g}" + (f" ({std:.2g})" if std else ""))
        row += [f"{means[a] / means[b]:.2f}" for a, b in ratios]
        if quantity == "dz":
            without, with_ = (
                PAPER_GRADIENT_FLOW["base"][k],
                PAPER_GRADIENT_FLOW["dropout"][k],
            )
            row += [f"{without:.3g}", f"{with_:.3g}", f"{with_ / without:.2f}"]
        rows.append(row)
    return headers, rows


def gradient_flow_columns(
    groups: dict[str, list[dict[str, Any]]], quantity: str = "dz"
) -> tuple[list[str], list[list[str]]]:
    """Sensitivity groups ``"<setting>: <model>"``: per layer (bottom first), mean
    ``|gradient|`` over the first epochs all runs have, and its ratio to the same setting's
    base."""
    present = {n: rs for n, rs in groups.items() if rs}
    if not present:
        return ["setting"], [[NOT_RUN]]
    epochs = shortest_run(present)
    layers = len(_flow(next(iter(present.values()))[0], quantity, epochs))
    headers = [
        "setting",
        *(f"layer {k + 1} (first {epochs} epochs)" for k in range(layers)),
    ]
    mean = {
        n: np.mean([_flow(r, quantity, epochs) for r in rs], 0)
        for n, rs in present.items()
    }
    rows = []
    for name, m in mean.items():
        base = mean.get(name.split(": ")[0] + ": base")
        cells = [
            f"{m[k]:.3g}" + (f" (x{m[k] / base[k]:.2f})" if base is not None else "")
            for k in range(layers)
        ]
        rows.append([name, *cells])
    return headers, rows


def probe_value(probe: str, key: str) -> Callable[[dict[str, Any], int], float]:
    """``(record, layer_index) -> record["probes"]["test"][probe][layer_index][key]``,
    e.g. ``probe_value("correlations", "mean_abs")``."""
    return lambda record, k: record["probes"]["test"][probe][k][key]


def probe_histograms(probe: str) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    """``record -> per-layer histograms of probe`` (``weights``, ``correlations``,
    ``net_inputs``)."""
    return lambda record: [
        layer["histogram"] for layer in record["probes"]["test"][probe]
    ]


def dataset_groups(
    groups: dict[str, list[dict[str, Any]]], dataset: str
) -> dict[str, list[dict[str, Any]]]:
    """The groups ``"<dataset>: <variant>"`` of one dataset that have records, by variant."""
    prefix = f"{dataset}: "
    return {
        n.removeprefix(prefix): rs
        for n, rs in groups.items()
        if n.startswith(prefix) and rs
    }


def cnn_table(
    groups: dict[str, list[dict[str, Any]]], datasets: Sequence[str]
) -> tuple[list[str], list[list[str]]]:
    """The paper's CNN table with ours: per variant, per dataset, our test accuracy (%)
    and the paper's, each with its change as the paper gives it: against the base CNN,
    and for batch norm + GAAF against batch norm, of the same source."""
    from gaaf.experiments import CNN_VARIANTS

    headers = ["model"]
    for d in datasets:
        headers += [f"{d}: ours", f"{d}: paper"]
    reference = {"bn": "base", "gaaf": "base", "bn_gaaf": "bn"}  # as the paper's gains
    rows = []
    for variant in CNN_VARIANTS:
        row = [variant]
        ref = reference.get(variant)
        for d in datasets:
            ours = {
                v: 100 * statistics.fmean(values(rs, "test_acc"))
                for v, rs in dataset_groups(groups, d).items()
            }
            if variant in ours:
                change = f" ({ours[variant] - ours[ref]:+.2f})" if ref in ours else ""
                row.append(f"{ours[variant]:.2f}{change}")
            else:
                row.append(NOT_RUN)
            paper = PAPER_CNN.get(d)
            if paper is None:
                row.append("(not in the paper)")
            else:
                change = f" ({paper[variant] - paper[ref]:+.2f})" if ref else ""
                row.append(f"{paper[variant]:.2f}{change}")
        rows.append(row)
    return headers, rows


def _layer_verdicts(
    groups: dict[str, list[dict[str, Any]]],
    value: Callable[[dict[str, Any], int], float],
    what: str,
    others: Sequence[str] = ("dropout", "GAAF"),
) -> list[str]:
    """Per other group and layer: is mean ``value`` above the base's, with interval."""
    lines = []
    base = groups.get("base") or []
    for other in others:
        records = groups.get(other) or []
        if not (base and records):
            lines.append(f"- {what}, {other} vs base: {NOT_RUN}.")
            continue
        layers = len(base[0]["config"]["widths"])
        parts = []
        for k in range(layers):
            a, b = [value(r, k) for r in records], [value(r, k) for r in base]
            found = diff_interval(a, b)
            ratio = statistics.fmean(a) / statistics.fmean(b)
            text = f"layer {k + 1}: x{ratio:.2f}"
            if found:
                sign = (
                    "higher"
                    if found[1] > 0
                    else "lower"
                    if found[2] < 0
                    else "unresolved"
                )
                text += f" ({sign}; difference {found[0]:+.3g} [{found[1]:+.3g}, {found[2]:+.3g}])"
            parts.append(text)
        lines.append(
            f"- {what}, {other} / base ({len(records)} vs {len(base)} seeds): "
            + "; ".join(parts)
            + "."
        )
    return lines


def _sensitivity_verdicts(
    sensitivity: dict[str, list[dict[str, Any]]],
    value: Callable[[dict[str, Any], int], float],
    what: str,
) -> list[str]:
    """For each sensitivity setting and model: in how many layers ``value`` is above the
    same setting's base."""
    lines = []
    present = {n: rs for n, rs in sensitivity.items() if rs and ": " in n}
    for name, records in present.items():
        setting, model = name.split(": ", 1)
        base = present.get(f"{setting}: base")
        if model == "base" or not base:
            continue
        layers = len(records[0]["config"]["widths"])
        ratios = [
            statistics.fmean(value(r, k) for r in records)
            / statistics.fmean(value(r, k) for r in base)
            for k in range(layers)
        ]
        higher = sum(r > 1 for r in ratios)
        lines.append(
            f"- {what}, {setting}, {model} / base: higher in {higher} of {layers} layers "
            f"(x{', x'.join(f'{r:.2f}' for r in ratios)}, layer 1 first)."
        )
    return lines


def claim1_summary(
    groups: dict[str, list[dict[str, Any]]],
    sensitivity: dict[str, list[dict[str, Any]]] | None = None,
) -> str:
    """Claim 1 in measured sentences: mean ``|correlation|`` per layer against the base."""
    value = probe_value("correlations", "mean_abs")
    lines = _layer_verdicts(groups, value, "mean |correlation|")
    lines += _sensitivity_verdicts(sensitivity or {}, value, "mean |correlation|")
    return "\n".join(lines)


def claims23_summary(
    groups: dict[str, list[dict[str, Any]]],
    sensitivity: dict[str, list[dict[str, Any]]] | None = None,
) -> str:
    """Claims 2 and 3 in measured sentences: gradient flow (over the epochs all runs
    share) and saturated fraction per layer, against the base."""
    present = {n: rs for n, rs in groups.items() if rs}
    if "base" not in present:
        return f"- {NOT_RUN}."
    epochs = shortest_run(present)

    def flow(record: dict[str, Any], k: int) -> float:
        return _flow(record, "dz", epochs)[k]

    def flow_all(record: dict[str, Any], k: int) -> float:
        return _flow(record, "dz", None)[k]

    saturated = probe_value("net_inputs", "saturated")
    lines = _layer_verdicts(groups, flow_all, "gradient flow |dL/dz|, all iterations")
    lines += _layer_verdicts(
        groups, flow, f"gradient flow |dL/dz|, first {epochs} epochs"
    )
    lines += _layer_verdicts(groups, saturated, "fraction of |z| > 2")
    sens = {n: rs for n, rs in (sensitivity or {}).items() if rs}
    if sens:
        sens_epochs = shortest_run(sens)

        def sens_flow(record: dict[str, Any], k: int) -> float:
            return _flow(record, "dz", sens_epochs)[k]

        lines += _sensitivity_verdicts(
            sens, sens_flow, f"gradient flow, first {sens_epochs} epochs"
        )
        lines += _sensitivity_verdicts(sens, saturated, "fraction of |z| > 2")
    return "\n".join(lines)
