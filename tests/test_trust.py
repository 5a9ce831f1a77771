"""Trust in records and locks (issue "Trust in records and locks").

Each test here failed before its fix: a record used for a config it does not belong
to, a lock that could not be recovered or did not keep processes out, equal configs
that hashed differently, a resume whose thread count changed the result, settings that
did nothing or claimed what did not happen, and messages that said what was not so.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import socket
import time
import warnings
from pathlib import Path

import pytest
import torch

import gaaf.__main__ as cli
from gaaf import activations
from gaaf.experiments import data, plans, runs, train
from gaaf.experiments.config import ExperimentConfig

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"


def tiny(**changes) -> ExperimentConfig:
    base = {"widths": (16, 16, 16), "train_subset": 2000, "max_epochs": 2}
    return ExperimentConfig(**{"patience": None, **base, **changes})


def fit(config: ExperimentConfig, results: Path) -> dict:
    return runs.run(config, results, device="cpu", progress=False, data_root=DATA)


# ------------------------------------------------- a record belongs to its own config


def test_a_record_under_another_configs_name_is_set_aside_not_used(tmp_path):
    seed0, seed1 = tiny(seed=0), tiny(seed=1)
    other = fit(seed1, tmp_path / "a")
    planted = runs.record_path(seed0, tmp_path / "b")
    planted.parent.mkdir(parents=True)
    shutil.copy(runs.record_path(seed1, tmp_path / "a"), planted)
    with pytest.warns(UserWarning, match=f"another config .*{seed1.hash}"):
        mine = fit(seed0, tmp_path / "b")
    assert mine["config"]["seed"] == 0 and mine["digest"] != other["digest"]
    aside = planted.with_name(f"{planted.name}.mismatch-{seed1.hash}")
    assert aside.read_bytes() == runs.record_path(seed1, tmp_path / "a").read_bytes()


def test_collect_never_shows_a_record_under_another_configs_name(tmp_path):
    def plan(profile):  # a tiny "full" profile, and a tinier "default" one
        return {
            "base": [tiny(max_epochs=1, train_subset=1000 * (profile == "full") or 500)]
        }

    smoke_like = tiny(max_epochs=1, widths=(8, 8, 8))
    fit(smoke_like, tmp_path / "a")
    planted = runs.record_path(plan("full")["base"][0], tmp_path / "b")
    planted.parent.mkdir(parents=True)
    shutil.copy(runs.record_path(smoke_like, tmp_path / "a"), planted)
    with pytest.warns(UserWarning, match="another config"):
        shown = runs.collect(
            plan,
            "default",
            tmp_path / "b",
            device="cpu",
            data_root=DATA,
            progress=False,
        )
    assert shown.profile == "default"  # no full-profile record: the reduced one ran
    assert shown.groups["base"][0]["config"]["train_subset"] == 500
    assert not planted.exists()


def test_the_cli_says_which_record_it_set_aside(tmp_path, capsys):
    args = ["train", "--profile", "smoke", "--widths", "16", "16", "16", "--quiet"]
    assert cli.main([*args, "--seeds", "1", "--results", str(tmp_path / "a")]) == 0
    (one,) = (tmp_path / "a" / "mnist").glob("*seed_1-*.json")
    zero = runs.record_path(
        plans.mnist_config("smoke", widths=(16, 16, 16), seed=0), tmp_path / "b"
    )
    zero.parent.mkdir(parents=True)
    shutil.copy(one, zero)
    capsys.readouterr()
    with pytest.warns(UserWarning, match="set it aside"):
        assert cli.main([*args, "--seeds", "0", "--results", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    mine = json.loads(zero.read_text())
    assert mine["config"]["seed"] == 0
    assert f"{100 * mine['test_acc']:.2f}%" in out


# ---------------------------------------------------------------------------- locks


def test_a_lock_of_another_host_without_a_heartbeat_is_taken_over(tmp_path):
    config = tiny(max_epochs=1)
    lock = runs.lock_path(config, tmp_path)
    lock.parent.mkdir(parents=True)
    lock.write_text("4242 a-colab-vm-that-disconnected")
    old = time.time() - runs.STALE_AFTER - 5
    os.utime(lock, (old, old))
    fit(config, tmp_path)
    assert runs.record_path(config, tmp_path).exists() and not lock.exists()


@pytest.mark.parametrize("owner", ["1 {host}", "4242 another-host"])
def test_a_fresh_lock_is_refused_naming_force_unlock_which_takes_it(
    tmp_path, capsys, owner
):
    config = plans.mnist_config("smoke", seed=0)
    lock = runs.lock_path(config, tmp_path)
    lock.parent.mkdir(parents=True)
    lock.write_text(owner.format(host=socket.gethostname()))
    args = ["train", "--profile", "smoke", "--seeds", "0", "--quiet"]
    code = cli.main([*args, "--results", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1
    assert "--force-unlock" in err and "is being trained by process" in err
    assert cli.main([*args, "--results", str(tmp_path), "--force-unlock"]) == 0
    assert runs.record_path(config, tmp_path).exists() and not lock.exists()


def _race(results: str, barrier, log: str) -> None:
    config = tiny(max_epochs=1)
    barrier.wait()
    try:
        with runs._lock(config, results):
            with open(log, "a") as f:
                f.write(f"in {os.getpid()}\n")
            time.sleep(0.5)
            with open(log, "a") as f:
                f.write(f"out {os.getpid()}\n")
    except runs.Busy:
        with open(log, "a") as f:
            f.write(f"busy {os.getpid()}\n")


def test_of_many_processes_racing_for_a_stale_lock_exactly_one_wins(tmp_path):
    config = tiny(max_epochs=1)
    lock = runs.lock_path(config, tmp_path)
    lock.parent.mkdir(parents=True)
    lock.write_text("999999999 " + socket.gethostname())  # a process that is gone
    log = tmp_path / "log"
    context = multiprocessing.get_context("fork")
    for _ in range(3):
        log.write_text("")
        barrier = context.Barrier(6)
        procs = [
            context.Process(target=_race, args=(str(tmp_path), barrier, str(log)))
            for _ in range(6)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(30)
        lines = log.read_text().split()
        assert lines.count("in") == 1 and lines.count("busy") == 5
        lock.write_text("999999999 " + socket.gethostname())


# --------------------------------------------------------------------- config hashes


@pytest.mark.parametrize(
    "a, b",
    [
        ({"lr": 1}, {"lr": 1.0}),
        ({"dropout_hidden": 0}, {"dropout_hidden": 0.0}),
        ({"gaaf_K": 10_000}, {}),
        ({"widths": [8, 8]}, {"widths": (8, 8)}),
        ({"lr_layers": [2, 1]}, {"lr_layers": (2.0, 1.0), "widths": (8, 8)}),
    ],
)
def test_equal_configs_hash_alike(a, b):
    if "lr_layers" in a:
        a = {**a, "widths": [8, 8]}
    x, y = ExperimentConfig(**a), ExperimentConfig(**b)
    assert x == y and x.hash == y.hash


def test_every_committed_record_hashes_to_its_file_name():
    paths = sorted((ROOT / "results").glob("*/*.json"))
    assert paths
    for path in paths:
        record = json.loads(path.read_text())
        config = ExperimentConfig.from_dict(record["config"])
        assert path.name == f"{config.slug}-{config.hash}.json", path
        runs.load_record(path)


# ------------------------------------------------------------ threads and resumption


def test_a_resume_under_another_thread_count_pins_the_first_and_ends_bitwise(
    tmp_path, monkeypatch
):
    config = tiny(max_epochs=3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        whole = fit(config, tmp_path / "whole")
        real_epoch = train._epoch
        calls = []

        def stop_in_epoch_3(state, *args):
            calls.append(1)
            if len(calls) == 3:
                raise KeyboardInterrupt
            real_epoch(state, *args)

        monkeypatch.setattr(train, "_epoch", stop_in_epoch_3)
        with pytest.raises(KeyboardInterrupt):
            fit(config, tmp_path / "cut")
        monkeypatch.setattr(train, "_epoch", real_epoch)
        torch.set_num_threads(2)
        with pytest.warns(UserWarning, match="resumes under 1"):
            resumed = fit(config, tmp_path / "cut")
        assert torch.get_num_threads() == 2  # given back afterwards
    finally:
        torch.set_num_threads(threads)
    assert resumed["history"] == [
        {**h, "seconds": r["seconds"]}
        for h, r in zip(whole["history"], resumed["history"], strict=True)
    ]
    assert resumed["test_acc"] == whole["test_acc"]
    starts = resumed["provenance"]["starts"]
    assert [(s["epoch"], s["threads"]) for s in starts] == [(0, 1), (2, 1)]
    assert all(len(s["commit"] or "x" * 40) == 40 for s in starts)


# ------------------------------------------------- settings that do nothing or lie


@pytest.mark.parametrize(
    "args, message",
    [
        (["--gaaf-K", "5"], "error: gaaf_K must be left at its default unless"),
        (
            ["--activation", "surrogate_tanh", "--gaaf-K", "5"],
            "error: gaaf_K must be left at its default",
        ),
        (["--train-subset", "10000000"], "error: train_subset must be at most the"),
        (["--device", "cpu:1"], "error: device must be 'cpu'"),
        (["--lr", "1e308"], "error: lr must be a finite number > 0 and <= 100"),
        (["--widths", "10000000000"], "error: widths[0] must be an integer >= 1 and"),
    ],
)
def test_settings_that_do_nothing_or_claim_what_did_not_happen_are_one_line(
    args, message, capsys, tmp_path
):
    base = ["train", "--profile", "smoke", "--seeds", "0", "--quiet"]
    code = cli.main([*base, "--results", str(tmp_path), *args])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(message) and len(err.splitlines()) == 1
    assert not list(tmp_path.glob("*/*.json"))


# ------------------------------------------------------------ leftovers and messages


def test_a_killed_cache_write_leaves_nothing_behind(tmp_path):
    (tmp_path / "MNIST").symlink_to(DATA / "MNIST")
    leftover = tmp_path / "cache" / ".mnist-test.pt.k2j4.tmp"
    leftover.parent.mkdir()
    leftover.write_bytes(b"x" * 1000)
    data.load_split("mnist", "test", tmp_path)
    assert not leftover.exists() and (tmp_path / "cache" / "mnist-test.pt").exists()


def test_a_read_only_dataset_folder_is_read_without_a_cache(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "MNIST"
    shutil.copytree(DATA / "MNIST", folder)
    tmp_path.chmod(0o555)
    try:
        with pytest.warns(UserWarning, match="read from its files each time"):
            images, _ = data.load_split("mnist", "test", tmp_path)
    finally:
        tmp_path.chmod(0o755)
    assert images.shape == (10_000, 1, 28, 28)


def test_a_read_only_cache_folder_is_one_warning_not_a_failure(tmp_path, monkeypatch):
    (tmp_path / "MNIST").symlink_to(DATA / "MNIST")

    def refuse(path, blob):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(data, "atomic_write_bytes", refuse)
    with pytest.warns(UserWarning, match="read from its files each time"):
        _images, labels = data.load_split("mnist", "test", tmp_path)
    assert len(labels) == 10_000 and not (tmp_path / "cache" / "mnist-test.pt").exists()


def test_an_os_error_before_any_epoch_says_nothing_was_kept(
    tmp_path, capsys, monkeypatch
):
    def refuse(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(train, "save_checkpoint", refuse)
    args = ["train", "--profile", "smoke", "--seeds", "0", "--quiet"]
    code = cli.main([*args, "--results", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1
    assert "no epoch had finished, so nothing was kept" in err
    assert str(tmp_path / "checkpoints") in err  # the folder, as no file was named


# --------------------------------------------------------------------- the tanh bound


def test_the_fast_float32_tanh_keeps_its_stated_bound():
    x = torch.linspace(-10, 10, 2_000_001, dtype=torch.float32)
    error = (activations._fast_tanh(x) - torch.tanh(x)).abs().max().item()
    assert error <= activations.FAST_TANH_ERROR
    K = 1 / (2 * activations.FAST_TANH_ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = activations.gaaf_tanh(x, K=K)
    assert (y - torch.tanh(x)).abs().max().item() <= 1 / (2 * K) + error
