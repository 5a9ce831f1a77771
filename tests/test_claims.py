"""The verdict rule, on constructed comparisons and records: supported, smaller than
claimed, unresolved, contradicted, equivalent, not tested; Holm within a family; the
weakest comparison decides a claim."""

from __future__ import annotations

import pytest
from builders import make_record

from gaaf.analysis import claims, stats, verdicts
from gaaf.analysis.verdicts import (
    CONTRADICTED,
    EQUIVALENT,
    NOT_IN_PAPER,
    NOT_TESTED,
    SMALLER,
    SUPPORTED,
    UNRESOLVED,
)
from gaaf.book import tables, wording
from gaaf.experiments import plans
from gaaf.experiments.records import Record
from gaaf.experiments.runs import NOT_RUN


@pytest.mark.parametrize(
    ("resolved", "size", "paper", "direction", "word"),
    [
        (True, 2.0, 3.0, +1, SUPPORTED),  # resolved, 2 >= 3 / 2
        (True, 1.0, 3.0, +1, SMALLER),  # resolved, under half the paper's
        (False, 1.0, 3.0, +1, UNRESOLVED),  # the paper's side, not resolved
        (True, -1.0, 3.0, +1, CONTRADICTED),  # resolved against
        (False, -1.0, 3.0, +1, UNRESOLVED),  # other side, not resolved
        (None, 1.0, 3.0, +1, NOT_TESTED),
        (True, -60.0, -55.0, -1, SUPPORTED),  # fewer epochs
        (True, -20.0, -55.0, -1, SMALLER),  # 20 < 55 / 2
        (True, 5.0, -55.0, -1, CONTRADICTED),
        (True, 0.01, None, +1, SUPPORTED),  # the paper gives no size
    ],
)
def test_the_verdict_rule(resolved, size, paper, direction, word):
    assert verdicts.judge(resolved, size, paper, direction) == word


@pytest.mark.parametrize(
    ("resolved", "size", "within", "word"),
    [
        (False, -0.02, True, EQUIVALENT),
        (True, -0.02, True, EQUIVALENT),  # tiny but resolved, inside the margin
        (False, -0.05, False, UNRESOLVED),
        (True, -0.3, False, CONTRADICTED),
        (True, +0.3, False, SUPPORTED),  # a reaches b and more
    ],
)
def test_a_claim_of_reaching_is_an_equivalence_test(resolved, size, within, word):
    assert verdicts.judge(resolved, size, None, +1, reaches=True, within=within) == word


def test_the_weakest_comparison_decides_a_claim():
    def effect(word, what="x"):
        return verdicts.Effect(
            what, "a", (2, 2), 1.0, 2.0, None, None, None, False, word, +1
        )

    def combined(*words):
        return verdicts.combine([effect(w, f"c{i}") for i, w in enumerate(words)])

    assert combined(SUPPORTED, SUPPORTED)[0] == SUPPORTED
    assert combined(SUPPORTED, NOT_TESTED)[0] == SUPPORTED
    assert combined(SUPPORTED, SMALLER)[0] == SMALLER
    word, decider = combined(SUPPORTED, UNRESOLVED, CONTRADICTED, UNRESOLVED)
    assert word == CONTRADICTED and decider.what == "c2"
    assert combined(UNRESOLVED, NOT_IN_PAPER)[0] == UNRESOLVED
    assert combined(NOT_TESTED, NOT_IN_PAPER) == (NOT_TESTED, None)
    assert verdicts.combine([]) == (NOT_TESTED, None)


def test_holm_within_a_family_can_leave_a_lone_resolution_unresolved():
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    # alone, p = 0.047 resolves; in a family of 7 with larger p, Holm multiplies by 7
    clear = ("a", [1.0, 1.1, 1.2, 1.05, 1.15])
    alone = verdicts.compare("x", clear, [0.9, 1.0, 1.05, 0.95, 1.0], direction=+1)
    assert alone.test.p < 0.05 and alone.word == SUPPORTED
    noise = [
        verdicts.compare("n", ("b", [1.0, 1.2, 0.9]), [1.1, 0.95, 1.05], direction=+1)
        for _ in range(6)
    ]
    judged = verdicts.family([alone, *noise])
    assert judged[0].p_adjusted == pytest.approx(min(1.0, 7 * alone.test.p))
    assert judged[0].word == UNRESOLVED


def test_the_rank_test_is_exact_and_cannot_go_below_0_1_with_three_seeds():
    assert stats.rank_test([1, 2, 3], [4, 5, 6]) == pytest.approx(0.1)
    assert stats.rank_test([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(2 / 252)
    assert stats.rank_test([1, 1, 2], [1, 1, 2]) == 1.0  # ties as mid-ranks


def test_the_smallest_resolvable_difference_grows_as_seeds_shrink():
    few = stats.welch_test([0.1, 0.2, 0.3], [0.0, 0.1, 0.2])
    many = stats.welch_test([0.1, 0.2, 0.3] * 4, [0.0, 0.1, 0.2] * 4)
    assert many.resolvable < few.resolvable
    # 80% power at 5% two-sided: about 2.8 standard errors for many degrees of freedom
    variance = 8 * 0.1**2 / 11  # of [0.1, 0.2, 0.3] * 4, both sides
    se = (2 * variance / 12) ** 0.5
    assert many.resolvable == pytest.approx(2.9 * se, rel=0.05)


def rec(acc: float, epoch: int, seed: int = 0, **fields) -> Record:
    """A smoke-profile record: test accuracy ``acc``, best epoch ``epoch``."""
    config = plans.mnist_config("smoke", seed=seed)
    return make_record(config=config, test_acc=acc, best_epoch=epoch, **fields)


def mnist_groups(dropout_accs, gaaf_accs, gaaf_epochs=(10, 11, 9, 10, 10)):
    return {
        "base": [
            rec(a, 10, s) for s, a in enumerate([0.980, 0.981, 0.979, 0.980, 0.980])
        ],
        "dropout": [rec(a, 150 + s, s) for s, a in enumerate(dropout_accs)],
        "gaaf": [
            rec(a, e, s)
            for s, (a, e) in enumerate(zip(gaaf_accs, gaaf_epochs, strict=True))
        ],
    }


def test_claim4_counts_seeds_per_group_and_is_decided_by_its_weakest_part():
    # dropout has 3 seeds, base and GAAF 5
    groups = mnist_groups(
        [0.984, 0.9845, 0.9835], [0.982, 0.9815, 0.9835, 0.9825, 0.982]
    )
    verdict = claims.claim4(groups)
    epochs, vs_base, vs_dropout = verdict.numbers
    assert epochs.n == (5, 3) and vs_base.n == (5, 5) and vs_dropout.n == (5, 3)
    # 10 - 151 = -141 against the paper's 114 - 169 = -55: resolved, more than half
    assert epochs.diff == pytest.approx(-141) and epochs.paper == pytest.approx(-55)
    assert epochs.word == SUPPORTED
    # GAAF 98.23 against the base's 98.00 (paper +0.12)
    assert vs_base.diff == pytest.approx(0.23) and vs_base.word == SUPPORTED
    # GAAF 0.17 points below dropout's 98.40: its 90% interval is not within +-0.1,
    # and the difference is resolved (after Holm over the three): it does not reach
    assert vs_dropout.diff == pytest.approx(-0.17)
    assert vs_dropout.within is False and vs_dropout.p_adjusted < 0.05
    assert vs_dropout.word == CONTRADICTED
    assert verdict.word == CONTRADICTED and verdict.decided_by is vs_dropout
    text = wording.markdown(verdict)
    assert "(5 vs 3 seeds; Welch p" in text and "exact test p = " in text
    assert "the paper: -0.05, which it calls reaching" in text
    assert "decided by test accuracy (points), GAAF - dropout (contradicted)" in (
        wording.sentence(verdict)
    )


def test_claim4_an_unresolved_shortfall_is_unresolved_with_its_resolution():
    # GAAF's accuracy spread wide around dropout's: neither equivalent nor resolved
    groups = mnist_groups([0.984, 0.985, 0.983], [0.975, 0.99, 0.978, 0.99, 0.98])
    vs_dropout = claims.claim4(groups).numbers[2]
    assert vs_dropout.word == UNRESOLVED and vs_dropout.within is False
    line = wording.markdown(claims.claim4(groups)).splitlines()[4]
    assert "these seeds resolve differences of" in line


def test_claim4_gaaf_within_the_margin_is_equivalent():
    # GAAF 98.38 against 98.40, tightly: the 90% interval lies within +-0.1 points
    groups = mnist_groups(
        [0.984, 0.9841, 0.9839], [0.9838, 0.9839, 0.9837, 0.9838, 0.9838]
    )
    assert claims.claim4(groups).numbers[2].word == EQUIVALENT


def test_claim4_against_the_paper_and_not_tested():
    # GAAF slower than dropout: resolved against the paper
    slow = mnist_groups(
        [0.984, 0.985, 0.983], [0.98] * 5, gaaf_epochs=(300, 290, 310, 305, 295)
    )
    verdict = claims.claim4(slow)
    # no more accurate than the base (98.0 against 98.0): no spread on either side, a
    # difference of exactly 0, p = 1; further below dropout's: contradicted
    assert [e.word for e in verdict.numbers] == [CONTRADICTED, UNRESOLVED, CONTRADICTED]
    assert verdict.word == CONTRADICTED
    # one dropout seed: its comparisons are not tested; the base one still is
    single = mnist_groups([0.984], [0.982, 0.9815, 0.983, 0.9825, 0.982])
    verdict = claims.claim4(single)
    assert [e.word for e in verdict.numbers] == [NOT_TESTED, SUPPORTED, NOT_TESTED]
    assert "(5 vs 1 seeds: an interval needs at least 2 per side)" in wording.markdown(
        verdict
    )
    assert wording.sentence(verdict).endswith("1 of 3 comparisons tested.")
    # no records at all
    verdict = claims.claim4({"base": [], "dropout": [], "gaaf": []})
    assert verdict.word == NOT_TESTED
    assert f"epochs to converge, GAAF - dropout: {NOT_RUN}." in wording.markdown(
        verdict
    )


def probed(corr, sat, flow, seed=0, gradient_flow=None) -> Record:
    """A record with the test probes and the gradient flow ``dz`` per epoch ``flow``
    (or the whole ``gradient_flow`` probe given)."""
    mean = [sum(e[k] for e in flow) / len(flow) for k in range(3)]
    probes = {
        "gradient_flow": gradient_flow
        or {"per_epoch": {"dz": flow}, "mean": {"dz": mean}},
        "test": {
            "correlations": [{"mean_abs": c} for c in corr],
            "net_inputs": [{"saturated": s} for s in sat],
        },
    }
    epochs = len(flow)
    return rec(0.98, epochs, seed, epochs_run=epochs, widths=[8, 8, 8], probes=probes)


def probed_groups(dropout_flow: float) -> dict:
    return {
        "base": [
            probed([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], [[1.0, 1.0, 1.0]] * 2, 0),
            probed([0.11, 0.2, 0.3], [0.11, 0.1, 0.1], [[1.1, 1.1, 1.1]] * 2, 1),
        ],
        "dropout": [
            probed([0.1, 0.3, 0.45], [0.2, 0.3, 0.5], [[dropout_flow] * 3] * 3, 0),
            probed(
                [0.11, 0.31, 0.46], [0.21, 0.3, 0.5], [[dropout_flow + 0.1] * 3] * 3, 1
            ),
            probed([0.12, 0.32, 0.44], [0.2, 0.31, 0.51], [[dropout_flow] * 3] * 3, 2),
        ],
        "gaaf": [],
    }


def test_claims_1_to_3_compare_each_layer_with_the_base():
    groups = probed_groups(dropout_flow=5.5)
    verdict = claims.claim1(groups)
    layer1, _, layer3, *gaaf = verdict.numbers
    assert layer1.n == (3, 2) and layer1.ratio == pytest.approx(0.11 / 0.105)
    assert layer1.word == UNRESOLVED  # higher on average, but not resolved
    assert layer3.word == SUPPORTED and layer3.ratio == pytest.approx(0.45 / 0.3)
    assert all(e.word == NOT_IN_PAPER and e.diff is None for e in gaaf)
    assert verdict.word == UNRESOLVED and verdict.decided_by is layer1
    assert f"GAAF vs base: {NOT_RUN}" in wording.markdown(verdict)
    # gradient flow (5.5 + 5.6 + 5.5) / 3 against 1.05: ×5.27, the paper's ×4.7 to ×6.2
    verdict = claims.claim2(groups)
    assert [e.word for e in verdict.numbers[:3]] == [SUPPORTED] * 3
    assert verdict.numbers[0].ratio == pytest.approx((16.6 / 3) / 1.05)
    assert "first 2 epochs, layer 1, dropout vs base" in wording.markdown(verdict)
    # ×1.6 is in the paper's direction but under half its size
    assert claims.claim2(probed_groups(dropout_flow=1.7)).word == SMALLER
    # ×1.45: resolved alone in each layer (p = 0.018), not after Holm over the three
    (layer1, *_) = claims.claim2(probed_groups(dropout_flow=1.5)).numbers
    assert layer1.test.p < 0.05 < layer1.p_adjusted and layer1.word == UNRESOLVED
    verdict = claims.claim3(groups)
    assert verdict.word == SUPPORTED
    # 0.61 / 3 over 0.105, 0.91 / 3 over 0.1, 1.51 / 3 over 0.1
    trend = verdict.details[0]
    assert trend.relative and trend.rising
    assert trend.values == pytest.approx(
        (0.61 / 3 / 0.105, 0.91 / 3 / 0.1, 1.51 / 3 / 0.1)
    )
    assert "dropout / base by layer (×1.94, ×3.03, ×5.03" in wording.markdown(verdict)
    assert "rises with every layer." in wording.markdown(verdict)


def test_sensitivity_runs_are_reported_not_judged():
    groups = probed_groups(5.5)
    sensitivity = {
        "lr 0.01: base": [groups["base"][0]],
        "lr 0.01: dropout 0.5": [groups["dropout"][0]],
        "lr 0.01: gaaf": [],
    }
    verdict = claims.claim1(groups, sensitivity)
    (found,) = verdict.details
    assert isinstance(found, claims.SensitivityRatios)
    assert found.name == "lr 0.01: dropout 0.5" and found.seeds == (1, 1)
    assert found.ratios == pytest.approx((1.0, 1.5, 1.5)) and found.higher == 2
    assert wording.detail(found) == (
        "- mean |correlation|, lr 0.01: dropout 0.5 / base (1 vs 1 seeds): higher in 2 "
        "of 3 layers (×1.00, ×1.50, ×1.50, layer 1 first)."
    )
    sens4 = {
        "lr 0.01: base": [rec(0.97, 40)],
        "lr 0.01: gaaf": [rec(0.98, 15)],
        "lr 0.01: dropout 0.5": [rec(0.985, 300)],
        "lr 0.01: dropout 0.25": [rec(0.975, 200)],
    }
    (run,) = claims.claim4(mnist_groups([0.98] * 3, [0.98] * 5), sens4).details
    assert run == claims.SensitivityRun("lr 0.01", 2, 1, 2, pytest.approx(1.0))
    assert wording.detail(run) == (
        "- sensitivity setting lr 0.01: GAAF converged in fewer epochs than 2 of 2 "
        "dropout runs, and was at least as accurate as 1 of 2; GAAF +1.00 points vs base."
    )


def test_the_cnn_claim_with_one_seed_is_not_tested():
    groups = {
        f"{d}: {v}": [make_record(config=plans.cnn_config(d, "full", v), test_acc=acc)]
        for d in ("fashion_mnist", "cifar10")
        for v, acc in (("base", 0.9), ("bn", 0.92), ("gaaf", 0.91), ("bn_gaaf", 0.93))
    }
    verdict = claims.claim4_cnn(groups, ["fashion_mnist", "cifar10"])
    words = [e.word for e in verdict.numbers]
    assert words == [NOT_IN_PAPER, NOT_IN_PAPER, NOT_TESTED, NOT_TESTED]
    assert verdict.word == NOT_TESTED
    assert verdict.numbers[2].paper == pytest.approx(90.16 - 89.55)
    assert wording.sentence(verdict).endswith("0 of 2 comparisons tested.")


def flowing(
    dz, dh, dw, seed, sat=(0.1, 0.1, 0.1), epochs=2, dz_per_epoch=None
) -> Record:
    """A record whose gradient flow is constant over ``epochs`` epochs (``dz`` per
    epoch may differ from its mean: ``dz_per_epoch``)."""
    flow = {"dz": list(dz), "dh": list(dh), "dw": list(dw)}
    per_epoch = {q: [v] * epochs for q, v in flow.items()}
    if dz_per_epoch is not None:
        per_epoch["dz"] = dz_per_epoch
    gradient_flow = {"per_epoch": per_epoch, "mean": flow}
    return probed([0.1] * 3, list(sat), [list(dz)] * epochs, seed, gradient_flow)


def test_claim2_per_quantity_which_the_paper_reports_and_the_slope_factor():
    paper_base = (1.07e-04, 1.40e-04, 9.35e-05)  # the paper's table, typed here
    base = [
        flowing([1.0] * 3, [2.0] * 3, paper_base, 0),
        flowing([1.1] * 3, [2.0] * 3, [1.1 * w for w in paper_base], 1),
    ]
    dropout = [
        flowing(
            [2.0] * 3,
            [8.0] * 3,
            [5 * w for w in paper_base],
            s,
            sat=(0.4,) * 3,
            dz_per_epoch=[[2.2] * 3] * 2 if s == 1 else None,
        )
        for s in range(3)
    ]
    groups = {"base": base, "dropout": dropout, "gaaf": []}
    dw = claims.claim2(groups, quantity="dw")
    assert dw.claim.startswith("Claim 2 measured as |dL/dW|")
    assert dw.numbers[0].ratio == pytest.approx(5 / 1.05)
    with pytest.raises(ValueError, match=r"^quantity must be one of"):
        claims.claim2(groups, quantity="dx")
    # the base's dW is the paper's times 1 and 1.1: geometric mean sqrt(1.1) per layer
    which = claims.paper_quantity(groups)
    assert which.closest == "dw"
    assert which.factors["dw"] == pytest.approx(1.05)
    assert which.factors["dh"] == pytest.approx(
        2.0 / (1.07e-4 * 1.4e-4 * 9.35e-5) ** (1 / 3)
    )
    # slope factors: base 1/2 and 1.1/2, dropout 2/8 (twice) and 2.2/8: lower, and
    # resolved in each layer alone, but with 2 base seeds not after Holm over three
    mechanism = claims.slope_mechanism(groups)
    first = mechanism.numbers[0]
    assert first.test.p < 0.05 < first.p_adjusted and mechanism.word == UNRESOLVED
    assert mechanism.numbers[0].diff == pytest.approx((0.25 * 2 + 0.275) / 3 - 0.525)
    # dz x(6.2/3)/1.05 = slope factor x((6.2/3)/1.05)/(8/2) times dh x(8/2)
    first_layer = mechanism.details[0]
    assert first_layer.layer == 1 and first_layer.dh == pytest.approx(4.0)
    assert first_layer.slope == pytest.approx((6.2 / 3) / 1.05 / 4)
    assert "layer 1: |dL/dz| ×1.97 = slope factor ×0.49 times |dL/dh| ×4.00" in (
        wording.markdown(mechanism)
    )
    # saturation by layer in absolute terms
    assert "dropout: saturated fraction 40.0%, 40.0%, 40.0%" in wording.markdown(
        claims.claim3(groups)
    )


def curve(accs, seed) -> Record:
    """A record whose validation accuracy per epoch is ``accs``."""
    history = [{"epoch": e + 1, "val_acc": a} for e, a in enumerate(accs)]
    return rec(0.98, len(accs), seed, history=history)


def test_speed_without_the_stopping_rule():
    fast = [curve([0.97, 0.981, 0.99], 0), curve([0.98, 0.985], 1)]  # epochs 2 and 1
    slow = [curve([0.9, 0.95, 0.97, 0.98], s) for s in range(3)]  # epoch 4, three times
    never = [curve([0.9, 0.95], 0), curve([0.95], 1)]
    groups = {"base": never, "dropout": slow, "gaaf": fast}
    verdict = claims.claim4_speed(groups, target=0.98)
    vs_dropout, vs_base = verdict.numbers
    assert vs_dropout.diff == pytest.approx(1.5 - 4) and vs_dropout.n == (2, 3)
    assert vs_base.word == NOT_TESTED and vs_base.n == (2, 0)
    assert "- base: 0 of 2 runs reached it." in wording.markdown(verdict)
    headers, rows = tables.speed_table(groups, 0.98, epochs=(1, 3))
    assert headers == ["", "first epoch at 98%", "after 1 epochs", "after 3 epochs"]
    assert rows[2] == [
        "GAAF",
        "1.5 (0.7), 2 of 2 runs",
        "97.50 (0.71)",
        "99.00 (1 seed)",
    ]
    assert rows[0][1] == NOT_RUN


def test_a_detail_without_a_template_is_an_error():
    with pytest.raises(TypeError, match="no wording for a detail of type dict"):
        wording.detail({"a": 1})
