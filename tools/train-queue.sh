#!/usr/bin/env bash
# Trains the runs the book still lacks, plan by plan, in one process (one thread).
# Start it once per core; the processes share the work: a run another one is training
# is skipped (its lock), a finished one is read from its record. Rerun to resume.
#   nice -n 10 tools/train-queue.sh > _build/queue-1.log 2>&1 &
#   nice -n 10 tools/train-queue.sh > _build/queue-2.log 2>&1 &
# The *-selected plans need their grid complete; they fail until it is, and come again
# later in the queue.
set -u
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
PY=${PYTHON:-.venv/bin/python}
for plan in mnist-lr-grid mnist-layer-lr mechanism mnist-regimes mnist-selected \
  cnn-lr-grid mnist-selected mnist-selected-paper-width cnn-selected; do
  echo "== $(date -u +%FT%TZ) plan $plan"
  "$PY" -m gaaf plan "$plan" --profile full --device cpu --quiet || true
done
echo "== $(date -u +%FT%TZ) queue done"
