"""Frame accuracy of three ways to predict each frame from the true history, on the known frames.

    python benchmarks/prediction_accuracy.py MODEL [--data PICKLE] [--split valid]

The benchmark figure (`rnnrbm-music evaluate`) is the *expected* accuracy: a prediction drawn
from the model's distribution for the frame. The published RNN-RBM accuracy (75.4 % on
Nottingham) does not say how its predictions were drawn, so this script puts beside it two
deterministic predictions from the same distribution: the most probable frame, and each note
whose marginal probability is over one half. Each frame's distribution is taken over the known
frames alone (the distinct frames of the split and of the training split, weighted by
exp(-F) and normalized among themselves), which on Nottingham carry 96 % of the mass of the v5
model (`evaluate`'s figure adds AIS for the rest). Prints the table, writes
benchmarks/results/prediction_accuracy_SPLIT_MODEL.json.
"""

from __future__ import annotations

from pathlib import Path

import torch
from common import known_frames, model_and_split, model_split_parser, report

from rnnrbm_music.engine.rbm import free_energies
from rnnrbm_music.evaluate import accuracy, distinct_frames, frame_rbms, pairwise_accuracy


@torch.no_grad()
def prediction_accuracies(model, sequences: list, known: torch.Tensor,
                          chunk: int = 2000) -> dict[str, float]:
    """Mean accuracy over all frames of the expected, most probable and marginal predictions."""
    totals = {"expected": 0.0, "most probable frame": 0.0, "notes with p > 1/2": 0.0}
    count = 0
    for frames, bv, bh in frame_rbms(model, sequences):
        for i in range(0, len(frames), chunk):
            target = frames[i:i + chunk]
            log_w = -free_energies(known, model.W, bv[i:i + chunk], bh[i:i + chunk])
            probability = torch.softmax(log_w, -1)                     # (n, K)
            scores = pairwise_accuracy(known, target)                  # (n, K)
            totals["expected"] += (probability * scores).sum().item()
            totals["most probable frame"] += scores.gather(
                1, log_w.argmax(-1, keepdim=True)).sum().item()
            marginals = probability @ known
            totals["notes with p > 1/2"] += accuracy((marginals > 0.5).float(), target).sum().item()
            count += len(target)
    return {name: total / count for name, total in totals.items()}


def main() -> None:
    args = model_split_parser(__doc__).parse_args()
    model, sequences = model_and_split(args)
    known = known_frames(args.data, distinct_frames(sequences))
    rows = [{"prediction": name, "accuracy %": 100 * value}
            for name, value in prediction_accuracies(model, sequences, known).items()]
    report(f"prediction_accuracy_{args.split}_{Path(args.model).stem}", ["prediction", "accuracy %"],
           rows, {"model": args.model, "data": Path(args.data).name, "split": args.split,
                  "known_frames": len(known)})


if __name__ == "__main__":
    main()
