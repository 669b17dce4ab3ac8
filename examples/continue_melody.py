"""Continue a melody with the pretrained model: a tune in tinyNotation, or any file.

    python examples/continue_melody.py                 # "Twinkle, twinkle" in D major
    python examples/continue_melody.py my_tune.mid --steps 64
"""

import argparse
from pathlib import Path

from music21 import converter

from rnnrbm_music import RnnRbmComposer

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
parser.add_argument("primer", nargs="?", help="a MIDI/MusicXML/ABC file (default: a tune)")
parser.add_argument("--steps", type=int, default=32, help="frames to add (eighth notes)")
parser.add_argument("--seed", type=int, default=3)
parser.add_argument("--out", default="continue-output")
args = parser.parse_args()

primer = args.primer or converter.parse("tinyNotation: 4/4 d4 d a a b b a2 g4 g f# f# e e d2")
composer = RnnRbmComposer.pretrained()
score = composer.continue_sequence(primer, n_steps=args.steps, seed=args.seed)
print("key of the result:", score.analyze("key"))
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
print(score.write("midi", fp=out / "continued.mid"))
print(score.write("musicxml", fp=out / "continued.musicxml"))
