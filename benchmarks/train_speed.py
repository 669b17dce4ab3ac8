"""Training speed at the tutorial's settings (150 hidden, 100 recurrent, subsequences of 100),
the RNN-RBM (CD-15) and the RNN-NADE (the exact likelihood gradient) side by side.

    python benchmarks/train_speed.py [--epochs 1] [--batch-size 64] [--device cpu|cuda|all]

For JSB Chorales and Nottingham (../shared/data/benchmarks, train splits) it trains each model
for whole epochs and reports training frames per second, seconds per epoch and peak memory
(resident memory on the CPU, allocated memory on a GPU), each case in a fresh process. For scale
it also times the tutorial's own way of training the RNN-RBM: one subsequence per update (batch
size 1), over the first 40 updates. Writes benchmarks/results/train_speed.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from common import DATA, peak_rss_mib, report

DATASETS = {"JSB Chorales": "jsb_chorales.pickle", "Nottingham": "nottingham.pickle"}
MODELS = {"rbm": "RNN-RBM (CD-15)", "nade": "RNN-NADE (exact)"}


def run_case(dataset: str, conditional: str, device: str, batch_size: int,
             max_batches: int | None = None, *, epochs: int) -> dict:
    import torch

    from rnnrbm_music import Corpus
    from rnnrbm_music.engine import RnnRbmConfig, build
    from rnnrbm_music.train import TrainConfig, train

    data = [roll.frames for roll in Corpus.from_benchmark(DATA / "benchmarks" / DATASETS[dataset])]
    if max_batches:   # the tutorial's per-subsequence updates: time the first few only
        data = [d[:100] for d in data[:max_batches]]
    torch.manual_seed(0)
    model = build(RnnRbmConfig(conditional=conditional), device)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, k=15, seq_len=100, lr=0.001)
    warm = TrainConfig(epochs=1, batch_size=batch_size, k=15)
    train(build(RnnRbmConfig(conditional=conditional), device), [d[:100] for d in data[:batch_size]],
          config=warm, progress=False)
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    result = train(model, data, config=config, progress=False)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    frames = sum(len(d) for d in data) * epochs
    memory = (torch.cuda.max_memory_allocated() / 2 ** 20 if device == "cuda" else peak_rss_mib())
    return {"dataset": dataset, "model": MODELS[conditional], "device": device, "batch": batch_size,
            "frames": frames, "frames/s": frames / seconds, "s/epoch": seconds / epochs,
            "peak MiB": memory, "loss": result.history[-1]["loss"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="all", choices=["cpu", "cuda", "all"])
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:   # a child process: run one case, print its row as JSON
        print(json.dumps(run_case(*json.loads(args.case), epochs=args.epochs)))
        return
    import torch

    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    devices = [d for d in devices if d == "cpu" or torch.cuda.is_available()]
    cases = [(name, conditional, device, args.batch_size)
             for device in devices for name in DATASETS for conditional in MODELS]
    cases.append(("JSB Chorales", "rbm", "cpu", 1, 40))
    rows = []
    for case in cases:
        done = subprocess.run([sys.executable, __file__, "--epochs", str(args.epochs),
                               "--case", json.dumps(case)], capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"case {case} failed:\n{done.stderr[-2000:]}")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        if len(case) == 5:
            row["dataset"] += " (tutorial: 1 subsequence per update, 40 updates)"
        rows.append(row)
        print(f"  {row['dataset']}, {row['model']} on {row['device']}: {row['frames/s']:,.0f} "
              "frames/s", flush=True)
    print()
    report("train_speed", ["dataset", "model", "device", "batch", "frames", "frames/s", "s/epoch",
                           "peak MiB"], rows,
           {"settings": {"n_hidden": 150, "n_recurrent": 100, "k": 15, "seq_len": 100,
                         "epochs": args.epochs}})


if __name__ == "__main__":
    main()
