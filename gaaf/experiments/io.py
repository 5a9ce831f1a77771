"""Files written so that an interruption never leaves a half-written one behind."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, flush it to disk, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would make records unreadable to others
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temporary_files(path: Path | str) -> list[Path]:
    """The temporary files :func:`atomic_write_bytes` leaves beside ``path`` when it is
    interrupted by a kill (``.<name>.XXXX.tmp``)."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def atomic_write_json(path: Path | str, obj: object) -> None:
    """``obj`` as indented JSON, written atomically. NaN and infinities are refused
    (they are not JSON): a ValueError naming the file."""
    try:
        text = json.dumps(obj, indent=1, sort_keys=False, allow_nan=False)
    except ValueError as err:
        raise ValueError(f"{path}: not written, {err}") from None
    atomic_write_bytes(path, (text + "\n").encode())
