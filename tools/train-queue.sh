#!/usr/bin/env bash
# Trains the runs the book still lacks, plan by plan, in one process (one thread).
# Start it once per core; the processes share the work: a run another one is training
# is skipped (its lock), a finished one is read from its record. Rerun to resume.
#
# Run it from a clean checkout of a commit (a git worktree), so that every record names
# the code that trained it, writing into this checkout's results:
#   git worktree add ../runner HEAD
#   RESULTS=$PWD/results GAAF_DATA=$PWD/data PYTHON=$PWD/.venv/bin/python \
#     nice -n 10 ../runner/tools/train-queue.sh > _build/queue-1.log 2>&1 &
# (and once more, into _build/queue-2.log, for the second core).
# The *-selected plans need their grid complete; they fail until it is, and come again
# later in the queue.
set -u
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
PY=${PYTHON:-.venv/bin/python}
RESULTS=${RESULTS:-results}
# NAME trains the plan's missing runs; NAME:probes retrains older records of the plan to
# add the probes they lack (only if the retraining reproduces them bit for bit).
PLANS=${PLANS:-mnist-lr-grid mnist-layer-lr mechanism mnist-regimes mnist-selected \
  mnist-selected:probes cnn-lr-grid mnist-selected mnist-selected:probes \
  mnist-selected-paper-width cnn-selected}
for item in $PLANS; do
  plan=${item%:probes}
  extra=()
  [ "$plan" != "$item" ] && extra=(--add-probes)
  echo "== $(date -u +%FT%TZ) plan $item"
  "$PY" -m gaaf plan "$plan" "${extra[@]}" --profile full --device cpu --quiet \
    --results "$RESULTS" || true
done
echo "== $(date -u +%FT%TZ) queue done"
