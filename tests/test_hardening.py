"""Inputs that used to pass and give wrong results, or a traceback instead of one line.

Each test here failed before its fix (issue "Hardening").
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

import gaaf.__main__ as cli
from gaaf.activations import gaaf_tanh, surrogate
from gaaf.experiments import data, io, plans, runs, train
from gaaf.experiments.config import ExperimentConfig

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"


def tiny(**changes) -> ExperimentConfig:
    base = {"widths": (16, 16, 16), "train_subset": 2000, "max_epochs": 2}
    return ExperimentConfig(**{"patience": None, **base, **changes})


@pytest.fixture(scope="module")
def mnist():
    return data.load("mnist", root=DATA)


def main(*args: str, capsys) -> tuple[int, str]:
    code = cli.main(list(args))
    return code, capsys.readouterr().err


# ------------------------------------------------------------- wrong results, silently


def test_a_cache_of_another_dataset_is_not_used(tmp_path):
    for name in ("MNIST", "FashionMNIST"):
        (tmp_path / name).symlink_to(DATA / name)
    fashion_images, _ = data.load_split("fashion_mnist", "test", tmp_path)
    cache = tmp_path / "cache"
    shutil.copy(cache / "fashion_mnist-test.pt", cache / "mnist-test.pt")
    with pytest.warns(UserWarning, match="not the mnist test split"):
        images, _ = data.load_split("mnist", "test", tmp_path)
    assert not torch.equal(images, fashion_images)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rebuilt cache is used quietly
        again, _ = data.load_split("mnist", "test", tmp_path)
    assert torch.equal(again, images)


@pytest.mark.parametrize("K", [1e39, 1e-4, 1e-320, 0.0, float("inf")])
def test_K_beyond_what_the_arithmetic_supports_is_refused(K):
    with pytest.raises(
        ValueError, match=r"^gaaf_K must be a finite number >= 0.001 and <= 1e\+30"
    ):
        ExperimentConfig(activation="gaaf_tanh", gaaf_K=K)
    with pytest.raises(ValueError, match=r"^K must be .* <= 1e\+30"):
        gaaf_tanh(torch.zeros(3), K=K)


def test_the_largest_K_allowed_is_finite_in_every_dtype():
    x = torch.linspace(-50, 50, 1001)
    for dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        for K in (1e-3, 1e30):
            y = gaaf_tanh(x.to(dtype), K=K)
            assert torch.isfinite(y).all(), (dtype, K)


def test_non_finite_numbers_never_reach_a_record(tmp_path):
    with pytest.raises(ValueError, match="not written"):
        io.atomic_write_json(tmp_path / "r.json", {"test_acc": float("nan")})
    assert not (tmp_path / "r.json").exists()
    config = tiny()
    path = runs.record_path(config, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text('{"test_acc": NaN}')
    with pytest.raises(ValueError, match=f"record {path} is unreadable"):
        runs.load_record(path)


class PoisonAt(train.Callback):
    """Turns the output layer's weights into NaN at a given step."""

    def __init__(self, step: int) -> None:
        self.step = step

    def after_backward(self, model, step):
        if step == self.step:
            with torch.no_grad():
                model.out.weight.fill_(float("nan"))


def test_a_run_whose_loss_becomes_nan_stops_with_a_clear_error(mnist):
    with pytest.raises(
        train.Diverged, match=r"diverged in epoch 2.*lower the learning"
    ):
        train.train(tiny(), mnist, progress=False, callbacks=[PoisonAt(25)])


class PoisonAfterEpoch(train.Callback):
    """Turns the output layer's weights into NaN after the epoch's last step."""

    def after_epoch(self, model, epoch):
        with torch.no_grad():
            model.out.weight.fill_(float("nan"))


def test_a_run_whose_validation_loss_becomes_nan_has_diverged(mnist):
    with pytest.raises(train.Diverged, match=r"diverged in epoch 1") as err:
        train.train(tiny(), mnist, progress=False, callbacks=[PoisonAfterEpoch()])
    assert err.value.history == []


def test_a_diverged_run_is_a_record_without_metrics_and_the_cli_fails(tmp_path, capsys):
    args = ["train", "--profile", "smoke", "--activation", "relu", "--lr", "5"]
    code, err = main(*args, "--results", str(tmp_path), "--quiet", capsys=capsys)
    assert code == 1 and err.startswith("error: ") and "diverged in epoch 1" in err
    config = plans.mnist_config("smoke", activation="relu", lr=5.0)
    record = runs.load_record(runs.record_path(config, tmp_path))
    assert record["diverged"] == {"epoch": 1} and "test_acc" not in record
    collected = runs.collect(lambda p: {"relu": [config]}, "smoke", tmp_path)
    assert collected.groups == {"relu": []} and list(collected.diverged) == ["relu"]


def test_duplicate_seeds_are_refused(tmp_path, capsys):
    code, err = main("train", "--profile", "smoke", "--seeds", "0", "0", capsys=capsys)
    assert code == 2
    assert err.startswith(
        "error: seeds must be distinct (seed 0 appears more than once)"
    )
    with pytest.raises(ValueError, match=r"^seeds must be distinct"):
        plans.mnist_plan("full", seeds=[1, 2, 1])
    with pytest.raises(ValueError, match=r"^seeds must be distinct"):
        plans.cnn_plan("smoke", seeds=[3, 3])


def test_a_record_edited_by_hand_is_refused(tmp_path):
    config = tiny(max_epochs=1)
    runs.run(config, tmp_path, device="cpu", progress=False, data_root=DATA)
    path = runs.record_path(config, tmp_path)
    text = path.read_text()
    acc = json.loads(text)["test_acc"]
    path.write_text(text.replace(f'"test_acc": {acc}', f'"test_acc": {acc + 0.01}'))
    with pytest.raises(ValueError, match=f"record {path} does not match its digest"):
        runs.load_record(path)


def test_committed_records_load_and_keep_their_sealed_digest():
    paths = sorted((ROOT / "results").glob("*/*.json"))
    assert paths
    for path in paths:
        record = runs.load_record(path)
        assert path == runs.record_path(
            ExperimentConfig.from_dict(record["config"]), ROOT / "results"
        )


# --------------------------------------------------------- errors that are one line


def test_batch_norm_with_a_last_batch_of_one_is_refused(mnist):
    config = tiny(batch_norm=True, train_subset=2001)
    with pytest.raises(ValueError, match=r"^batch_size 100 leaves a last batch of one"):
        train.train(config, mnist, progress=False)


def test_a_checkpoint_of_another_layout_is_one_error_naming_it(mnist, tmp_path):
    config = tiny(max_epochs=1)
    ckpt = tmp_path / "run.pt"
    train.save_checkpoint(ckpt, {"config_hash": config.hash, "model": {"w": 1}})
    with pytest.raises(ValueError, match=f"checkpoint {ckpt} does not fit this run"):
        train.train(config, mnist, ckpt, progress=False)
    wide = tiny(max_epochs=1, widths=(8, 8, 8))
    train.train(wide, mnist, ckpt.with_name("wide.pt"), progress=False)
    state = train.load_checkpoint(ckpt.with_name("wide.pt"))
    train.save_checkpoint(ckpt, {**state, "config_hash": config.hash})
    with pytest.raises(ValueError, match=r"does not fit this run.*delete it"):
        train.train(config, mnist, ckpt, progress=False)


def test_a_directory_where_a_file_belongs_is_one_error(mnist, tmp_path):
    ckpt = tmp_path / "run.pt"
    ckpt.mkdir()
    with pytest.raises(ValueError, match=f"checkpoint {ckpt} is not a file"):
        train.train(tiny(max_epochs=1), mnist, ckpt, progress=False)
    (tmp_path / "MNIST").symlink_to(DATA / "MNIST")
    (tmp_path / "cache" / "mnist-test.pt").mkdir(parents=True)
    with pytest.raises(data.DataError, match=r"mnist-test.pt is not a file"):
        data.load_split("mnist", "test", tmp_path)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["train", "--device", "meta"],
            "error: device must be 'auto', 'cpu' or 'cuda[:N]'",
        ),
        (
            ["train", "--device", "mps"],
            "error: device must be 'auto', 'cpu' or 'cuda[:N]'",
        ),
        (
            ["train", "--seeds", str(2**63)],
            "error: seeds[0] must be an integer >= 0 and",
        ),
        (
            ["bench", "activations", "--sizes", "0"],
            "error: sizes[0] must be an integer >= 1",
        ),
        (
            ["bench", "loader", "--repeats", "0"],
            "error: repeats must be an integer >= 1",
        ),
    ],
)
def test_bad_command_line_values_are_one_line(args, message, capsys, tmp_path):
    code, err = main(*args, capsys=capsys)
    assert code == 2 and err.startswith(message) and len(err.splitlines()) == 1


def test_a_full_disk_during_a_checkpoint_is_one_line_and_loses_nothing(
    tmp_path, capsys, monkeypatch
):
    config = plans.mnist_config("smoke", max_epochs=3)
    checkpoint = runs.checkpoint_path(config, tmp_path)
    real_write = io.atomic_write_bytes
    writes = []

    def fill_up_after_one(path, blob):
        writes.append(path)
        if len(writes) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real_write(path, blob)

    monkeypatch.setattr(train, "atomic_write_bytes", fill_up_after_one)
    args = ["train", "--profile", "smoke", "--max-epochs", "3", "--quiet"]
    code, err = main(*args, "--results", str(tmp_path), capsys=capsys)
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("error: No space left on device") and str(checkpoint) in err
    assert len(train.load_checkpoint(checkpoint)["history"]) == 1  # epoch 1 kept
    monkeypatch.setattr(train, "atomic_write_bytes", real_write)
    assert main(*args, "--results", str(tmp_path), capsys=capsys)[0] == 0


def test_a_full_run_without_its_data_fails_naming_it(tmp_path):
    plan = plans.mnist_plan
    with pytest.raises(data.DataError, match="MNIST"):
        runs.collect(plan, "full", tmp_path / "results", data_root=tmp_path / "none")


def test_double_backward_says_it_is_not_supported():
    x = torch.randn(5, requires_grad=True)
    for fn in (gaaf_tanh, surrogate):
        (grad,) = torch.autograd.grad(fn(x).sum(), x)  # first order is fine
        assert torch.isfinite(grad).all()
        with pytest.raises(RuntimeError, match="does not support double backward"):
            torch.autograd.grad(fn(x).sum(), x, create_graph=True)


# ---------------------------------------------------------------------------- tidy


def test_temporary_files_of_interrupted_writes_are_cleaned(tmp_path):
    config = tiny(max_epochs=1)
    record, ckpt = (
        runs.record_path(config, tmp_path),
        runs.checkpoint_path(config, tmp_path),
    )
    leftovers = [
        record.parent / f".{record.name}.k2j4.tmp",
        ckpt.parent / f".{ckpt.name}.x9z1.tmp",
    ]
    for path in leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half")
    runs.run(config, tmp_path, device="cpu", progress=False, data_root=DATA)
    assert not any(p.exists() for p in leftovers)
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", f"results/mnist/.{record.name}.k2j4.tmp"],
        cwd=ROOT,
    )
    assert ignored.returncode == 0


def test_a_live_lock_names_its_owner_and_a_stale_one_is_taken_over(tmp_path):
    config = tiny(max_epochs=1)
    lock = runs.lock_path(config, tmp_path)
    lock.parent.mkdir(parents=True)
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.write_text(f"{owner.pid} {os.uname().nodename}")
        with pytest.raises(ValueError, match=f"being trained by process {owner.pid}"):
            runs.run(config, tmp_path, device="cpu", progress=False, data_root=DATA)
    finally:
        owner.kill()
        owner.wait()
    runs.run(config, tmp_path, device="cpu", progress=False, data_root=DATA)  # stale
    assert runs.record_path(config, tmp_path).exists() and not lock.exists()
