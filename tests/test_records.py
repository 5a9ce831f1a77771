"""The typed record, group keys as data, the stopping rule as an object, and the one
formatting module."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import pytest
import torch

from gaaf.book.formatting import interval, listed
from gaaf.experiments import plans, runs
from gaaf.experiments.config import ExperimentConfig
from gaaf.experiments.labels import GroupKey
from gaaf.experiments.records import Record
from gaaf.experiments.train import EarlyStopping

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _committed() -> list[Path]:
    return sorted(RESULTS.glob("*/*.json"))


def test_every_committed_record_loads_as_a_record_whose_accessors_read_it():
    paths = _committed()
    assert len(paths) > 100
    for path in paths:
        record = runs.load_record(path)
        assert isinstance(record, Record)
        assert record == json.loads(path.read_text())  # the JSON, unchanged
        assert record.config.hash == record["hash"]
        assert record.diverged == ("diverged" in record)
        if not record.diverged:
            assert record.test_acc == record["test_acc"]
            assert record.best_epoch <= record.epochs_run == len(record.history)
        if record.gradient_flow is not None:
            for quantity in ("dw", "dz", "dh"):
                per_epoch = record.flow(quantity)
                assert (
                    per_epoch
                    == record["probes"]["gradient_flow"]["per_epoch"][quantity]
                )
                assert len(per_epoch) == len(record.history)


def test_a_record_is_read_only_and_survives_copies():
    record = Record({"test_acc": 0.9, "history": [{"epoch": 1}]})
    for change in (
        lambda r: r.__setitem__("test_acc", 1.0),
        lambda r: r.__delitem__("test_acc"),
        lambda r: r.update(test_acc=1.0),
        lambda r: r.pop("test_acc"),
        lambda r: r.setdefault("x", 1),
        lambda r: r.clear(),
    ):
        with pytest.raises(TypeError, match="read-only"):
            change(record)
    assert record["test_acc"] == 0.9
    changed = Record({**record, "test_acc": 1.0})  # the way to change one
    assert changed.test_acc == 1.0 and record.test_acc == 0.9
    for clone in (
        copy.copy(record),
        copy.deepcopy(record),
        pickle.loads(pickle.dumps(record)),
    ):
        assert isinstance(clone, Record) and clone == record
    assert json.loads(json.dumps(record)) == dict(record)


def test_a_record_without_gradient_flow_says_so():
    record = Record({"config": ExperimentConfig().to_dict(), "probes": {}})
    assert record.gradient_flow is None
    with pytest.raises(KeyError, match="no gradient-flow probe"):
        record.flow("dw")


def test_probes_are_for_mlp_runs_and_the_config_says_so():
    assert ExperimentConfig().probed
    cnn = ExperimentConfig(model="cnn", dataset="fashion_mnist", widths=(16, 32, 64))
    assert not cnn.probed


def _model(value: float) -> torch.nn.Module:
    layer = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.constant_(layer.weight, value)
    return layer


def test_early_stopping_keeps_the_strictly_best_epoch_and_stops_after_patience():
    stop = EarlyStopping("val_loss", patience=2)
    assert stop.step(1, 0.5, _model(1.0))
    assert not stop.step(2, 0.5, _model(2.0))  # equal is not better
    assert stop.step(3, 0.4, _model(3.0))
    assert not stop.stopped
    assert not stop.step(4, 0.6, _model(4.0))
    assert not stop.step(5, 0.45, _model(5.0))
    assert stop.stopped and stop.epoch == 3 and stop.value == 0.4
    assert stop.weights["weight"].item() == 3.0
    higher = EarlyStopping("val_acc", patience=None)
    assert higher.step(1, 0.9, _model(1.0)) and not higher.step(2, 0.8, _model(2.0))
    assert higher.step(3, 0.95, _model(3.0)) and not higher.stopped


def test_early_stopping_writes_and_reads_the_checkpoint_layout_older_runs_have():
    stop = EarlyStopping("val_loss", patience=3)
    stop.step(1, 0.5, _model(1.0))
    stop.step(2, 0.7, _model(2.0))
    saved = stop.state_dict()
    assert set(saved) == {"best", "bad_epochs"}
    assert set(saved["best"]) == {"epoch", "value", "model"}
    again = EarlyStopping("val_loss", patience=3)
    again.load_state_dict(saved)
    assert (again.epoch, again.value, again.bad_epochs) == (1, 0.5, 1)
    assert again.weights["weight"].item() == 1.0


def test_one_interval_and_one_list_style():
    assert interval(-0.254, 0.0065) == "[-0.254, +0.0065]"
    assert interval(-4.2e-5, 1e-4) == "[-4.2 × 10⁻⁵, +0.0001]"
    assert [listed(x) for x in ([], ["a"], ["a", "b"], ["a", "b", "c"])] == [
        "",
        "a",
        "a and b",
        "a, b and c",
    ]


def test_a_group_key_is_data_and_the_string_records_were_grouped_by():
    key = GroupKey.at_rate("gaaf", 0.01)
    assert (key.variant, key.setting, key.dataset) == ("gaaf", "lr 0.01", "")
    assert key == "lr 0.01: gaaf" and {"lr 0.01: gaaf": 1}[key] == 1
    assert key.label == "lr 0.01: GAAF"
    assert key.with_variant("base") == "lr 0.01: base"
    cnn = GroupKey("bn_gaaf", dataset="fashion_mnist")
    assert cnn == "fashion_mnist: bn_gaaf" and cnn.label == "Fashion-MNIST: BN + GAAF"
    for text in (
        "gaaf",
        "lr 0.01: dropout 0.25",
        "fashion_mnist: lr 0.05: bn",
        "momentum 0, lr 0.05: base",
    ):
        parsed = GroupKey.parse(text)
        assert parsed == text
        assert GroupKey(parsed.variant, parsed.setting, parsed.dataset) == text
    assert GroupKey.parse("fashion_mnist: lr 0.05: bn").dataset == "fashion_mnist"
    assert GroupKey.parse(key) is key
    with pytest.raises(AttributeError, match="read-only"):
        key.variant = "base"
    clone = pickle.loads(pickle.dumps(key))
    assert clone == key and clone.setting == "lr 0.01"


def test_every_plan_names_its_groups_with_group_keys():
    for plan in (
        plans.mnist_plan,
        plans.mechanism_plan,
        plans.mnist_layer_lr,
        plans.mnist_lr_grid,
        plans.mnist_regimes,
        plans.mnist_sensitivity,
        plans.cnn_lr_grid,
        plans.cnn_lr_pilot,
        plans.cnn_cpu_plan,
        plans.cnn_shift_sweep,
    ):
        keys = list(plan("full"))
        assert keys and all(isinstance(k, GroupKey) for k in keys), plan.__name__
        assert all(GroupKey.parse(str(k)) == k for k in keys)
