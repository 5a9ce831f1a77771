"""Where and how a number was computed: the code (the commit of every start of
training and of the record's writing), the machine, the versions, the time."""

from __future__ import annotations

import datetime
import functools
import os
import platform
import socket
import subprocess
from pathlib import Path
from typing import Any

import torch

import gaaf

__all__ = ["device_name", "provenance", "start_info"]


def start_info() -> dict[str, Any]:
    """What a (re)start of training records of itself: the commit of the code (and
    whether the tree had uncommitted changes), the host and the date."""
    commit = _git_commit()
    return {
        "commit": commit.removesuffix("+dirty") if commit else None,
        "dirty": commit.endswith("+dirty") if commit else None,
        "host": socket.gethostname(),
        "date": _now(),
    }


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


@functools.cache
def _git_commit() -> str | None:
    """The commit of the code this process loaded (``+dirty`` when the tree had
    uncommitted changes to tracked files), read once, at the first start of training:
    later edits of the tree do not change the code a running process executes."""
    return _read_git_commit()


def _read_git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        )
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"cpu: {model} ({torch.get_num_threads()} threads)"


def _nvidia_driver() -> str | None:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (
        out.stdout.strip().splitlines()[0]
        if out.returncode == 0 and out.stdout.strip()
        else None
    )


def provenance(
    device: torch.device,
    wall_seconds: float,
    starts: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Where and how a number was computed: package and commit (read when the record is
    written), torch, Python, device (with CUDA and driver versions on a GPU), the
    runtime image if one is named in ``$GAAF_RUNTIME_IMAGE`` (the GPU workflow sets it),
    wall time and date; ``starts``: the commit, dirtiness, thread count, host and date
    of the first start of training and of every resume."""
    info: dict[str, Any] = {
        "gaaf_version": gaaf.__version__,
        "git_commit": _git_commit(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "device": device_name(device),
        "wall_seconds": wall_seconds,
        "date": _now(),
    }
    if device.type == "cuda":
        info["cuda_version"] = torch.version.cuda
        info["nvidia_driver"] = _nvidia_driver()
    if os.environ.get("GAAF_RUNTIME_IMAGE"):
        info["runtime_image"] = os.environ["GAAF_RUNTIME_IMAGE"]
    if starts is not None:
        info["starts"] = starts
    return info
