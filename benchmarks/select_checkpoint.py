"""Model selection on the validation NLL: which of a run's checkpoints generalizes best.

    python benchmarks/select_checkpoint.py CHECKPOINT [CHECKPOINT ...] --data PICKLE \
        [--split valid] [--frames 3000] [--chains 20] [--device cpu] [--name NAME]

The pseudo-likelihood that training monitors does not track the likelihood (see
docs/benchmarks.md: a run with a better pseudo-NLL had a worse NLL), so the checkpoints that
`train --keep-checkpoints` leaves are compared here on the NLL itself, estimated as
`rnnrbm-music evaluate --known train` does (the distinct frames of the training and validation
splits summed exactly, AIS with 20 chains x 1000 temperatures for the rest) over the same first
FRAMES frames of the validation split for every checkpoint, with the same random stream.
Prints the table and writes benchmarks/results/NAME.json; never looks at the test split.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from common import report, training_frames

from rnnrbm_music import Corpus, RnnRbmComposer
from rnnrbm_music.evaluate import nll


def first_frames(rolls: list, frames: int) -> list:
    """The pieces' frame arrays, in order, cut so that they hold ``frames`` frames in all
    (0: every frame)."""
    if not frames:
        return [roll.frames for roll in rolls]
    kept, left = [], frames
    for roll in rolls:
        if left <= 0:
            break
        kept.append(roll.frames[:left])
        left -= len(kept[-1])
    return kept


def score(paths: list, frames: list, device: str = "cpu", known: list = (),
          chains: int = 20) -> list[dict]:
    """Validation NLL of each checkpoint, the same AIS random stream for each; the distinct
    frames of ``frames`` and ``known`` are summed exactly (``rnnrbm_music.evaluate.nll``)."""
    rows = []
    for path in paths:
        model = RnnRbmComposer.load(path, device=device).model_
        started = time.perf_counter()
        # A GPU takes many frames' chains at once; on a CPU smaller batches stay in cache.
        result = nll(model, frames, chains, generator=torch.Generator(device).manual_seed(0),
                     frames_per_batch=1000 if device == "cpu" else 20000, known=known)
        rows.append({"checkpoint": Path(path).name, "valid NLL": result.nll, "std": result.std,
                     "frames": result.frames, "seconds": time.perf_counter() - started})
        print(f"{Path(path).name}: {result.nll:.3f}", flush=True)
    return rows


def add_chains_argument(parser: argparse.ArgumentParser) -> None:
    """``--chains``, the AIS chains per frame of :func:`score` (here and in search.py)."""
    parser.add_argument("--chains", type=int, default=20,
                        help="AIS chains per frame; 0: the known frames alone, a certain lower "
                             "bound, in seconds (on Nottingham within 0.005 of the estimate)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="valid", choices=["train", "valid"])
    parser.add_argument("--frames", type=int, default=3000, help="validation frames (0: all)")
    parser.add_argument("--device", default="cpu")
    add_chains_argument(parser)
    parser.add_argument("--name", default="select_checkpoint")
    args = parser.parse_args()
    data = first_frames(list(Corpus.from_benchmark(args.data, args.split)), args.frames)
    rows = score(args.checkpoints, data, args.device, [training_frames(args.data)], args.chains)
    best = min(rows, key=lambda row: row["valid NLL"])
    report(args.name, ["checkpoint", "valid NLL", "std", "frames", "seconds"], rows,
           {"data": Path(args.data).name, "split": args.split, "best": best["checkpoint"]})
    print(f"best: {best['checkpoint']}")


if __name__ == "__main__":
    main()
