"""How accurate and how costly the estimate of the NLL and of the frame accuracy is, on a
trained model: AIS alone against AIS plus the exactly summed known frames.

    python benchmarks/nll_accuracy.py MODEL [--data PICKLE] [--split valid] [--frames 1500]

Takes the first N frames of a benchmark split and estimates their mean NLL and expected frame
accuracy per frame with several AIS settings (20 chains x 100 ... 3,000 inverse temperatures),
each twice: AIS alone, and as `rnnrbm-music evaluate --known train` does (the distinct frames of
the training split and of the N frames summed exactly, AIS's states outside them for the rest).
A long run of the second kind (20 x 10,000) is the reference, and the exact sum over the known
frames alone is a certain lower bound on the NLL: an estimate below it is wrong, whatever its
spread says. Prints each row's difference from the reference, the spread (standard error from
the chains) and the seconds; writes benchmarks/results/nll_accuracy_NAME.json.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from common import known_frames, model_and_split, model_split_parser, report, training_frames

from rnnrbm_music.engine import rbm
from rnnrbm_music.evaluate import accuracy, frame_rbms, pairwise_accuracy

BETAS = [100, 300, 1000, 3000]
CHAINS = 20
REFERENCE_BETAS = 10000


def main() -> None:
    parser = model_split_parser(__doc__)
    parser.add_argument("--frames", type=int, default=1500)
    args = parser.parse_args()
    model, data = model_and_split(args)
    v, bv, bh = (torch.cat(parts)[: args.frames] for parts in zip(*frame_rbms(model, data)))
    known = known_frames(training_frames(args.data), v)
    nothing = known[:0]
    W = model.W.detach()
    free = rbm.free_energy(v, W, bv, bh).double()

    def run(estimator: str, betas: int, seed: int = 1) -> dict:
        start = time.perf_counter()
        states = rbm.log_partition(W, bv, bh, known if "known" in estimator else nothing,
                                   CHAINS if betas else 0, max(betas, 2), "sigmoid",
                                   torch.Generator().manual_seed(seed))
        seconds = time.perf_counter() - start
        expected = states.expectation(pairwise_accuracy(states.known, v).double(),
                                      accuracy(states.samples, v[:, None]).double())
        return {"estimator": estimator, "chains": CHAINS if betas else 0, "betas": betas,
                "NLL": float((free + states.log_z).mean()),
                "std": float((states.std ** 2).sum() ** 0.5 / len(v)),
                "accuracy": float(expected.mean()), "known share": float(states.known_share.mean()),
                "seconds": seconds}

    rows = [run("known frames only (lower bound)", 0)]
    for betas in BETAS:
        rows += [run("AIS alone", betas), run("known frames + AIS", betas)]
    reference = run("known frames + AIS", REFERENCE_BETAS, seed=0)
    rows.append({**reference, "estimator": "reference: known frames + AIS"})
    for row in rows:
        row["minus reference"] = row["NLL"] - reference["NLL"]
    print(f"{len(v)} frames of {args.split}, model {args.model}, {len(known)} known frames\n")
    report(f"nll_accuracy_{Path(args.model).stem}",
           ["estimator", "chains", "betas", "NLL", "minus reference", "std", "accuracy",
            "known share", "seconds"], rows,
           {"model": args.model, "data": args.data, "split": args.split, "frames": len(v),
            "known_frames": len(known)})


if __name__ == "__main__":
    main()
