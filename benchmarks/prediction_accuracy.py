"""Frame accuracy of ways to predict each frame from the true history: the model's distribution
and deterministic choices from it, and the sampler that generation uses.

    python benchmarks/prediction_accuracy.py MODEL [--data PICKLE] [--split valid] [--samples 10] [--k 25]

The benchmark figure (`rnnrbm-music evaluate`) is the *expected* accuracy: a prediction drawn
from the model's distribution for the frame. The published RNN-RBM accuracy (75.4 % on
Nottingham) does not say how its predictions were drawn, so this script puts beside it three
deterministic predictions from the same distribution: the most probable frame, each note whose
marginal probability is over one half, and the known frame whose expected accuracy under the
distribution is highest (the best guess for this measure, if the model is right). Each frame's
distribution is taken over the known frames alone (the distinct frames of the split and of the
training split, weighted by exp(-F) and normalized among themselves), which on Nottingham carry
96 % of the mass of the v5 model (`evaluate`'s figure adds AIS for the rest).

The last two rows are the sampler that `generate`, `continue`, `harmonize` and live playing use
(`RnnRbm.sample_frame`, `--samples` draws per frame, `--k` Gibbs steps), with its chains started
from an empty frame (as before the model kept its training frames) and from a training frame
drawn from the model's distribution over them (now): the closer to the expected row, the closer
the sampler is to the model's distribution. Prints the table, writes
benchmarks/results/prediction_accuracy_SPLIT_MODEL.json.
"""

from __future__ import annotations

from pathlib import Path

import torch
from common import known_frames, model_and_split, model_split_parser, report, training_frames

from rnnrbm_music.engine.rbm import free_energies
from rnnrbm_music.evaluate import accuracy, distinct_frames, frame_rbms, pairwise_accuracy


@torch.no_grad()
def prediction_accuracies(model, sequences: list, known: torch.Tensor,
                          chunk: int = 2000) -> dict[str, float]:
    """Mean accuracy over all frames of the expected, most probable, marginal and
    best-expected-accuracy predictions."""
    totals = {"expected": 0.0, "most probable frame": 0.0, "notes with p > 1/2": 0.0,
              "frame of highest expected accuracy": 0.0}
    between_known = pairwise_accuracy(known, known)                    # (K, K), symmetric
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
            best = (probability @ between_known).argmax(-1, keepdim=True)
            totals["frame of highest expected accuracy"] += scores.gather(1, best).sum().item()
            count += len(target)
    return {name: total / count for name, total in totals.items()}


@torch.no_grad()
def sampler_accuracy(model, sequences: list, samples: int, k: int, seed: int = 0,
                     chunk: int = 2000) -> float:
    """Mean accuracy over all frames of ``samples`` draws of the generation sampler each."""
    generator = torch.Generator().manual_seed(seed)
    total, count = 0.0, 0
    for frames, bv, bh in frame_rbms(model, sequences):
        for i in range(0, len(frames), chunk):
            target = frames[i:i + chunk]
            drawn = model.sample_frame(bv[i:i + chunk].repeat(samples, 1),
                                       bh[i:i + chunk].repeat(samples, 1), k, generator)
            total += accuracy(drawn, target.repeat(samples, 1)).sum().item() / samples
            count += len(target)
    return total / count


def main() -> None:
    parser = model_split_parser(__doc__)
    parser.add_argument("--samples", type=int, default=10, help="sampler draws per frame")
    parser.add_argument("--k", type=int, default=25, help="the sampler's Gibbs steps")
    args = parser.parse_args()
    model, sequences = model_and_split(args)
    training = training_frames(args.data)
    known = known_frames(training, distinct_frames(sequences))
    rows = [{"prediction": name, "accuracy %": 100 * value}
            for name, value in prediction_accuracies(model, sequences, known).items()]
    for start, frames in (("an empty frame", training[:0]), ("a training frame", training)):
        model.known_frames = frames
        rows.append({"prediction": f"sampler, k={args.k} from {start}",
                     "accuracy %": 100 * sampler_accuracy(model, sequences, args.samples, args.k)})
    report(f"prediction_accuracy_{args.split}_{Path(args.model).stem}", ["prediction", "accuracy %"],
           rows, {"model": args.model, "data": Path(args.data).name, "split": args.split,
                  "known_frames": len(known), "sampler_draws_per_frame": args.samples})


if __name__ == "__main__":
    main()
