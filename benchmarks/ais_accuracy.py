"""How accurate and how costly the AIS estimate of the NLL is, on a trained model.

    python benchmarks/ais_accuracy.py MODEL [--data PICKLE] [--split valid] [--frames 100]

Takes the first N frames of a benchmark split, computes their mean NLL per frame with several
AIS settings (chains x inverse temperatures) and with a much longer reference run (400 chains x
10,000 temperatures), and prints each setting's difference from the reference, the per-frame
spread (standard error from the chains) and the seconds it took. Writes
benchmarks/results/ais_accuracy.json. The settings of `rnnrbm-music evaluate` are chosen from
this table.
"""

from __future__ import annotations

import argparse
import time

import torch
from common import DATA, report

from rnnrbm_music import Corpus, RnnRbmComposer
from rnnrbm_music.engine import rbm
from rnnrbm_music.evaluate import frame_rbms

SETTINGS = [(10, 300), (10, 1000), (20, 1000), (50, 1000), (20, 3000), (100, 1000)]
REFERENCE = (400, 10000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data", default=str(DATA / "benchmarks" / "jsb_chorales.pickle"))
    parser.add_argument("--split", default="valid")
    parser.add_argument("--frames", type=int, default=100)
    args = parser.parse_args()
    model = RnnRbmComposer.load(args.model, device="cpu").model_
    data = [roll.frames for roll in Corpus.from_benchmark(args.data, args.split)]
    v, bv, bh = (torch.cat(parts)[: args.frames] for parts in zip(*frame_rbms(model, data)))
    W = model.W.detach()
    free = rbm.free_energy(v, W, bv, bh).double()

    def run(chains, betas, seed):
        start = time.perf_counter()
        estimate = rbm.ais_log_partition(W, bv, bh, chains, betas, "sigmoid",
                                         torch.Generator().manual_seed(seed))
        seconds = time.perf_counter() - start
        return float((free + estimate.log_z).mean()), float(estimate.std.mean()), seconds

    reference, reference_std, reference_s = run(*REFERENCE, seed=0)
    rows = []
    for chains, betas in SETTINGS:
        nll, spread, seconds = run(chains, betas, seed=1)
        rows.append({"chains": chains, "betas": betas, "NLL": nll, "minus reference": nll - reference,
                     "per-frame std": spread, "seconds": seconds,
                     "s per 1000 frames": seconds * 1000 / len(v)})
    rows.append({"chains": REFERENCE[0], "betas": REFERENCE[1], "NLL": reference,
                 "minus reference": 0.0, "per-frame std": reference_std, "seconds": reference_s,
                 "s per 1000 frames": reference_s * 1000 / len(v)})
    print(f"{len(v)} frames of {args.split}, model {args.model}\n")
    report("ais_accuracy", ["chains", "betas", "NLL", "minus reference", "per-frame std",
                            "seconds", "s per 1000 frames"], rows,
           {"model": args.model, "data": args.data, "split": args.split, "frames": len(v)})


if __name__ == "__main__":
    main()
