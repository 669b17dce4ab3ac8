"""A :class:`PianoRoll` as a music21 ``Score`` that a musician would write.

:func:`to_stream` writes a piano part on two staves (treble from middle C up, bass below) with
real measures: the pickup bar, the roll's time-signature and tempo changes, and the key signature
of the roll's key. Each note of the roll is one note of the score, held for its whole length:

- notes that start and end together form a chord; a note held while others move goes into a
  voice of its own on its staff (up to :data:`MAX_VOICES`), the way an engraver writes a held
  note under moving ones, so that no chord mixes held and moving notes;
- a note that crosses a bar line is split there and tied (music21's notation tools split
  durations a bar cannot hold, such as five eighths, into tied values when it writes MusicXML);
- pitches are spelled for the key with music21's scales: the key's own degrees (in minor keys
  also the raised sixth and seventh, B natural in C minor), other pitches with one sharp in sharp
  keys and one flat in flat keys, never a double accidental.

The score is a :class:`PianoScore`, a music21 ``Score`` whose ``write("midi")`` follows the
ties of every voice (:mod:`rnnrbm_music.midi_writer`), so the file strikes each note of the roll
once, for its whole length; music21's own MIDI writer would strike a held note again where a
tie crosses a bar line in a staff with several voices (music21 issue #1134).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np

from music21 import environment, stream

from . import keys
from .roll import PianoRoll, bar_frames, meter_of_length

#: Staves of the written score split here: pitches at or above go to the treble staff.
MIDDLE_C = 60
#: Voices per staff before notes that fit no voice are split and tied into one.
MAX_VOICES = 4


@lru_cache(maxsize=64)
def key_degrees(key_name: str | None) -> dict[int, str]:
    """The pitch classes of a key's own scale with their names; minor keys also have their
    raised sixth and seventh (melodic and harmonic minor).

    >>> sorted(key_degrees("A minor").values())
    ['A', 'B', 'C', 'D', 'E', 'F', 'F#', 'G', 'G#']
    """
    from music21 import key as m21key

    tonic, mode = keys.parse_key(key_name or "C major")
    key = m21key.Key(keys.key_name(tonic, mode).split()[0], mode)
    names = {p.pitchClass: p.name for p in key.getScale().getPitches()}
    if mode == "minor":
        for degree in (6, 7):
            raised = key.pitchFromDegree(degree).transpose("A1")
            names[raised.pitchClass] = raised.name
    return names


@lru_cache(maxsize=64)
def pitch_names(key_name: str | None) -> tuple[str, ...]:
    """The spelling of each pitch class (C=0 .. B=11) in ``key_name``, as music21 pitch names:
    the key's degrees (:func:`key_degrees`), other pitches with one sharp in sharp keys (and C
    major) and one flat in flat keys.

    >>> pitch_names("C minor")[3], pitch_names("C minor")[8], pitch_names("C minor")[11]
    ('E-', 'A-', 'B')
    >>> pitch_names("E- major")[6], pitch_names("G major")[6], pitch_names("D major")[10]
    ('G-', 'F#', 'A#')
    """
    from music21 import key as m21key, pitch

    tonic, mode = keys.parse_key(key_name or "C major")
    sharp_side = m21key.Key(keys.key_name(tonic, mode).split()[0], mode).sharps >= 0
    names = dict(key_degrees(key_name))
    for pitch_class in set(range(12)) - set(names):
        plain = pitch.Pitch(pitch_class)
        alter = plain.accidental.alter if plain.accidental is not None else 0
        if alter > 0 and not sharp_side:
            plain = plain.getHigherEnharmonic()   # C# -> D-
        elif alter < 0 and sharp_side:
            plain = plain.getLowerEnharmonic()    # B- -> A#
        names[pitch_class] = plain.name
    return tuple(names[pc] for pc in range(12))


def spell(midi: int, names: tuple[str, ...]):
    """A music21 ``Pitch`` for a MIDI number, spelled by ``names`` (see :func:`pitch_names`).

    >>> minor = pitch_names("C minor")
    >>> spell(68, minor).nameWithOctave, spell(59, minor).nameWithOctave
    ('A-4', 'B3')
    >>> spell(61, pitch_names("A- major")).nameWithOctave, spell(70, pitch_names("D major")).nameWithOctave
    ('D-4', 'A#4')
    """
    from music21 import pitch

    p = pitch.Pitch(names[midi % 12])
    p.octave = 4
    p.octave += (midi - p.midi) // 12
    return p


def bar_spellings(roll: PianoRoll, bars) -> list[tuple[str, ...]]:
    """Each bar's spelling of the 12 pitch classes: the key's own degrees as in the key, other
    pitches as in the local key (music21's key profiles over the bar and its neighbours), so
    music that modulates (G major, then E-flat major) is spelled for each key it passes through.
    """
    home = pitch_names(roll.key)
    in_key = key_degrees(roll.key)
    # Sounding frames per pitch class (as heard), summed up to each frame: any window's
    # histogram is a difference of two rows.
    classes = (np.arange(roll.n_pitches) + roll.lowest - roll.transposition) % 12
    per_class = roll.frames.astype(float) @ np.eye(12)[classes]
    summed = np.concatenate([np.zeros((1, 12)), np.cumsum(per_class, axis=0)])
    spellings = []
    for i in range(len(bars)):
        first, last = bars[max(i - 1, 0)][0], min(bars[min(i + 1, len(bars) - 1)][1], len(roll))
        local = keys.detect_key(summed[max(last, first)] - summed[first])
        away = pitch_names(local) if local else home
        spellings.append(tuple(home[pc] if pc in in_key else away[pc] for pc in range(12)))
    return spellings


class PianoScore(stream.Score):
    """A music21 ``Score`` whose MIDI export strikes each note once however it is tied.

    ``write("midi", fp)`` (and ``"mid"``) goes through :func:`~rnnrbm_music.midi_writer.write_midi`;
    every other format, and everything else, is music21's.
    """

    def write(self, fmt=None, fp=None, **keywords):
        if fmt is not None and str(fmt).lower().lstrip(".") in ("midi", "mid"):
            from .midi_writer import write_midi

            path = Path(fp) if fp is not None else Path(environment.Environment().getTempFile(".mid"))
            return write_midi(self, path)
        return super().write(fmt, fp, **keywords)


def _voices(notes: list[tuple[int, int, int]]):
    """Notes ``(onset, length, pitch)`` of one staff as voices: lists of ``(onset, end, pitches)``
    chords, each voice free of overlaps, and the set of ``(frame, pitch)`` where a note goes on
    tied into the next chord of its voice. Chords are the notes sharing onset and end; each goes,
    in order of onset and from the top down, to the first voice free at its onset. Past
    :data:`MAX_VOICES` a chord that fits no voice is merged into the first voice, every chord
    there cut where another starts or ends, the pieces of one note tied.

    >>> _voices([(0, 8, 72), (0, 2, 64), (2, 2, 65), (8, 2, 67), (8, 6, 60)])
    ([[(0, 8, (72,)), (8, 10, (67,))], [(0, 2, (64,)), (2, 4, (65,)), (8, 14, (60,))]], set())
    """
    chords: dict[tuple[int, int], list[int]] = {}
    for onset, length, pitch in notes:
        chords.setdefault((onset, onset + length), []).append(pitch)
    order = sorted(chords, key=lambda span: (span[0], -max(chords[span])))
    voices: list[list[tuple[int, int, tuple[int, ...]]]] = []
    leftovers = []
    for onset, end in order:
        pitches = tuple(sorted(chords[onset, end]))
        free = next((v for v in voices if v[-1][1] <= onset), None)
        if free is None and len(voices) < MAX_VOICES:
            free = []
            voices.append(free)
        if free is None:
            leftovers.append((onset, end, pitches))
        else:
            free.append((onset, end, pitches))
    held: set[tuple[int, int]] = set()
    if leftovers:
        voices[0], held = _merge_into(voices[0], leftovers)
    return voices, held


def _merge_into(voice, extra):
    """``voice`` with the ``extra`` chords added, every chord cut where another starts or ends,
    and the ``(frame, pitch)`` cuts where a note goes on tied.

    >>> _merge_into([(0, 4, (60,))], [(2, 6, (60 + 4,))])
    ([(0, 2, (60,)), (2, 4, (60, 64)), (4, 6, (64,))], {(2, 60), (4, 64)})
    """
    spans = voice + extra
    cuts = sorted({t for onset, end, _ in spans for t in (onset, end)})
    merged, held = [], set()
    for start, stop in zip(cuts[:-1], cuts[1:]):
        covering = [(onset, ps) for onset, end, ps in spans if onset <= start and stop <= end]
        if covering:
            merged.append((start, stop, tuple(sorted(p for _, ps in covering for p in ps))))
            held |= {(start, p) for onset, ps in covering if onset < start for p in ps}
    return merged, held


def to_stream(roll: PianoRoll, title: str | None = None, composer: str | None = None):
    """A music21 ``Score`` of the roll: a piano part on two staves, in measures, moved back by
    ``-roll.transposition`` so it sounds where it came from (:meth:`PianoRoll.sounding_notes`;
    see the module's notes); titled and credited by ``title`` and ``composer``, else by the
    roll's own.

    >>> roll = PianoRoll.from_benchmark([(48, 60, 64), (48, 60, 64), (), (67,)], key="C major")
    >>> score = to_stream(roll)
    >>> [len(staff.recurse().notes) for staff in score.parts]
    [2, 1]
    >>> from rnnrbm_music import from_stream
    >>> from_stream(score, normalize_key=False).notes() == roll.notes()
    True
    """
    from music21 import instrument, layout, metadata

    notes = roll.sounding_notes()
    score = PianoScore()
    # Always metadata, so that music21 credits no "Music21" as the composer of the piece.
    score.insert(0, metadata.Metadata(title=title or roll.title or "",
                                      composer=composer or roll.composer or ""))
    # The last bar ends with the roll (a piece with a pickup ends with a short bar).
    bars = roll.measures() or [(0, roll.frames_per_bar, roll.time_signature)]
    spellings = bar_spellings(roll, bars)
    staves = []
    for treble in (True, False):
        staff_notes = [n for n in notes if (n[2] >= MIDDLE_C) == treble]
        staff = _staff(staff_notes, roll, bars, spellings, treble, with_tempo=treble)
        staves.append(staff)
    piano = instrument.Piano()
    staves[0].insert(0, piano)
    for staff in staves:   # the part's name in a notation program's part list and margin
        staff.partName, staff.partAbbreviation = "Piano", "Pno."
    for staff in staves:
        score.insert(0, staff)
    score.insert(0, layout.StaffGroup(staves, name="Piano", abbreviation="Pno.", symbol="brace"))
    return score


def _staff(notes, roll: PianoRoll, bars, spellings, treble: bool, with_tempo: bool):
    from music21 import clef, key as m21key, meter, tempo

    spq = roll.steps_per_quarter
    voices, held = _voices(notes)
    tempos = dict(roll.tempos())
    staff = stream.PartStaff()
    previous_signature = None
    first_number = 0 if roll.pickup else 1
    for number, (start, end, signature) in enumerate(bars, start=first_number):
        names = spellings[number - first_number]
        measure = stream.Measure(number=number)
        if start == 0:
            measure.insert(0, clef.TrebleClef() if treble else clef.BassClef())
            if roll.key:
                tonic, mode = keys.parse_key(roll.key)
                measure.insert(0, m21key.Key(keys.key_name(tonic, mode).split()[0], mode))
        shown = signature
        if (not (start == 0 and roll.pickup) and end < len(roll)
                and end - start != bar_frames(signature, spq)):
            # A bar cut short by a meter change: written in a meter of its own length.
            shown = meter_of_length(Fraction(end - start, spq), signature) or signature
        if shown != previous_signature:
            measure.insert(0, meter.TimeSignature(shown))
            previous_signature = shown
        if with_tempo:
            for frame, bpm in tempos.items():
                if start <= frame < end:
                    measure.insert(Fraction(frame - start, spq),
                                   tempo.MetronomeMark(number=round(bpm, 2), referent=1.0))
        in_bar = [[c for c in v if c[0] < end and c[1] > start] for v in voices]
        used = [i for i, chords in enumerate(in_bar) if chords]
        if len(used) <= 1:
            chords = in_bar[used[0]] if used else []
            _fill(measure, chords, start, end, spq, names, held,
                  whole_bar=end - start == bar_frames(signature, spq))
        else:
            for i in used:
                voice = stream.Voice(id=str(i + 1))
                _fill(voice, in_bar[i], start, end, spq, names, held, hide_rests=i > 0)
                measure.insert(0, voice)
        missing = float(Fraction(bar_frames(shown, spq) - (end - start), spq))
        if start == 0 and roll.pickup:
            measure.paddingLeft = missing
            measure.showNumber = stream.enums.ShowNumber.NEVER   # MusicXML's implicit="yes"
        elif missing:   # the last bar, ending with the music: music21 would fill it with rests
            measure.paddingRight = missing
        staff.append(measure)
    return staff


def _fill(container, chords, start: int, end: int, spq: int, names, held,
          whole_bar: bool = True, hide_rests: bool = False) -> None:
    """Rests and chords of one voice within the bar ``[start, end)``, tied across its edges,
    spelled by ``names``; an empty ``whole_bar`` gets a whole-bar rest (never a pickup or a last
    bar shorter than its meter: a notation program reads a whole-bar rest as a full bar).
    ``hide_rests`` hides the rests (of a second voice, say), as engravers do where the other
    voice makes the rhythm clear."""
    from music21 import chord, note, tie

    position = start
    for onset, stop, pitches in chords:
        first, last = max(onset, start), min(stop, end)
        if first > position:
            container.insert(Fraction(position - start, spq),
                             note.Rest(quarterLength=Fraction(first - position, spq)))
        pieces = []
        for p in pitches:
            n = note.Note(spell(p, names), quarterLength=Fraction(last - first, spq))
            before = onset < first or (onset, p) in held
            after = stop > last or (stop, p) in held
            if before or after:
                n.tie = tie.Tie("continue" if before and after else "stop" if before else "start")
            pieces.append(n)
        element = pieces[0] if len(pieces) == 1 else chord.Chord(pieces)
        container.insert(Fraction(first - start, spq), element)
        position = last
    if position < end:
        rest = note.Rest(quarterLength=Fraction(end - position, spq))
        if position == start and whole_bar:
            rest.fullMeasure = True
        container.insert(Fraction(position - start, spq), rest)
    if hide_rests:
        for rest in container.getElementsByClass(note.Rest):
            rest.style.hideObjectOnPrint = True
