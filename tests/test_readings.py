"""The sentences and tables of the co-adaptation and gradient-flow chapters, computed
from records: expected values typed by hand from the small records below."""

from __future__ import annotations

import pytest
from builders import make_record

from gaaf.analysis import claims
from gaaf.analysis.stats import probe_value
from gaaf.book import flow_tables
from gaaf.book.prose import readings
from gaaf.experiments.records import Record
from gaaf.experiments.runs import NOT_RUN


def flow(
    dz: float, dh: float, dw: float, sat: list[float], seed: int, epochs: int = 2
) -> Record:
    """A three-layer record whose gradients are constant over ``epochs`` epochs."""
    per_epoch = {q: [[v] * 3] * epochs for q, v in (("dz", dz), ("dh", dh), ("dw", dw))}
    mean = {q: v[0] for q, v in per_epoch.items()}
    return make_record(
        dataset="mnist",
        widths=[8, 8, 8],
        seed=seed,
        epochs_run=epochs,
        probes={
            "gradient_flow": {"per_epoch": per_epoch, "mean": mean},
            "test": {"net_inputs": [{"saturated": s} for s in sat]},
        },
    )


GROUPS = {
    "base": [
        flow(1.0, 2.0, 1e-4, [0.2, 0.1, 0.05], 0),
        flow(1.2, 2.0, 1.2e-4, [0.22, 0.1, 0.05], 1),
    ],
    "dropout": [
        flow(2.0, 8.0, 5e-4, [0.40, 0.42, 0.41], 0, epochs=3),
        flow(2.2, 8.0, 5.5e-4, [0.42, 0.41, 0.40], 1, epochs=3),
    ],
    "gaaf": [],
}
SATURATED = probe_value("net_inputs", "saturated")


def test_profiles_of_a_per_layer_series():
    assert readings.profile([0.40, 0.42, 0.41]) == "is flat across layers"
    assert readings.profile([0.1, 0.2, 0.4]) == "rises with the layer"
    assert readings.profile([0.4, 0.2, 0.1]) == "falls with the layer"
    assert readings.profile([0.1, 0.4, 0.2]) == "varies across layers"


def test_saturation_more_so_in_higher_layers_only_relative_to_the_base():
    text = readings.saturation_reading(GROUPS, SATURATED)
    assert text.startswith(
        "With dropout the saturated fraction is flat across layers (41%, 41.5% and "
        "40.5%, layer 1 first); without dropout it falls with the layer (21%, 10% and 5%)"
    )
    assert "ratio to the base rises with the layer (×1.95, ×4.15 and ×8.1)" in text
    assert text.endswith("holds only relative to the base, not in the fraction itself.")


def test_a_verdict_in_brief_and_a_change_per_layer():
    v = claims.claim3(GROUPS)
    text = readings.brief(v, "Claim 3", "saturated, dropout / base")
    assert text.startswith("**Claim 3: *supported*.** saturated, dropout / base: ×1.95")
    assert "2 vs 2 seeds; the 95% interval of the difference excludes 0 in" in text
    change = readings.layer_change(GROUPS, SATURATED, "the fraction")
    assert change.startswith(
        "the fraction is higher with dropout than without in every layer (×1.95"
    )
    assert "GAAF" in readings.layer_change(GROUPS, SATURATED, "the fraction", "gaaf")
    assert readings.seed_counts(GROUPS) == "2 seeds each"
    one, two = make_record(seed=0), make_record(seed=1)
    assert readings.seed_counts({"a": [one], "b": [one, two]}) == (
        "1 (a) and 2 (b) seeds"
    )


def test_the_slope_factor_is_lower_with_dropout_from_the_first_epoch():
    # slope factors: base 1/2 and 1.2/2, dropout 2/8 and 2.2/8 in every epoch
    text = readings.slope_reading(GROUPS)
    assert text.startswith(
        "The slope factor is lower with dropout than without in every layer at every "
        "epoch from epoch 1 to 2"
    )
    assert "|dL/dh| is ×4 to ×4 the base's" in text
    assert readings.slope_epochs(GROUPS) == [1, 2]
    headers, rows = flow_tables.slope_epoch_table(GROUPS, [1, 2])
    assert headers[:3] == [
        "epoch",
        "layer 1: slope factor, base / dropout",
        r"layer 1: \|dL/dh\| ratio",
    ]
    assert rows[0][:3] == ["1", "0.55 / 0.263", "4"]


def test_flow_tables_ratios_per_gradient_and_sizes_against_the_paper():
    headers, rows = flow_tables.flow_ratio_table(GROUPS)
    assert headers[0] == "layer (all iterations)" and headers[-1] == "paper"
    # dz (2 + 2.2) / (1 + 1.2), dh 8 / 2, dW 5.25e-4 / 1.1e-4; the paper 5.83e-4 / 9.35e-5
    assert [r[0] for r in rows] == ["layer 1", "layer 2", "layer 3"]
    assert rows[-1] == ["layer 3", "1.91", "4", "4.77", "6.24"]
    headers, rows = flow_tables.flow_ratio_table(GROUPS, "gaaf", matched=True)
    assert headers[0] == "layer (first 2 epochs)" and "paper" not in headers
    assert rows[0][1] == NOT_RUN
    headers, rows = flow_tables.flow_size_table(GROUPS)
    assert rows[-1] == ["layer 3", "9.35 × 10⁻⁵", "1.1", "2", "0.00011"]


def test_claim2_read_as_the_paper_most_plausibly_measured_it():
    text = readings.claim2_reading(GROUPS)
    assert text.startswith("Read as the paper most plausibly measured it, as |dL/dW|")
    assert "by ×4.77 to ×4.77 over all iterations" in text
    verdict = readings.gradient_flow_verdict(GROUPS)
    # claim 2 is judged at equal training loss, for the gradient the paper most
    # plausibly measured, with its whole-run mean beside it
    assert verdict.startswith("**Claim 2, dropout multiplies the gradient")
    assert "at equal training loss" in verdict
    assert "over all iterations, the paper's measure" in verdict


def test_xavier_std_from_the_config():
    record = make_record(dataset="mnist", widths=[1024] * 3)
    assert readings.xavier_std(record, 0) == pytest.approx((2 / (784 + 1024)) ** 0.5)
    assert readings.xavier_std(record, 1) == pytest.approx((2 / 2048) ** 0.5)


def test_the_sensitivity_runs_in_one_clause():
    sensitivity = {
        "lr 0.02: base": [GROUPS["base"][0]],
        "lr 0.02: dropout 0.5": [GROUPS["dropout"][0]],
        "lr 0.02: gaaf": [GROUPS["base"][1]],  # not dropout: not counted
    }
    # 0.40 / 0.2, 0.42 / 0.1 and 0.41 / 0.05: higher in every layer, lowest x2
    assert readings.sensitivity_count(sensitivity, SATURATED) == (
        3,
        3,
        pytest.approx(2.0),
    )
    assert readings.sensitivity_sentence(sensitivity, SATURATED) == (
        "in the one-seed sensitivity runs dropout raised it in 3 of 3 layer "
        "comparisons (lowest ratio ×2)"
    )
    assert readings.sensitivity_sentence({}, SATURATED) == (
        "no sensitivity runs have records"
    )
