"""Command line: ``python -m gaaf train ...``, ``plan``, ``run-book`` and ``bench``
(:data:`EXAMPLES`; ``python -m gaaf --help`` says the rest).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import inspect
import re
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gaaf
from gaaf import validate
from gaaf.experiments import plans, selection
from gaaf.experiments.config import ExperimentConfig
from gaaf.experiments.data import DataError
from gaaf.experiments.params import PROFILES, resolve_device

EXPERIMENTS = frozenset({"numpy", "torchvision", "matplotlib", "tqdm", "scipy", "yaml"})
"""What the ``experiments`` extra installs (import names): every command needs it; the
activations, the parser (``--help``, ``--version``) and ``import gaaf`` need only torch."""

_MISSING = None  # without the extra, each command stops with one line saying so
try:
    from gaaf.analysis import stats
    from gaaf.book import chapter
    from gaaf.experiments import bench, runs
    from gaaf.experiments.runs import Busy, find_record, record_path, run
except ModuleNotFoundError as err:
    if (err.name or "").partition(".")[0] not in EXPERIMENTS:
        raise
    _MISSING = err

_NOT_FLAGS = {"seed"}  # given as --seeds

EXAMPLES = """\
examples:
  python -m gaaf train --profile full --variant gaaf --seeds 0 1 2 3 4
  python -m gaaf train --model cnn --dataset fashion_mnist --variant bn --lr 0.1
  python -m gaaf plan cnn --profile full --shard 1/4 --device cuda
  python -m gaaf run-book --profile full --chapter gaaf_derived --device cuda
  python -m gaaf run-book --profile full --device cuda --shard 2/3
  python -m gaaf bench activations --device cuda

train starts from the book's MNIST MLP (or, with --model cnn, the base CNN) at the
given profile and variant; every config field can be overridden by its own flag
(--widths 512 512 512, --patience none). Finished runs are read from their records,
interrupted ones resume. With --shard K/N a command takes the K-th of N slices of its
runs, so that N machines share them; their results folders merge by union
(gaaf.book.chapter.merge_records). A bad value stops with one line naming it."""


def _parse_value(text: str, annotation: str) -> object:
    """A command-line word as a value of a config field with this type annotation."""
    if text.lower() == "none" and "None" in annotation:
        return None
    if annotation.startswith("bool"):
        if text.lower() not in ("true", "false"):
            raise ValueError(f"expected true or false, got {text!r}")
        return text.lower() == "true"
    if annotation.startswith("int"):
        return int(text)
    if annotation.startswith("float"):
        return float(text)
    return text


def _field_help() -> dict[str, str]:
    """Each config field's help: its type and the comment beside it in
    :class:`~gaaf.experiments.config.ExperimentConfig` (the one place it is written)."""
    source = inspect.getsource(ExperimentConfig)
    found = re.findall(r"^    (\w+): ([^=\n]+?) = [^#\n]*?(?:#\s*(.*))?$", source, re.M)
    return {name: f"{kind}; {note}" if note else kind for name, kind, note in found}


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("config fields (override the profile's values)")
    helps = _field_help()
    for field in dataclasses.fields(ExperimentConfig):
        if field.name in _NOT_FLAGS:
            continue
        nargs = "+" if field.name == "widths" else None
        group.add_argument(
            f"--{field.name.replace('_', '-')}",
            dest=field.name,
            nargs=nargs,
            metavar=field.name.upper(),
            help=helps.get(field.name, str(field.type)).replace("%", "%%"),
        )


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for field in dataclasses.fields(ExperimentConfig):
        raw = getattr(args, field.name, None)
        if raw is None:
            continue
        try:
            if field.name == "widths":
                changes["widths"] = tuple(int(w) for w in raw)
            else:
                changes[field.name] = _parse_value(raw, str(field.type))
        except ValueError as err:
            raise ValueError(f"{field.name}: {err}") from None
    return changes


def _train(args: argparse.Namespace) -> int:
    overrides = _overrides(args)
    if overrides.get("model", "mlp") == "cnn":
        dataset = overrides.pop("dataset", "cifar10")
        overrides.pop("model")
        base = plans.cnn_config(dataset, args.profile, args.variant, **overrides)
    else:
        base = plans.mnist_config(args.profile, args.variant, **overrides)
    if args.seeds is None:
        seeds = plans.profile_seeds(args.profile)
    else:
        seeds = validate.seed_list("seeds", args.seeds)
    resolve_device(args.device)
    records, diverged = [], []
    seeded = {base.label: [base.replace(seed=seed) for seed in seeds]}
    for config in plan_configs(seeded, _shard(args.shard)):
        record = run(
            config,
            args.results,
            args.device,
            progress=not args.quiet,
            force_unlock=args.force_unlock,
        )
        path = record_path(config, args.results)
        if "diverged" in record:
            diverged.append(
                f"{config.label} diverged in epoch {record['diverged']['epoch']}"
            )
            print(
                f"{config.label}: DIVERGED in epoch {record['diverged']['epoch']} -> {path}"
            )
            continue
        records.append(record)
        print(
            f"{config.label}: test accuracy {100 * record['test_acc']:.2f}%, "
            f"best epoch {record['best_epoch']} of {record['epochs_run']}, "
            f"{record['train_seconds']:.0f} s  -> {path}"
        )
    for row in stats.aggregate(records):
        acc, epoch = row["test_acc"], row["best_epoch"]
        spread = f" ({100 * acc.std:.3f})" if acc.std is not None else ""
        print(
            f"{row['label']}: {row['n']} seed(s), test accuracy "
            f"{100 * acc.mean:.2f}%{spread}, best epoch {epoch.mean:.1f}"
        )
    if diverged:
        print(
            f"error: {'; '.join(diverged)} (the training loss became NaN or infinite); "
            "lower the learning rate. The record says so; delete it to rerun.",
            file=sys.stderr,
        )
        return 1
    return 0


def _plan_builders(results: Path) -> dict[str, Callable[[str], plans.Plan]]:
    """The plans ``python -m gaaf plan NAME`` trains, by name. The ``*-selected`` plans
    put each arm at the rate its grid chose on validation (the grid must be complete)."""

    def mnist_selected(profile: str, reduced: bool = True) -> plans.Plan:
        rates = selection.chosen_rates(plans.mnist_lr_cells(profile), results)
        return plans.mnist_at_rates(profile, rates, reduced=reduced)

    def cnn_selected(profile: str) -> plans.Plan:
        rates = selection.chosen_rates(plans.cnn_lr_cells(profile), results)
        return plans.cnn_at_rates(profile, rates)

    return {
        "mnist": plans.mnist_plan,
        "mnist-lr-grid": plans.mnist_lr_grid,
        "mnist-selected": mnist_selected,
        "mnist-selected-paper-width": lambda p: mnist_selected(p, reduced=False),
        "mnist-layer-lr": plans.mnist_layer_lr,
        "mnist-regimes": plans.mnist_regimes,
        "mnist-sensitivity": plans.mnist_sensitivity,
        "mechanism": plans.mechanism_plan,
        "cnn": plans.cnn_plan,
        "cnn-cpu": plans.cnn_cpu_plan,
        "cnn-lr-pilot": plans.cnn_lr_pilot,
        "cnn-lr-grid": plans.cnn_lr_grid,
        "cnn-selected": cnn_selected,
        "cnn-shift-sweep": plans.cnn_shift_sweep,
    }


def _shard(text: str | None) -> tuple[int, int]:
    """``"K/N"`` as (K, N), 1 <= K <= N; None is the whole plan (1/1)."""
    if text is None:
        return 1, 1
    k, _, n = text.partition("/")
    if not (k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise ValueError(f"shard must be K/N with 1 <= K <= N, got {text!r}")
    return int(k), int(n)


def plan_configs(plan: plans.Plan, shard: tuple[int, int] = (1, 1)) -> list:
    """The distinct configs of ``plan`` in plan order, and of those the ``K``-th of
    every ``N`` (``shard = (K, N)``): N shards together hold each config once."""
    unique = list({c.hash: c for group in plan.values() for c in group}.values())
    k, n = shard
    return unique[k - 1 :: n]


def _plan(args: argparse.Namespace) -> int:
    builders = _plan_builders(args.results)
    name = validate.choice("plan", args.name, builders)
    configs = plan_configs(builders[name](args.profile), _shard(args.shard))
    resolve_device(args.device)
    if args.add_probes:
        return _add_probes(configs, args)
    if args.list:
        for config in configs:
            done = find_record(config, args.results) is not None
            print(f"{'done ' if done else 'to do'}  {config.label}")
        return 0
    counts = {"found": 0, "trained": 0, "busy": 0, "diverged": 0}
    start, n = time.perf_counter(), len(configs)
    for i, config in enumerate(configs, 1):
        if find_record(config, args.results) is not None:
            counts["found"] += 1
            continue
        print(f"run {i} of {n}: {config.label} ...", flush=True)
        try:
            record = run(
                config,
                args.results,
                args.device,
                progress=not args.quiet,
                force_unlock=args.force_unlock,
            )
        except Busy as err:
            counts["busy"] += 1
            print(f"  skipped: {str(err).split(' (')[0]}", flush=True)
            continue
        counts["trained"] += 1
        counts["diverged"] += "diverged" in record
        elapsed = time.perf_counter() - start
        left = n - i
        eta = elapsed / counts["trained"] * left
        outcome = (
            f"diverged in epoch {record['diverged']['epoch']}"
            if "diverged" in record
            else f"test accuracy {100 * record['test_acc']:.2f}%"
        )
        print(
            f"run {i} of {n} done: {outcome}; elapsed {elapsed / 60:.1f} min, "
            f"at most {left} left (ETA {eta / 60:.0f} min)",
            flush=True,
        )
    print(
        f"plan {name} ({args.profile}): {n} runs; {counts['found']} had records, "
        f"{counts['trained']} trained ({counts['diverged']} diverged), "
        f"{counts['busy']} busy in another process"
    )
    return 0


def _add_probes(configs: list, args: argparse.Namespace) -> int:
    """Add the probes older records lack (:func:`gaaf.experiments.reprobe.add_probes`)."""
    from gaaf.experiments.reprobe import add_probes, missing_probes

    todo = [
        c
        for c in configs
        if (r := find_record(c, args.results)) is not None and missing_probes(r)
    ]
    for i, config in enumerate(todo, 1):
        print(
            f"probes {i} of {len(todo)}: training {config.label} again ...", flush=True
        )
        add_probes(config, args.results, progress=not args.quiet)
        print(
            f"probes {i} of {len(todo)} added: the run reproduced bit for bit",
            flush=True,
        )
    print(f"{len(todo)} record(s) given the probes they lacked")
    return 0


def sharded(collect: Callable[..., runs.Runs], shard: tuple[int, int]):
    """``collect`` (:func:`gaaf.experiments.runs.collect`) that takes, of each plan it is given,
    only the configs of ``shard`` (:func:`plan_configs`): N processes, one per shard,
    train each config of every plan once between them."""

    @functools.wraps(collect)
    def collect_shard(plan, profile, *args, **kwargs):
        def part(at: str) -> plans.Plan:
            whole = plan(at)
            mine = {c.hash for c in plan_configs(whole, shard)}
            return {
                n: [c for c in group if c.hash in mine] for n, group in whole.items()
            }

        return collect(part, profile, *args, **kwargs)

    return collect_shard


def shard_cell(shard: tuple[int, int]) -> str:
    """The cell ``run-book --shard K/N`` runs in each chapter right after its
    parameters: the chapter's plans, from there on, are this shard's slices."""
    k, n = shard
    return (
        f"# Added by `python -m gaaf run-book --shard {k}/{n}`: this kernel trains only\n"
        f"# the runs of shard {k} of {n} of each plan (gaaf.__main__.sharded).\n"
        "from gaaf import __main__ as _cli\nfrom gaaf.experiments import runs\n\n"
        f"runs.collect = _cli.sharded(runs.collect, ({k}, {n}))"
    )


def _run_book(args: argparse.Namespace) -> int:
    notebooks = chapter.chapter_notebooks(args.root)
    if args.chapter:
        by_name = {nb.stem: nb for nb in notebooks}
        unknown = [c for c in args.chapter if c not in by_name]
        if unknown:
            raise ValueError(
                f"chapter {unknown[0]!r} is not in the book; chapters: {', '.join(by_name)}"
            )
        notebooks = [by_name[c] for c in args.chapter]
    shard = _shard(args.shard)
    setup = shard_cell(shard) if shard != (1, 1) else None
    failed = []
    for notebook in notebooks:
        print(
            f"running {notebook} at profile {args.profile!r} on device {args.device!r}"
            + (f", shard {args.shard}" if setup else "")
            + " ...",
            flush=True,
        )
        try:
            output, seconds = chapter.run_chapter(
                notebook, args.output, args.profile, device=args.device, setup=setup
            )
        except chapter.NoKernel:
            raise
        except chapter.ChapterFailed as err:  # the next chapters still run
            print(f"  error: {err}", file=sys.stderr, flush=True)
            failed.append(notebook.stem)
            continue
        print(f"  done in {seconds:.0f} s -> {output}", flush=True)
    if failed:
        raise chapter.ChapterFailed(
            f"{len(failed)} of {len(notebooks)} chapters failed: {', '.join(failed)} "
            "(their errors are above)"
        )
    return 0


def _bench(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    validate.integer("repeats", args.repeats, at_least=1)
    for i, size in enumerate(args.sizes):
        validate.integer(f"sizes[{i}]", size, at_least=1)
    for i, width in enumerate(args.widths):
        validate.integer(f"widths[{i}]", width, at_least=1)
    if args.which == "activations":
        record = bench.activations(
            device, tuple(args.sizes), repeats=args.repeats, out=args.out
        )
    elif args.which == "mask-store":
        record = bench.mask_store(
            device, tuple(args.sizes), repeats=args.repeats, out=args.out
        )
    else:
        record = bench.loader(
            device, tuple(args.widths), repeats=args.repeats, out=args.out
        )
    print("\n".join(bench.lines(record)))
    print(f"-> {args.out}")
    return 0


def _device_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device",
        default="auto",
        help="auto (CUDA when available, else the CPU), cpu or cuda[:N]",
    )


def _shard_flag(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--shard",
        metavar="K/N",
        help=f"only the K-th of every N {what} (for N machines; default: all)",
    )


def _runner_flags(parser: argparse.ArgumentParser) -> None:
    """The flags every command that trains takes."""
    parser.add_argument(
        "--results",
        type=Path,
        default=Path("results"),
        help="where run records are read and written (default: results)",
    )
    _device_flag(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--force-unlock",
        action="store_true",
        help="take a run's lock even if another process seems to hold it",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gaaf",
        description="Train the book's runs, run its chapters, and benchmark GAAF.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"gaaf {gaaf.__version__}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    profile_help = "smoke (seconds), default (reduced scale) or full (paper scale)"

    train = commands.add_parser("train", help="train one config, for one or more seeds")
    train.add_argument(
        "--profile", choices=PROFILES, default="default", help=profile_help
    )
    train.add_argument("--variant", default="base", help="a row of the paper's table")
    train.add_argument(
        "--seeds", type=int, nargs="+", help="default: the profile's seeds"
    )
    _shard_flag(train, "seeds")
    _runner_flags(train)
    _add_config_flags(train)

    plan_cmd = commands.add_parser(
        "plan", help="train every run of a named plan that has no record yet"
    )
    plan_cmd.add_argument(
        "name", help=f"one of: {', '.join(_plan_builders(Path('results')))}"
    )
    plan_cmd.add_argument(
        "--profile", choices=PROFILES, default="full", help=profile_help
    )
    plan_cmd.add_argument(
        "--shard", help="K/N: only the K-th of every N runs (for N machines)"
    )
    plan_cmd.add_argument(
        "--list", action="store_true", help="list the runs and whether they are done"
    )
    plan_cmd.add_argument(
        "--add-probes",
        action="store_true",
        help="train older records again (CPU) to add the probes they lack, if the "
        "retraining reproduces them bit for bit",
    )
    _runner_flags(plan_cmd)

    run_book = commands.add_parser(
        "run-book", help="run chapter notebooks through papermill"
    )
    run_book.add_argument(
        "--profile", choices=PROFILES, default="default", help=profile_help
    )
    _run_book_flags(run_book)

    bench_cmd = commands.add_parser(
        "bench", help="benchmarks that record their numbers"
    )
    _bench_flags(bench_cmd)
    return parser


def _run_book_flags(run_book: argparse.ArgumentParser) -> None:
    run_book.add_argument(
        "--chapter", nargs="+", help="chapter notebook names (default: all)"
    )
    _device_flag(run_book)
    _shard_flag(run_book, "runs of each plan a chapter trains")
    run_book.add_argument(
        "--output",
        type=Path,
        default=Path("_build/papermill"),
        help="where the executed notebooks go (default: _build/papermill)",
    )
    run_book.add_argument(
        "--root", type=Path, default=Path("."), help="the repository root"
    )


def _bench_flags(bench_cmd: argparse.ArgumentParser) -> None:
    bench_cmd.add_argument(
        "which",
        choices=["activations", "mask-store", "loader"],
        help="activations: GAAF against the plain activation; mask-store: a boolean "
        "mask written eager and compiled (why compiled ReLU is slow on a CPU); loader: "
        "an epoch through gaaf's loader against torchvision's DataLoader",
    )
    _device_flag(bench_cmd)
    bench_cmd.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[1_000_000, 4_000_000, 16_000_000],
        help="activations, mask-store: tensor sizes in elements",
    )
    bench_cmd.add_argument(
        "--widths",
        type=int,
        nargs="+",
        default=[1024, 1024, 1024],
        help="loader: the MLP's hidden widths",
    )
    bench_cmd.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed repeats (default: 20 for activations, 3 for loader)",
    )
    bench_cmd.add_argument(
        "--out",
        type=Path,
        default=Path("benchmarks/results"),
        help="where the record goes (default: benchmarks/results)",
    )


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    warnings.formatwarning = _one_line_warning  # a warning is one line, no source
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "bench" and args.repeats is None:
        args.repeats = 3 if args.which == "loader" else 20
    command = {
        "train": _train,
        "plan": _plan,
        "run-book": _run_book,
        "bench": _bench,
    }[args.command]
    try:
        if _MISSING:
            raise _MISSING
        return command(args)
    except ModuleNotFoundError as err:
        if (missing := (err.name or "").partition(".")[0]) not in EXPERIMENTS:
            raise
        extra = "papermill" if args.command == "run-book" else "experiments"
        print(
            f"error: {args.command} needs the {extra} extra ({missing} is not "
            f"installed): pip install -e '.[{extra}]' in a clone of gaaf's repository",
            file=sys.stderr,
        )
        return 2
    except (ValueError, DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except chapter.ChapterFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:  # a full disk, a read-only folder ...
        print(
            f"error: {err.strerror or err} ({err.filename or 'no file named'})",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: finished epochs are kept; run again to resume",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
