"""The book's tables: ours beside the paper's, intervals, per-layer probes, costs.

Expected cells are typed by hand (or computed by another route, noted beside them).
"""

from __future__ import annotations

import pytest
import torch
from builders import make_record

from gaaf.analysis import stats
from gaaf.analysis.stats import probe_value
from gaaf.analysis.variance import SlopeGains, UnitGains
from gaaf.book import cost_tables, tables
from gaaf.experiments import plans
from gaaf.experiments.records import Record
from gaaf.experiments.runs import NOT_RUN, Runs


def fake(acc: float, epoch: int, seed: int = 0, **fields) -> Record:
    """A smoke-profile record: test accuracy ``acc`` at best epoch ``epoch``, stopped
    20 epochs later, trained on "cpu {seed}"; ``fields`` (config or outcome fields)
    replace these."""
    defaults = {
        "epochs_run": epoch + 20,
        "train_seconds": 60.0,
        "history": [{"val_acc": acc, "val_loss": 0.1}] * (epoch + 20),
        "provenance": {"device": f"cpu {seed}"},
    }
    config = plans.mnist_config("smoke", seed=seed)
    return make_record(
        config=config, test_acc=acc, best_epoch=epoch, **{**defaults, **fields}
    )


def test_markdown_table_three_significant_figures():
    table = tables.markdown_table(
        ["a", "b"], [(1, 0.123456), ("x", 2.0), (12345, 1234.5), (True, None)]
    )
    assert table.splitlines() == [
        "| a | b |",
        "| --- | --- |",
        "| 1 | 0.123 |",
        "| x | 2 |",
        "| 12,345 | 1,230 |",
        "| True | None |",
    ]
    assert "| 0.1235 |" in tables.markdown_table(["b"], [(0.123456,)], digits=4)


def test_mean_std_cells():
    assert tables.mean_std([98.0, 98.2], 2) == "98.10 (0.14)"
    assert tables.mean_std([10.0, 12.0]) == "11 (1.41)"  # std sqrt(2)
    assert tables.mean_std([97.91], 2) == "97.91 (1 seed)"
    assert tables.mean_std([]) == NOT_RUN


def test_mnist_table_puts_ours_beside_the_papers():
    groups = {
        "base": [fake(0.98, 10, 0), fake(0.982, 12, 1)],
        "dropout": [],
        "gaaf": [fake(0.984, 8)],
    }
    _, rows = tables.mnist_table(groups)
    base, dropout, gaaf = rows
    assert base == [
        "base",
        "2",
        "98.10 (0.14)",
        "98.23 (0.075)",
        "11 (1.41)",
        "82 (16.6)",
        "1",
    ]
    assert dropout[2] == NOT_RUN and dropout[3] == "98.40 (0.034)"
    assert dropout[4] == NOT_RUN and dropout[6] == NOT_RUN
    assert gaaf[:3] == ["GAAF", "1", "98.40 (1 seed)"]


def test_interval_rows_give_p_values_and_refuse_one_seed():
    groups = {
        "gaaf": [fake(0.98, 5), fake(0.99, 5, 1)],
        "base": [fake(0.98, 5), fake(0.97, 5, 1)],
        "dropout": [fake(0.99, 5)],
    }
    comparisons = [
        ("gaaf", "base", "test_acc", 100),
        ("gaaf", "dropout", "test_acc", 100),
    ]
    headers, (row, single) = tables.interval_rows(groups, comparisons)
    assert headers[2] == "95% interval"
    # difference 98.5 - 97.5 = 1; each side's variance of the mean 0.25, so the standard
    # error is sqrt(0.5) on 2 degrees of freedom, t(0.975, 2) = 4.30265:
    # 1 -+ 4.30265 * 0.707107 = [-2.04, 4.04]
    # t = 1 / 0.707 = 1.414 on 2 dof: p = 0.29; the rank test on 2 vs 2 with a tie
    assert row[:4] == ["test accuracy, GAAF − base", "+1", "[-2.04, +4.04]", "0.29"]
    assert row[4] == f"{stats.rank_test([98, 99], [98, 97]):.2g}"
    assert single[1] == "fewer than 2 seeds"
    _, (missing,) = tables.interval_rows(groups, [("gaaf", "bn", "test_acc", 1)])
    assert missing[1] == NOT_RUN


def probed(sat: list[float], seed: int = 0) -> Record:
    """A record whose saturated fraction per layer is ``sat``."""
    probes = {"test": {"net_inputs": [{"saturated": s} for s in sat]}}
    return fake(0.98, 10, seed, widths=(8,) * len(sat), probes=probes)


def test_layer_tables_are_layer_1_first():
    groups = {"base": [probed([0.1, 0.2, 0.3]), probed([0.3, 0.4, 0.5], 1)], "gaaf": []}
    value = probe_value("net_inputs", "saturated")
    headers, rows = tables.layer_rows(groups, value)
    assert headers == ["layer", "base", "GAAF"]
    assert rows == [
        ["layer 1", "0.2 (0.141)", NOT_RUN],  # std sqrt(0.02)
        ["layer 2", "0.3 (0.141)", NOT_RUN],
        ["layer 3", "0.4 (0.141)", NOT_RUN],
    ]
    _, rows = tables.layer_rows(groups, value, decimals=1)
    assert rows[-1][1] == "0.4 (0.1)"
    headers, rows = tables.layer_columns(groups, value)
    assert headers == ["setting", "layer 1", "layer 2", "layer 3"]
    assert rows == [["base", "0.2", "0.3", "0.4"], ["GAAF", NOT_RUN, NOT_RUN, NOT_RUN]]
    groups["dropout"] = [probed([0.6, 0.6, 0.6])]
    headers, rows = tables.layer_difference_rows(groups, value)
    assert headers == ["layer", "GAAF - base", "dropout - base"]
    assert rows[-1] == ["layer 3", NOT_RUN, "+0.2"]  # one dropout seed: no interval


def flow_record(per_epoch: list[list[float]]) -> Record:
    """A record of ``len(per_epoch)`` epochs whose ``dz`` per epoch is ``per_epoch``."""
    n = len(per_epoch)
    mean = [sum(e[k] for e in per_epoch) / n for k in range(3)]
    flow = {"per_epoch": {"dz": per_epoch}, "mean": {"dz": mean}}
    return fake(0.98, n, epochs_run=n, probes={"gradient_flow": flow})


def test_cnn_table_says_not_run_where_nothing_was_measured():
    groups = {
        f"fashion_mnist: {v}": [
            make_record(config=plans.cnn_config("fashion_mnist", "full", v), test_acc=a)
        ]
        for v, a in (("base", 0.9), ("gaaf", 0.91), ("bn", 0.92), ("bn_gaaf", 0.925))
    }
    headers, rows = tables.cnn_table(groups, ["fashion_mnist", "cifar10"])
    assert headers == ["dataset", "model", "ours", "paper"]
    base, bn, gaaf, bn_gaaf, *cifar = rows
    assert base == ["Fashion-MNIST", "base", "90.00", "(not in the paper)"]
    assert bn[2] == "92.00 (+2.00)" and gaaf[2] == "91.00 (+1.00)"
    # batch norm + GAAF against batch norm: 92.5 - 92, and the paper's 91.92 - 91.10
    assert bn_gaaf[1:3] == ["BN + GAAF", "92.50 (+0.50)"]
    assert [r[2] for r in cifar] == [NOT_RUN] * 4
    assert cifar[0][3] == "89.55" and cifar[2][3] == "90.16 (+0.61)"
    assert cifar[3][3] == "91.92 (+0.82)"


DROP = {"dropout_input": 0.2, "dropout_hidden": 0.5}


def test_sensitivity_table_and_what_the_runs_were():
    record = fake(0.9791, 9)
    groups = {"lr 0.01: gaaf": [record], "lr 0.01: dropout 0.25": []}
    headers, rows = tables.sensitivity_table(groups)
    # one seed or none everywhere: no seeds column, values without "(1 seed)"
    assert headers[1] == "test acc. (%)"
    assert rows[0] == ["lr 0.01: GAAF", "97.91", "9", "29", "yes"]
    assert rows[1] == ["lr 0.01: dropout 0.25", NOT_RUN, "", "", ""]
    two = {"lr 0.01: gaaf": [record, fake(0.9795, 11, 1)]}
    headers, (row,) = tables.sensitivity_table(two)
    assert headers[1] == "seeds" and row[1:4] == ["2", "97.93 (0.03)", "10 (1.41)"]
    shown = Runs("full", {"base": [record, fake(0.98, 9, 1)]}, {"base": 5})
    text = tables.runs_shown(shown)
    assert text.startswith(
        "Runs shown: full profile (paper scale); 2 of 5 planned runs"
    )
    assert "`lr=0.01`" in text and "seed" not in text.split("share")[-1]
    reduced = tables.runs_shown(shown, plans.REDUCED_SCALE)
    assert reduced.startswith("Runs shown: full profile at reduced width (256 units")
    # a setting one group sets otherwise is not printed as shared by all
    both = Runs("full", {"base": [record], "dropout": [fake(0.98, 9, 0, **DROP)]}, {})
    text = tables.runs_shown(both)
    shared = text.split("share:")[1].split("\n")[0]
    assert "`lr=0.01`" in shared and "dropout_hidden" not in shared
    assert "- dropout: " in text and "`dropout_hidden=0.5`" in text
    assert tables.trained_on(shown.groups) == "Trained on: cpu 0; cpu 1"
    assert tables.trained_on({}) == f"Trained on: {NOT_RUN}"


def test_slope_gain_table_selects_net_inputs_without_float_equality():
    z0 = torch.arange(0, 5.01, 0.1, dtype=torch.float64)
    assert z0[30].item() != 3.0  # 30 steps of 0.1 are not exactly 3
    plain = torch.cosh(z0).reciprocal().square()
    gains = SlopeGains(
        p=0.5,
        z0=z0,
        sigma=torch.full_like(z0, 0.5),
        plain=plain,
        expected=2 * plain,
        mc=2.2 * plain,
        mc_stderr=torch.full_like(z0, 1e-4),
    )
    other = SlopeGains(p=0.8, z0=z0, sigma=z0, plain=plain, expected=plain)
    headers, rows = tables.slope_gain_table([gains, other], rates=(0.5,), at=(0, 3))
    assert len(headers) == 9 and len(rows) == 2
    # tanh'(3) = 1/cosh(3)^2 = 0.009866; limit exp(2 * 0.25) = 1.6487
    assert rows[1] == [
        "3",
        "0.5",
        "0.5",
        "0.00987",
        "0.0197",
        "0.0217 ± 0.0001",
        "2",
        "2.2",
        "1.65",
    ]
    with pytest.raises(ValueError, match=r"z0 = 2\.95 is not on the grid"):
        tables.slope_gain_table([gains], rates=(0.5,), at=(2.95,))


def test_unit_gains_table():
    row = UnitGains(0.03125, 1.0, 0.5, 0.388, 0.625, (0.765, 2.16), 2.261)
    headers, rows = tables.unit_gains_table([row])
    assert headers[-3:] == ["gain at z0 = 0", "gain at z0 = 3", "limit exp(2σ²)"]
    assert rows == [["0.0312", "1", "0.5", "0.388", "0.625", "0.765", "2.16", "2.26"]]


def bench_row(variant: str, n: int, vs_tanh: float, saved: float = 1.0) -> dict:
    return {
        "dtype": "float32",
        "elements": n,
        "variant": variant,
        "median_ms": 2.0 * vs_tanh,
        "plain": "tanh",
        "vs_plain": vs_tanh,
        "vs_tanh": vs_tanh,
        "min_bytes_gb_per_s": 10.0,
        "saved_x_input": saved,
    }


def test_gaaf_cost_reads_the_rows_by_variant_and_size():
    rows = []
    for n, scale in ((1000, 1.0), (2000, 2.0)):
        rows += [
            bench_row("tanh", n, 1.0),
            bench_row("tanh, compiled", n, 0.5),
            bench_row("GAAF-tanh (eager, default)", n, 1.5 * scale),
            bench_row("GAAF-tanh, compiled", n, 0.9 * scale),
            bench_row("naive GAAF-tanh (paper's formula)", n, 6.0 * scale, saved=5.0),
        ]
    record = {"activations": rows, "mlp_step": [], "provenance": {"device": "cpu"}}
    # no row at 4,000,000 elements: the largest size, 2,000; compiled GAAF against
    # compiled tanh (1.8 / 0.5), the others against eager tanh
    assert cost_tables.gaaf_cost(record) == (2000, 3.0, 3.6, 12.0, 1.0, 5.0)
    assert cost_tables.gaaf_cost(record, elements=1000).eager == 1.5
    headers, cells = cost_tables.activation_costs(record)
    assert len(cells) == 10 and len(headers) == len(cells[0])
    assert cells[2][1:4] == ["GAAF-tanh (eager, default)", "3", "×1.50 tanh"]
    assert cells[3][3] == "×1.80 tanh (compiled)"
    record["activations"] = rows[:4]
    with pytest.raises(KeyError, match="naive GAAF-tanh"):
        cost_tables.gaaf_cost(record, elements=1000)
    record["activations"] = [r for r in rows if r["variant"] != "tanh, compiled"]
    assert cost_tables.activation_costs(record)[1][2][1:4] == [
        "GAAF-tanh, compiled",
        "1.8",
        "not measured",  # no compiled tanh to compare with
    ]
    assert cost_tables.activation_costs(record, "bfloat16")[1] == []


def test_step_and_loader_costs():
    record = {
        "mlp_step": [{"variant": "gaaf", "median_ms": 14.6468, "vs_base": 1.09736}]
    }
    assert cost_tables.step_costs(record)[1] == [["GAAF", "14.6", "×1.097"]]
    loader = {
        "median_seconds": {"gaaf tensors": 6.193},
        "vs_gaaf": {"gaaf tensors": 1.0},
    }
    assert cost_tables.loader_costs(loader)[1] == [["gaaf tensors", "6.19", "×1.00"]]


def test_how_a_page_was_computed_names_profile_versions_parts_and_the_status_page():
    import platform

    import torch

    import gaaf

    text = tables.computed("default", "Trained on: cpu 0", "")
    first, second, last = text.split("\n\n")
    assert first == (
        f"Computed at the 'default' profile, with gaaf {gaaf.__version__}, PyTorch "
        f"{torch.__version__} and Python {platform.python_version()}."
    )
    assert second == "Trained on: cpu 0"  # empty parts are left out
    assert "{doc}`status page <status>`" in last
