"""Where every number was computed: the provenance of run and benchmark records, as
the book's status page shows it."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from gaaf.figures.costs import variant_of
from gaaf.figures.style import display
from gaaf.tables import markdown_table, number

__all__ = ["provenance_summary", "provenance_table", "run_lengths"]


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
    """One row per device, commit and torch version: runs, total wall time in hours,
    first and last date. Run and benchmark records alike (both carry ``provenance``)."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for record in records:
        info = record["provenance"]
        key = (_where(info), _commit(info), info.get("torch_version", "?"))
        groups.setdefault(key, []).append(info)
    rows = []
    for (where, commit, torch_version), infos in sorted(groups.items()):
        dates = sorted(i["date"][:10] for i in infos)
        hours = sum(i["wall_seconds"] for i in infos) / 3600
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
    headers = ["device", "commit", "torch", "records", "wall time (h)", "dates"]
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
                record["label"] + state,
                epochs,
                f"{record.get('train_seconds', info['wall_seconds']) / 60:.1f}",
                _where(info),
                _commit(info),
                info["date"][:10],
            )
        )
    headers = ["run", "epochs", "training time (min)", "device", "code", "date"]
    return markdown_table(headers, rows)


def run_lengths(records: Sequence[dict[str, Any]]) -> str:
    """Which variant's runs (:func:`gaaf.figures.costs.variant_of`) ran the most epochs
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
        f"{number(mean(rs, lambda r: r['provenance']['wall_seconds']) / 60)} min "
        f"({len(rs)} runs)"
        for v, rs in sorted(by.items(), key=lambda item: -epochs[item[0]])
    )
    return f"The {display(longest)} runs are the longest on average: {each}."
