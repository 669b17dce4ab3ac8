"""The demo: the pretrained model continues and harmonizes "Ein feste Burg ist unser Gott".

Bach's chorale BWV 80.8 from music21's corpus: its first four bars (all four voices) are
continued for eight more bars, and its soprano melody is harmonized with the look-ahead (each
chord knows where the melody goes next), both in the chorale's key, D major, as its key
signature says (the soprano alone would suggest G major). Each result is written as MIDI,
MusicXML and a piano-roll PNG.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

TUNE = "bach/bwv80.8"
TITLE = "Ein feste Burg ist unser Gott (BWV 80.8)"


def run_demo(out_dir: str | os.PathLike = "demo-output", seed: int = 7) -> list[Path]:
    """Write the demo's six files into ``out_dir``; returns their paths.

    >>> import tempfile
    >>> paths = run_demo(tempfile.mkdtemp())
    >>> sorted(p.name for p in paths)[:3]
    ['continuation.mid', 'continuation.musicxml', 'continuation.png']
    """
    from music21 import corpus

    from . import RnnRbmComposer
    from .cli import write_outputs

    out = Path(out_dir)
    composer = RnnRbmComposer.pretrained(device="cpu")
    chorale = corpus.parse(TUNE)
    primer = composer.to_roll(chorale.measures(0, 4), "primer", key="trust")
    continuation = composer.continue_roll(primer, n_bars=8, seed=seed)[0]
    primer_notes = np.zeros_like(continuation.frames)
    primer_notes[:len(primer)] = True
    melody = composer.to_roll(chorale.parts[0], "melody", key="trust")
    harmonized = composer.harmonize_roll(melody, seed=seed)[0]
    names = ("mid", "musicxml", "png")
    return (write_outputs(continuation, [str(out / f"continuation.{x}") for x in names],
                          primer_notes, ("primer: " + TITLE, "continuation"))
            + write_outputs(harmonized, [str(out / f"harmonization.{x}") for x in names],
                            melody.frames, ("melody: " + TITLE, "harmony")))
