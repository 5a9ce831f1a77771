"""The book's tables, as ``(headers, rows)`` for :func:`markdown_table`: ours beside the
paper's (:mod:`gaaf.analysis.paper`), spreads and intervals over seeds, per-layer probes, and the
CNN table (the costs from benchmark records are in :mod:`gaaf.book.cost_tables`).

Numbers are shown with 3 significant figures, except accuracies in percent, which keep
two decimals as the paper prints them (98.16 against 98.23: three figures would hide the
differences the tables are about). A cell with no measurement says
:data:`gaaf.experiments.runs.NOT_RUN`. Groups are named by :func:`gaaf.experiments.labels.display`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from gaaf.analysis import paper
from gaaf.analysis.measures import accuracy_at, epochs_reached
from gaaf.analysis.stats import (
    Groups,
    LayerValue,
    dataset_groups,
    flow_value,
    layer_count,
    per_layer,
    present,
    shortest_run,
    summarize,
    values,
    welch,
    welch_test,
)
from gaaf.analysis.variance import SlopeGains, UnitGains
from gaaf.book import settings
from gaaf.book.formatting import interval, number, signed
from gaaf.experiments.labels import METRICS, GroupKey, display
from gaaf.experiments.plans import CNN_VARIANTS
from gaaf.experiments.runs import NOT_RUN, Runs

__all__ = [
    "Table",
    "cnn_table",
    "computed",
    "gradient_flow_columns",
    "interval_rows",
    "layer_columns",
    "layer_difference_rows",
    "layer_rows",
    "markdown_table",
    "mean_std",
    "mnist_table",
    "runs_shown",
    "sensitivity_table",
    "slope_gain_table",
    "speed_table",
    "trained_on",
    "unit_gains_table",
]

Table = tuple[list[str], list[list[str]]]
"""Headers and rows of cells."""


def markdown_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], digits: int = 3
) -> str:
    """A Markdown table; floats with ``digits`` significant figures, integers with
    thousands separators, anything else as ``str``."""

    def cell(v: object) -> str:
        if isinstance(v, float):
            return number(v, digits)
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def mean_std(found: Sequence[float], decimals: int | None = None) -> str:
    """``"98.16 (0.08)"``: mean (standard deviation) of ``found``, with ``decimals``
    decimals or (None) 3 significant figures; one value: ``"97.91 (1 seed)"``; none:
    :data:`~gaaf.experiments.runs.NOT_RUN`."""
    if not found:
        return NOT_RUN

    def show(x: float) -> str:
        return number(x) if decimals is None else f"{x:.{decimals}f}"

    s = summarize(found)
    return (
        f"{show(s.mean)} (1 seed)"
        if s.std is None
        else f"{show(s.mean)} ({show(s.std)})"
    )


def trained_on(groups: Groups) -> str:
    """The devices the records of ``groups`` were trained on, as one Markdown line."""
    devices = sorted({r["provenance"]["device"] for rs in groups.values() for r in rs})
    return "Trained on: " + ("; ".join(devices) or NOT_RUN)


def computed(profile: str, *parts: str) -> str:
    """The text of a chapter's collapsed "How this page was computed" block: the
    profile and the versions it ran with, then ``parts`` (what its runs are, where they
    were trained: :func:`runs_shown`, :func:`trained_on`), then where every record's
    provenance is listed."""
    import platform

    import torch

    import gaaf

    head = (
        f"Computed at the {profile!r} profile, with gaaf {gaaf.__version__}, "
        f"PyTorch {torch.__version__} and Python {platform.python_version()}."
    )
    tail = "Every record's device, code and date: the {doc}`status page <status>`."
    return "\n\n".join([head, *(p for p in parts if p), tail])


def runs_shown(runs: Runs, *scale: str) -> str:
    """What a chapter says about its runs: :meth:`~gaaf.experiments.runs.Runs.describe` (with
    ``scale`` naming what the full profile's records are, if given), then the settings
    all runs shown share and what each group sets otherwise
    (:func:`gaaf.book.settings.settings_text`)."""
    shown = settings.settings_text(runs.groups)
    return runs.describe(*scale) + (f"\n\n{shown}" if shown else "")


# --------------------------------------------------------------------- the MNIST table


def mnist_table(groups: Groups) -> Table:
    """The paper's MNIST table with ours beside it: test accuracy (%) and epochs to
    converge, mean (std) over seeds, ours then the paper's, and the wall time per run."""
    headers = ["model", "seeds", "test acc. (%)", "paper", "epochs", "paper"]
    headers.append("minutes per run")
    rows = []
    for name, records in groups.items():
        row = [display(name), str(len(records))]
        for metric, scale, decimals in (("test_acc", 100, 2), ("best_epoch", 1, None)):
            reported = paper.MNIST[name][metric]
            shown = (
                f"{reported.mean:.{decimals}f}" if decimals else f"{reported.mean:g}"
            )
            ours = mean_std(values(records, metric, scale), decimals)
            row += [ours, f"{shown} ({reported.std:g})"]
        seconds = values(records, "train_seconds")
        row.append(number(summarize(seconds).mean / 60) if seconds else NOT_RUN)
        rows.append(row)
    return headers, rows


def interval_rows(
    groups: Groups,
    comparisons: Sequence[tuple[str, str, str, float]],
    level: float = 0.95,
) -> Table:
    """For each ``(a, b, metric, scale)``: mean(a) - mean(b) of ``metric * scale`` with
    its Welch t interval over seeds, Welch's p and the exact rank test's p, and the
    smallest difference these seeds could resolve (uncorrected: the chapter's verdict
    corrects its family)."""
    headers = [
        "comparison",
        "difference",
        f"{level:.0%} interval",
        "Welch p",
        "rank-test p",
        "resolvable",
    ]
    rows = []
    for a, b, metric, scale in comparisons:
        va = values(groups.get(a, []), metric, scale)
        vb = values(groups.get(b, []), metric, scale)
        label = f"{METRICS.get(metric, metric)}, {display(a)} − {display(b)}"
        found = welch(va, vb, level) if va and vb else None
        test = welch_test(va, vb) if va and vb else None
        if found is None or test is None:
            why = NOT_RUN if not (va and vb) else "fewer than 2 seeds"
            rows.append([label, why, "", "", "", ""])
            continue
        rows.append(
            [
                label,
                signed(found.diff),
                interval(found.low, found.high),
                number(test.p, 2),
                number(test.rank_p, 2),
                number(test.resolvable, 2),
            ]
        )
    return headers, rows


def speed_table(groups: Groups, target: float, epochs: Sequence[int]) -> Table:
    """Per group: the first epoch at ``target`` validation accuracy (mean (std) over the
    runs that reached it, and how many did), and the validation accuracy (%) after each
    of ``epochs`` epochs: speed measures that do not depend on the stopping rule."""
    headers = [
        f"first epoch at {100 * target:g}%",
        *(f"after {e} epochs" for e in epochs),
    ]
    rows = []
    for name, records in present(groups).items():
        reached = epochs_reached(records, target)
        first = f"{mean_std(reached, 1)}, {len(reached)} of {len(records)} runs"
        after = [
            mean_std(
                [100 * a for r in records if (a := accuracy_at(r, e)) is not None], 2
            )
            for e in epochs
        ]
        rows.append([display(name), first if reached else NOT_RUN, *after])
    return ["", *headers], rows


def sensitivity_table(groups: Groups) -> Table:
    """One row per sensitivity group: test accuracy, best epoch and epochs run (mean
    (std) over seeds; the value alone where a group has one seed), and whether early
    stopping ended the run (else it ran to its epoch cap and its best epoch is a lower
    bound). A seeds column only where a group has more than one."""

    def shown(found: Sequence[float], decimals: int | None = None) -> str:
        if len(found) != 1:
            return mean_std(found, decimals)
        return number(found[0]) if decimals is None else f"{found[0]:.{decimals}f}"

    with_seeds = any(len(rs) > 1 for rs in groups.values())
    headers = ["setting", "test acc. (%)", "best epoch", "epochs run", "stopped early"]
    if with_seeds:
        headers.insert(1, "seeds")
    rows = []
    for name, records in groups.items():
        stopped = sum(bool(r["stopped_early"]) for r in records)
        row = [display(name)] + ([str(len(records))] if with_seeds else [])
        if not records:
            rows.append([*row, NOT_RUN, "", "", ""])
            continue
        row += [
            shown(values(records, "test_acc", 100), 2),
            shown(values(records, "best_epoch")),
            shown(values(records, "epochs_run")),
            ("yes" if stopped else "no: epoch cap")
            if len(records) == 1
            else f"{stopped} of {len(records)}",
        ]
        rows.append(row)
    return headers, rows


# ------------------------------------------------------------------- per-layer tables


def _cell(summary: Any, digits: int | None = None) -> str:
    if summary is None:
        return NOT_RUN
    show = number if digits is None else (lambda x: f"{x:.{digits}f}")
    return show(summary.mean) + (f" ({show(summary.std)})" if summary.std else "")


def layer_rows(groups: Groups, value: LayerValue, decimals: int | None = None) -> Table:
    """A per-layer table: one row per hidden layer (layer 1 first, as everywhere), one
    column per group with ``value(record, layer_index)`` as mean (std) over seeds, with
    3 significant figures or ``decimals`` decimals."""
    layers = layer_count(groups)
    columns = {
        name: per_layer(records, value, layers) for name, records in groups.items()
    }
    headers = ["layer", *map(display, groups)]
    rows = [
        [f"layer {k + 1}", *(_cell(col[k], decimals) for col in columns.values())]
        for k in range(layers)
    ]
    return headers, rows


def layer_difference_rows(
    groups: Groups, value: LayerValue, baseline: str = "base"
) -> Table:
    """Per layer (layer 1 first) and per other group: mean ``value`` minus the
    baseline's,
    with its 95% Welch interval over seeds."""
    others = [g for g in groups if g != baseline]
    headers = ["layer", *(f"{display(g)} - {display(baseline)}" for g in others)]
    rows = []
    for k in range(layer_count(groups)):
        row = [f"layer {k + 1}"]
        for g in others:
            a = [value(r, k) for r in groups[g]]
            b = [value(r, k) for r in groups.get(baseline, [])]
            found = welch(a, b) if a and b else None
            if found is None:
                diff = summarize(a).mean - summarize(b).mean if a and b else None
                row.append(NOT_RUN if diff is None else signed(diff))
            else:
                row.append(f"{signed(found.diff)} {interval(found.low, found.high)}")
        rows.append(row)
    return headers, rows


def layer_columns(groups: Groups, value: LayerValue) -> Table:
    """One row per group, one column per layer (bottom first): mean ``value``."""
    layers = layer_count(groups)
    headers = ["setting", *(f"layer {k + 1}" for k in range(layers))]
    rows = []
    for name, records in groups.items():
        means = per_layer(records, value, layers)
        rows.append(
            [display(name), *(NOT_RUN if m is None else number(m.mean) for m in means)]
        )
    return headers, rows


def gradient_flow_columns(groups: Groups, quantity: str = "dz") -> Table:
    """Sensitivity groups ``"<setting>: <model>"``: per layer (bottom first), mean
    ``|gradient|`` over the first epochs all runs have, and its ratio to the same
    setting's base."""
    shown = present(groups)
    if not shown:
        return ["setting"], [[NOT_RUN]]
    epochs = shortest_run(shown)
    value = flow_value(quantity, epochs)
    layers = layer_count(shown)
    headers = [
        "setting",
        *(f"layer {k + 1} (first {epochs} epochs)" for k in range(layers)),
    ]
    means = {
        n: [s.mean for s in per_layer(rs, value, layers)] for n, rs in shown.items()
    }
    rows = []
    for name, m in means.items():
        key = GroupKey.parse(name)
        base = means.get(key.with_variant("base")) if key.setting else None
        cells = [
            number(m[k]) + (f" (×{m[k] / base[k]:.2f})" if base is not None else "")
            for k in range(layers)
        ]
        rows.append([display(name), *cells])
    return headers, rows


# ----------------------------------------------------------------------- the CNN table


def cnn_table(groups: Groups, datasets: Sequence[str]) -> Table:
    """The paper's CNN table with ours, one row per dataset and variant (narrow enough
    for the page): our test accuracy (%, mean over seeds) and the paper's, each with
    its change as the paper gives it (:data:`gaaf.analysis.paper.CNN_REFERENCE`), of the same
    source."""
    rows = []
    for d in datasets:
        ours = {
            v: summarize(values(rs, "test_acc", 100)).mean
            for v, rs in dataset_groups(groups, d).items()
        }
        reported = paper.CNN.get(d)
        for variant in CNN_VARIANTS:
            ref = paper.CNN_REFERENCE.get(variant)
            row = [display(d), display(variant)]
            if variant in ours:
                change = f" ({ours[variant] - ours[ref]:+.2f})" if ref in ours else ""
                row.append(f"{ours[variant]:.2f}{change}")
            else:
                row.append(NOT_RUN)
            if reported is None:
                row.append("(not in the paper)")
            else:
                change = f" ({reported[variant] - reported[ref]:+.2f})" if ref else ""
                row.append(f"{reported[variant]:.2f}{change}")
            rows.append(row)
    return ["dataset", "model", "ours", "paper"], rows


# ------------------------------------------------------------ dropout's variance


def slope_gain_table(
    markers: Sequence[SlopeGains],
    rates: Sequence[float] = (0.2, 0.5),
    at: Sequence[float] = (0.0, 1.0, 2.0, 3.0, 4.0),
) -> Table:
    """For each sampled :class:`~gaaf.analysis.variance.SlopeGains` of the given ``rates`` and each
    net input ``at`` (each must lie on its grid, to 1e-9): the noise, the slope without
    dropout, with it (Gaussian approximation and real masks, +- one standard error), the
    gains and their far-saturation limit."""
    headers = [
        "z0",
        "p",
        "σ",
        "tanh'(z0)",
        "E[tanh'(z)], Gaussian",
        "E[tanh'(z)], masks",
    ]
    headers += ["gain, Gaussian", "gain, masks", "limit exp(2σ²)"]
    rows = []
    for m in markers:
        if not any(abs(m.p - rate) < 1e-12 for rate in rates):
            continue
        assert m.mc is not None and m.mc_stderr is not None and m.mc_gain is not None
        for z in at:
            near = torch.isclose(
                m.z0, torch.tensor(float(z), dtype=m.z0.dtype), atol=1e-9
            )
            if not near.any():
                raise ValueError(
                    f"z0 = {z:g} is not on the grid of the p = {m.p:g} markers"
                )
            i = int(near.nonzero()[0])
            limit = torch.exp(2.0 * m.sigma[i].square())
            rows.append(
                [
                    number(z),
                    number(m.p),
                    *map(number, (m.sigma[i], m.plain[i], m.expected[i])),
                    f"{number(m.mc[i])} ± {number(m.mc_stderr[i], 1)}",
                    *map(number, (m.gain[i], m.mc_gain[i], limit)),
                ]
            )
    return headers, rows


def unit_gains_table(
    rows: Sequence[UnitGains], z0: Sequence[float] = (0.0, 3.0)
) -> Table:
    """:func:`gaaf.analysis.variance.unit_gains` as a table (its ``z0`` as column headers)."""
    headers = ["weight std", "input spread", "p", "E[x²]", "σ"]
    headers += [f"gain at z0 = {z:g}" for z in z0] + ["limit exp(2σ²)"]
    cells = [
        [number(r.weight_std), number(r.input_std), number(r.p)]
        + [number(x) for x in (r.mean_square_input, r.sigma, *r.gains, r.limit)]
        for r in rows
    ]
    return headers, cells
