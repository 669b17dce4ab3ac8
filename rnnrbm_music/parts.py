"""One part of a piece to harmonize: a music21 Part of a score, or a MIDI file's track alone,
read by the package's own readers (a MIDI track never goes through music21's MIDI parser, which
fails on damaged files and drops notes the package's reader keeps)."""

from __future__ import annotations

import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import mido

from .music21_io import MIDI_SUFFIXES, is_music_text, parse_text, read


def warn_if_several_parts(n_parts: int, how: str = "score.parts[0]") -> None:
    """Warn that every one of a melody's ``n_parts`` parts is taken as the melody, and ``how``
    to take one part alone."""
    if n_parts > 1:
        warnings.warn(f"the melody is a score of {n_parts} parts: all of them are taken as the "
                      f"melody; pass one part ({how}) to harmonize it alone", stacklevel=3)


@contextmanager
def melody_source(source: str, part: int | None = None, how: str = "part=N"):
    """A melody given as a file or as music written as text, as
    :meth:`~rnnrbm_music.RnnRbmComposer.to_roll` takes it while the block runs: the source whole,
    or its part number ``part`` (0: the first, usually the top): a music21 Part, or a MIDI file
    of that track's notes alone. Whole, a source of several parts warns that every part is taken
    as the melody (``how`` says how to take one). ValueError for a missing file or a part it
    does not have; a damaged file's own ReadError."""
    from music21 import converter

    path = Path(source).expanduser()
    text = is_music_text(source)
    if not text and not path.is_file():
        raise ValueError(f"{source}: no such file")
    if not text and path.suffix.lower() in MIDI_SUFFIXES:
        with _midi_part(path, part, how) as melody:
            yield melody
        return
    score = parse_text(source) if text else converter.parse(path)
    parts = score.parts if hasattr(score, "parts") and len(score.parts) else [score]
    if part is None:
        warn_if_several_parts(len(parts), how)
        yield source
        return
    if not 0 <= part < len(parts):
        raise ValueError(f"{source}: part {part}: it has {len(parts)} part(s), numbered from 0")
    yield parts[part]


def _without_notes(track):
    """A MIDI track with its notes left out, every other event at its time."""
    kept, carried = mido.MidiTrack(), 0
    for message in track:
        if message.type in ("note_on", "note_off"):
            carried += message.time
            continue
        kept.append(message.copy(time=message.time + carried))
        carried = 0
    return kept


@contextmanager
def _midi_part(path: Path, part: int | None, how: str):
    """A MIDI melody for ``harmonize``, to be read by the package's MIDI reader: the file (a
    warning if several tracks hold notes), or a file of the same name in a scratch folder that
    holds the notes of its track number ``part`` among those with notes alone (every other
    event kept: tempo, meter, key, the piece's length), while the block runs."""
    try:
        midi = mido.MidiFile(path)
    except Exception:   # damaged: the reader says how, or reads what it can
        midi = None
    noted = [i for i, track in enumerate(midi.tracks if midi else [])
             if any(m.type == "note_on" for m in track)]
    if part is None:
        warn_if_several_parts(len(noted), how)
        yield str(path)
        return
    read(path, normalize_key=False)   # the file's own errors and warnings, under its name
    if midi is None or not 0 <= part < len(noted):
        raise ValueError(f"{path}: part {part}: it has {len(noted)} track(s) with notes, "
                         "numbered from 0")
    midi.tracks = [t if i not in noted or i == noted[part] else _without_notes(t)
                   for i, t in enumerate(midi.tracks)]   # the others still say how long it is
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")   # said already, of the file itself
        one = Path(folder) / path.name
        midi.save(one)
        yield str(one)
