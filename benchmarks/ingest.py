"""Reading speed of MIDI corpora: the two byte-level parsers, music21's converter, the cache.

    python benchmarks/ingest.py [--files 200]

Reads the first N Nottingham MIDI files of ../shared/data/nottingham_midi in one process (one
worker, so the figures compare the readers, not the cores), four ways side by side:

* ``mido``: ``read_midi(parser="mido")``, the default for ``.mid`` files (``Corpus(files)``);
* ``music21 parser``: ``read_midi(parser="music21")``: music21's low-level ``midi.MidiFile``
  parser under the same event logic (``Corpus(files, reader="music21")``);
* ``music21 converter``: music21's full MIDI-to-stream translation,
  ``converter.parse(path, quantizePost=False, forceSource=True)`` (no pickle cache) then
  ``from_stream``: the reference, and an
  independent check of the notes;
* ``cache``: the second reading through the on-disk cache.

Prints files per second and each path's speed-up over the converter, checks that both parsers
give identical rolls and counts the files whose frames, meter and key the converter's reading
matches. Then times both parsers on single long tracks (24,000 and 96,000 sixteenth notes, 4 at a
time) and writes it all to benchmarks/results/ingest.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import mido
import numpy as np
from common import DATA, report

from rnnrbm_music import Corpus, from_stream
from rnnrbm_music.midi_io import read_midi


def timed(files, **options) -> tuple[float, Corpus]:
    start = time.perf_counter()
    corpus = Corpus(files, workers=1, progress=False, strict=True, **options)
    return time.perf_counter() - start, corpus


def converter_rolls(files) -> tuple[float, list]:
    from music21 import converter

    start = time.perf_counter()
    rolls = [from_stream(converter.parse(path, quantizePost=False, forceSource=True),
                           source=str(path))
             for path in files]
    return time.perf_counter() - start, rolls


def same_music(a, b) -> bool:
    """Same frames (music21's converter fills the last bar with rests, which a score's reading
    keeps: the frames past ``a``'s end must be silent and less than a bar), first meter, tempo
    and key (the converter's rolls carry no meter changes)."""
    return (0 <= len(b) - len(a) < b.frames_per_bar
            and bool(np.array_equal(a.frames, b.frames[:len(a)])) and not b.frames[len(a):].any()
            and (a.time_signature, a.bpm, a.key, a.transposition)
            == (b.time_signature, b.bpm, b.key, b.transposition))


def long_track(path: Path, n_notes: int) -> Path:
    """A type-0 file of one track: ``n_notes`` sixteenth notes, 4 at a time."""
    track = mido.MidiTrack()
    for i in range(n_notes // 4):
        chord = (48 + i % 12, 55 + i % 12, 60 + (i * 7) % 12, 72 + (i * 5) % 12)
        track.extend(mido.Message("note_on", note=p, velocity=80) for p in chord)
        track.extend(mido.Message("note_off", note=p, time=120 if j == 0 else 0)
                     for j, p in enumerate(chord))
    midi = mido.MidiFile(type=0, ticks_per_beat=480)
    midi.tracks.append(track)
    midi.save(path)
    return path


def long_tracks(directory: str) -> list[dict]:
    """Seconds ``read_midi`` takes with each parser on one long track of 24,000 and 96,000 notes."""
    rows = []
    for n_notes in (24_000, 96_000):
        path = long_track(Path(directory) / f"long_{n_notes}.mid", n_notes)
        seconds = {}
        for parser in ("mido", "music21"):
            start = time.perf_counter()
            roll = read_midi(path, parser=parser)
            seconds[parser] = time.perf_counter() - start
        rows.append({"notes": n_notes, "kB": path.stat().st_size / 1000, "frames": len(roll),
                     "mido s": seconds["mido"], "music21 s": seconds["music21"]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()
    files = sorted((DATA / "nottingham_midi").glob("*.mid"))[: args.files]
    timed(files[:2], cache=False)  # import and warm up every reader
    timed(files[:2], cache=False, reader="music21")
    converter_rolls(files[:2])
    with tempfile.TemporaryDirectory() as cache_dir:
        converter_s, reference = converter_rolls(files)
        music21_s, slow = timed(files, cache=False, reader="music21")
        mido_s, fast = timed(files, cache=False)
        assert fast.rolls == slow.rolls, "the two parsers disagree"
        timed(files, cache_dir=cache_dir)
        cached_s, cached = timed(files, cache_dir=cache_dir)
        assert cached.rolls == fast.rolls
        long = long_tracks(cache_dir)
    agree = sum(same_music(a, b) for a, b in zip(fast.rolls, reference))
    rows = [{"path": name, "seconds": s, "files/s": len(files) / s, "speed-up": converter_s / s}
            for name, s in (("music21 converter", converter_s), ("music21 parser", music21_s),
                            ("mido", mido_s), ("cache", cached_s))]
    print(f"{len(files)} Nottingham MIDI files, {fast.n_frames} frames, one process; "
          f"the converter's rolls match on {agree} files\n")
    print("one long track, read_midi with each parser:")
    for row in long:
        print(f"  {row['notes']:,} notes ({row['kB']:,.0f} kB): mido {row['mido s']:.2f} s, "
              f"music21 {row['music21 s']:.2f} s")
    print()
    report("ingest", ["path", "seconds", "files/s", "speed-up"], rows,
           {"files": len(files), "frames": fast.n_frames, "converter_agrees_on": agree,
            "parsers_agree": True, "long_tracks": long})


if __name__ == "__main__":
    main()
