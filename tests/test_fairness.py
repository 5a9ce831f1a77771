"""The fair comparisons, on constructed records (expected values by hand) and on the
committed records: claim 2 at matched training loss, paired tests within one network,
flatness and robustness, censored runs, epochs run and matched epochs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from builders import make_record

from gaaf.analysis import fairness, matched_loss, measures, stats
from gaaf.analysis.verdicts import CONTRADICTED, NOT_IN_PAPER, SUPPORTED, UNRESOLVED
from gaaf.book import fair_tables, wording
from gaaf.experiments import plans
from gaaf.experiments.records import Record
from gaaf.experiments.runs import find_record
from gaaf.experiments.selection import Selected

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------- gradient at a given loss


def run(losses, grads, seed=0, best=None, first=None) -> Record:
    """A record whose epoch e has running training loss ``losses[e]`` and the same
    mean gradient ``grads[e]`` in each of three layers (in epoch 1: ``first``, if
    given, which leaves the whole-run mean as ``grads`` has it)."""
    per_epoch = [[g, g, g] for g in grads]
    if first is not None:
        per_epoch[0] = [first] * 3
    history = [
        {"epoch": i + 1, "train_loss": x, "val_acc": 0.9} for i, x in enumerate(losses)
    ]
    flow = {
        "per_epoch": {"dw": per_epoch, "dz": per_epoch, "dh": per_epoch},
        "mean": {q: [sum(grads) / len(grads)] * 3 for q in ("dw", "dz", "dh")},
    }
    return make_record(
        seed=seed,
        widths=[8, 8, 8],
        patience=20,
        history=history,
        best_epoch=best,
        probes={"gradient_flow": flow},
    )


def test_the_gradient_at_a_loss_is_interpolated_log_log_between_epochs():
    r = run([1.0, 0.1, 0.01], [8.0, 2.0, 0.5])
    # log-log line through (0.1, 2) and (1, 8): at 0.316..., sqrt(2 * 8) = 4
    assert measures.gradient_at_loss(r, "dw", 10**-0.5) == pytest.approx([4.0] * 3)
    assert measures.gradient_at_loss(r, "dw", 0.1) == pytest.approx([2.0] * 3)
    assert measures.gradient_at_loss(r, "dw", 2.0) is None  # never that high
    assert measures.gradient_at_loss(r, "dw", 0.001) is None
    # a noisy, non-monotone loss is sorted first
    noisy = run([1.0, 0.2, 0.3, 0.1], [8.0, 3.0, 4.0, 2.0])
    assert measures.gradient_at_loss(noisy, "dw", 0.25)[0] == pytest.approx(
        3 * (4 / 3) ** (0.2231 / 0.4055), rel=1e-3
    )


def test_the_overlap_is_what_every_run_passed_through():
    a, b = run([1.0, 0.1, 0.01], [1, 1, 1]), run([0.5, 0.2, 0.05], [1, 1, 1])
    assert measures.loss_overlap([a, b]) == (0.05, 0.5)
    assert measures.loss_overlap([a, run([0.005, 0.001], [1, 1])]) is None
    losses = matched_loss.matched_losses([a, b], n=3)
    assert losses[0] == pytest.approx(0.5, rel=1e-3)
    assert losses[1] == pytest.approx((0.05 * 0.5) ** 0.5, rel=1e-3)
    assert losses[2] == pytest.approx(0.05, rel=1e-3)


def test_a_larger_whole_run_mean_can_be_a_smaller_gradient_at_equal_loss():
    # base fits fast (its loss and gradient collapse); dropout stays at high loss with
    # a gradient that is, at every equal loss, half the base's
    losses = [1.0, 0.1, 0.01, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9]
    base = [
        run(losses, [10 * x for x in losses], seed=s, first=10.5 if s == 1 else None)
        for s in range(3)
    ]
    dropout = [
        run([1.0] + [0.5] * 30, [5.0] + [2.5 + 0.01 * s] * 30, seed=s) for s in range(3)
    ]
    groups = {"base": base, "dropout": dropout, "gaaf": []}
    whole = [
        measures.flow_window(dropout[0], "dw", "all")[0]
        / measures.flow_window(base[0], "dw", "all")[0]
    ]
    assert whole[0] > 1  # the whole-run mean says "more gradient with dropout"
    v = matched_loss.claim2_matched(groups, "dw")
    assert [e.word for e in v.numbers] == [CONTRADICTED] * 3
    assert v.numbers[0].ratio == pytest.approx(0.5, rel=0.05)
    middle = matched_loss.judged_loss(v)
    assert middle == pytest.approx((0.5 * 1.0) ** 0.5, rel=1e-3)
    at_losses = [d for d in v.details if isinstance(d, matched_loss.RatiosAtLoss)]
    assert [d.judged for d in at_losses] == [False, False, True, False, False]
    assert at_losses[2].loss == middle
    assert at_losses[2].ratios == pytest.approx([0.5] * 3, rel=0.05)
    windows = matched_loss.flow_windows(groups, "dw")
    assert [w.window for w in windows] == ["all", 10, "best"]
    assert windows[0].ratios[0] > 1  # over all iterations: "more gradient"
    lines = [wording.detail(w) for w in windows]
    assert lines[0].startswith("- dropout / base over all iterations (the paper's")
    assert "over the first 10 epochs" in lines[1]


def test_claim2_at_matched_loss_on_the_committed_records():
    groups = {
        v: [find_record(c, ROOT / "results") for c in configs]
        for v, configs in plans.mnist_plan("full").items()
    }
    v = matched_loss.claim2_matched(groups, "dz")
    dropout = [e for e in v.numbers if e.a == "dropout"]
    # at equal training loss dropout's |dL/dz| is below the base's in every layer
    assert all(e.ratio < 1 and e.word == CONTRADICTED for e in dropout)
    assert v.word == CONTRADICTED


# ------------------------------------------------------------------ paired networks


def slope_record(on, off, name="dropout") -> Record:
    """A record whose noise-slope probe has slope factors ``on`` and ``off``."""
    slopes = {"masks_on": {"slope": list(on)}, "masks_off": {"slope": list(off)}}
    return make_record(probes={"noise_slope": slopes})


def test_a_paired_test_uses_the_pairs():
    on = [0.50, 0.61, 0.72, 0.55]
    off = [0.49, 0.60, 0.70, 0.54]  # every network a little higher with masks on
    interval, test = stats.paired(on, off)
    assert interval.diff == pytest.approx(0.0125)
    assert interval.low > 0 and test.p < 0.05
    assert test.rank_p == pytest.approx(2 / 16)  # all four signs agree: 2 of 16
    assert stats.welch_test(on, off).p > 0.5  # unpaired, the spread hides it
    with pytest.raises(ValueError, match="in pairs"):
        stats.paired([1, 2], [1])


def test_the_slope_mechanism_within_one_network():
    lower = [slope_record([0.4 - 0.01 * s] * 3, [0.5] * 3) for s in range(5)]
    v = fairness.noise_slope_verdict({"dropout": lower, "base": []})
    assert [e.word for e in v.numbers] == [CONTRADICTED] * 3
    assert "masks on - off" in v.numbers[0].what
    higher = [slope_record([0.6 + 0.01 * s] * 3, [0.5] * 3) for s in range(5)]
    v = fairness.noise_slope_verdict({"dropout": [], "base": higher})
    assert v.word == SUPPORTED and "dropout's masks injected" in v.numbers[0].what


def flat_record(rises, accs) -> Record:
    """A record whose loss rises by ``rises`` under weight perturbations and whose
    accuracies under input noise are ``accs``."""
    return make_record(
        probes={
            "flatness": {"perturbed": [{"rise": x} for x in rises]},
            "input_noise": {"noisy": [{"acc": a} for a in accs]},
        }
    )


def test_flatness_and_robustness_are_judged_by_direction():
    base = [
        flat_record([0.10 + 0.001 * s, 0.40 + extra], [0.97, 0.90, 0.70 + extra])
        for s, extra in enumerate((0.0, 0.01, 0.02))
    ]
    flatter = [
        flat_record([0.05 + 0.001 * s, 0.20 + 0.01 * s], [0.97, 0.95, 0.90 + 0.01 * s])
        for s in range(3)
    ]
    v = fairness.flatness_verdict({"base": base, "dropout": flatter, "gaaf": []})
    words = [e.word for e in v.numbers if e.a == "dropout"]
    assert words[:2] == [SUPPORTED, SUPPORTED]  # smaller rises
    assert words[4] == SUPPORTED  # more accurate under the largest noise
    assert words[2] == UNRESOLVED  # 0.97 against 0.97: no difference
    assert all(e.word != NOT_IN_PAPER for e in v.numbers if e.a == "GAAF")


# --------------------------------------------------------------- training and rates


def test_censored_runs_are_counted_and_kept_out():
    capped, stopped = (
        make_record(
            patience=20,
            stopped_early=epochs < 300,
            epochs_run=epochs,
            val_acc=0.98,
            history=[{"val_acc": 0.97}] * epochs,
        )
        for epochs in (300, 40)
    )
    assert fairness.uncensored({"a": [capped, stopped]}) == {"a": [stopped]}
    headers, (row,) = fair_tables.training_rows({"dropout": [capped, stopped]})
    assert headers[3] == "stopped by the cap" and row[3] == "1 of 2"
    assert row[2] == "170 (40 to 300)"
    assert row[5] == "97.00 (0.00), 2 runs" and row[6] == "97.00 (0.00), 2 runs"


def test_rate_rows_say_what_the_selection_did():
    def rec(acc):
        return make_record(val_acc=acc, test_acc=acc, epochs_run=20)

    grid = {"base": {0.01: [rec(0.97), rec(0.971)], 0.02: [rec(0.98), None]}}
    chosen = {"base": Selected(0.01, 0.9705, {0.01: 0.9705}, {0.02: "not every seed"})}
    _, rows = fair_tables.rate_rows(grid, chosen)
    assert rows[0][1:3] == ["0.01", "2 of 2"] and rows[0][-1] == "chosen"
    assert rows[1][2] == "1 of 2" and rows[1][-1] == "not every seed"


def test_the_committed_grid_records_belong_to_the_grid():
    cells = plans.mnist_lr_cells("full")
    found = [
        json.loads(p.read_text())["hash"]
        for p in sorted((ROOT / "results" / "mnist").glob("*256x3*.json"))
    ]
    planned = {c.hash for by_lr in cells.values() for cs in by_lr.values() for c in cs}
    assert planned & set(found)  # the grid's records are where the chapters look


def test_the_matched_reading_follows_the_verdict():
    from gaaf.analysis.verdicts import Effect, Verdict
    from gaaf.book.prose import readings

    def verdict(word, ratio):
        e = Effect("x", "dropout", (5, 5), 1.0, ratio, None, None, 5.0, True, word, 1)
        return Verdict("c", word, (e,))

    assert "not from acceleration" in readings.matched_reading(
        verdict(CONTRADICTED, 0.9)
    )
    assert "as the paper's acceleration has it" in readings.matched_reading(
        verdict(SUPPORTED, 4.0)
    )
    assert "not measured" in readings.matched_reading(Verdict("c", "w", ()))
