"""What :func:`gaaf.experiments.runs.collect` shows while it trains a plan: a bar over the plan's
runs (above each run's own bar), and one line when a run starts and when it ends::

    run 3 of 12: <label>, epoch 0/300, elapsed 1 h 05 min, ETA for the plan 3 h 10 min

n counts the runs that had no record; the ETA assumes the runs left take as long as
those trained so far.
"""

from __future__ import annotations

import time
from pathlib import Path

from tqdm.auto import tqdm

from gaaf.experiments.config import ExperimentConfig
from gaaf.experiments.train import load_checkpoint


def clock(seconds: float) -> str:
    """``"2 h 05 min"``, ``"4 min 10 s"`` or ``"9 s"``."""
    minutes, s = divmod(round(seconds), 60)
    hours, m = divmod(minutes, 60)
    return (
        f"{hours} h {m:02d} min" if hours else f"{m} min {s:02d} s" if m else f"{s} s"
    )


class PlanProgress:
    """The bar and the lines of a plan whose runs ``todo`` (in order; a config listed
    twice is one run) are to train."""

    def __init__(self, todo: list[ExperimentConfig]):
        self.start, self.trained, self.ended = time.perf_counter(), 0, set()
        todo = list({c.hash: c for c in todo}.values())
        self.index = {c.hash: k for k, c in enumerate(todo, 1)}
        self.bar = tqdm(
            total=len(todo), desc="plan", unit="run", leave=True, disable=not todo
        )

    def _line(self, config: ExperimentConfig, epoch: int, left: int) -> None:
        elapsed = time.perf_counter() - self.start
        eta = clock(elapsed / self.trained * left) if self.trained else None
        tqdm.write(
            f"run {self.index[config.hash]} of {len(self.index)}: {config.label}, "
            f"epoch {epoch}/{config.max_epochs}, elapsed {clock(elapsed)}, "
            f"ETA for the plan {eta or 'after the first run'}"
        )

    def starts(self, config: ExperimentConfig, checkpoint: Path) -> None:
        """``config`` starts, or resumes from the epochs saved in ``checkpoint``."""
        if config.hash in self.index and config.hash not in self.ended:
            saved = load_checkpoint(checkpoint)
            epoch = len(saved["history"]) if saved else 0
            self._line(config, epoch, len(self.index) - self.index[config.hash] + 1)

    def ends(self, config: ExperimentConfig, record: dict) -> None:
        """``config`` has its ``record`` (finished or diverged)."""
        if config.hash in self.index and config.hash not in self.ended:
            self.ended.add(config.hash)
            self.trained += 1
            left = len(self.index) - self.index[config.hash]
            self._line(config, len(record["history"]), left)
            self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
