"""Hyperparameter search on the validation NLL: train variants of a recipe in parallel, compare
every kept checkpoint of every variant on the validation split.

    python benchmarks/search.py GRID.json --data PICKLE --recipe RECIPE.json --out DIR \
        [--workers 2] [--threads 1] [--device cpu] [--eval-device cpu] [--frames 0] \
        [--chains 20] [--time-limit MINUTES] [--name NAME]

GRID.json is a list of variants, each a name and the settings it changes in the recipe (any key
of a recipe: ``TrainConfig``'s fields, ``n_hidden``, ``n_recurrent``), optionally a ``device``::

    [{"name": "dropout0.5", "dropout": 0.5}, {"name": "h300", "n_hidden": 300, "device": "cuda"}]

Each variant's recipe is written to DIR/NAME.json and trained there by ``rnnrbm-music train``
(one process per variant, ``--workers`` at a time, each on ``--threads`` torch threads), keeping
a checkpoint every ``checkpoint_every`` epochs. Then every checkpoint is scored by the NLL on
the validation split's first ``--frames`` frames (0: all of them; AIS with ``--chains`` chains
x 1000 temperatures, the same random stream for each; ``--chains 0``: the known frames alone, the
lower bound that takes about a minute per checkpoint on all of Nottingham's). Prints the table, writes
benchmarks/results/NAME.json; never looks at the test split.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path

from common import report, training_frames
from select_checkpoint import add_chains_argument, first_frames, score

from rnnrbm_music import Corpus
from rnnrbm_music.train import TrainConfig


def write_variants(grid: list[dict], recipe: dict, out: Path) -> list[tuple[dict, Path]]:
    """Each variant's full recipe, written to OUT/NAME.json: (variant, recipe path)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for variant in grid:
        settings = {k: v for k, v in variant.items() if k not in ("name", "device")}
        unknown = sorted(set(settings) - set(recipe) - _recipe_keys())
        if unknown:
            raise SystemExit(f"variant {variant['name']!r}: unknown settings {unknown}")
        path = out / f"{variant['name']}.json"
        path.write_text(json.dumps({**recipe, "checkpoint_every": recipe.get("checkpoint_every") or 20,
                                    **settings, "keep_checkpoints": True}, indent=2) + "\n")
        written.append((variant, path))
    return written


def _recipe_keys() -> set[str]:
    return {f.name for f in fields(TrainConfig)} | {"n_hidden", "n_recurrent", "description",
                                                  "conditional", "order"}


def train_variant(variant: dict, recipe: Path, data: str, device: str, threads: int,
                  deadline: float | None) -> dict:
    """Train one variant in its own process; returns its name, exit status and minutes. At the
    ``deadline`` (a ``time.monotonic()`` value) the training is stopped as Ctrl+C stops it: it
    writes the model trained so far, and its periodic checkpoints stay."""
    log = recipe.with_suffix(".log")
    command = [sys.executable, "-m", "rnnrbm_music.cli", "train", data, "--valid", data,
               "--config", str(recipe), "--out", str(recipe.with_suffix(".safetensors")),
               "--device", variant.get("device", device)]
    began = time.perf_counter()
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, "OMP_NUM_THREADS": str(threads)})
        try:
            status = process.wait(None if deadline is None else max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
            status = process.wait()
    minutes = (time.perf_counter() - began) / 60
    print(f"{variant['name']}: exit {status} after {minutes:.1f} min (log {log})", flush=True)
    return {"variant": variant["name"], "status": status, "minutes": minutes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("grid")
    parser.add_argument("--data", required=True)
    parser.add_argument("--recipe", required=True)
    parser.add_argument("--out", required=True, help="folder for the variants' recipes and models")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per training")
    parser.add_argument("--device", default="cpu", help="default training device")
    parser.add_argument("--eval-device", default="cpu")
    parser.add_argument("--frames", type=int, default=0, help="validation frames (0: all)")
    add_chains_argument(parser)
    parser.add_argument("--name", default="search")
    parser.add_argument("--time-limit", type=float,
                        help="minutes after which unfinished trainings are stopped (they keep "
                             "what they learned)")
    args = parser.parse_args()
    deadline = None if args.time_limit is None else time.monotonic() + args.time_limit * 60
    out = Path(args.out)
    grid = json.loads(Path(args.grid).read_text())
    variants = write_variants(grid, json.loads(Path(args.recipe).read_text()), out)
    with ThreadPoolExecutor(args.workers) as pool:
        runs = list(pool.map(lambda v: train_variant(*v, args.data, args.device, args.threads,
                                                     deadline),
                             variants))
    frames = first_frames(list(Corpus.from_benchmark(args.data, "valid")), args.frames)
    checkpoints = sorted(p for variant, _ in variants
                         for p in out.glob(f"{variant['name']}-epoch*.safetensors"))
    rows = score(checkpoints, frames, args.eval_device, [training_frames(args.data)], args.chains)
    if not rows:
        raise SystemExit("no checkpoint was kept: train longer or checkpoint more often")
    best = min(rows, key=lambda row: row["valid NLL"])
    report(args.name, ["checkpoint", "valid NLL", "std", "frames"], rows,
           {"data": Path(args.data).name, "recipe": args.recipe, "grid": grid, "runs": runs,
            "best": best["checkpoint"]})
    print(f"best: {best['checkpoint']} ({best['valid NLL']:.3f})")


if __name__ == "__main__":
    main()
