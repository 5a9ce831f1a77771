"""The MNIST chapter's sentences, computed from its records: the settings the runs used,
the verdict on claim 4 with the numbers it rests on, whether that verdict depends on
the stopping rule, and the reading of the sensitivity runs.

The verdict words come from :mod:`gaaf.analysis.claims` (the rule of :mod:`gaaf.analysis.verdicts`);
this module only says them with their numbers (3 significant figures).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from gaaf.analysis import claims, paper
from gaaf.analysis.fairness import uncensored
from gaaf.analysis.measures import SPEED_TARGET, epochs_reached
from gaaf.analysis.stats import Groups, Record, present, values
from gaaf.analysis.verdicts import EQUIVALENCE_MARGIN, Effect, combine
from gaaf.book import wording
from gaaf.book.formatting import interval
from gaaf.book.tables import number, signed
from gaaf.experiments.labels import GroupKey, display
from gaaf.experiments.plans import MNIST_VARIANTS, mnist_config

__all__ = [
    "choices",
    "fair_verdict_text",
    "paper_gaps",
    "seeds_text",
    "sensitivity_reading",
    "stopping_rule",
    "verdict_text",
]


def _config(groups: Groups, variant: str) -> dict:
    """A config of ``variant``'s records (the full profile's when there is none)."""
    records = groups.get(variant) or []
    if records:
        return records[0]["config"]
    return mnist_config("full", variant).to_dict()


def choices(groups: Groups) -> dict[str, str]:
    """The settings the chapter's prose names, read from the records' configs: the
    network (``"network"``), optimizer (``"optimizer"``), dropout rates
    (``"dropout"``), GAAF's ``K`` (``"K"``), ``"patience"`` and ``"max_epochs"``."""
    base, drop, gaaf = (_config(groups, v) for v in MNIST_VARIANTS)
    widths = base["widths"]
    same = len(set(widths)) == 1
    layers = f"{len(widths)} hidden layers of " + (
        f"{widths[0]} units" if same else "/".join(map(str, widths)) + " units"
    )
    optimizer = base["optimizer"].upper()
    if base["momentum"]:
        optimizer += f" with momentum {base['momentum']:g} and"
    optimizer += f" learning rate {base['lr']:g}, batches of {base['batch_size']}"
    return {
        "network": f"{layers}, {base['init'].capitalize()} initialization",
        "optimizer": optimizer,
        "dropout": f"{drop['dropout_input']:g} on the input and "
        f"{drop['dropout_hidden']:g} on hidden units",
        "K": f"{gaaf['gaaf_K']:g}",
        "patience": str(base["patience"]),
        "max_epochs": str(base["max_epochs"]),
    }


def seeds_text(groups: Groups) -> str:
    """``"5 seeds each"``, or ``"5, 5 and 3 seeds"`` (in the groups' order), or
    ``"no records yet"``."""
    counts = [len(rs) for rs in groups.values()]
    if not counts:
        return "no records yet"
    if len(set(counts)) == 1:
        return f"{counts[0]} seed{'' if counts[0] == 1 else 's'} each"
    return ", ".join(map(str, counts[:-1])) + f" and {counts[-1]} seeds"


def _interval(e: Effect, unit: str = "") -> str:
    if e.diff is None:
        return "not run"
    if e.interval is None:
        return f"{signed(e.diff)}{unit} ({e.n[0]} vs {e.n[1]} seeds, no interval)"
    i = e.interval
    p = "" if e.p_adjusted is None else f", Holm-adjusted p = {e.p_adjusted:.2g}"
    return (
        f"{signed(e.diff)}{unit}, 95% interval {interval(i.low, i.high)} "
        f"({e.n[0]} vs {e.n[1]} seeds{p})"
    )


def _mean(records: Sequence[Record], metric: str, scale: float = 1) -> str:
    found = values(records, metric, scale)
    return number(statistics.fmean(found)) if found else "not run"


def _reached_mean(records: Sequence[Record], target: float) -> str:
    found = epochs_reached(records, target)
    return number(statistics.fmean(found)) if found else "never"


def _shortfall(e: Effect) -> str:
    """The paper's own shortfall beside our equivalence test of reaching."""
    if e.diff is None or e.paper is None:
        return ""
    test = (
        ""
        if e.within is None
        else (
            f"; by the equivalence test (±{EQUIVALENCE_MARGIN:g} points) GAAF "
            + ("reaches" if e.within else "is not shown to reach")
            + " dropout's accuracy"
        )
    )
    return f"; the paper calls its own {signed(e.paper)} reaching{test}"


def verdict_text(groups: Groups, target: float = SPEED_TARGET) -> str:
    """Claim 4's verdict in a few lines of Markdown: its word, then each part (fewer
    epochs, on both measures; reaching dropout's accuracy; above the base) with its
    word and numbers."""
    v = claims.claim4(groups)
    epochs, vs_base, vs_drop = v.numbers
    speed = claims.claim4_speed(groups, target).numbers[0]
    g, d = groups.get("gaaf", []), groups.get("dropout", [])
    ratio = f", ×{number(speed.ratio)}" if speed.ratio is not None else ""
    return "\n".join(
        [
            f"**Claim 4 on MNIST: {v.word}.** {wording.tally(v)}",
            "",
            f"- *Fewer epochs than dropout: {epochs.word}.* Best epoch GAAF "
            f"{_mean(g, 'best_epoch')} against dropout {_mean(d, 'best_epoch')}: "
            f"{_interval(epochs, ' epochs')}. Without the stopping rule, first epoch at "
            f"{100 * target:g}% validation accuracy: {_reached_mean(g, target)} against"
            f" {_reached_mean(d, target)}{ratio} (*{speed.word}*).",
            f"- *Reaches dropout's accuracy: {vs_drop.word}.* GAAF - dropout "
            f"{_interval(vs_drop, ' points')}{_shortfall(vs_drop)}.",
            f"- *More accurate than the base: {vs_base.word}.* GAAF - base "
            f"{_interval(vs_base, ' points')}; the paper: {signed(vs_base.paper or 0)}.",
        ]
    )


def fair_verdict_text(
    fair: Groups,
    rates: dict[str, float],
    wide: Groups,
    single: Groups,
    target: float = SPEED_TARGET,
) -> str:
    """Claim 4 with every arm at its own learning rate (``rates``, chosen on
    validation): judged on ``fair`` (reduced width, the most seeds) by
    :func:`verdict_text`, then its word at the paper's width at the same rates
    (``wide``) and with one rate for every arm (``single``, the first comparison this
    book made), and whether the word changed. Censored runs are left out of all three.
    """
    chosen = ", ".join(f"{display(a)} {lr:g}" for a, lr in rates.items()) or "none yet"
    words = {
        name: claims.claim4(uncensored(g)).word
        for name, g in (("fair", fair), ("wide", wide), ("single", single))
    }
    changed = (
        "the same word"
        if words["single"] == words["fair"]
        else f"*{words['single']}* there, *{words['fair']}* here"
    )
    return "\n".join(
        [
            f"Every arm at its own learning rate, chosen on validation ({chosen}), at "
            f"the reduced width, {seeds_text(present(fair))}:",
            "",
            verdict_text(uncensored(fair), target),
            "",
            f"- *At the paper's width, each arm at its own rate* "
            f"({seeds_text(present(wide))}): claim 4 is *{words['wide']}*.",
            f"- *One learning rate for every arm* (0.01, the paper's width, the "
            f"comparison first made here): claim 4 is *{words['single']}*; against the "
            f"fair comparison, {changed}.",
        ]
    )


def stopping_rule(groups: Groups, target: float = SPEED_TARGET) -> str:
    """Whether claim 4's verdict depends on the stopping rule: its "fewer epochs"
    comparison by the best epoch and by the first epoch at ``target`` validation
    accuracy (:func:`gaaf.analysis.claims.claim4_speed`), and claim 4's word with the second in
    place of the first."""
    v = claims.claim4(groups)
    best, *accuracy = v.numbers
    speed = claims.claim4_speed(groups, target).numbers[0]
    recomputed, _ = combine([speed, *accuracy])
    same = "the same" if recomputed == v.word else "not the same"
    return (
        f"By the first epoch at {100 * target:g}% validation accuracy, GAAF - dropout "
        f"is {_interval(speed, ' epochs')}: *{speed.word}*, against *{best.word}* by "
        f"the best epoch. With this measure in place of the best epoch, claim 4 is "
        f"*{recomputed}*, {same} as with the stopping rule (*{v.word}*)."
    )


def paper_gaps(groups: Groups) -> str:
    """Our means against the paper's table: the largest accuracy gap in points and our
    epochs to converge as a fraction of the paper's, per model."""
    shown = present(groups)
    acc = {
        n: statistics.fmean(values(rs, "test_acc", 100))
        - paper.MNIST[n]["test_acc"].mean
        for n, rs in shown.items()
    }
    epochs = {
        n: statistics.fmean(values(rs, "best_epoch"))
        / paper.MNIST[n]["best_epoch"].mean
        for n, rs in shown.items()
    }
    if not shown:
        return "No records yet."
    worst = max(acc, key=lambda n: abs(acc[n]))
    listed = ", ".join(f"{display(n)} ×{number(r)}" for n, r in epochs.items())
    return (
        f"Our mean test accuracies differ from the paper's by at most "
        f"{number(abs(acc[worst]))} points ({display(worst)}: {signed(acc[worst])}); our epochs "
        f"to converge are a fraction of its ({listed} of the paper's)."
    )


def sensitivity_reading(sensitivity: Groups) -> str:
    """The one-seed sensitivity runs in one paragraph: in how many settings and against
    how many dropout runs GAAF converged sooner and was at least as accurate, which
    dropout runs ran to their epoch cap, and how the two dropout rates compare."""
    shown = present(sensitivity)
    keys = [GroupKey.parse(n) for n in shown]
    settings = sorted({k.setting for k in keys if k.setting})
    sooner = as_good = total = 0
    capped, lower = [], []
    for s in settings:
        gaaf = shown.get(GroupKey("gaaf", s))
        drops = {
            k: shown[k]
            for k in keys
            if k.setting == s and k.variant.startswith("dropout")
        }
        for name, rs in drops.items():
            r = rs[0]
            capped += [name] if not r["stopped_early"] else []
            if gaaf:
                total += 1
                sooner += gaaf[0]["best_epoch"] < r["best_epoch"]
                as_good += gaaf[0]["test_acc"] >= r["test_acc"]
        rates = sorted(drops, key=lambda n: float(n.rsplit(" ", 1)[1]))
        if len(rates) == 2:
            low, high = (drops[n][0] for n in rates)
            if (
                low["test_acc"] > high["test_acc"]
                and low["best_epoch"] < high["best_epoch"]
            ):
                lower.append(s)
    if not total:
        return "No sensitivity runs with GAAF and dropout yet."
    text = (
        f"In the sensitivity runs (one seed each), GAAF converged sooner than {sooner} "
        f"of {total} dropout runs and was at least as accurate as {as_good} of {total}."
    )
    if capped:
        text += f" Ran to the epoch cap without stopping: {', '.join(capped)}."
    if lower:
        text += (
            f" The lower dropout rate converged sooner and more accurately in "
            f"{len(lower)} of {len(settings)} settings ({', '.join(lower)})."
        )
    return text
