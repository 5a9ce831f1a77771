"""The benchmarks run, record what they measured, and the appendix helpers read it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gaaf.book import cost_tables
from gaaf.book.figures.costs import cost_figure
from gaaf.experiments import bench

ROOT = Path(__file__).resolve().parents[1]


def test_activation_benchmark_records_times_and_saved_memory(tmp_path):
    torch._dynamo.reset()
    record = bench.activations(
        torch.device("cpu"), (20_000,), warmup=1, repeats=2, out=tmp_path
    )
    assert bench.load_results(tmp_path)["activations-cpu"] == record
    rows = {r["variant"]: r for r in record["activations"]}
    # each ratio is the row's time over its plain activation's, measured in the same run
    gaaf_tanh = rows["GAAF-tanh (eager, default)"]
    expected = gaaf_tanh["median_ms"] / rows["tanh"]["median_ms"]
    assert gaaf_tanh["vs_plain"] == pytest.approx(expected, rel=1e-6)
    assert (
        gaaf_tanh["plain"] == "tanh" and rows["GAAF-ReLU, compiled"]["plain"] == "relu"
    )
    for name in (
        "GAAF-tanh (eager, default)",
        "GAAF-ReLU (eager, default)",
        "GAAF-tanh, compiled",
        "GAAF-ReLU, compiled",
    ):
        assert rows[name]["saved_x_input"] == 1.0  # the input itself, every path
        assert rows[name]["median_ms"] > 0
    assert rows["naive GAAF-tanh (paper's formula)"]["saved_x_input"] >= 4
    assert [r["variant"] for r in record["mlp_step"]] == ["base", "dropout", "gaaf"]
    assert record["provenance"]["device"].startswith("cpu")
    sizes = {(r["variant"], r["elements"]) for r in record["activations"]}
    assert ("tanh", 20_000) in sizes and ("tanh", 123) not in sizes
    assert len(cost_figure(record).axes[0].patches) == len(rows)


def test_loader_benchmark_compares_both_pipelines(tmp_path):
    record = bench.loader(
        torch.device("cpu"),
        (16,),
        workers=(0,),
        repeats=1,
        root=ROOT / "data",
        out=tmp_path,
    )
    assert set(record["median_seconds"]) == {
        "gaaf tensors",
        "torchvision DataLoader, 0 workers",
    }
    seconds = record["median_seconds"]
    loader = seconds["torchvision DataLoader, 0 workers"] / seconds["gaaf tensors"]
    assert record["vs_gaaf"]["torchvision DataLoader, 0 workers"] == pytest.approx(
        loader
    )
    assert (tmp_path / "loader-cpu-widths-16.json").exists()


def test_recorded_results_are_in_the_repository():
    results = bench.load_results(ROOT / "benchmarks" / "results")
    assert (
        "activations-cpu" in results and "loader-cpu-widths-1024-1024-1024" in results
    )


def test_the_mask_benchmark_times_a_boolean_store_and_relu_eager_and_compiled(tmp_path):
    torch._dynamo.reset()
    record = bench.mask_store(
        torch.device("cpu"), (20_000,), warmup=1, repeats=2, out=tmp_path
    )
    assert bench.load_results(tmp_path)["mask-store-cpu"] == record
    rows = {r["variant"]: r for r in record["rows"]}
    assert set(rows) == set(bench.MASK_EAGER) | set(bench.MASK_EAGER.values())
    for compiled, eager in bench.MASK_EAGER.items():
        assert rows[eager]["vs_eager"] == 1.0
        assert rows[compiled]["vs_eager"] == pytest.approx(
            rows[compiled]["median_ms"] / rows[eager]["median_ms"]
        )
    assert len(bench.lines(record)) == len(rows)
    sentence = cost_tables.mask_sentence(record)
    assert "at 20,000 elements" in sentence  # the size asked for is not recorded
    ratio = cost_tables.number(rows["ReLU forward + backward, compiled"]["vs_eager"])
    assert f"ReLU's forward and backward {ratio} times as long" in sentence
