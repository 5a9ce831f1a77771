"""Where every number was computed: the provenance of run and benchmark records, as
the book's status page shows it."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from gaaf.book.figures.costs import variant_of
from gaaf.book.formatting import listed
from gaaf.book.tables import markdown_table, number
from gaaf.experiments import plans
from gaaf.experiments.labels import display
from gaaf.experiments.runs import training_minutes

__all__ = [
    "SMOKE",
    "UNUSED",
    "USED",
    "by_use",
    "counts_sentence",
    "provenance_summary",
    "provenance_table",
    "run_lengths",
    "uncommitted_sentence",
]

USED = "used"
"""A record some chapter shows (at the full or default profile; see :func:`by_use`)."""

UNUSED = "not used"
"""A record no chapter shows, such as a superseded pilot or an earlier length of the
same configuration."""

SMOKE = "smoke"
"""A record of the smoke profile (the tests'), never counted with the book's runs."""

_STATIC_PLANS = (
    plans.mnist_plan,
    plans.mnist_sensitivity,
    plans.mnist_regimes,
    plans.mnist_lr_grid,
    plans.mnist_layer_lr,
    plans.mechanism_plan,
    plans.cnn_plan,
    plans.cnn_cpu_plan,
    plans.cnn_lr_pilot,
    plans.cnn_lr_grid,
    plans.cnn_shift_sweep,
)


def _plans(profile: str) -> list[plans.Plan]:
    """Every plan a chapter can show at ``profile``, and each arm at each rate of its
    grid (the selected rates are among them)."""
    found = [p(profile) for p in _STATIC_PLANS]
    for arm, rates in plans.mnist_lr_cells(profile).items():
        for lr in rates:
            found.append(plans.mnist_at_rates(profile, {arm: lr}))
            found.append(plans.mnist_at_rates(profile, {arm: lr}, reduced=False))
    for arm, rates in plans.cnn_lr_cells(profile).items():
        found += [plans.cnn_at_rates(profile, {arm: lr}) for lr in rates]
    return found


def _hashes(plan: plans.Plan) -> set[str]:
    return {c.hash for configs in plan.values() for c in configs}


def by_use(records: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """``records`` split by how they stand to the book: :data:`USED`,
    :data:`UNUSED`, :data:`SMOKE` (each key present, perhaps empty). As the chapters
    read them (:func:`gaaf.experiments.runs.collect`): a plan's full-profile records where it has
    any, else its default-profile ones; a default-profile record of a plan that has
    full-profile records is superseded, not used."""
    have = {r["hash"] for r in records}
    paper_cnn = _hashes(plans.cnn_plan("full"))  # shown at full only (book.recorded)
    book: set[str] = set()
    for full, default in zip(_plans("full"), _plans("default"), strict=True):
        full_hashes = _hashes(full)
        if full_hashes & have or full_hashes == paper_cnn:
            book |= full_hashes
        else:
            book |= _hashes(default)
    smoke = set().union(*map(_hashes, _plans("smoke"))) - book
    split: dict[str, list[dict[str, Any]]] = {USED: [], UNUSED: [], SMOKE: []}
    for record in records:
        use = (
            USED
            if record["hash"] in book
            else SMOKE
            if record["hash"] in smoke
            else UNUSED
        )
        split[use].append(record)
    return split


def _commit(info: dict[str, Any]) -> str:
    """The code that trained a record: the commit of each start of training (and its
    resumes) where the record lists them, else the commit read when it was written."""
    starts = info.get("starts")
    if not starts:
        commit = info.get("git_commit") or "unknown"
        dirty = " with uncommitted changes" if commit.endswith("+dirty") else ""
        return f"{commit[:8]} (read at the end{dirty})"
    shown = []
    for start in starts:
        text = (start.get("commit") or "unknown")[:8]
        text += " (uncommitted changes)" if start.get("dirty") else ""
        if text not in shown:
            shown.append(text)
    threads = sorted({s.get("threads") for s in starts if s.get("threads")})
    resumed = f", {len(starts) - 1} resume(s)" if len(starts) > 1 else ""
    return ", ".join(shown) + f" ({'/'.join(map(str, threads))} thread(s){resumed})"


def _where(info: dict[str, Any]) -> str:
    device = info.get("device", "unknown")
    extra = [
        f"CUDA {info['cuda_version']}" if info.get("cuda_version") else "",
        f"driver {info['nvidia_driver']}" if info.get("nvidia_driver") else "",
        f"image {info['runtime_image']}" if info.get("runtime_image") else "",
    ]
    extra = [e for e in extra if e]
    return device + (f" ({', '.join(extra)})" if extra else "")


def provenance_summary(records: Sequence[dict[str, Any]]) -> str:
    """One row per device, commit and torch version: runs, total training time in
    hours (a benchmark's wall time), first and last date. Run and benchmark records
    alike (both carry ``provenance``)."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for record in records:
        info = record["provenance"]
        key = (_where(info), _commit(info), info.get("torch_version", "?"))
        groups.setdefault(key, []).append(record)
    rows = []
    for (where, commit, torch_version), members in sorted(groups.items()):
        infos = [r["provenance"] for r in members]
        dates = sorted(i["date"][:10] for i in infos)
        hours = sum(training_minutes(r) for r in members) / 60
        rows.append(
            (
                where,
                commit,
                torch_version,
                len(infos),
                number(hours),
                dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}",
            )
        )
    headers = ["device", "code", "PyTorch", "records", "training time (h)", "dates"]
    return markdown_table(headers, rows)


def provenance_table(records: Sequence[dict[str, Any]]) -> str:
    """Every run record: its label, epochs, training time (summed over resumes),
    device, the code that trained it (the commit of every start, or the one read at
    the end for older records) and date."""
    rows = []
    for record in records:
        info = record["provenance"]
        epochs = len(record.get("history", []))
        state = " (diverged)" if "diverged" in record else ""
        rows.append(
            (
                f"`{record['label']}`{state}",
                epochs,
                f"{training_minutes(record):.1f}",
                _where(info),
                _commit(info),
                info["date"][:10],
            )
        )
    headers = ["run", "epochs", "training time (min)", "device", "code", "date"]
    return markdown_table(headers, rows)


def run_lengths(records: Sequence[dict[str, Any]]) -> str:
    """Which variant's runs (:func:`gaaf.book.figures.costs.variant_of`) ran the most epochs
    on average, with each variant's mean epochs and wall minutes, in one sentence."""
    by: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by.setdefault(variant_of(record["config"]), []).append(record)
    if not by:
        return "No run record exists yet."

    def mean(rs: list[dict[str, Any]], value: Any) -> float:
        return statistics.fmean(value(r) for r in rs)

    epochs = {v: mean(rs, lambda r: len(r["history"])) for v, rs in by.items()}
    longest = max(epochs, key=epochs.get)
    each = "; ".join(
        f"{display(v)} {number(epochs[v])} epochs, "
        f"{number(mean(rs, training_minutes))} min "
        f"({len(rs)} runs)"
        for v, rs in sorted(by.items(), key=lambda item: -epochs[item[0]])
    )
    return f"The {display(longest)} runs are the longest on average: {each}."


def counts_sentence(split: dict[str, list[dict[str, Any]]], benchmarks: int) -> str:
    """What this build read, counted as the page's figure and tables count it:
    ``split`` is :func:`by_use`'s."""
    used = split[USED]
    diverged = sum("diverged" in r for r in used)
    parts = [
        f"{len(used)} run records that the chapters show"
        + (
            f" ({len(used) - diverged} trained to the end, in the figure below, and "
            f"{diverged} that diverged, in the tables only)"
            if diverged
            else ""
        )
    ]
    if split[UNUSED]:
        parts.append(
            f"{len(split[UNUSED])} that no chapter shows (superseded by longer runs "
            "of the same configuration; listed apart at the end)"
        )
    if split[SMOKE]:
        parts.append(
            f"{len(split[SMOKE])} from the test profile (smoke), not counted anywhere "
            "else on this page"
        )
    parts.append(f"{benchmarks} benchmark records")
    return f"This build found {listed(parts)}."


def uncommitted_sentence(records: Sequence[dict[str, Any]]) -> str:
    """How many ``records`` were trained from code with uncommitted changes, and what
    that means for a reader (empty when none was)."""

    def dirty(record: dict[str, Any]) -> bool:
        info = record["provenance"]
        starts = info.get("starts") or []
        return any(s.get("dirty") for s in starts) or str(
            info.get("git_commit", "")
        ).endswith("+dirty")

    count = sum(map(dirty, records))
    if not count:
        return ""
    return (
        f"{count} of these {len(records)} records {'was' if count == 1 else 'were'} "
        "trained from a working copy "
        "with uncommitted changes: the commit they name is the code they started "
        "from, not necessarily all of it. Retraining one from that commit may differ "
        "from it; where the two differ, the record is the evidence and the commit only "
        "a pointer."
    )
