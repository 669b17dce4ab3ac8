"""Standard MIDI Files written with mido straight from notes: a :class:`PianoRoll`, or a music21
Stream read note by note.

A written file is what a DAW expects: type 1, a conductor track (the piece's title as the
sequence name, where it has one; every time signature, the key signature, every tempo) and one
track per part (its name, a program change, its notes). Each note is struck once at its onset
and released at its end; at a tick where one note ends and another starts, the note_off comes
first, so a note struck again at once is heard again. Rolls sound where the music came from
(moved back by ``-roll.transposition``) and their tracks last the roll's whole length, trailing
rests too.

Streams are written through :func:`~rnnrbm_music.score_reading.tied_notes`, which follows ties
across bar lines in every voice: music21's own MIDI writer merges tied notes only where they
stand next to each other in a flattened part, and so strikes a held note again at a bar line in
a staff with several voices (music21 issue #1134). The scores :func:`~rnnrbm_music.to_stream`
makes use this writer for ``score.write("midi")`` too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import mido

from . import keys
from .roll import PianoRoll, meter_of_length, one_note_at_a_time, parse_time_signature

#: Ticks per quarter note of written files: divisible by 1..6, 8, 10, 12, 16 frames per quarter.
TICKS_PER_QUARTER = 480
PERCUSSION_CHANNEL = 9


@dataclass
class Track:
    """One track: notes as ``(start, end, midi)`` in quarter notes, counted from the start.
    ``program`` and ``channel`` count from 0 (General MIDI program 0 is the acoustic grand piano;
    channel 0 is MIDI's channel 1)."""

    name: str
    notes: list[tuple[Fraction, Fraction, int]] = field(default_factory=list)
    program: int = 0
    channel: int = 0
    velocity: int = 80


def _mido_key(key_name: str) -> str:
    """This package's key names as mido's key_signature values: 'B- major' -> 'Bb', 'F# minor' -> 'F#m'.

    >>> _mido_key("B- major"), _mido_key("F# minor"), _mido_key("C minor")
    ('Bb', 'F#m', 'Cm')
    """
    tonic, mode = keys.parse_key(key_name)
    name = keys.key_name(tonic, mode).split()[0].replace("-", "b")
    return name + ("m" if mode == "minor" else "")


#: Characters Latin-1 lacks that titles use, as MIDI text writes them.
_ASCII_FOR = str.maketrans({"♭": "b", "♯": "#", "‘": "'", "’": "'", "“": '"', "”": '"', "–": "-",
                            "—": "-", "…": "..."})


def midi_text(text: str) -> str:
    """``text`` as a MIDI text event holds it, as the str mido writes byte for byte (its
    charset is Latin-1): text Latin-1 can hold once ``♭``, ``♯``, typographic quotes and dashes
    are written as ASCII, as Latin-1, as MIDI files have long been written; other text
    (Japanese, say) as it is, in UTF-8, which :func:`~rnnrbm_music.midi_io.sequence_name` reads
    back (a reader expecting Latin-1 shows it garbled rather than lost).

    >>> midi_text("Study in B♭ minor"), midi_text("Étude in F♯"), midi_text("Don’t – go")
    ('Study in Bb minor', 'Étude in F#', "Don't - go")
    >>> midi_text("さくら").encode("latin-1").decode("utf-8")
    'さくら'
    """
    plain = text.translate(_ASCII_FOR)
    try:
        plain.encode("latin-1")
    except UnicodeEncodeError:   # UTF-8 holds every character as it is, dashes and ♭ too
        return text.encode("utf-8").decode("latin-1")
    return plain


def notes_file(tracks: list[Track], tempos: list[tuple[Fraction, float]],
               time_signatures: list[tuple[Fraction, str]], key: str | None = None,
               title: str | None = None, end: Fraction = Fraction(0)) -> mido.MidiFile:
    """A type-1 ``mido.MidiFile``: a conductor track, then ``tracks``. Times are in quarter
    notes; ``tempos`` are ``(quarter, bpm)`` (MIDI's 120 holds before the first), and every
    track lasts at least until ``end``. Raises ValueError for a pitch outside MIDI's 0..127.
    """
    def tick(quarter) -> int:
        return round(Fraction(quarter) * TICKS_PER_QUARTER)

    # The first track's name is the sequence name: the piece's title, where it has one.
    conductor = ([(0, mido.MetaMessage("track_name", name=midi_text(title.strip())))]
                 if title and title.strip() else [])
    for at, signature in time_signatures:
        numerator, denominator = parse_time_signature(signature)
        conductor.append((tick(at), mido.MetaMessage(
            "time_signature", numerator=numerator, denominator=denominator)))
    if key:
        conductor.append((0, mido.MetaMessage("key_signature", key=_mido_key(key))))
    for at, bpm in tempos:
        conductor.append((tick(at), mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    file = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER)
    last = max([tick(end)] + [tick(stop) for track in tracks for _, stop, _ in track.notes])
    file.tracks.append(_track(conductor, last))
    for track in tracks:
        bad = [pitch for *_, pitch in track.notes if not 0 <= pitch <= 127]
        if bad:
            raise ValueError(f"{len(bad)} note(s) of track {track.name!r} leave MIDI's 0..127 "
                             f"(e.g. {bad[0]})")
        notes = one_note_at_a_time(track.notes)   # no key struck twice at once
        timed = [(0, mido.MetaMessage("track_name", name=midi_text(track.name))),
                 (0, mido.Message("program_change", program=track.program, channel=track.channel))]
        # (tick, 0 for off / 1 for on, pitch): offs sort before ons at the same tick.
        events = sorted([(tick(start), 1, pitch) for start, _, pitch in notes]
                        + [(tick(stop), 0, pitch) for _, stop, pitch in notes])
        for at, is_on, pitch in events:
            timed.append((at, mido.Message(
                "note_on" if is_on else "note_off", note=pitch, channel=track.channel,
                velocity=track.velocity if is_on else 0)))
        file.tracks.append(_track(timed, last))
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


def midi_file(roll: PianoRoll, title: str | None = None, program: int = 0, channel: int = 0,
              velocity: int = 80) -> mido.MidiFile:
    """The roll as a ``mido.MidiFile`` with one piano track (see the module's notes), named
    ``title`` (default: the roll's title).

    >>> roll = PianoRoll.from_benchmark([(60,), (60, 64), ()], key="C major", bpm=90)
    >>> file = midi_file(roll)
    >>> [(m.type, m.time) for m in file.tracks[1] if m.type.startswith("note")]
    [('note_on', 0), ('note_on', 240), ('note_off', 240), ('note_off', 0)]
    """
    spq = roll.steps_per_quarter
    notes = [(Fraction(onset, spq), Fraction(onset + length, spq), pitch)
             for onset, length, pitch in roll.sounding_notes()]
    signatures = [(Fraction(frame, spq), signature) for frame, signature in roll.time_signatures()]
    return notes_file(
        [Track("Piano", notes, program, channel, velocity)],
        [(Fraction(frame, spq), bpm) for frame, bpm in roll.tempos()],
        with_pickup(signatures, Fraction(roll.pickup, spq)),
        roll.key, title or roll.title, end=Fraction(len(roll), spq))


def with_pickup(signatures: list[tuple[Fraction, str]], pickup: Fraction) -> list[tuple[Fraction, str]]:
    """Time signatures ``(quarter, meter)`` with a pickup of ``pickup`` quarters written as MIDI
    can hold it (it has no anacrusis): a first bar in a meter of the pickup's own length. A
    pickup that no MIDI meter measures (a third of a quarter) is left as it is: its bars are
    then counted from the start.

    >>> with_pickup([(0, "3/4"), (7, "2/4")], Fraction(1))
    [(0, '1/4'), (Fraction(1, 1), '3/4'), (7, '2/4')]
    >>> with_pickup([(0, "3/4"), (1, "4/4")], Fraction(1))     # a new meter after the pickup
    [(0, '1/4'), (Fraction(1, 1), '4/4')]
    """
    first = meter_of_length(pickup, signatures[0][1]) if pickup else None
    if first is None:
        return signatures
    after = [meter for at, meter in signatures if at <= pickup][-1]
    return [(0, first), (pickup, after), *[(at, meter) for at, meter in signatures if at > pickup]]


def stream_midi_file(score, title: str | None = None, velocity: int = 80) -> mido.MidiFile:
    """A music21 Stream as a ``mido.MidiFile`` as it sounds and is played (transposing
    instruments at sounding pitch, repeats played out, as when reading), one track per part,
    ties followed in every voice (see the module's notes). The staves of one instrument
    (``PartStaff``s grouped by a ``StaffGroup``, as a piano's) share a track. Tempo marks, time
    signatures (a pickup as a bar of its own length) and the first key signature go to the
    conductor track; a part's program is its instrument's MIDI program; percussion parts (and
    unpitched notes) are left out, as when reading.
    """
    import numpy as np
    from music21 import stream, tempo

    from .score_reading import (_as_performed, _is_percussion, _timed, meters, pickup_quarters,
                                tied_notes, title_of, written_key)

    score = _as_performed(score, True, title or "the score")
    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    first_staff = {}
    for group in score.recurse().getElementsByClass("StaffGroup"):
        staves = group.getSpannedElements()
        if all(isinstance(staff, stream.PartStaff) for staff in staves):
            for staff in staves:
                first_staff.setdefault(id(staff), id(staves[0]))
    tracks: dict[int, Track] = {}
    for part in parts:
        if _is_percussion(part):
            continue
        owner = first_staff.get(id(part), id(part))
        if owner in tracks:
            tracks[owner].notes = sorted(tracks[owner].notes + tied_notes(part))
            continue
        instrument = part.getInstrument(returnDefault=False)
        program = instrument.midiProgram if instrument is not None and instrument.midiProgram else 0
        name = part.partName or (instrument.instrumentName if instrument is not None else None)
        channel = len(tracks) if len(tracks) < PERCUSSION_CHANNEL else len(tracks) + 1
        tracks[owner] = Track(name or f"Part {len(tracks) + 1}", tied_notes(part), program,
                              channel % 16, velocity)
    tempos = [(offset, mark.getQuarterBPM()) for offset, mark in _timed(score, tempo.MetronomeMark)
              if mark.getQuarterBPM()]
    signatures = with_pickup(meters(parts[0]) or [(Fraction(0), "4/4")], pickup_quarters(parts[0]))
    histogram = np.zeros(12)
    for track in tracks.values():
        for start, end, pitch in track.notes:
            histogram[pitch % 12] += float(end - start)
    title = title or title_of(score)
    return notes_file(list(tracks.values()), tempos, signatures, written_key(score, histogram),
                      title, end=Fraction(score.highestTime))


def write_midi(music, path: str | os.PathLike, title: str | None = None, **options) -> Path:
    """Write a PianoRoll (:func:`midi_file`, which takes ``options``) or a music21 Stream
    (:func:`stream_midi_file`) to ``path`` as a Standard MIDI File."""
    path = Path(path)
    made = (midi_file(music, title, **options) if isinstance(music, PianoRoll)
            else stream_midi_file(music, title, **options))
    made.save(path)
    return path
