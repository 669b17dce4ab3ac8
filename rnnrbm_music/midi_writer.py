"""A :class:`PianoRoll` as a Standard MIDI File, written with mido straight from its notes.

The file is what a DAW expects: type 1, a conductor track (the piece's name, every time
signature, the key signature, every tempo) and one piano track (its name, a program change,
the notes). Each note of the roll (:meth:`PianoRoll.notes`) is struck once at its onset and
released at its end; at a tick where one note ends and another starts, the note_off comes first,
so a note struck again at once is heard again. Pitches sound where the music came from (moved
back by ``-roll.transposition``); the track lasts the roll's whole length, trailing rests too.
"""

from __future__ import annotations

import os
from pathlib import Path

import mido

from . import keys
from .roll import PianoRoll, parse_time_signature

#: Ticks per quarter note of written files: divisible by 1..6, 8, 10, 12, 16 frames per quarter.
TICKS_PER_QUARTER = 480


def _mido_key(key_name: str) -> str:
    """This package's key names as mido's key_signature values: 'B- major' -> 'Bb', 'F# minor' -> 'F#m'.

    >>> _mido_key("B- major"), _mido_key("F# minor"), _mido_key("C minor")
    ('Bb', 'F#m', 'Cm')
    """
    tonic, mode = keys.parse_key(key_name)
    name = keys.key_name(tonic, mode).split()[0].replace("-", "b")
    return name + ("m" if mode == "minor" else "")


def midi_file(roll: PianoRoll, title: str | None = None, program: int = 0, channel: int = 0,
              velocity: int = 80) -> mido.MidiFile:
    """The roll as a ``mido.MidiFile`` (see the module's notes). ``program`` and ``channel`` are
    counted from 0 (General MIDI program 0 is the acoustic grand piano; channel 0 is MIDI's
    channel 1). Raises ValueError if a note moved back leaves MIDI's 0..127.

    >>> roll = PianoRoll.from_benchmark([(60,), (60, 64), ()], key="C major", bpm=90)
    >>> file = midi_file(roll)
    >>> [(m.type, m.time) for m in file.tracks[1] if m.type.startswith("note")]
    [('note_on', 0), ('note_on', 240), ('note_off', 240), ('note_off', 0)]
    """
    shift = -roll.transposition
    notes = [(onset, length, pitch + shift) for onset, length, pitch in roll.notes()]
    bad = [pitch for *_, pitch in notes if not 0 <= pitch <= 127]
    if bad:
        raise ValueError(f"moved back by {shift:+d} semitones, {len(bad)} note(s) leave MIDI's "
                         f"0..127 (e.g. {bad[0]})")

    def tick(frame: int) -> int:
        return round(frame * TICKS_PER_QUARTER / roll.steps_per_quarter)

    conductor = [(0, mido.MetaMessage("track_name", name=title or "rnnrbm-music"))]
    for frame, signature in roll.time_signatures():
        numerator, denominator = parse_time_signature(signature)
        conductor.append((tick(frame), mido.MetaMessage(
            "time_signature", numerator=numerator, denominator=denominator)))
    if roll.key:
        conductor.append((0, mido.MetaMessage("key_signature", key=_mido_key(roll.key))))
    for frame, bpm in roll.tempos():
        conductor.append((tick(frame), mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))

    piano = [(0, mido.MetaMessage("track_name", name="Piano")),
             (0, mido.Message("program_change", program=program, channel=channel))]
    # (tick, 0 for off / 1 for on, pitch): offs sort before ons at the same tick.
    events = sorted([(tick(onset), 1, pitch) for onset, _, pitch in notes]
                    + [(tick(onset + length), 0, pitch) for onset, length, pitch in notes])
    for at, is_on, pitch in events:
        piano.append((at, mido.Message("note_on" if is_on else "note_off", note=pitch,
                                       velocity=velocity if is_on else 0, channel=channel)))
    end = tick(len(roll))
    file = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER)
    for timed in (conductor, piano):
        file.tracks.append(_track(timed, end))
    return file


def _track(timed: list[tuple[int, mido.Message]], end: int) -> mido.MidiTrack:
    """Absolute-tick messages (stable-sorted by tick) as a track with delta times, ended at
    ``end`` or at its last message."""
    track = mido.MidiTrack()
    now = 0
    for at, message in sorted(timed, key=lambda pair: pair[0]):
        track.append(message.copy(time=at - now))
        now = at
    track.append(mido.MetaMessage("end_of_track", time=max(end - now, 0)))
    return track


def write_midi(roll: PianoRoll, path: str | os.PathLike, title: str | None = None,
               **options) -> Path:
    """Write the roll to ``path`` as a Standard MIDI File (:func:`midi_file` takes ``options``)."""
    path = Path(path)
    midi_file(roll, title, **options).save(path)
    return path
