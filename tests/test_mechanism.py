"""The mechanism study's tables and findings, on constructed records (expected values
computed by hand)."""

from __future__ import annotations

import pytest
from builders import make_record

from gaaf.analysis.verdicts import (
    CONTRADICTED,
    EQUIVALENT,
    NOT_IN_PAPER,
    NOT_TESTED,
    SUPPORTED,
    UNRESOLVED,
)
from gaaf.book.prose import mechanism
from gaaf.experiments.records import Record
from gaaf.experiments.runs import NOT_RUN, Runs


def record(
    test_acc: float, best_epoch: int, val_accs: list[float], stopped_early=True
) -> Record:
    """A record whose validation accuracy per epoch is ``val_accs``."""
    history = [{"epoch": i + 1, "val_acc": a} for i, a in enumerate(val_accs)]
    return make_record(
        test_acc=test_acc,
        best_epoch=best_epoch,
        history=history,
        stopped_early=stopped_early,
    )


def group(
    accs: list[float], bests=(5, 6, 7), first=(2, 3, 4), stopped_early=True
) -> list[Record]:
    """One record per accuracy; record i first reaches 98% validation accuracy at
    epoch ``first[i]`` (None: never). ``stopped_early=False``: stopped by the epoch
    cap instead."""
    out = []
    for acc, best, at in zip(accs, bests, first, strict=True):
        curve = [0.97] * 8 if at is None else [0.97] * (at - 1) + [0.981] * (9 - at)
        out.append(record(acc, best, curve, stopped_early))
    return out


# gaaf: 98.0, 98.2, 98.4 -> mean 98.20, std 0.20; base: 97.5, 97.7, 97.9 -> 97.70 (0.20)
# Welch: se = sqrt(2 * 0.04 / 3) = 0.16330, dof = 4, t(0.975, 4) = 2.77645,
# half width 0.45339: gaaf - base = +0.50 [+0.05, +0.95]
GAAF = group([0.980, 0.982, 0.984])
BASE = group([0.975, 0.977, 0.979], bests=(8, 9, 10), first=(None, None, None))


def test_mechanism_table_rows():
    groups = {"base": BASE, "dropout": GAAF[:1], "gaaf": GAAF, "surrogate": []}
    planned = dict.fromkeys(groups, 3)
    headers, rows = mechanism.mechanism_table(groups, planned)
    assert headers == [
        "group",
        "seeds",
        "test acc. (%)",
        "best epoch",
        "first epoch at 98%",
    ]
    base, dropout, gaaf, surrogate = rows
    assert base == ["base", "3 of 3", "97.70 (0.20)", "9.0 (1.0)", "never, 0 of 3 runs"]
    assert gaaf == [
        "GAAF",
        "3 of 3",
        "98.20 (0.20)",
        "6.0 (1.0)",
        "3.0 (1.0), 3 of 3 runs",
    ]
    assert dropout[1:] == [
        "1 of 3",
        "98.00 (1 seed)",
        "5.0 (1 seed)",
        "2.0 (1 seed), 1 of 1 runs",
    ]
    assert surrogate == ["surrogate", "0 of 3", *[NOT_RUN] * 3]
    headers, rows = mechanism.difference_table(groups)
    assert headers == [
        "group",
        "- GAAF (points, 95% interval)",
        "- base (points, 95% interval)",
    ]
    base, dropout, gaaf, surrogate = rows
    assert base == ["base", "-0.5 [-0.953, -0.0466]", ""]
    assert gaaf == ["GAAF", "", "+0.5 [+0.0466, +0.953]"]
    # one seed: the difference (98.0 - 98.2), no interval
    assert dropout[1:] == ["-0.2 (no interval: 1 seed)", "+0.3 (no interval: 1 seed)"]
    assert surrogate[1:] == [NOT_RUN, NOT_RUN]


def test_regime_tables_put_the_papers_numbers_beside_ours():
    # BASE's first two records, stopped by the epoch cap
    capped = group(
        [0.975, 0.977], bests=(8, 9), first=(None, None), stopped_early=False
    )
    groups = {"momentum 0: gaaf": GAAF, "momentum 0: base": BASE}
    groups["momentum 0: dropout"] = capped
    planned = {
        f"momentum {m}: {v}": 5
        for m in ("0.9", "0")
        for v in ("base", "dropout", "gaaf")
    }
    headers, rows = mechanism.regime_table(groups, planned, "test_acc")
    assert headers == [
        "model",
        "paper",
        "momentum 0.9",
        "momentum 0, lr 0.01",
        "momentum 0, lr 0.05",
        "momentum 0, lr 0.1",
    ]
    base = rows[0]
    assert base[:2] == ["base", "98.23 (0.075)"]
    assert base[2] == f"{NOT_RUN} (0 of 5 runs)"
    assert base[3] == "97.70 (0.20), 3 of 5 runs"
    _, rows = mechanism.regime_table(groups, planned, "best_epoch")
    assert rows[0][1] == "82 (16.6)"
    assert rows[1][3] == "8.5 (0.7), 2 ran to the epoch cap, 2 of 5 runs"
    headers, rows = mechanism.regime_table(groups, planned, "first")
    assert headers[1:3] == ["momentum 0.9", "momentum 0, lr 0.01"]  # no paper column
    assert rows[2][2] == "3.0 (1.0), 3 of 3 runs"
    with pytest.raises(ValueError, match="measure"):
        mechanism.regime_table(groups, planned, "loss")


def test_regime_finding_orders_the_models_as_the_paper_or_not():
    # momentum 0: GAAF (98.2) > dropout (98.0) > base (97.7); epochs GAAF 6 < base 9
    dropout = {"accs": [0.980] * 3, "bests": (50, 60, 70)}
    groups = {
        "momentum 0: base": BASE,
        "momentum 0: dropout": group(**dropout),
        "momentum 0: gaaf": GAAF,
    }
    planned = {name: 3 for name in groups} | {"momentum 0.9: base": 3}
    text = mechanism.regime_finding(groups, planned)
    assert text.startswith(
        "The paper: epochs base < GAAF < dropout; test accuracy dropout > GAAF > base."
    )
    assert "Momentum 0.9: 0 of 3 runs, not every model run." in text
    assert (
        "Momentum 0, lr 0.01 (9 of 9 runs): epochs GAAF < base < dropout (not the "
        "paper's order); test accuracy GAAF > dropout > base (not the paper's order)."
        in text
    )
    # runs stopped by the epoch cap: no ordering is drawn from them
    capped = group(**dropout, stopped_early=False)
    text = mechanism.regime_finding({**groups, "momentum 0: dropout": capped}, planned)
    assert "3 stopped by the epoch cap while still improving" in text


def finding(groups: dict, question: str) -> mechanism.Finding:
    (found,) = [f for f in mechanism.findings(groups) if f.question == question]
    return found


@pytest.mark.parametrize(
    ("surrogate", "word"),
    [
        ([0.9820, 0.9821, 0.9819, 0.9820, 0.9820], EQUIVALENT),  # within +-0.1 points
        ([0.981, 0.983, 0.982], UNRESOLVED),  # 0 on average, too few seeds to match
        ([0.990, 0.992, 0.994], SUPPORTED),  # +1.00 [+0.55, +1.45]: above GAAF
        ([0.990], NOT_TESTED),
    ],
)
def test_the_surrogate_matches_gaaf_only_by_an_equivalence_test(surrogate, word):
    gaaf = group([0.9819, 0.9820, 0.9821], bests=(5,) * 3)
    if word != EQUIVALENT:
        gaaf = GAAF
    n = len(surrogate)
    groups = {
        "gaaf": gaaf,
        "surrogate": group(surrogate, first=(2,) * n, bests=(5,) * n),
    }
    found = finding(groups, "GAAF is a surrogate gradient")
    assert found.word == word == found.effect.word
    assert found.sentence.startswith(f"**GAAF is a surrogate gradient: {word}.**")
    if word == UNRESOLVED:
        assert "these seeds resolve differences of" in found.sentence


def test_the_shape_finding_is_supported_when_no_shape_is_below_beyond_noise():
    found = finding({"gaaf": GAAF, "gaaf, no shape": BASE}, "The shape matters")
    assert found.word == SUPPORTED
    assert (
        "GAAF, no shape - GAAF = -0.5 points, 95% interval [-0.953, -0.0466], "
        "Holm-adjusted p = 0.038 (3 vs 3 seeds)" in found.sentence  # t = 3.06, 4 dof
    )
    assert found.markdown().startswith(found.sentence)


def test_the_family_is_corrected_together():
    # the same comparison as above, now beside a second resolved one: Holm doubles
    # the larger p, and 0.04 becomes 0.08 (unresolved)
    groups = {"gaaf": GAAF, "gaaf, no shape": BASE, "base, lr x2": BASE}
    shape = finding(groups, "The shape matters")
    assert shape.effect.p_adjusted == pytest.approx(2 * shape.effect.test.p)
    assert shape.word == UNRESOLVED


def test_the_step_finding_and_the_questions_asked():
    assert finding(
        {"gaaf": GAAF, "base, lr x2": BASE}, "Not just a larger step"
    ).word == (SUPPORTED)
    reverse = finding({"gaaf": BASE, "base, lr x2": GAAF}, "Not just a larger step")
    assert reverse.word == CONTRADICTED
    untested = finding(
        {"gaaf": GAAF, "base, lr x2": BASE[:1]}, "Not just a larger step"
    )
    assert untested.word == NOT_TESTED
    assert "GAAF has 3 and base, lr ×2 1 records" in untested.sentence
    assert [f.question for f in mechanism.findings({})][:4] == [
        "GAAF is a surrogate gradient",
        "GAAF is a per-layer learning rate",
        "The shape matters",
        "Not just a larger step",
    ]
    bump = finding({"gaaf": GAAF, "gaaf, c 1": BASE}, "The bump's width (c 1)")
    assert bump.word == NOT_IN_PAPER and bump.effect.p_adjusted is not None


def test_curve_panels_figure_keeps_one_colour_per_group():
    import matplotlib.colors as mcolors
    import matplotlib.pyplot as plt

    from gaaf.book.figures.runs import EXTRA_COLORS, curve_panels_figure
    from gaaf.book.figures.style import PALETTE, problems
    from gaaf.experiments.labels import display

    groups = {"base": BASE, "gaaf": GAAF, "surrogate": GAAF, "gaaf, no shape": BASE}
    panels = {
        "a": ["base", "gaaf", "surrogate"],
        "b": ["gaaf", "gaaf, no shape"],
        "c": ["x"],
    }
    fig = curve_panels_figure(groups, panels, name=display)
    assert problems(fig) == []
    a, b, c = fig.axes
    assert a.get_xscale() == "linear"  # runs of 8 epochs
    colours = {
        line.get_label(): mcolors.to_hex(line.get_color()) for line in a.lines + b.lines
    }
    assert colours == {
        "base (3 seeds)": PALETTE["base"],
        "GAAF (3 seeds)": PALETTE["gaaf"],
        "surrogate (3 seeds)": EXTRA_COLORS[0],
        "GAAF, no shape (3 seeds)": EXTRA_COLORS[1],
    }
    assert not c.lines
    plt.close(fig)


def test_what_is_still_missing_of_each_plan():
    records = Runs("full", {"base": BASE, "gaaf": GAAF[:1]}, {"base": 3, "gaaf": 3})
    regimes = Runs("full", {"dropout": []}, {"dropout": 2})
    assert mechanism.still_missing(records, regimes) == (
        "- GAAF: 1 of 3 runs\n- dropout: 0 of 2 runs"
    )
    complete = Runs("full", {"base": BASE}, {"base": 3})
    assert mechanism.still_missing(complete) == (
        "Nothing: every planned run has a record."
    )
