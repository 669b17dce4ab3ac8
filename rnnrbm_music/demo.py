"""The demo: the pretrained models continue and harmonize "Ein feste Burg ist unser Gott".

Bach's chorale BWV 80.8 from music21's corpus: the pretrained RNN-RBM continues its first four
bars (all four voices) for eight more bars, and the pretrained RNN-NADE harmonizes its soprano
melody with the look-ahead (each chord knows where the melody goes next; the better and by far
the faster harmonizer by benchmarks/harmony_quality.py), ending on the tonic chord; both in the
chorale's key, D major, as its key signature says (the soprano alone would suggest G major).
Each result is written as MIDI, MusicXML and a piano-roll PNG.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

TUNE = "bach/bwv80.8"
TITLE = "Ein feste Burg (BWV 80.8)"


def run_demo(out_dir: str | os.PathLike = "demo-output", seed: int = 7) -> list[Path]:
    """Write the demo's six files into ``out_dir``; returns their paths.

    ``rnnrbm-music demo`` runs it (and tests/test_cli.py checks its files):

    >>> paths = run_demo("demo-output")     # doctest: +SKIP
    >>> sorted(p.name for p in paths)[:3]   # doctest: +SKIP
    ['continuation.mid', 'continuation.musicxml', 'continuation.png']
    """
    from music21 import corpus

    from . import RnnRbmComposer
    from .music21_io import write_all

    out = Path(out_dir)
    composer = RnnRbmComposer.pretrained(device="cpu")
    chorale = corpus.parse(TUNE)
    primer = composer.to_roll(chorale.measures(0, 4), "primer", key="trust").replace(title=TITLE)
    continuation = composer.continue_roll(primer, n_bars=8, seed=seed)[0]
    primer_notes = np.zeros_like(continuation.frames)
    primer_notes[:len(primer)] = True
    harmonizer = RnnRbmComposer.pretrained(device="cpu", conditional="nade")
    melody = harmonizer.to_roll(chorale.parts[0], "melody", key="trust").replace(title=TITLE)
    harmonized = harmonizer.harmonize_roll(melody, seed=seed, cadence=True)[0]
    names = ("mid", "musicxml", "png")
    return (write_all(continuation, [out / f"continuation.{x}" for x in names], primer_notes,
                      ("primer: Bach's opening", "continuation"))
            + write_all(harmonized, [out / f"harmonization.{x}" for x in names], melody.frames,
                        ("melody: Bach's soprano", "harmony")))


#: What each piece of the demo is.
PIECES = {"continuation": "Bach's opening (four bars and their repeat), continued for eight bars "
                          "by the RNN-RBM",
          "harmonization": "Bach's soprano melody, harmonized anew by the RNN-NADE"}
#: How to open each kind of file.
OPENING = {".mid": "MIDI: play it in a DAW or a media player (timidity, fluidsynth, GarageBand)",
           ".musicxml": "MusicXML: open it in MuseScore, Finale, Sibelius or Dorico",
           ".png": "piano-roll picture: Bach's notes in blue, the model's in orange"}


def describe(paths: list[Path]) -> str:
    """What the demo wrote, by piece: what it is, then each file and how to open it."""
    lines = []
    for piece, said in PIECES.items():
        lines.append(f"{said}:")
        lines.extend(f"  {path} — {OPENING[path.suffix]}" for path in paths if path.stem == piece)
    return "\n".join(lines)
