"""Fit an RNN-RBM on Bach chorales from music21's corpus, compose a new piece, write it.

    python examples/fit_bach.py                      # all 371 chorales, 100 epochs (minutes)
    python examples/fit_bach.py --pieces 20 --epochs 2 --out /tmp/bach   # a quick look
"""

import argparse
from pathlib import Path

from music21 import corpus

from rnnrbm_music import Corpus, RnnRbmComposer

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
parser.add_argument("--pieces", type=int, default=None, help="use only the first N chorales")
parser.add_argument("--epochs", type=int, default=100)
parser.add_argument("--hidden", type=int, default=150)
parser.add_argument("--out", default="bach-output")
args = parser.parse_args()

# music21 streams straight from its corpus; a Corpus also takes files, folders and globs.
chorales = [corpus.parse(name) for name in corpus.chorales.Iterator(returnType="filename")
            ][: args.pieces] if args.pieces else Corpus.from_music21("chorales")
composer = RnnRbmComposer(n_hidden=args.hidden, optimizer="adam", lr=0.003, seed=1)
composer.fit(chorales, epochs=args.epochs)

score = composer.generate(n_steps=64, key="G major", time_signature="4/4", bpm=80)
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
print(score.write("midi", fp=out / "new_chorale.mid"))
print(score.write("musicxml", fp=out / "new_chorale.musicxml"))
print(composer.save(out / "my_bach.safetensors"))
