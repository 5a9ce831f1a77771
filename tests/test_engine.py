"""Models, the training loop, checkpoints and resume, configs, records, the command line."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from builders import make_record
from torch import nn

from gaaf.activations import GAAF
from gaaf.analysis import stats
from gaaf.experiments import data, models, plans, runs, train
from gaaf.experiments.config import ExperimentConfig
from gaaf.experiments.params import PROFILES

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"


@pytest.fixture(scope="module")
def mnist():
    return data.load("mnist", root=DATA)


def tiny(**changes) -> ExperimentConfig:
    """A small MNIST MLP that trains in about a second per epoch on 5,000 images."""
    base = {
        "widths": (32, 32, 32),
        "train_subset": 5000,
        "max_epochs": 4,
        "patience": None,
    }
    return ExperimentConfig(**{**base, **changes})


def without_seconds(history):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


# ------------------------------------------------------------------------- models


def test_mlp_layout():
    model = models.build_model(ExperimentConfig(dropout_input=0.2, dropout_hidden=0.5))
    assert [m.out_features for m in model.linears] == [1024, 1024, 1024]
    assert all(isinstance(a, nn.Tanh) for a in model.activations)
    assert isinstance(model.input_dropout, nn.Dropout) and model.input_dropout.p == 0.2
    assert all(d.p == 0.5 for d in model.dropouts)
    assert model(torch.randn(7, 1, 28, 28)).shape == (7, 10)
    plain = models.build_model(ExperimentConfig(activation="gaaf_tanh"))
    assert isinstance(plain.input_dropout, nn.Identity)
    assert all(
        isinstance(a, GAAF) and a.activation.name == "tanh" for a in plain.activations
    )
    # Xavier uniform: |w| <= sqrt(6 / (fan_in + fan_out)), zero biases
    first = plain.linears[0]
    assert (
        first.weight.abs().max() <= math.sqrt(6 / (784 + 1024)) and not first.bias.any()
    )


@pytest.mark.parametrize(
    ("dataset", "shape"), [("mnist", (1, 28, 28)), ("cifar100", (3, 32, 32))]
)
def test_cnn_layout(dataset, shape):
    config = plans.cnn_config(dataset, "full", "bn_gaaf")
    model = models.build_model(config)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 6
    assert sum(isinstance(m, GAAF) for m in model.modules()) == 6
    classes = 100 if dataset == "cifar100" else 10
    assert model(torch.randn(2, *shape)).shape == (2, classes)


def test_gaaf_shape_parameters_reach_the_activation():
    model = models.build_model(
        ExperimentConfig(activation="gaaf_relu", gaaf_shift=1.0, gaaf_K=500.0)
    )
    act = model.activations[0]
    assert act.K == 500.0 and act.shape.shift == 1.0 and act.shape.slope == 5.9
    with pytest.raises(
        ValueError, match=r"^gaaf_slope does not apply to the shape GaussianBump"
    ):
        ExperimentConfig(activation="gaaf_tanh", gaaf_slope=3.0)


# --------------------------------------------------------------- configs, hashing


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dataset", "imagenet"),
        ("model", "resnet"),
        ("activation", "swish"),
        ("widths", (0, 10)),
        ("widths", ()),
        ("widths", (1.5,)),
        ("dropout_input", 1.0),
        ("dropout_hidden", -0.1),
        ("dropout_hidden", "0.5"),
        ("lr", 0),
        ("lr", math.nan),
        ("momentum", 1.0),
        ("weight_decay", -1e-4),
        ("batch_size", 0),
        ("max_epochs", 2.5),
        ("patience", 0),
        ("monitor", "test_acc"),
        ("batch_norm", 1),
        ("train_subset", -5),
        ("seed", -1),
        ("gaaf_K", 0),
        ("gaaf_c", 2.0),  # only with a gaaf activation
        ("optimizer", "lbfgs"),
        ("schedule", "step"),
        ("init", "orthogonal"),
    ],
)
def test_invalid_config_fields_raise_naming_the_field(field, value):
    with pytest.raises(ValueError, match=rf"^{field}\b"):
        ExperimentConfig(**{field: value})


def test_unknown_fields_raise():
    with pytest.raises(ValueError, match=r"^dropuot: not a config field"):
        ExperimentConfig.from_dict({"dropuot": 0.5})
    with pytest.raises(ValueError, match=r"^variant must be one of"):
        plans.mnist_config("full", "batchnorm")


PINNED = {
    "dataset": "mnist",
    "model": "mlp",
    "widths": [1024, 1024, 1024],
    "activation": "tanh",
    "gaaf_K": 10000.0,
    "dropout_input": 0.0,
    "dropout_hidden": 0.0,
    "batch_norm": False,
    "init": "xavier",
    "optimizer": "sgd",
    "lr": 0.01,
    "momentum": 0.9,
    "nesterov": False,
    "weight_decay": 0.0,
    "schedule": "constant",
    "batch_size": 100,
    "max_epochs": 300,
    "patience": 20,
    "monitor": "val_loss",
    "augment": False,
    "seed": 0,
}


def test_hash_is_stable_and_content_based():
    config = ExperimentConfig.from_dict(PINNED)
    # pinned: if this changes, every stored record is orphaned (add new fields with
    # default None, which the hash leaves out, to keep old records valid)
    assert config.hash == "fedde917dfdf9cf5"
    assert config.replace(widths=[1024, 1024, 1024]).hash == config.hash
    assert (
        ExperimentConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    )
    changed = {config.replace(**{f: v}).hash for f, v in [("seed", 1), ("lr", 0.02)]}
    assert len(changed | {config.hash}) == 3
    code = (
        "import json, sys; from gaaf.experiments.config import ExperimentConfig as C; "
        "print(C.from_dict(json.load(sys.stdin)).hash)"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(PINNED),
        capture_output=True,
        text=True,
    )
    assert other.stdout.strip() == config.hash


def test_profiles_scale_the_same_network():
    smoke, default, full = (plans.mnist_config(p, "dropout") for p in PROFILES)
    assert full.widths == default.widths == (1024, 1024, 1024)
    assert (full.dropout_input, full.dropout_hidden) == (0.2, 0.5)
    assert smoke.max_epochs < default.max_epochs < full.max_epochs
    assert plans.profile_seeds("full") == [0, 1, 2, 3, 4]


# -------------------------------------------------------------------------- training


def test_short_training_on_real_mnist_beats_95_percent(mnist):
    config = ExperimentConfig(widths=(256, 256, 256), max_epochs=2, patience=None)
    model, result = train.train(config, mnist, progress=False)
    assert result["test_acc"] > 0.95
    assert result["epochs_run"] == 2 and len(result["history"]) == 2
    assert result["history"][1]["train_loss"] < result["history"][0]["train_loss"]
    assert train.evaluate(model, mnist.test)["acc"] == result["test_acc"]


def test_same_seed_same_numbers(mnist):
    config = tiny(activation="gaaf_tanh", dropout_hidden=0.3, max_epochs=2)
    a = train.train(config, mnist, progress=False)[1]
    b = train.train(config, mnist, progress=False)[1]
    assert without_seconds(a["history"]) == without_seconds(b["history"])
    assert a["test_acc"] == b["test_acc"] and a["test_loss"] == b["test_loss"]
    c = train.train(config.replace(seed=1), mnist, progress=False)[1]
    assert c["test_loss"] != a["test_loss"]


def test_early_stopping_rule(mnist):
    # a learning rate this large makes validation loss worsen after the first epochs
    config = tiny(lr=0.5, momentum=0.9, max_epochs=30, patience=2)
    result = train.train(config, mnist, progress=False)[1]
    losses = [h["val_loss"] for h in result["history"]]
    best = result["best_epoch"]
    assert losses[best - 1] == min(losses)
    assert result["stopped_early"] and result["epochs_run"] == best + 2
    assert result["val_loss"] == losses[best - 1]


class Interrupt(Exception):
    pass


class StopAt(train.Callback):
    """A hook that interrupts training at a given step, as a kill would."""

    name = "stop"

    def __init__(self, step: int) -> None:
        self.step = step

    def after_backward(self, model, step):
        if step == self.step:
            raise Interrupt


class CountSteps(train.Callback):
    """A hook with state, to check that hook state survives a resume."""

    name = "count"

    def __init__(self) -> None:
        self.steps = 0
        self.grad_norm = 0.0

    def after_backward(self, model, step):
        self.steps += 1
        self.grad_norm += model.out.weight.grad.norm().item()

    def state_dict(self):
        return {"steps": self.steps, "grad_norm": self.grad_norm}

    def load_state_dict(self, state):
        self.steps, self.grad_norm = state["steps"], state["grad_norm"]

    def summary(self):
        return {"steps": self.steps, "grad_norm": self.grad_norm}


def test_resume_after_interruption_equals_the_uninterrupted_run(mnist, tmp_path):
    config = tiny(dropout_input=0.2, dropout_hidden=0.5, activation="gaaf_tanh")
    ckpt = tmp_path / "run.pt"
    uninterrupted_model, uninterrupted = train.train(
        config,
        mnist,
        checkpoint=tmp_path / "other.pt",
        progress=False,
        callbacks=[CountSteps()],
    )
    steps_per_epoch = math.ceil(5000 / config.batch_size)
    with pytest.raises(Interrupt):  # in the middle of epoch 3
        hooks = [StopAt(2 * steps_per_epoch + 7), CountSteps()]
        train.train(config, mnist, ckpt, progress=False, callbacks=hooks)
    assert len(train.load_checkpoint(ckpt)["history"]) == 2
    counter = CountSteps()
    model, resumed = train.train(
        config, mnist, ckpt, progress=False, callbacks=[counter]
    )
    assert without_seconds(resumed["history"]) == without_seconds(
        uninterrupted["history"]
    )
    for key in ("best_epoch", "test_acc", "test_loss", "val_loss"):
        assert resumed[key] == uninterrupted[key]
    assert resumed["probes"] == uninterrupted["probes"]  # hook state carried over too
    ours, theirs = model.state_dict(), uninterrupted_model.state_dict()
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)


def test_damaged_checkpoint_is_set_aside(mnist, tmp_path):
    config = tiny(max_epochs=2)
    ckpt = tmp_path / "run.pt"
    clean = train.train(config, mnist, ckpt, progress=False)[1]
    blob = bytearray(ckpt.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    ckpt.write_bytes(bytes(blob))
    with pytest.warns(UserWarning, match="damaged"):
        assert train.load_checkpoint(ckpt) is None
    assert not ckpt.exists() and (tmp_path / "run.pt.corrupt").exists()
    # a truncated checkpoint, too; the run then starts over and ends the same
    ckpt.write_bytes((tmp_path / "run.pt.corrupt").read_bytes()[:100])
    with pytest.warns(UserWarning, match="damaged"):
        again = train.train(config, mnist, ckpt, progress=False)[1]
    assert without_seconds(again["history"]) == without_seconds(clean["history"])


def test_checkpoint_of_another_config_is_refused(mnist, tmp_path):
    ckpt = tmp_path / "run.pt"
    train.train(tiny(max_epochs=1), mnist, ckpt, progress=False)
    with pytest.raises(ValueError, match="belongs to another config"):
        train.train(tiny(max_epochs=1, lr=0.02), mnist, ckpt, progress=False)


def test_checkpoints_load_with_weights_only(mnist, tmp_path):
    ckpt = tmp_path / "run.pt"
    train.train(tiny(max_epochs=1), mnist, ckpt, progress=False)
    blob = ckpt.read_bytes()
    assert blob.startswith(b"GAAFCKPT1\n")
    state = train.load_checkpoint(ckpt)  # torch.load(..., weights_only=True) inside
    assert set(state) >= {"model", "optimizer", "rng", "history", "best", "config_hash"}


# --------------------------------------------------------------------------- records


def test_run_writes_a_record_and_is_idempotent(tmp_path, monkeypatch):
    config = tiny(max_epochs=2)
    record = runs.run(config, tmp_path, device="cpu", progress=False, data_root=DATA)
    path = runs.record_path(config, tmp_path)
    assert path.exists() and not runs.checkpoint_path(config, tmp_path).exists()
    assert runs.load_record(path) == json.loads(json.dumps(record))
    assert record["hash"] == config.hash and record["config"] == config.to_dict()
    provenance = record["provenance"]
    assert provenance["torch_version"] == torch.__version__
    assert provenance["device"].startswith("cpu") and provenance["wall_seconds"] > 0
    assert set(provenance) >= {"gaaf_version", "git_commit", "date"}
    # an MLP record carries its probes: gradient flow for every epoch and every hidden
    # layer, and the trained network's weights, correlations and net inputs on the test set
    flow = record["probes"]["gradient_flow"]
    assert len(flow["per_epoch"]["dz"]) == 2 and len(flow["mean"]["dz"]) == 3
    assert flow["iterations"] == 2 * math.ceil(5000 / config.batch_size)
    test = record["probes"]["test"]
    assert test["examples"] == 10_000
    assert [len(test[k]) for k in ("weights", "correlations", "net_inputs")] == [
        3,
        3,
        3,
    ]
    stale = {**json.loads(path.read_text()), "format": 1}
    path.write_text(json.dumps(stale))
    with pytest.raises(ValueError, match="format 1"):
        runs.load_record(path)
    path.write_text(json.dumps(record))

    def no_training(*args, **kwargs):
        raise AssertionError("a complete record must not be retrained")

    monkeypatch.setattr(train, "train", no_training)
    assert runs.run(config, tmp_path, device="cpu") == record


def test_a_damaged_record_is_an_error_naming_it(tmp_path):
    config = tiny(max_epochs=1)
    path = runs.record_path(config, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text('{"config": ')
    with pytest.raises(ValueError, match=str(path.name)):
        runs.run(config, tmp_path, device="cpu")


def test_aggregation_matches_a_hand_computation():
    def record(seed, acc, epoch, **changes):
        config = ExperimentConfig(seed=seed, **changes)
        return make_record(config=config, test_acc=acc, best_epoch=epoch)

    records = [
        record(0, 0.980, 80),
        record(1, 0.982, 90),
        record(2, 0.984, 100),
        record(0, 0.990, 150, dropout_hidden=0.5),
    ]
    base, dropout = stats.aggregate(records)
    assert base["n"] == 3 and base["seeds"] == [0, 1, 2]
    assert base["test_acc"].mean == pytest.approx(0.982)
    # sample std: sqrt((4+0+4)e-6 / 2)
    assert base["test_acc"].std == pytest.approx(0.002)
    assert base["best_epoch"] == (90, pytest.approx(10), 3)
    assert dropout["n"] == 1 and dropout["test_acc"].std is None
    assert base["label"] == "mnist mlp 1024x3 tanh lr 0.01"
    assert dropout["label"] == "mnist mlp 1024x3 tanh drop 0/0.5 lr 0.01"


# ----------------------------------------------------------------------- command line


def cli(*args, **kwargs):
    env = {**os.environ, "GAAF_DATA": str(DATA)}
    return subprocess.Popen(
        [sys.executable, "-m", "gaaf", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_cli_bad_values_give_one_line(tmp_path):
    for args, expected in [
        (
            ["--dropout-hidden", "1.5"],
            "error: dropout_hidden must be a finite number >= 0 and < 1",
        ),
        (["--batch-norm", "yes"], "error: batch_norm: expected true or false"),
        (["--variant", "huge"], "error: variant must be one of"),
    ]:
        proc = cli("train", "--profile", "smoke", "--results", str(tmp_path), *args)
        _, err = proc.communicate(timeout=60)
        assert (
            proc.returncode == 2 and err.startswith(expected) and "Traceback" not in err
        )
    proc = cli("run-book", "--chapter", "nope", "--root", str(ROOT))
    _, err = proc.communicate(timeout=60)
    assert (
        proc.returncode == 2
        and "chapters: intro, dropout_variance, gaaf_derived" in err
    )


def test_kill_9_then_resume_equals_the_uninterrupted_run(mnist, tmp_path):
    config = tiny(max_epochs=30, activation="gaaf_tanh", dropout_hidden=0.5)
    flags = [
        "--widths",
        "32",
        "32",
        "32",
        "--train-subset",
        "5000",
        "--max-epochs",
        "30",
    ]
    flags += [
        "--patience",
        "none",
        "--activation",
        "gaaf_tanh",
        "--dropout-hidden",
        "0.5",
    ]
    args = [
        "train",
        "--profile",
        "full",
        "--seeds",
        "0",
        "--results",
        str(tmp_path),
        "--quiet",
    ]
    args += ["--device", "cpu", *flags]
    checkpoint = runs.checkpoint_path(config, tmp_path)
    proc = cli(*args)
    deadline = time.time() + 120
    while not checkpoint.exists() and time.time() < deadline:  # wait for epoch 1 or 2
        time.sleep(0.05)
    time.sleep(0.2)  # land somewhere inside a later epoch
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert not runs.record_path(config, tmp_path).exists()
    done = len(train.load_checkpoint(checkpoint)["history"])
    assert 1 <= done < 30
    proc = cli(*args)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    resumed = runs.load_record(runs.record_path(config, tmp_path))
    reference = train.train(config, mnist, progress=False)[1]
    assert without_seconds(resumed["history"]) == without_seconds(reference["history"])
    assert resumed["test_acc"] == reference["test_acc"]
    assert resumed["test_loss"] == reference["test_loss"]


def test_results_on_drive_only_on_colab_and_keeps_every_record(tmp_path, monkeypatch):
    import sys
    import types

    from gaaf.book import chapter

    results, drive = tmp_path / "results", tmp_path / "drive" / "results"
    (results / "mnist").mkdir(parents=True)
    (results / "mnist" / "a.json").write_text("committed")
    assert chapter.keep_results_on_drive(results, drive) is None  # not on Colab
    assert not results.is_symlink()
    mounted = []
    colab = types.ModuleType("google.colab")
    colab.drive = types.SimpleNamespace(mount=mounted.append)
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    (drive / "mnist").mkdir(parents=True)
    (drive / "mnist" / "a.json").write_text("on drive already")
    (drive / "mnist" / "b.json").write_text("from an earlier session")
    assert chapter.keep_results_on_drive(results, drive) == drive
    assert mounted == ["/content/drive"] and results.is_symlink()
    assert (results / "mnist" / "a.json").read_text() == "on drive already"
    assert (results / "mnist" / "b.json").exists()
    assert chapter.keep_results_on_drive(results, drive) == drive  # again: no change


def test_glue_works_without_myst_nb(monkeypatch, capsys):
    import sys

    from gaaf.book import chapter

    monkeypatch.setitem(sys.modules, "myst_nb", None)  # as on Colab: not installed
    chapter.glue("answer", 42)  # nothing to glue into: no error, no output
    assert capsys.readouterr().out == ""
