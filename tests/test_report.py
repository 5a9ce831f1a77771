"""From records to tables: which runs a chapter shows, intervals, and the tables."""

from pathlib import Path

import pytest
from scipy import stats

from gaaf import experiments, report
from gaaf.data import DataError

MNIST_ROOT = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def mnist_root():
    return MNIST_ROOT


def fake(acc: float, epoch: int, seed: int = 0, **config) -> dict:
    cfg = experiments.mnist_config("smoke", seed=seed, **config).to_dict()
    return {
        "config": cfg,
        "test_acc": acc,
        "best_epoch": epoch,
        "epochs_run": epoch + 20,
        "stopped_early": True,
        "train_seconds": 60.0,
        "history": [{"val_acc": acc, "val_loss": 0.1}] * (epoch + 20),
        "provenance": {"device": "cpu"},
    }


def test_diff_interval_is_welchs_t_interval():
    a, b = [0.981, 0.983, 0.982, 0.985], [0.978, 0.980, 0.976]
    diff, lo, hi = report.diff_interval(a, b)
    result = stats.ttest_ind(a, b, equal_var=False)
    ci = result.confidence_interval(0.95)
    assert diff == pytest.approx(sum(a) / 4 - sum(b) / 3)
    assert (lo, hi) == pytest.approx((ci.low, ci.high))
    assert report.diff_interval([1.0], b) is None
    assert report.diff_interval([1.0, 1.0], [0.0, 0.0]) == (1.0, 1.0, 1.0)


def test_compare_seeds_and_mean_std():
    assert report.compare_seeds([3, 4], [1, 3.5]) == "higher in 3 of 4 seed pairs"
    mean, std = report.mean_std([1.0, 2.0, 3.0])
    assert (mean, std) == (2.0, 1.0)
    assert report.mean_std([5.0]) == (5.0, None)
    assert report.format_mean_std([0.98, 0.99], 100) == "98.50 (0.71)"
    assert report.format_mean_std([], 100) == report.NOT_RUN


def test_mnist_table_puts_ours_beside_the_papers():
    groups = {
        "base": [fake(0.98, 10, 0), fake(0.982, 12, 1)],
        "dropout": [],
        "GAAF": [fake(0.984, 8)],
    }
    _, rows = report.mnist_table(groups)
    base, dropout, gaaf = rows
    assert base[:5] == ["base", "2", "98.10 (0.14)", "98.23 (0.075)", "-0.13"]
    assert base[5:8] == ["11.0 (1.4)", "82 (16.6)", "-71.0"]
    assert dropout[2] == report.NOT_RUN and dropout[4] == report.NOT_RUN
    assert gaaf[2] == "98.40 (1 seed)"
    _, rows = report.interval_rows(groups, [("GAAF", "base", "test_acc", 100)])
    assert rows[0][1] == "fewer than 2 seeds"


def test_layer_rows_are_top_layer_first():
    def rec(values):
        return {"probes": {"test": {"net_inputs": [{"saturated": v} for v in values]}}}

    groups = {"base": [rec([0.1, 0.2, 0.3]), rec([0.3, 0.4, 0.5])], "GAAF": []}
    value = report.probe_value("net_inputs", "saturated")
    headers, rows = report.layer_rows(groups, value, 3)
    assert headers == ["layer", "base", "GAAF"]
    assert [r[0] for r in rows] == ["layer 3", "layer 2", "layer 1"]
    assert rows[0][1].startswith("0.4 (0.141") and rows[2][1].startswith("0.2 (")
    assert rows[0][2] == report.NOT_RUN


def test_gradient_flow_table_ratios_and_matched_epochs():
    def rec(per_epoch):
        n = len(per_epoch)
        mean = [sum(e[k] for e in per_epoch) / n for k in range(3)]
        flow = {"per_epoch": {"dz": per_epoch}, "mean": {"dz": mean}}
        return {"epochs_run": n, "probes": {"gradient_flow": flow}}

    groups = {
        "base": [rec([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])],
        "dropout": [rec([[5.0, 10.0, 15.0], [5.0, 10.0, 15.0], [9.0, 9.0, 9.0]])],
    }
    headers, rows = report.gradient_flow_table(groups, "dz")
    assert headers[3] == "dropout / base"
    top = rows[0]  # layer 3
    assert top[0] == "layer 3" and top[3] == f"{13.0 / 3:.2f}"
    assert top[-1] == f"{5.83e-4 / 9.35e-5:.2f}"  # the paper's ratio
    _, rows = report.gradient_flow_table(groups, "dz", matched=True)
    assert rows[0][3] == "5.00"  # the first 2 epochs only
    _, rows = report.gradient_flow_columns(
        {"lr 1: base": groups["base"], "lr 1: d": groups["dropout"]}
    )
    assert rows[1][1] == "5 (x5.00)"


def test_cnn_table_says_not_run_where_nothing_was_measured():
    def rec(acc):
        return {"test_acc": acc}

    groups = {
        "fashion_mnist: base": [rec(0.9)],
        "fashion_mnist: gaaf": [rec(0.91)],
        "fashion_mnist: bn": [rec(0.92)],
        "fashion_mnist: bn_gaaf": [rec(0.925)],
    }
    headers, rows = report.cnn_table(groups, ["fashion_mnist", "cifar10"])
    assert headers[1:] == [
        "fashion_mnist: ours",
        "fashion_mnist: paper",
        "cifar10: ours",
        "cifar10: paper",
    ]
    base, bn, gaaf, bn_gaaf = rows
    assert base[1:] == ["90.00", "(not in the paper)", report.NOT_RUN, "89.55"]
    assert bn[1] == "92.00 (+2.00)" and bn[3] == report.NOT_RUN
    assert gaaf[1] == "91.00 (+1.00)" and gaaf[4] == "90.16 (+0.61)"
    assert bn_gaaf[1] == "92.50 (+0.50)" and bn_gaaf[4] == "91.92 (+0.82)"  # against bn


def smoke_plan(profile):
    """A plan whose 'full' runs are smoke-sized, so the test trains in seconds."""
    tiny = {"widths": (16, 16, 16), "train_subset": 500, "max_epochs": 1}
    if profile == "full":
        return {
            "base": [experiments.mnist_config("smoke", seed=s, **tiny) for s in (0, 1)]
        }
    return {"base": [experiments.mnist_config("smoke", seed=5, lr=0.02, **tiny)]}


def test_runs_default_profile_reads_full_records_and_never_trains(
    tmp_path, mnist_root, monkeypatch
):
    first = smoke_plan("full")["base"][0]
    experiments.run(first, tmp_path, "cpu", progress=False, data_root=mnist_root)
    calls = []
    monkeypatch.setattr(report, "run", lambda *a, **k: calls.append(a))
    shown = report.runs(
        smoke_plan, "default", tmp_path, "cpu", mnist_root, progress=False
    )
    assert calls == []
    assert shown.profile == "full" and len(shown.groups["base"]) == 1
    assert "1 of 2 planned runs" in shown.describe()


def test_runs_default_profile_trains_reduced_runs_when_no_full_record(
    tmp_path, mnist_root
):
    shown = report.runs(
        smoke_plan, "default", tmp_path, "cpu", mnist_root, progress=False
    )
    assert shown.profile == "default"
    assert shown.groups["base"][0]["config"]["lr"] == 0.02
    assert "reduced scale" in shown.describe()


def test_runs_reports_a_dataset_it_cannot_get_and_goes_on(tmp_path, monkeypatch):
    def plan(profile):
        return {
            "cifar10: base": [experiments.cnn_config("cifar10", "smoke")],
            "cifar10: bn": [experiments.cnn_config("cifar10", "smoke", "bn")],
        }

    def no_dataset(config, *args, **kwargs):
        raise DataError(f"dataset {config.dataset!r} could not be downloaded")

    monkeypatch.setattr(report, "run", no_dataset)
    shown = report.runs(plan, "smoke", tmp_path, "cpu", progress=False)
    assert shown.missing == ["cifar10: base", "cifar10: bn"]
    assert (
        "Datasets not available here: cifar10. For cifar10: dataset" in shown.describe()
    )
    with pytest.raises(ValueError, match="profile must be one of"):
        report.runs(plan, "paper", tmp_path)


def test_claim4_summary_is_measured_sentences():
    groups = {
        "base": [fake(0.980, 10, s) for s in range(3)],
        "dropout": [fake(0.984, 150 + s, s) for s in range(3)],
        "GAAF": [fake(0.982 + 0.001 * s, 9 + s, s) for s in range(3)],
    }
    text = report.claim4_summary(
        groups,
        {"lr 0.01: GAAF": [fake(0.98, 5)], "lr 0.01: dropout 0.5": [fake(0.97, 50)]},
    )
    assert "epochs to converge, GAAF - dropout: -141" in text
    assert "GAAF higher in 0 of 9 seed pairs" in text
    assert (
        "fewer epochs than 1 of 1 dropout runs, and was at least as accurate as 1 of 1"
        in text
    )


def probed(
    corr: list[float], sat: list[float], flow: list[list[float]], seed: int = 0
) -> dict:
    record = fake(0.98, len(flow), seed)
    record["epochs_run"] = len(flow)
    record["config"]["widths"] = [8, 8, 8]
    mean = [sum(e[k] for e in flow) / len(flow) for k in range(3)]
    record["probes"] = {
        "gradient_flow": {"per_epoch": {"dz": flow}, "mean": {"dz": mean}},
        "test": {
            "correlations": [{"mean_abs": c} for c in corr],
            "net_inputs": [{"saturated": s} for s in sat],
        },
    }
    return record


def test_claim_summaries_compare_each_layer_with_the_base():
    groups = {
        "base": [
            probed([0.1, 0.2, 0.3], [0.1] * 3, [[1, 1, 1]] * 2, s) for s in (0, 1)
        ],
        "dropout": [
            probed([0.1 + d, 0.3 + d, 0.45 + d], [0.2] * 3, [[5, 5, 5]] * 3, s)
            for s, d in ((0, 0.0), (1, 0.01))
        ],
        "GAAF": [],
    }
    groups["base"][1]["probes"]["test"]["correlations"][0]["mean_abs"] = 0.11
    text = report.claim1_summary(groups)
    assert "dropout / base (2 vs 2 seeds): layer 1: x1.00 (unresolved;" in text
    assert "layer 3: x1.52 (higher;" in text
    assert f"GAAF vs base: {report.NOT_RUN}" in text
    text = report.claims23_summary(groups)
    assert "all iterations, dropout / base (2 vs 2 seeds): layer 1: x5.00" in text
    assert "first 2 epochs, dropout / base" in text
    assert "fraction of |z| > 2, dropout / base (2 vs 2 seeds): layer 1: x2.00" in text


def test_plans_take_a_seed_list_and_keep_the_profiles_hashes():
    full = experiments.mnist_plan("full")
    assert [c.seed for c in full["GAAF"]] == [0, 1, 2, 3, 4]
    chosen = experiments.mnist_plan("full", [3])
    assert [c.hash for c in chosen["base"]] == [full["base"][3].hash]
    assert [c.seed for c in experiments.cnn_plan("smoke", ["svhn"])["svhn: bn"]] == [0]
    for bad in ("0 1", [], [-1], [True]):
        with pytest.raises(ValueError, match="seeds must"):
            experiments.mnist_plan("full", bad)
