"""Runs as records: train a config once, keep its record, read it ever after.

``run(config, results)`` returns the complete record of ``config`` if one exists;
otherwise it trains, resuming from the config's checkpoint if an earlier run was
interrupted, and writes the record atomically. ``collect(plan, profile, results)``
does that for a chapter's plan and says what it found.

Records live at ``<results>/<dataset>/<slug>-<hash>.json``: the config, per-epoch
curves, final metrics, probes and provenance, sealed by a SHA-256 of their content
(``digest``) that is checked on every load, so a record edited by hand is refused.
Checkpoints, deleted once the record is written, are ``<results>/checkpoints/<hash>.pt``;
while a process trains a config it holds ``<results>/checkpoints/<hash>.lock``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from gaaf.experiments.config import ExperimentConfig
from gaaf.experiments.data import DataError, load
from gaaf.experiments.io import atomic_write_bytes, atomic_write_json, temporary_files
from gaaf.experiments.params import check_profile, resolve_device
from gaaf.experiments.plans import Plan
from gaaf.experiments.probes import GradientFlow, probe_trained
from gaaf.experiments.progress import PlanProgress
from gaaf.experiments.provenance import provenance, start_info
from gaaf.experiments.records import (
    RECORD_FORMAT,
    Record,
    digest,
    diverged_outcome,
    new_record,
)
from gaaf.experiments.train import Diverged, train

__all__ = [
    "NOT_RUN",
    "Busy",
    "Runs",
    "all_records",
    "checkpoint_path",
    "collect",
    "empty",
    "load_record",
    "provenance",
    "record_path",
    "records_of",
    "run",
    "training_minutes",
]

NOT_RUN = "not run here"
"""What a table cell says where nothing was measured."""


# -------------------------------------------------------------------------- paths


def record_path(config: ExperimentConfig, results: Path | str) -> Path:
    return Path(results) / config.dataset / f"{config.slug}-{config.hash}.json"


def checkpoint_path(config: ExperimentConfig, results: Path | str) -> Path:
    return Path(results) / "checkpoints" / f"{config.hash}.pt"


def lock_path(config: ExperimentConfig, results: Path | str) -> Path:
    return Path(results) / "checkpoints" / f"{config.hash}.lock"


# ------------------------------------------------------------------------ records


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def load_record(path: Path | str) -> Record:
    """A complete record, checked: it parses (no NaN), its digest matches its content,
    it is complete, of this format, and its config hashes to its name. Anything else
    is one ValueError naming the file and what to do."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(), parse_constant=_refuse_constant)
        config = ExperimentConfig.from_dict(record["config"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(
            f"record {path} is unreadable ({type(err).__name__}: {err}); "
            "delete it to rerun the run"
        ) from None
    if record.get("format") != RECORD_FORMAT:
        raise ValueError(
            f"record {path} has format {record.get('format')}, this gaaf reads format "
            f"{RECORD_FORMAT}; delete the file to rerun it"
        )
    if record.get("digest") != digest(record):
        raise ValueError(
            f"record {path} does not match its digest: it was changed after it was "
            "written; restore it (git checkout) or delete it to rerun the run"
        )
    if not record.get("complete") or record.get("hash") != config.hash:
        raise ValueError(
            f"record {path} is incomplete or does not match its config; delete it to "
            "rerun the run"
        )
    if not path.stem.endswith(f"-{config.hash}"):
        raise ValueError(
            f"record {path} holds the run of config {config.hash} ({config.label}), "
            "which its file name does not name; move it to the name "
            f"{config.slug}-{config.hash}.json or delete it"
        )
    return Record(record)


def _stored_config(path: Path) -> ExperimentConfig | None:
    """The config a record file holds, if it can be read at all."""
    try:
        return ExperimentConfig.from_dict(json.loads(path.read_text())["config"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def find_record(config: ExperimentConfig, results: Path | str) -> Record | None:
    """The record of ``config`` under ``results``, checked, or None if there is none.

    A file at the config's name that holds another config's run is set aside (renamed
    to ``<name>.mismatch-<its hash>``, never deleted) with one warning naming both, and
    None is returned, so that no record is ever used for a config it does not belong to.
    """
    path = record_path(config, results)
    if not path.exists():
        return None
    try:
        record = load_record(path)
    except ValueError:
        stored = _stored_config(path)
        if stored is None or stored == config:
            raise  # damaged, not misplaced: the error says what to do
    else:
        stored = ExperimentConfig.from_dict(record["config"])
        if stored == config:
            return record
    aside = path.with_name(f"{path.name}.mismatch-{stored.hash}")
    path.replace(aside)
    warnings.warn(
        f"{path} held the run of another config ({stored.label}, {stored.hash}), not "
        f"of {config.label} ({config.hash}); set it aside as {aside.name} and training "
        "this config instead",
        stacklevel=2,
    )
    return None


# --------------------------------------------------------------------------- locks


STALE_AFTER = 600.0
"""Seconds without a heartbeat after which a lock is stale and taken over, whichever
host it names (a Colab VM that disconnected, a runner that was killed)."""

HEARTBEAT = 30.0
"""Seconds between the heartbeats of a process that holds a lock."""


class Busy(ValueError):
    """Another live process holds the config's lock."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """Serialize lock decisions among the processes of this host (an OS lock on the
    folder, released by the OS if the process dies); a no-op where there is none."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux or macOS
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _owner(path: Path) -> dict[str, Any] | None:
    """The lock's owner (pid, host) and its heartbeat's age in seconds; None if there
    is no lock."""
    try:
        text, mtime = path.read_text(), path.stat().st_mtime
    except FileNotFoundError:
        return None
    words = text.split()
    pid = int(words[0]) if words and words[0].isdigit() else None
    host = words[1] if len(words) > 1 else None
    return {"pid": pid, "host": host, "age": max(0.0, time.time() - mtime)}


def _stale(owner: dict[str, Any]) -> bool:
    same_host = owner["host"] in (None, socket.gethostname())
    gone = owner["pid"] is None or (same_host and not _alive(owner["pid"]))
    return gone or owner["age"] > STALE_AFTER


@contextlib.contextmanager
def _lock(
    config: ExperimentConfig, results: Path | str, force: bool = False
) -> Iterator[None]:
    """Hold the config's lock file while training it, with a heartbeat (its mtime,
    renewed every :data:`HEARTBEAT` seconds). A lock is taken over when its process is
    gone (same host), when its heartbeat is older than :data:`STALE_AFTER` (any host),
    or with ``force``; otherwise :class:`Busy` names its owner and what to do."""
    path = lock_path(config, results)
    path.parent.mkdir(parents=True, exist_ok=True)
    me = f"{os.getpid()} {socket.gethostname()}"
    with _exclusive(path.parent):
        owner = _owner(path)
        if owner is not None and not force and not _stale(owner):
            raise Busy(
                f"{config.label} is being trained by process {owner['pid']} on "
                f"{owner['host']} (last heartbeat {owner['age']:.0f} s ago; lock "
                f"{path}). Wait for it to finish; if that process no longer runs, "
                "run again with --force-unlock (train(..., force_unlock=True)); a lock "
                f"without a heartbeat for {STALE_AFTER / 60:.0f} minutes is taken over "
                "by itself"
            )
        atomic_write_bytes(path, me.encode())  # whole or not at all
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT):
            with contextlib.suppress(OSError):
                if path.read_text() == me:
                    os.utime(path)

    heart = threading.Thread(target=beat, daemon=True, name=f"lock {path.name}")
    heart.start()
    try:
        yield
    finally:
        stop.set()
        heart.join()
        with contextlib.suppress(OSError), _exclusive(path.parent):
            if path.read_text() == me:
                path.unlink()


# ---------------------------------------------------------------------------- runs


def run(
    config: ExperimentConfig,
    results: Path | str = "results",
    device: str | torch.device = "auto",
    progress: bool = True,
    data_root: Path | str | None = None,
    force_unlock: bool = False,
) -> Record:
    """The record of ``config``: read if complete, else trained (resuming) and written.
    While training, the config's lock is held (:class:`Busy` if another process holds
    it; ``force_unlock`` takes it anyway).

    A run whose training loss stops being finite is recorded as ``diverged`` (its
    history up to then, no metrics), so a learning-rate pilot keeps its evidence.
    """
    path = record_path(config, results)
    if (found := find_record(config, results)) is not None:
        return found
    device = resolve_device(device)
    with _lock(config, results, force=force_unlock):
        if (found := find_record(config, results)) is not None:  # finished meanwhile
            return found
        checkpoint = checkpoint_path(config, results)
        lock = lock_path(config, results)
        for stale in [
            *temporary_files(path),
            *temporary_files(checkpoint),
            *temporary_files(lock),
        ]:
            stale.unlink(missing_ok=True)
        start = time.perf_counter()
        data = _loaded(config.dataset, str(device), str(data_root))
        callbacks = [GradientFlow()] if config.probed else []
        try:
            model, result = train(
                config,
                data,
                checkpoint=checkpoint,
                progress=progress,
                callbacks=callbacks,
                start_info=start_info(),
            )
            if config.probed:
                result["probes"].update(probe_trained(model, config, data))
        except Diverged as err:
            result = {**diverged_outcome(err.epoch, err.history), "starts": err.starts}
        except OSError as err:  # a full disk, a read-only folder ...
            raise _what_was_kept(err, checkpoint) from err
        starts = result.pop("starts")
        wall = time.perf_counter() - start
        record = new_record(config, result, provenance(device, wall, starts))
        atomic_write_json(path, record)
        checkpoint.unlink(missing_ok=True)
    return record


@functools.lru_cache(maxsize=2)
def _loaded(name: str, device: str, root: str) -> Any:
    """A dataset on a device, loaded once per process (a plan's runs share it)."""
    return load(name, device, root=None if root == "None" else root)


def _what_was_kept(err: OSError, checkpoint: Path) -> OSError:
    """``err`` with what an interrupted run kept, and the file it names (the
    checkpoint's folder where the system named none)."""
    kept = (
        f"the epochs finished so far are kept in {checkpoint}; fix the cause and run "
        "again to resume"
        if checkpoint.is_file()
        else "no epoch had finished, so nothing was kept; fix the cause and run again"
    )
    return OSError(
        err.errno,
        f"{err.strerror or err}; {kept}",
        err.filename or str(checkpoint.parent),
    )


def training_minutes(record: dict[str, Any]) -> float:
    """A run's training time in minutes, summed over every process that trained it
    (a resumed run's too); the last process's wall time for records without it."""
    return record.get("train_seconds", record["provenance"]["wall_seconds"]) / 60


def all_records(results: Path | str) -> list[Record]:
    """Every record under ``results`` (checked as :func:`load_record` does), in file
    name order."""
    return [load_record(path) for path in sorted(Path(results).glob("*/*.json"))]


@dataclass
class Runs:
    """The records a chapter shows, by group, and what was planned but is missing."""

    profile: str  # the profile of the records shown
    groups: dict[str, list[Record]]  # group name -> records (one per seed)
    planned: dict[str, int]  # group name -> number of planned configs
    missing: list[str] = field(default_factory=list)  # groups without any record
    unavailable: dict[str, str] = field(default_factory=dict)  # dataset -> why
    diverged: dict[str, list[Record]] = field(default_factory=dict)

    @property
    def found(self) -> int:
        return sum(len(r) for r in self.groups.values()) + sum(
            len(r) for r in self.diverged.values()
        )

    @property
    def total(self) -> int:
        return sum(self.planned.values())

    def describe(self, full_scale: str = "full profile (paper scale)") -> str:
        """One Markdown sentence: which profile, how many runs found of those planned.
        ``full_scale`` names what the full profile's records are, for plans whose full
        profile is not the paper's scale."""
        scale = {
            "full": full_scale,
            "default": "**reduced scale** (default profile: no full-profile record "
            'exists yet; run with `profile = "full"` for paper scale)',
            "smoke": "**smoke profile** (a seconds-long check, not a result)",
        }[self.profile]
        text = f"Runs shown: {scale}; {self.found} of {self.total} planned runs have records."
        if self.diverged:
            text += f" Diverged (no result): {', '.join(self.diverged)}."
        if self.missing:
            text += f" Without records ({NOT_RUN}): {', '.join(self.missing)}."
        if self.unavailable:
            names = ", ".join(self.unavailable)
            first, why = next(iter(self.unavailable.items()))
            text += f" Datasets not available here: {names}. For {first}: {why}"
        return text

    def incomplete(self) -> dict[str, tuple[int, int]]:
        """The groups with fewer records than planned, in order: group name ->
        ``(records, planned)``. A run that diverged has a record (it is not rerun)."""
        counts = {
            name: len(self.groups.get(name, [])) + len(self.diverged.get(name, []))
            for name in self.planned
        }
        return {
            name: (counts[name], planned)
            for name, planned in self.planned.items()
            if counts[name] < planned
        }


def empty(profile: str) -> Runs:
    """No records and nothing planned: what a chapter shows for a plan that its
    parameters leave out."""
    return Runs(check_profile(profile), {}, {})


def _split(
    profile: str, planned: Plan, found: dict[str, list[Record]], **extra: Any
) -> Runs:
    groups = {n: [r for r in rs if "diverged" not in r] for n, rs in found.items()}
    diverged = {
        n: d for n, rs in found.items() if (d := [r for r in rs if "diverged" in r])
    }
    missing = [n for n, rs in found.items() if not rs]
    counts = {n: len(c) for n, c in planned.items()}
    return Runs(profile, groups, counts, missing, diverged=diverged, **extra)


def collect(
    plan: Callable[[str], Plan],
    profile: str,
    results: Path | str,
    device: str = "auto",
    data_root: Path | str | None = None,
    progress: bool = True,
    train_default: bool = True,
) -> Runs:
    """The records of ``plan(profile)`` (group name -> configs), chosen by profile:

    * ``smoke`` and ``full``: the configs of that profile; any without a record is
      trained (resuming an interrupted run), so re-running a chapter never redoes
      finished work. At ``full`` a dataset that cannot be obtained stops the chapter
      with the reason; at ``smoke`` it is reported in ``unavailable`` instead.
    * ``default`` (what the built book uses): the **full-profile records that exist**,
      without training anything, when there is at least one. Only when there is none
      are the default profile's reduced-scale configs run (and read from their records
      the next time), labelled as reduced scale; a dataset that cannot be obtained is
      reported, not fatal. With ``train_default`` false nothing is trained at
      ``default`` (the full-profile records that exist, the rest missing): for plans
      whose configs follow other records, such as each arm at the rate its grid
      chose, which moves while the grid fills.
    """
    check_profile(profile)
    if profile == "default":
        full = plan("full")
        found = {
            name: [r for c in configs if (r := find_record(c, results)) is not None]
            for name, configs in full.items()
        }
        if any(found.values()) or not train_default:
            return _split("full", full, found)
    configs = plan(profile)
    found = {}
    unavailable: dict[str, str] = {}  # dataset -> why it could not be loaded
    todo = [c for g in configs.values() for c in g if progress]
    shown = PlanProgress([c for c in todo if find_record(c, results) is None])
    for name, group in configs.items():
        done = []
        for config in group:
            if config.dataset in unavailable:
                break
            shown.starts(config, checkpoint_path(config, results))
            try:
                done.append(
                    run(config, results, device, progress=progress, data_root=data_root)
                )
            except DataError as err:
                if profile == "full":
                    raise
                unavailable[config.dataset] = str(err)
                continue
            shown.ends(config, done[-1])
        found[name] = done
    shown.close()
    return _split(profile, configs, found, unavailable=unavailable)


def records_of(
    plan: Callable[..., Plan],
    profile: str,
    results: Path | str,
    device: str = "auto",
    data_root: Path | str | None = None,
    *,
    wanted: bool = True,
    train_default: bool = True,
    **options: Any,
) -> Runs:
    """:func:`collect` for ``plan(profile, **options)``: a chapter's plan with the
    options its parameters give it (``seeds=``, ``rates=``, ...). Where ``wanted`` is
    false (a plan the parameters leave out, such as a dataset not asked for), nothing
    is trained or read: :func:`empty`. ``train_default`` as for :func:`collect`."""
    if not wanted:
        return empty(profile)
    return collect(
        functools.partial(plan, **options),
        profile,
        results,
        device,
        data_root,
        train_default=train_default,
    )
