"""Harmonize a melody with the pretrained Bach-chorale RNN-NADE: each chord drawn knowing where
the melody goes next (the look-ahead), in the key of the melody's key signature, ending on the
tonic chord.

    python examples/harmonize.py                    # the soprano of a chorale, re-harmonized
    python examples/harmonize.py my_melody.musicxml
"""

import argparse
from pathlib import Path

from music21 import corpus

from rnnrbm_music import RnnRbmComposer

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
parser.add_argument("melody", nargs="?", help="a melody file (default: the soprano of BWV 269)")
parser.add_argument("--seed", type=int, default=5)
parser.add_argument("--out", default="harmonize-output")
args = parser.parse_args()

melody = args.melody or corpus.parse("bach/bwv269").parts[0]
composer = RnnRbmComposer.pretrained(conditional="nade")   # or the RNN-RBM: pretrained()
score = composer.harmonize(melody, seed=args.seed, key="trust", cadence=True)
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
print(score.write("midi", fp=out / "harmonized.mid"))
print(score.write("musicxml", fp=out / "harmonized.musicxml"))
