"""The engine of fair comparisons: per-layer learning rates, learning-rate grids and
the selection rule, the probes of flatness, input noise and dropout masks at fixed
weights, and ``python -m gaaf plan``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from builders import make_record
from torch import nn

import gaaf.__main__ as cli
from gaaf.analysis import measures
from gaaf.experiments import plans, probes, records, selection, train
from gaaf.experiments.config import ExperimentConfig
from gaaf.experiments.models import build_model
from gaaf.experiments.runs import find_record

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


# ----------------------------------------------------------- per-layer learning rates


def test_layer_rates_give_each_hidden_layer_its_own_step():
    config = ExperimentConfig(widths=(8, 8, 8), lr=0.1, lr_layers=(4.0, 2.0, 1.5))
    torch.manual_seed(0)
    model = build_model(config)
    optimizer = train._optimizer(config, model)
    lrs = [g["lr"] for g in optimizer.param_groups]
    assert lrs == pytest.approx([0.4, 0.2, 0.15, 0.1])
    counted = sum(len(g["params"]) for g in optimizer.param_groups)
    assert counted == len(list(model.parameters()))
    assert "layers x4/2/1.5" in config.label


def test_layer_rates_of_one_leave_training_unchanged():
    plain = ExperimentConfig(widths=(8, 8), lr=0.1, momentum=0.0)
    ones = plain.replace(lr_layers=(1.0, 1.0))
    assert ones.hash != plain.hash
    models = []
    for config in (plain, ones):
        torch.manual_seed(0)
        model = build_model(config)
        optimizer = train._optimizer(config, model)
        x, y = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        models.append(model)
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"lr_layers": (1.0, 2.0)}, "one multiplier per hidden layer"),
        ({"lr_layers": (1.0, 0.0, 1.0)}, r"lr_layers\[1\] must be a finite number > 0"),
        ({"model": "cnn", "lr_layers": (1.0, 1.0, 1.0)}, "of an mlp"),
    ],
)
def test_bad_layer_rates_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        ExperimentConfig(widths=(8, 8, 8), **changes)


def test_the_layer_rate_control_uses_gaafs_measured_gains():
    base, gaaf = plans.mnist_at_rates("full", {"base": 0.01, "gaaf": 0.01}).values()
    records = [[find_record(c, RESULTS) for c in group] for group in (base, gaaf)]
    gains = measures.epoch1_gains(*records)
    assert tuple(round(g, 2) for g in gains) == plans.GAAF_GAINS
    (group,) = plans.mnist_layer_lr("full").values()
    assert len(group) == 5 and all(c.lr_layers == plans.GAAF_GAINS for c in group)
    assert all(c.widths == (plans.REDUCED_WIDTH,) * 3 for c in group)


# ----------------------------------------------------------------------- selection


def record(val_acc, *, diverged=False, capped=False, patience=20) -> records.Record:
    """A record at validation accuracy ``val_acc``: one that diverged in epoch 3, or
    one stopped by the epoch cap instead of early stopping."""
    if diverged:
        return make_record(patience=patience, diverged=3)
    return make_record(
        val_acc=val_acc,
        stopped_early=not capped,
        epochs_run=300 if capped else None,  # the full profile's epoch cap
        patience=patience,
    )


def test_the_rate_with_the_best_mean_validation_accuracy_is_chosen():
    chosen = selection.select_rate(
        {
            0.01: [record(0.97), record(0.98)],
            0.02: [record(0.979), record(0.978)],
            0.04: [record(0.99), record(0.9, diverged=True)],
            0.08: [record(0.999), record(0.999, capped=True)],
        }
    )
    assert chosen.lr == 0.02 and chosen.val_acc == pytest.approx(0.9785)
    assert chosen.excluded == {0.04: "diverged", 0.08: "stopped by the epoch cap"}


def test_a_tie_goes_to_the_smaller_rate_and_a_missing_seed_excludes_a_rate():
    chosen = selection.select_rate(
        {0.02: [record(0.98)], 0.01: [record(0.98)], 0.005: [record(0.99), None]}
    )
    assert chosen.lr == 0.01
    assert chosen.excluded == {0.005: "not every seed has a record"}


def test_runs_without_early_stopping_are_never_censored():
    assert not selection.censored(record(0.9, capped=True, patience=None))
    assert selection.censored(record(0.9, capped=True))


def test_selection_refuses_an_incomplete_grid(tmp_path):
    with pytest.raises(ValueError, match="grid is incomplete"):
        selection.chosen_rates(plans.mnist_lr_cells("smoke"), tmp_path)


def test_the_grids_span_what_a_fair_comparison_needs():
    cells = plans.mnist_lr_cells("full")
    assert set(cells) == {"base", "dropout", "gaaf"}
    for by_lr in cells.values():
        assert len(by_lr) >= 5 and max(by_lr) / min(by_lr) >= 16
        assert all(len(configs) >= 3 for configs in by_lr.values())
    cnn = plans.cnn_lr_cells("full")
    for arm in ("bn", "bn_gaaf"):
        assert len(cnn[arm]) >= 4 and max(cnn[arm]) / min(cnn[arm]) >= 10
    assert all(len(cnn[arm]) >= 3 for arm in ("base", "gaaf"))


def test_momentum_zero_gets_rates_at_which_runs_can_finish():
    plan = plans.mnist_regimes("full")
    for lr in plans.MOMENTUM0_LRS:
        for arm in plans.MNIST_VARIANTS:
            group = plan[f"momentum 0, lr {lr:g}: {arm}"]
            assert len(group) == 3
            assert all(c.momentum == 0 and c.lr == lr for c in group)


# -------------------------------------------------------------------------- probes


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    config = ExperimentConfig(widths=(32, 32, 32), train_subset=500)
    model = build_model(config)
    x, y = torch.randn(600, 1, 28, 28), torch.randint(0, 10, (600,))
    return config, model, x, y


def test_flatness_is_zero_without_perturbation_and_grows_with_its_size(net):
    _, model, x, y = net
    before = [p.detach().clone() for p in model.parameters()]
    out = probes.flatness(model, x, y, sizes=(0.0, 0.05, 0.5), draws=3)
    rises = [row["rise"] for row in out["perturbed"]]
    assert rises[0] == 0 and rises[1] < rises[2]
    for p, q in zip(model.parameters(), before, strict=True):
        assert torch.equal(p, q)  # the weights are put back


def test_input_noise_of_size_zero_is_the_clean_accuracy(net):
    _, model, x, y = net
    out = probes.input_noise(model, x, y, torch.tensor([0.3]), levels=(0.0, 1.0))
    assert out["noisy"][0]["acc"] == out["clean"]["acc"]
    assert out["noisy"][1]["loss"] != out["clean"]["loss"]


def test_the_noise_slope_probe_compares_masks_on_and_off_at_the_same_weights(net):
    config, model, x, y = net
    out = probes.noise_slope(model, config, x[:300], y[:300])
    assert out["injected"] and out["rates"] == list(probes.PAPER_DROPOUT)
    off, on = out["masks_off"], out["masks_on"]
    assert on["loss"] != off["loss"]
    for mode in (off, on):
        assert mode["slope"] == pytest.approx(
            [z / h for z, h in zip(mode["dz"], mode["dh"], strict=True)]
        )
    # masks off is the plain network: its slope factor is a weighted mean of tanh'
    assert all(0 < s <= 1 for s in off["slope"])
    again = probes.noise_slope(model, config, x[:300], y[:300])
    assert again == out  # the masks come from a fixed seed
    own = probes.noise_slope(
        model, config.replace(dropout_hidden=0.25), x[:300], y[:300]
    )
    assert not own["injected"] and own["rates"] == [0.0, 0.25]


def test_a_new_mlp_record_carries_every_probe_and_its_starts(tmp_path, capsys):
    args = ["train", "--profile", "smoke", "--seeds", "0", "--quiet"]
    assert cli.main([*args, "--results", str(tmp_path)]) == 0
    (path,) = (tmp_path / "mnist").glob("*.json")
    r = json.loads(path.read_text())
    assert {"gradient_flow", "test", "flatness", "input_noise", "noise_slope"} <= set(
        r["probes"]
    )
    (start,) = r["provenance"]["starts"]
    assert start["epoch"] == 0 and start["threads"] == torch.get_num_threads()
    assert {"commit", "dirty", "host", "date"} <= set(start)


# ------------------------------------------------------------------------ the CLI


def test_shards_partition_a_plan():
    plan = plans.mechanism_plan("full")
    whole = cli.plan_configs(plan)
    parts = [cli.plan_configs(plan, (k, 3)) for k in (1, 2, 3)]
    assert sorted(c.hash for p in parts for c in p) == sorted(c.hash for c in whole)
    assert len({c.hash for c in whole}) == len(whole)


@pytest.mark.parametrize("shard", ["0/2", "3/2", "a/b", "2"])
def test_a_bad_shard_is_one_line(shard, capsys):
    assert cli.main(["plan", "mechanism", "--shard", shard, "--list"]) == 2
    assert "shard must be K/N" in capsys.readouterr().err


def test_plan_trains_what_is_missing_and_reads_the_rest(tmp_path, capsys):
    args = ["plan", "mnist", "--profile", "smoke", "--device", "cpu", "--quiet"]
    assert cli.main([*args, "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "run 1 of 3:" in out and "3 trained (0 diverged)" in out and "ETA" in out
    assert cli.main([*args, "--results", str(tmp_path)]) == 0
    assert "3 had records, 0 trained" in capsys.readouterr().out


# ------------------------------------------------------------- probes for old records


def _as_old(config, results: Path, tamper: bool = False) -> dict:
    """Strip the new probes from a fresh record (as an older gaaf wrote it)."""
    from gaaf.experiments import runs

    path = runs.record_path(config, results)
    record = json.loads(path.read_text())
    for p in ("flatness", "input_noise", "noise_slope"):
        del record["probes"][p]
    if tamper:
        record["history"][0]["val_acc"] += 0.001
    record = records.seal({k: v for k, v in record.items() if k != "digest"})
    path.write_text(json.dumps(record))
    return record


def test_older_records_get_their_probes_only_when_the_run_reproduces(tmp_path):
    from gaaf.experiments import reprobe, runs

    config = plans.mnist_config("smoke", widths=(16, 16, 16), seed=0)
    data = ROOT / "data"
    runs.run(config, tmp_path, "cpu", progress=False, data_root=data)
    old = _as_old(config, tmp_path)
    assert reprobe.missing_probes(old) == ["flatness", "input_noise", "noise_slope"]
    new = reprobe.add_probes(config, tmp_path, data_root=data)
    assert not reprobe.missing_probes(new)
    assert {
        k: v for k, v in new.items() if k not in ("probes", "provenance", "digest")
    } == {k: v for k, v in old.items() if k not in ("probes", "provenance", "digest")}
    assert "probes_added" in new["provenance"]
    assert runs.find_record(config, tmp_path) == new  # sealed, and it loads
    tampered = _as_old(config, tmp_path, tamper=True)
    with pytest.raises(reprobe.NotReproduced, match="record is unchanged"):
        reprobe.add_probes(config, tmp_path, data_root=data)
    assert runs.find_record(config, tmp_path) == tampered
