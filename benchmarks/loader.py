"""One MNIST training epoch of the book's MLP: gaaf's tensor loader against the usual
torchvision pipeline (``ToTensor`` + ``Normalize``, ``DataLoader``, batch 128).

Same model, same optimizer, same process; each epoch is timed ``--repeats`` times after
a warm-up and the median is kept. Writes a record to ``benchmarks/results/``.

    python benchmarks/loader.py [--widths 1024 1024 1024] [--device cpu] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
import torchvision
from torch import nn

from gaaf import data, experiments
from gaaf.io import atomic_write_json
from gaaf.models import build_model
from gaaf.params import resolve_device

BATCH = 128
RESULTS = Path(__file__).resolve().parent / "results"


def epoch_time(batches, model, optimizer, device) -> float:
    """Seconds for one pass of ``batches`` (each moved to ``device``) with training steps."""
    model.train()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for x, y in batches():
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[1024, 1024, 1024])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--root", default="data")
    args = parser.parse_args()
    device = resolve_device(args.device)
    config = experiments.mnist_config(
        "full", widths=tuple(args.widths), batch_size=BATCH
    )
    torch.manual_seed(0)
    model = build_model(config).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    ours = data.load("mnist", device, root=args.root)
    generator = torch.Generator().manual_seed(0)

    def gaaf_batches():
        return ours.batches(ours.train, BATCH, generator)

    transform = torchvision.transforms.Compose(
        [
            torchvision.transforms.ToTensor(),
            torchvision.transforms.Normalize((0.1307,), (0.3081,)),
        ]
    )
    dataset = torchvision.datasets.MNIST(
        args.root, train=True, download=True, transform=transform
    )
    dataset = torch.utils.data.Subset(
        dataset, range(len(ours.train))
    )  # same 50,000 images

    pipelines = {"gaaf tensors": gaaf_batches}
    for workers in args.workers:
        loader = torch.utils.data.DataLoader(
            dataset,
            batch_size=BATCH,
            shuffle=True,
            num_workers=workers,
            pin_memory=device.type == "cuda",
            persistent_workers=workers > 0,
        )
        pipelines[f"torchvision DataLoader, {workers} workers"] = lambda loader=loader: (
            loader
        )

    times: dict[str, list[float]] = {name: [] for name in pipelines}
    for batches in pipelines.values():  # warm-up: one epoch each
        epoch_time(batches, model, optimizer, device)
    for _ in range(
        args.repeats
    ):  # interleaved, so drifts in machine load hit all alike
        for name, batches in pipelines.items():
            times[name].append(epoch_time(batches, model, optimizer, device))
            print(f"{name}: {times[name][-1]:.2f} s", flush=True)

    medians = {name: statistics.median(t) for name, t in times.items()}
    ours_s = medians["gaaf tensors"]
    record = {
        "benchmark": "one MNIST training epoch of the MLP (50,000 images, batch 128)",
        "widths": args.widths,
        "repeats": args.repeats,
        "seconds": times,
        "median_seconds": medians,
        "speedup_vs_gaaf": {name: s / ours_s for name, s in medians.items()},
        "provenance": experiments.provenance(device, sum(map(sum, times.values()))),
    }
    kind = "gpu" if device.type == "cuda" else "cpu"
    path = RESULTS / f"loader-{kind}-widths-{'-'.join(map(str, args.widths))}.json"
    atomic_write_json(path, record)
    for name, s in medians.items():
        print(f"{name:40s} {s:7.2f} s   {s / ours_s:5.2f}x gaaf's")
    print(f"-> {path}")


if __name__ == "__main__":
    main()
