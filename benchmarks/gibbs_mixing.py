"""Whether Gibbs chains sample a trained model's per-frame distributions: how often a chain's
state is the previous frame, and its accuracy, after k steps from the previous true frame and
from an empty one, against the model's own figures (known frames + AIS, `evaluate.nll`).

    python benchmarks/gibbs_mixing.py MODEL [--data PICKLE] [--split valid] [--pieces 8]

The first PIECES pieces of the split, 10 chains per frame. Writes
benchmarks/results/gibbs_mixing_NAME.json.
"""

from __future__ import annotations

from pathlib import Path

import torch
from common import known_frames, model_and_split, model_split_parser, report, training_frames

from rnnrbm_music.engine import rbm
from rnnrbm_music.evaluate import accuracy, frame_rbms, pairwise_accuracy

STEPS = [25, 100, 1000, 5000]
CHAINS = 10


def main() -> None:
    parser = model_split_parser(__doc__)
    parser.add_argument("--pieces", type=int, default=8)
    args = parser.parse_args()
    model, pieces = model_and_split(args)
    pieces = pieces[: args.pieces]
    v, bv, bh = (torch.cat(parts) for parts in zip(*frame_rbms(model, pieces, batch=len(pieces))))
    previous = torch.cat([torch.cat([torch.zeros_like(p[:1]), p[:-1]])
                          for p in (torch.as_tensor(p, dtype=torch.float32) for p in pieces)])
    W = model.W.detach()
    g = torch.Generator().manual_seed(0)
    rows = []
    for start_name, start in (("previous frame", previous), ("empty frame", torch.zeros_like(v))):
        x, done = start.expand(CHAINS, *start.shape).clone(), 0
        for k in STEPS:
            x = rbm.gibbs(x, W, bv.expand(CHAINS, *bv.shape), bh.expand(CHAINS, *bh.shape),
                          k - done, g)
            done = k
            rows.append({"sampler": f"Gibbs from the {start_name}", "steps": k,
                         "P(previous frame)": float((x == previous).all(-1).float().mean()),
                         "accuracy": float(accuracy(x, v).mean())})
    known = known_frames(training_frames(args.data), v)
    states = rbm.log_partition(W, bv, bh, known, 20, 1000, generator=g)
    is_previous_known = (known[None] == previous[:, None]).all(-1).double()
    is_previous_sampled = (states.samples == previous[:, None]).all(-1).double()
    rows.append({"sampler": "the model (known frames + AIS, 20 x 1000)", "steps": None,
                 "P(previous frame)": float(states.expectation(is_previous_known,
                                                               is_previous_sampled).mean()),
                 "accuracy": float(states.expectation(
                     pairwise_accuracy(known, v).double(),
                     accuracy(states.samples, v[:, None]).double()).mean())})
    print(f"{len(v)} frames of {args.split}, model {args.model}\n")
    report(f"gibbs_mixing_{Path(args.model).stem}",
           ["sampler", "steps", "P(previous frame)", "accuracy"], rows,
           {"model": args.model, "data": args.data, "split": args.split, "frames": len(v),
            "chains": CHAINS})


if __name__ == "__main__":
    main()
