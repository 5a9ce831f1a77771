"""The convolutional chapter's plans, tables and sentences; the costs appendix's time to
the accuracy; the status page's run lengths."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest
from builders import make_record

from gaaf.book import cost_tables, status
from gaaf.book.figures import style
from gaaf.book.figures.costs import cost_figure, wall_time_figure
from gaaf.book.prose import cnn_benchmark
from gaaf.experiments import plans
from gaaf.experiments.records import Record
from gaaf.experiments.runs import NOT_RUN, Runs


def rec(
    acc: float, epochs: int = 3, val: float | None = None, last=0.9, **config
) -> Record:
    """An MNIST record of ``epochs`` epochs at 90% validation accuracy (the last at
    ``last``), a minute each."""
    history = [{"epoch": e + 1, "val_acc": 0.9} for e in range(epochs - 1)]
    history.append({"epoch": epochs, "val_acc": last})
    return make_record(
        test_acc=acc,
        val_acc=val,
        best_epoch=epochs,
        history=history,
        provenance={"wall_seconds": 60.0 * epochs},
        **config,
    )


def test_the_shift_sweep_reuses_the_default_runs_and_matches_the_queue():
    sweep = plans.cnn_shift_sweep("full")
    assert list(sweep) == [
        "shift -2.8",
        "shift 0",
        plans.DEFAULT_SHIFT,
        "shift 5.6",
    ]
    cpu = plans.cnn_cpu_plan("full")["fashion_mnist: gaaf"]
    assert [c.hash for c in sweep[plans.DEFAULT_SHIFT]] == [c.hash for c in cpu]
    # what `python -m gaaf train --profile full --model cnn --dataset fashion_mnist
    # --widths 16 32 64 --variant gaaf --max-epochs 10 --gaaf-shift 0` trains
    queued = plans.cnn_config(
        "fashion_mnist",
        "full",
        "gaaf",
        widths=(16, 32, 64),
        max_epochs=10,
        gaaf_shift=0.0,
    )
    assert [c.hash for c in sweep["shift 0"]] == [
        queued.replace(seed=s).hash for s in (0, 1, 2)
    ]
    assert all(len(v) == 1 for v in plans.cnn_shift_sweep("smoke").values())


def test_seed_table_and_the_paper_spread():
    groups = {
        "fashion_mnist: base": [rec(0.86), rec(0.88)],
        "fashion_mnist: gaaf": [rec(0.89)],
        "fashion_mnist: bn": [],
        "fashion_mnist: bn_gaaf": [],
    }
    runs = Runs("full", groups, {name: 3 for name in groups})
    headers, rows = cnn_benchmark.seed_table(runs)
    assert len(headers) == 4
    assert rows[0][:3] == ["base", "2 of 3", "87.00 (1.41)"]
    assert rows[2][3] == "vs base: +2.00 (no interval: 1 seed)"
    assert rows[3][2] == NOT_RUN
    sentence = cnn_benchmark.spread_sentence(runs)
    assert "base's 1.41 points exceeds 4 of the 6;" in sentence  # only base has 2
    assert "cannot tell" in sentence and "while" not in sentence
    groups["fashion_mnist: bn"] = [rec(0.90), rec(0.9001)]
    sentence = cnn_benchmark.spread_sentence(runs)
    assert "base's 1.41 points exceeds 4 of the 6, while BN's 0.01 points " in sentence
    assert "exceeds none of them" in sentence
    groups.pop("fashion_mnist: base")
    assert "each of them is larger" in cnn_benchmark.spread_sentence(runs)


def test_describe_names_the_datasets_not_the_download_error():
    runs = Runs(
        "default",
        {"cifar10: base": []},
        {"cifar10: base": 1},
        unavailable={"cifar10": "URLError: <urlopen error>", "svhn": "x"},
    )
    text = cnn_benchmark.describe(runs)
    assert "URLError" not in text
    assert "CIFAR-10 and SVHN are not available offline" in text


def test_the_pilot_shows_diverged_runs_in_the_table():
    diverged = make_record(diverged=1)
    groups = {
        f"lr {lr:g}: {v}": [] for lr in plans.CNN_LR_PILOT for v in plans.CNN_VARIANTS
    }
    groups["lr 0.05: base"] = [rec(0.8)]
    groups["lr 0.01: gaaf"] = [rec(0.1)]
    runs = Runs(
        "full", groups, {g: 1 for g in groups}, diverged={"lr 0.05: gaaf": [diverged]}
    )
    headers, rows = cnn_benchmark.pilot_table(runs)
    assert headers == ["learning rate", "base", "BN", "GAAF", "BN + GAAF"]
    assert rows[0][:4] == ["0.05", "80.00", NOT_RUN, "diverged (epoch 1)"]
    assert cnn_benchmark.pilot_sentence(runs).startswith(
        "In the pilot, GAAF diverged at 0.05 and stayed at chance at 0.01. Base"
    )


def shift_runs(groups: dict, diverged: dict | None = None) -> Runs:
    return Runs("full", groups, {g: 2 for g in groups}, diverged=diverged or {})


def test_the_shift_sentence_says_whether_accuracy_depends_on_the_shift():
    flat = {
        "shift 0": [rec(0.90), rec(0.91)],
        plans.DEFAULT_SHIFT: [rec(0.905), rec(0.90)],
    }
    text = cnn_benchmark.shift_sentence(shift_runs(flat))
    assert text.startswith("**No dependence on the shift resolved**")
    assert "failed to train" not in text
    steep = {
        "shift 0": [rec(0.80), rec(0.801)],
        plans.DEFAULT_SHIFT: [rec(0.90), rec(0.901)],
    }
    assert cnn_benchmark.shift_sentence(shift_runs(steep)).startswith(
        "**Accuracy depends on the shift**"
    )
    alone = shift_runs({plans.DEFAULT_SHIFT: [rec(0.9)]})
    assert cnn_benchmark.shift_sentence(alone).startswith("**Not tested")
    _, rows = cnn_benchmark.shift_table(shift_runs(steep))
    assert rows[1][:3] == ["2.8 (default)", "0 of 2", "90.05 (0.07)"]
    assert rows[0][3].startswith("-10.00 [")


def test_the_shift_sweep_counts_runs_that_did_not_train():
    diverged = make_record(diverged=1)
    groups = {
        "shift 0": [rec(0.10), rec(0.88), rec(0.89)],
        plans.DEFAULT_SHIFT: [rec(0.90), rec(0.89), rec(0.88)],
        "shift 5.6": [rec(0.10)],
    }
    runs = shift_runs(groups, {"shift 5.6": [diverged]})
    _, rows = cnn_benchmark.shift_table(runs)
    assert [row[1] for row in rows] == ["1 of 3", "0 of 3", "2 of 2"]
    assert (
        "by shift: 0: 1 of 3; 2.8 (default): 0 of 3; 5.6: 2 of 2."
        in cnn_benchmark.shift_sentence(runs)
    )


def test_time_to_accuracy_multiplies_step_cost_by_epochs():
    step = {
        "mlp_step": [
            {"variant": "base", "median_ms": 10.0, "vs_base": 1.0},
            {"variant": "gaaf", "median_ms": 12.0, "vs_base": 1.2},
        ],
        "provenance": {"device": "cpu"},
    }
    groups = {"base": [rec(0.98, epochs=10)], "gaaf": [rec(0.98, 5, last=0.985)]}
    (base, gaaf) = cost_tables.times_to_accuracy(step, groups)
    assert base.steps_per_epoch == 500  # 50,000 MNIST training images, batches of 100
    assert base.minutes(base.converge_epochs) == pytest.approx(10 * 500 * 10 / 60e3)
    assert gaaf.target_epochs == [5] and base.target_epochs == []
    headers, rows = cost_tables.time_to_accuracy(step, groups)
    assert len(headers) == len(rows[0]) == 6
    assert rows[0][4] == "none of 1 runs"
    assert "less than base" in cost_tables.time_sentence(step, groups)
    assert "What the time buys" not in cost_tables.time_sentence(step, groups)
    step["mlp_step"].append({"variant": "dropout", "median_ms": 14.0, "vs_base": 1.4})
    groups["dropout"] = [rec(0.99, epochs=30), rec(0.985, epochs=40)]
    sentence = cost_tables.time_sentence(step, groups)
    assert (
        "dropout's runs end more accurate, test accuracy 98.8% against GAAF's 98%"
        in sentence
    )
    assert "(means over 2 and 1 runs)" in sentence


def test_run_lengths_and_the_cost_figures_fit_the_page():
    records = [rec(0.9, epochs=3), rec(0.9, epochs=9, dropout_hidden=0.5)]
    assert status.run_lengths(records).startswith("The dropout runs are the longest")
    assert style.problems(wall_time_figure(records)) == []
    rows = [
        {
            "dtype": "float32",
            "elements": n,
            "variant": v,
            "median_ms": r,
            "plain": "tanh",
        }
        for n in (10, 20)
        for v, r in (("tanh", 1.0), ("GAAF", 2.0))
    ]
    fig = cost_figure({"activations": rows, "provenance": {"device": "cpu"}})
    assert style.problems(fig) == []
