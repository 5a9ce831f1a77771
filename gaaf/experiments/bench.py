"""Benchmarks that record their numbers (``python -m gaaf bench ...``).

* ``activations``: forward + backward time of one activation call and the bytes it
  saves for backward, for tanh, ReLU, the paper's formula written naively, and GAAF
  (eager, the default, and under ``torch.compile``), at several sizes; float32 on the
  CPU, float32 and bfloat16 on a GPU; plus one training step of the MNIST MLP without
  and with dropout and with GAAF, and the device's copy bandwidth.
* ``mask-store``: why compiled ReLU trains slowly on a CPU. Under ``torch.compile``,
  ReLU's forward also writes the mask its backward needs, ``x <= 0``, as a boolean
  tensor (eager ReLU saves its output instead). This times that one comparison into a
  boolean tensor, eager and compiled, and compiled into ``uint8``, at several sizes.
* ``loader``: one MNIST training epoch of the MLP through gaaf's tensor loader against
  the usual torchvision pipeline (``ToTensor`` + ``Normalize``, ``DataLoader``,
  batch 128), same model, same process.

Every timing is a median over ``repeats`` runs after warm-up runs; variants are
interleaved round by round so that drifts in machine load hit all alike; ratios are
against the plain counterpart measured in the same run. On CUDA, times are CUDA events.
Records are JSON with provenance, written to ``benchmarks/results/`` by default, where
the book's appendix reads them.
"""

from __future__ import annotations

import functools
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gaaf.activations import gaaf_relu, gaaf_tanh, naive_gaaf
from gaaf.experiments import data, plans
from gaaf.experiments.io import atomic_write_json
from gaaf.experiments.models import build_model
from gaaf.experiments.runs import provenance

__all__ = [
    "MASK_BOOL",
    "MASK_BOOL_EAGER",
    "MASK_EAGER",
    "MASK_UINT8",
    "RELU_COMPILED",
    "RELU_EAGER",
    "activations",
    "lines",
    "load_results",
    "loader",
    "mask_store",
]

RESULTS = Path("benchmarks/results")


def _clock(device: torch.device) -> Callable[[Callable[[], object]], float]:
    def run(work: Callable[[], object]) -> float:
        if device.type == "cuda":
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            work()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end) / 1e3
        begin = time.perf_counter()
        work()
        return time.perf_counter() - begin

    return run


def _interleaved(
    works: dict[str, Callable[[], Callable[[], object]]],
    device: torch.device,
    warmup: int,
    repeats: int,
) -> dict[str, list[float]]:
    """Seconds per run of each work (``works[name]()`` prepares one run), interleaved."""
    clock = _clock(device)
    times: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(warmup):
        for prepare in works.values():
            clock(prepare())
    for _ in range(repeats):
        for name, prepare in works.items():
            times[name].append(clock(prepare()))
    return times


def saved_bytes(fn: Callable, x: torch.Tensor) -> int:
    """Bytes of the tensors autograd saves for backward of ``fn(x)``."""
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x.detach().requires_grad_())
    return total


def _activation_rows(device, dtype, sizes, warmup, repeats) -> list[dict[str, Any]]:
    variants = {
        "tanh": torch.tanh,
        "relu": torch.relu,
        "naive GAAF-tanh (paper's formula)": naive_gaaf,
        "GAAF-tanh (eager, default)": gaaf_tanh,
        "GAAF-ReLU (eager, default)": gaaf_relu,
        "tanh, compiled": torch.compile(torch.tanh),
        "relu, compiled": torch.compile(torch.relu),
        "GAAF-tanh, compiled": torch.compile(gaaf_tanh),
        "GAAF-ReLU, compiled": torch.compile(gaaf_relu),
    }
    rows = []
    for n in sizes:
        torch.manual_seed(0)
        x0 = (torch.randn(n, device=device) * 3).to(dtype)
        grad = torch.randn(n, device=device, dtype=dtype)

        def work(fn, x0=x0, grad=grad):
            x = x0.detach().requires_grad_()
            return lambda: fn(x).backward(grad)

        times = _interleaved(
            {name: lambda fn=fn: work(fn) for name, fn in variants.items()},
            device,
            warmup,
            repeats,
        )
        plain = {p: statistics.median(times[p]) for p in ("tanh", "relu")}
        for name, fn in variants.items():
            median = statistics.median(times[name])
            against = "relu" if "relu" in name.lower() else "tanh"
            rows.append(
                {
                    "dtype": str(dtype).removeprefix("torch."),
                    "elements": n,
                    "variant": name,
                    "median_ms": 1e3 * median,
                    "plain": against,
                    "vs_plain": median / plain[against],
                    "vs_tanh": median / plain["tanh"],
                    # what a fused activation must move: forward reads x and writes y,
                    # backward reads x and the gradient and writes one gradient
                    "min_bytes_gb_per_s": 5 * n * x0.element_size() / median / 1e9,
                    "saved_x_input": saved_bytes(fn, x0) / (n * x0.element_size()),
                }
            )
    return rows


def _copy_bandwidth(
    device: torch.device, n: int = 16_000_000, repeats: int = 20
) -> float:
    """GB/s of ``y.copy_(x)`` in float32 (bytes read + written)."""
    x, y = torch.randn(n, device=device), torch.empty(n, device=device)
    clock = _clock(device)
    for _ in range(3):
        clock(lambda: y.copy_(x))
    seconds = statistics.median(clock(lambda: y.copy_(x)) for _ in range(repeats))
    return 2 * 4 * n / seconds / 1e9


def _mlp_steps(device, warmup, repeats) -> list[dict[str, Any]]:
    """One SGD step of the MNIST MLP (batch 100) per variant, same batch, same run."""
    torch.manual_seed(0)
    x = torch.randn(100, 1, 28, 28, device=device)
    y = torch.randint(0, 10, (100,), device=device)
    works = {}
    for variant in plans.MNIST_VARIANTS:
        model = build_model(plans.mnist_config("full", variant)).to(device)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step(model=model, optimizer=optimizer) -> None:
            loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        works[variant] = lambda step=step: step
    times = _interleaved(works, device, warmup, repeats)
    base = statistics.median(times["base"])
    return [
        {
            "variant": name,
            "median_ms": 1e3 * statistics.median(ts),
            "vs_base": statistics.median(ts) / base,
        }
        for name, ts in times.items()
    ]


def activations(
    device: torch.device,
    sizes: tuple[int, ...] = (1_000_000, 4_000_000, 16_000_000),
    warmup: int = 3,
    repeats: int = 20,
    out: Path | str | None = RESULTS,
) -> dict[str, Any]:
    """Run the activation and training-step benchmark; write its record unless ``out`` is None."""
    start = time.perf_counter()
    dtypes = (
        [torch.float32, torch.bfloat16] if device.type == "cuda" else [torch.float32]
    )
    record = {
        "benchmark": "activations",
        "description": "forward + backward of one activation call; one MNIST MLP step",
        "repeats": repeats,
        "warmup": warmup,
        "activations": [
            row
            for dtype in dtypes
            for row in _activation_rows(device, dtype, sizes, warmup, repeats)
        ],
        "copy_gb_per_s": _copy_bandwidth(device),
        "mlp_step": _mlp_steps(device, 5 * warmup, 5 * repeats),
    }
    record["provenance"] = provenance(device, time.perf_counter() - start)
    return _write(record, out, "activations", device)


MASK_BOOL_EAGER = "x <= 0, eager (bool)"
"""The ``mask-store`` benchmark's variant that stores ReLU's mask eagerly, as bools."""
MASK_BOOL = "x <= 0, compiled (bool)"
"""The same comparison compiled, into a boolean tensor."""
MASK_UINT8 = "x <= 0, compiled (uint8)"
"""The same comparison compiled, into bytes."""
RELU_EAGER = "ReLU forward + backward, eager"
"""ReLU's forward and backward, eager."""
RELU_COMPILED = "ReLU forward + backward, compiled"
"""ReLU's forward and backward, compiled."""

MASK_EAGER = {
    MASK_BOOL: MASK_BOOL_EAGER,
    MASK_UINT8: MASK_BOOL_EAGER,
    RELU_COMPILED: RELU_EAGER,
}
"""The ``mask-store`` benchmark's compiled variants -> the eager one each is timed
against (the eager ones against themselves)."""


def _write(
    record: dict[str, Any],
    out: Path | str | None,
    name: str,
    device: torch.device,
    suffix: str = "",
) -> dict[str, Any]:
    """Write ``record`` as ``<name>-<cpu|gpu><suffix>.json`` under ``out`` (not when
    ``out`` is None), and return it."""
    if out is not None:
        kind = "gpu" if device.type == "cuda" else "cpu"
        atomic_write_json(Path(out) / f"{name}-{kind}{suffix}.json", record)
    return record


def _relu_step(x: torch.Tensor, grad: torch.Tensor, fn: Callable) -> object:
    return fn(x.detach().requires_grad_()).backward(grad)


def mask_store(
    device: torch.device,
    sizes: tuple[int, ...] = (1_000_000, 4_000_000, 16_000_000),
    warmup: int = 3,
    repeats: int = 20,
    out: Path | str | None = RESULTS,
) -> dict[str, Any]:
    """Time ``x <= 0`` into a boolean tensor, eager and compiled (and compiled into
    ``uint8``), beside ReLU's forward + backward eager and compiled, per size,
    interleaved, each compiled variant over its eager one (:data:`MASK_EAGER`); write
    the record unless ``out`` is None."""
    start = time.perf_counter()
    relu = torch.compile(torch.relu)
    variants = {
        MASK_BOOL_EAGER: lambda x, g: x <= 0,
        MASK_BOOL: torch.compile(lambda x, g: x <= 0),
        MASK_UINT8: torch.compile(lambda x, g: (x <= 0).to(torch.uint8)),
        RELU_EAGER: functools.partial(_relu_step, fn=torch.relu),
        RELU_COMPILED: functools.partial(_relu_step, fn=relu),
    }
    rows = []
    for n in sizes:
        torch.manual_seed(0)
        x, grad = torch.randn(n, device=device), torch.randn(n, device=device)

        def work(fn: Callable, x=x, grad=grad) -> Callable[[], object]:
            return lambda: fn(x, grad)

        times = _interleaved(
            {name: functools.partial(work, fn) for name, fn in variants.items()},
            device,
            warmup,
            repeats,
        )
        median = {name: statistics.median(t) for name, t in times.items()}
        rows += [
            {
                "elements": n,
                "variant": name,
                "median_ms": 1e3 * m,
                "vs_eager": m / median[MASK_EAGER.get(name, name)],
            }
            for name, m in median.items()
        ]
    record = {
        "benchmark": "mask-store",
        "description": "x <= 0 into a boolean tensor and ReLU, eager and compiled",
        "repeats": repeats,
        "warmup": warmup,
        "rows": rows,
        "provenance": provenance(device, time.perf_counter() - start),
    }
    return _write(record, out, "mask-store", device)


def lines(record: dict[str, Any]) -> list[str]:
    """A benchmark record as the lines ``python -m gaaf bench`` prints."""
    if record["benchmark"] == "activations":
        return (
            [
                f"{r['elements']:>11,} {r['dtype']:9s} {r['variant']:34s} "
                f"{r['median_ms']:8.2f} ms {r['vs_plain']:5.2f}x {r['plain']}, "
                f"saves {r['saved_x_input']:.0f}x input"
                for r in record["activations"]
            ]
            + [
                f"MNIST MLP step, {r['variant']:8s} {r['median_ms']:7.2f} ms "
                f"{r['vs_base']:5.3f}x base"
                for r in record["mlp_step"]
            ]
            + [f"copy bandwidth {record['copy_gb_per_s']:.1f} GB/s"]
        )
    if record["benchmark"] == "mask-store":
        return [
            f"{r['elements']:>11,} {r['variant']:34s} {r['median_ms']:8.3f} ms "
            f"{r['vs_eager']:6.2f}x eager"
            for r in record["rows"]
        ]
    return [
        f"{name:36s} {seconds:7.2f} s  {record['vs_gaaf'][name]:5.2f}x gaaf's"
        for name, seconds in record["median_seconds"].items()
    ]


def _epoch(batches, model, optimizer, device) -> None:
    model.train()
    for x, y in batches():
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def loader(
    device: torch.device,
    widths: tuple[int, ...] = (1024, 1024, 1024),
    workers: tuple[int, ...] = (0, 2),
    repeats: int = 3,
    root: Path | str | None = None,
    out: Path | str | None = RESULTS,
) -> dict[str, Any]:
    """Time MNIST epochs through gaaf's loader and torchvision's; write the record."""
    import torchvision

    start = time.perf_counter()
    config = plans.mnist_config("full", widths=tuple(widths), batch_size=128)
    torch.manual_seed(0)
    model = build_model(config).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    ours = data.load("mnist", device, root=root)
    generator = torch.Generator().manual_seed(0)
    transform = torchvision.transforms.Compose(
        [
            torchvision.transforms.ToTensor(),
            torchvision.transforms.Normalize((0.1307,), (0.3081,)),
        ]
    )
    folder = str(data.data_root(root))
    dataset = torchvision.datasets.MNIST(
        folder, train=True, download=True, transform=transform
    )
    dataset = torch.utils.data.Subset(
        dataset, range(len(ours.train))
    )  # the same 50,000

    pipelines: dict[str, Callable[[], Any]] = {
        "gaaf tensors": lambda: ours.batches(ours.train, config.batch_size, generator)
    }
    for n in workers:
        dataloader = torch.utils.data.DataLoader(
            dataset,
            batch_size=config.batch_size,
            shuffle=True,
            num_workers=n,
            pin_memory=device.type == "cuda",
            persistent_workers=n > 0,
        )
        pipelines[f"torchvision DataLoader, {n} workers"] = lambda d=dataloader: d

    works = {
        name: lambda b=batches: lambda: _epoch(b, model, optimizer, device)
        for name, batches in pipelines.items()
    }
    times = _interleaved(works, device, warmup=1, repeats=repeats)
    medians = {name: statistics.median(t) for name, t in times.items()}
    record = {
        "benchmark": "loader",
        "description": "one MNIST training epoch of the MLP (50,000 images, batch 128)",
        "widths": list(widths),
        "repeats": repeats,
        "seconds": times,
        "median_seconds": medians,
        "vs_gaaf": {name: s / medians["gaaf tensors"] for name, s in medians.items()},
        "provenance": provenance(device, time.perf_counter() - start),
    }
    return _write(
        record, out, "loader", device, f"-widths-{'-'.join(map(str, widths))}"
    )


def load_results(folder: Path | str = RESULTS) -> dict[str, dict[str, Any]]:
    """The recorded benchmark results in ``folder``, by file stem (empty if none)."""
    folder = Path(folder)
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
