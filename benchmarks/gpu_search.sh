#!/usr/bin/env bash
# The hyperparameter searches of one session on a machine with a GPU (issue 5), both at once:
# the variants of benchmarks/grids/{nottingham,jsb}_gpu.json train on the GPU, one process each;
# every kept checkpoint is scored on the validation NLL on the GPU (benchmarks/search.py); for
# each data set, the best checkpoint by that figure gets its test figures from
# `rnnrbm-music evaluate`, and each variant's best checkpoint is copied to RUNS/best/.
#
#   DATA=../shared/data/benchmarks RUNS=runs/gpu bash benchmarks/gpu_search.sh [MINUTES]
#
# MINUTES (default 4) bounds the training: runs still going then are stopped as Ctrl+C stops
# them and keep their checkpoints. FRAMES (default 10000) is how many validation frames score
# each checkpoint.
set -u
DATA=${DATA:-../shared/data/benchmarks}
RUNS=${RUNS:-runs/gpu}
MINUTES=${1:-4}
mkdir -p "$RUNS"

search() {  # GRID DATASET RECIPE WORKERS
  python3 benchmarks/search.py "benchmarks/grids/$1.json" --data "$DATA/$2.pickle" \
    --recipe "recipes/$3.json" --out "$RUNS/$1" --workers "$4" --device cuda \
    --eval-device cuda --frames "${FRAMES:-10000}" --time-limit "$MINUTES" --name "$1" \
    >"$RUNS/$1.log" 2>&1
  echo "search $1: exit $?"
}

search nottingham_gpu nottingham nottingham_v1 3 &
search jsb_gpu jsb_chorales jsb_chorales_v2 2 &
wait

for grid in nottingham_gpu:nottingham jsb_gpu:jsb_chorales; do
  dataset=${grid#*:}
  model=$(python3 benchmarks/best_checkpoint.py "$RUNS" "${grid%:*}" --copy-to "$RUNS/best") || continue
  echo "$dataset: best on validation $model"
  python3 -m rnnrbm_music.cli evaluate "$model" --data "$DATA/$dataset.pickle" --split test \
    --device cuda --json "$RUNS/${dataset}_test.json"
done
