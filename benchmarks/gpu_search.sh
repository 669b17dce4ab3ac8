#!/usr/bin/env bash
# The hyperparameter searches of one session on a machine with a GPU and many cores (issue 5),
# all at once: the Nottingham variants and the long JSB Chorales ones train on the GPU, shorter
# JSB Chorales variants on the CPU cores beside them (one torch thread each); every kept
# checkpoint is scored on the validation NLL on the GPU (benchmarks/search.py); for each data set,
# the best checkpoint by that figure gets its test figures from `rnnrbm-music evaluate`.
#
#   DATA=../shared/data/benchmarks RUNS=runs/gpu bash benchmarks/gpu_search.sh [MINUTES]
#
# MINUTES (default 6) bounds the training (FRAMES, default 10000, the validation frames that
# score each checkpoint); runs still going then are stopped as Ctrl+C stops
# them and keep their checkpoints. The grids are benchmarks/grids/*.json.
set -u
DATA=${DATA:-../shared/data/benchmarks}
RUNS=${RUNS:-runs/gpu}
MINUTES=${1:-6}
GPU=${GPU:-cuda}
mkdir -p "$RUNS"

search() {  # GRID DATASET WORKERS DEVICE
  python3 benchmarks/search.py "benchmarks/grids/$1.json" --data "$DATA/$2.pickle" \
    --recipe "recipes/$2.json" --out "$RUNS/$1" --workers "$3" --device "$4" \
    --eval-device "$GPU" --frames "${FRAMES:-10000}" --time-limit "$MINUTES" --name "$1" >"$RUNS/$1.log" 2>&1
  echo "search $1: exit $?"
}

search nottingham_gpu nottingham 4 "$GPU" &
search jsb_gpu jsb_chorales 2 "$GPU" &
search jsb_cpu jsb_chorales 8 cpu &
wait

for dataset in nottingham jsb_chorales; do
  if [ "$dataset" = nottingham ]; then grids="nottingham_gpu"; else grids="jsb_gpu jsb_cpu"; fi
  model=$(python3 benchmarks/best_checkpoint.py "$RUNS" $grids --copy-to "$RUNS/best") || continue
  echo "$dataset: best on validation $model"
  python3 -m rnnrbm_music.cli evaluate "$model" --data "$DATA/$dataset.pickle" --split test \
    --device "$GPU" --json "$RUNS/${dataset}_test.json"
done
