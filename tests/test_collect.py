"""Which records a chapter shows (``runs.collect``), and the plans it reads them for."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import make_record

from gaaf.experiments import plans, runs, selection
from gaaf.experiments.data import DataError

MNIST_ROOT = Path(__file__).resolve().parents[1] / "data"


def smoke_plan(profile):
    """A plan whose 'full' runs are smoke-sized, so the test trains in seconds."""
    tiny = {"widths": (16, 16, 16), "train_subset": 500, "max_epochs": 1}
    if profile == "full":
        return {"base": [plans.mnist_config("smoke", seed=s, **tiny) for s in (0, 1)]}
    return {"base": [plans.mnist_config("smoke", seed=5, lr=0.02, **tiny)]}


def test_default_profile_reads_full_records_and_never_trains(tmp_path, monkeypatch):
    first = smoke_plan("full")["base"][0]
    runs.run(first, tmp_path, "cpu", progress=False, data_root=MNIST_ROOT)
    calls = []
    monkeypatch.setattr(runs, "run", lambda *a, **k: calls.append(a))
    shown = runs.collect(
        smoke_plan, "default", tmp_path, "cpu", MNIST_ROOT, progress=False
    )
    assert calls == []
    assert shown.profile == "full" and len(shown.groups["base"]) == 1
    assert "1 of 2 planned runs" in shown.describe()


def test_default_profile_trains_reduced_runs_when_no_full_record(tmp_path):
    shown = runs.collect(
        smoke_plan, "default", tmp_path, "cpu", MNIST_ROOT, progress=False
    )
    assert shown.profile == "default"
    assert shown.groups["base"][0]["config"]["lr"] == 0.02
    assert "reduced scale" in shown.describe()


def test_a_dataset_it_cannot_get_is_reported_and_the_chapter_goes_on(
    tmp_path, monkeypatch
):
    def plan(profile):
        return {
            "cifar10: base": [plans.cnn_config("cifar10", "smoke")],
            "cifar10: bn": [plans.cnn_config("cifar10", "smoke", "bn")],
        }

    def no_dataset(config, *args, **kwargs):
        raise DataError(f"dataset {config.dataset!r} could not be downloaded")

    monkeypatch.setattr(runs, "run", no_dataset)
    shown = runs.collect(plan, "smoke", tmp_path, "cpu", progress=False)
    assert shown.missing == ["cifar10: base", "cifar10: bn"]
    assert (
        "Datasets not available here: cifar10. For cifar10: dataset" in shown.describe()
    )
    with pytest.raises(ValueError, match="profile must be one of"):
        runs.collect(plan, "paper", tmp_path)


def test_plans_take_a_seed_list_and_keep_the_profiles_hashes():
    full = plans.mnist_plan("full")
    assert list(full) == ["base", "dropout", "gaaf"]
    assert [c.seed for c in full["gaaf"]] == [0, 1, 2, 3, 4]
    chosen = plans.mnist_plan("full", [3])
    assert [c.hash for c in chosen["base"]] == [full["base"][3].hash]
    assert [c.seed for c in plans.cnn_plan("smoke", ["svhn"])["svhn: bn"]] == [0]
    for bad in ("0 1", [], [-1], [True]):
        with pytest.raises(ValueError, match=r"^seeds(\[0\])? must"):
            plans.mnist_plan("full", bad)


def test_records_of_calls_the_plan_with_its_options_or_shows_nothing(
    tmp_path, monkeypatch
):
    calls = []

    def collect(plan, profile, results, device, data_root, train_default=True):
        calls.append((plan("full"), profile, results, device, data_root))
        assert train_default is True  # records_of's default
        return runs.empty(profile)

    monkeypatch.setattr(runs, "collect", collect)
    shown = runs.records_of(plans.mnist_plan, "smoke", tmp_path, "cpu", "d", seeds=[3])
    [(plan, profile, results, device, data_root)] = calls
    assert [c.seed for c in plan["gaaf"]] == [3]  # the option reached the plan
    assert (profile, results, device, data_root) == ("smoke", tmp_path, "cpu", "d")
    assert shown == runs.Runs("smoke", {}, {})
    # a plan the chapter's parameters leave out: nothing trained or read
    left_out = runs.records_of(plans.mnist_plan, "full", tmp_path, wanted=False)
    assert len(calls) == 1 and (left_out.groups, left_out.total) == ({}, 0)
    assert "0 of 0 planned runs" in left_out.describe()
    grid = selection.collect_grid(plans.cnn_lr_cells, "full", tmp_path, wanted=False)
    assert len(calls) == 1 and (grid.runs.total, grid.cells, grid.rates) == (0, {}, {})
    with pytest.raises(ValueError, match="profile must be one of"):
        runs.empty("paper")


def test_incomplete_names_the_groups_with_fewer_records_than_planned():
    a, b = make_record(seed=0), make_record(seed=1)
    shown = runs.Runs(
        "full",
        {"a": [a, b], "b": [a], "c": []},
        {"a": 2, "b": 3, "c": 1},
        diverged={"b": [make_record(diverged=2)]},  # a diverged run has its record
    )
    assert shown.incomplete() == {"b": (2, 3), "c": (0, 1)}
    assert runs.Runs("full", {"a": [a]}, {"a": 1}).incomplete() == {}


def test_a_plan_that_follows_other_records_is_never_trained_at_default(tmp_path):
    from gaaf.experiments import plans, runs

    def plan(profile):
        return {"base": [plans.mnist_plan(profile)["base"][0]]}

    shown = runs.collect(plan, "default", tmp_path, "cpu", train_default=False)
    assert shown.missing == ["base"] and shown.total == 1 and shown.found == 0
    assert not list(tmp_path.rglob("*.json"))  # nothing trained, nothing written
