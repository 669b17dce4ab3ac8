"""Repeated notes in generated music: the pretrained model with onsets against the one without.

    python benchmarks/repeated_notes.py [--pieces 50] [--seed 0]

For each model, PIECES pieces as long as the median Bach chorale of music21's corpus are
generated from scratch, and the share of repeated notes (notes struck again at the pitch of a
note that ends where they start, per note: ``PianoRoll.repeated_notes``) is set against the
chorales' own share. A model without onsets cannot repeat a note (0 by construction); the
target for the model with onsets is within 25 % of the corpus's share. Writes
benchmarks/results/repeated_notes.json.
"""

from __future__ import annotations

import argparse

import numpy as np
from common import ROOT, report

from rnnrbm_music import Corpus, RnnRbmComposer
from rnnrbm_music.composer import PRETRAINED

WITHOUT_ONSETS = ROOT / "benchmarks" / "models" / "bach_chorales_88.safetensors"


def share(rolls) -> tuple[float, int]:
    notes = sum(len(roll.notes()) for roll in rolls)
    return sum(roll.repeated_notes() for roll in rolls) / notes, notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pieces", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    chorales = Corpus.from_music21("chorales", progress=False)
    length = int(np.median([len(roll) for roll in chorales]))
    corpus_share, corpus_notes = share(chorales)
    rows = [{"music": "Bach chorales (music21)", "layout": "", "pieces": len(chorales),
             "notes": corpus_notes, "repeated %": 100 * corpus_share, "of the corpus's": 1.0}]
    for path in (PRETRAINED["rbm"], WITHOUT_ONSETS):
        composer = RnnRbmComposer.load(path, device="cpu")
        rolls = composer.generate_roll(n_steps=length, seed=args.seed, n=args.pieces)
        generated, notes = share(rolls)
        rows.append({"music": f"generated: {path.name}", "layout": composer.model_.config.layout,
                     "pieces": len(rolls), "notes": notes, "repeated %": 100 * generated,
                     "of the corpus's": generated / corpus_share})
    print(f"{args.pieces} pieces of {length} frames (the median chorale) per model, seed {args.seed}\n")
    report("repeated_notes", ["music", "layout", "pieces", "notes", "repeated %", "of the corpus's"],
           rows, {"frames_per_piece": length, "seed": args.seed,
                  "target": "with onsets within 25 % of the corpus's share"})


if __name__ == "__main__":
    main()
