"""music21 Streams and files <-> :class:`PianoRoll`.

``from_stream`` reads any Stream (Score, Part, a flat stream of notes and chords, voices);
``to_stream`` writes a two-staff piano Score (treble and bass, split at middle C) that music21 can
``.show()``, ``.write('midi')`` and ``.write('musicxml')``. ``read`` and ``write`` handle files by
extension; MIDI files take the fast mido path of :mod:`rnnrbm_music.midi_io` by default.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np

from . import keys
from .errors import ReadError
from .roll import PIANO_KEYS, PIANO_LOWEST, PianoRoll

MIDI_SUFFIXES = (".mid", ".midi")
MUSIC21_SUFFIXES = (".mxl", ".musicxml", ".xml", ".abc", ".krn", ".mei", ".rntxt")
#: Staves of the written score split here: pitches at or above go to the treble staff.
MIDDLE_C = 60


def _is_percussion(part) -> bool:
    from music21 import instrument

    for inst in part.recurse().getElementsByClass(instrument.Instrument):
        if isinstance(inst, instrument.UnpitchedPercussion) or inst.midiChannel == 9:
            return True
    return False


def _first(stream, cls):
    return stream.recurse().getElementsByClass(cls).first()


def from_stream(stream, steps_per_quarter: int = 2, normalize_key: bool = True,
                key_algorithm: str | None = None, trust_key: bool = False,
                lowest: int = PIANO_LOWEST, n_pitches: int = PIANO_KEYS,
                out_of_range: Literal["error", "fold"] = "error",
                source: str = "") -> PianoRoll:
    """Turn a music21 Stream into a :class:`PianoRoll`; the stream itself is never modified.

    All pitched parts are merged into one roll (chords, ties, voices and overlapping notes
    included); grace notes are ignored, unpitched and percussion parts left out. Times are rounded
    to the nearest frame; a note shorter than a frame still gets one. A note outside the pitch
    range raises :class:`~rnnrbm_music.roll.RangeError` naming it (``out_of_range="fold"`` moves
    it by octaves instead). The key is found by music21's key analysis ``key_algorithm``
    (default ``'key'``; see :mod:`rnnrbm_music.keys`), or taken from the stream's own ``Key``
    object when ``trust_key`` is set and it has one; with ``normalize_key`` the roll is moved to
    C major / C minor and the interval recorded in ``transposition``.

    >>> from music21 import converter
    >>> s = converter.parse("tinyNotation: 3/4 d4 f#8 a8 d'4")
    >>> roll = from_stream(s)
    >>> roll.key, roll.transposition, roll.time_signature
    ('D major', -2, '3/4')
    >>> roll.notes()[:3]             # (onset, duration, pitch) in eighth-note frames, now in C
    [(0, 2, 60), (2, 1, 64), (3, 1, 67)]
    """
    from music21 import key as m21key, meter, note, tempo

    label = source or getattr(stream, "filePath", None) or repr(stream)
    parts = list(stream.parts) if hasattr(stream, "parts") and len(stream.parts) else [stream]
    pitched = [p for p in parts if not _is_percussion(p)]
    notes: list[tuple[float, float, int]] = []
    for part in pitched:
        for element in part.flatten().notes:
            if isinstance(element, note.Unpitched) or element.duration.isGrace:
                continue
            start = float(element.offset)
            end = start + float(element.quarterLength)
            notes.extend((start, end, p.midi) for p in getattr(element, "pitches", ()))
    if not notes:
        what = "only percussion" if parts and not pitched else "no pitched notes"
        raise ReadError(label, f"the score has {what}: nothing to turn into a piano roll")

    signature = _first(stream, meter.TimeSignature)
    mark = _first(stream, tempo.MetronomeMark)
    bpm = mark.getQuarterBPM() if mark is not None else None
    roll = PianoRoll.from_notes(
        notes, steps_per_quarter=steps_per_quarter, lowest=lowest, n_pitches=n_pitches,
        out_of_range=out_of_range, source=str(label),
        time_signature=signature.ratioString if signature is not None else "4/4",
        bpm=float(bpm) if bpm else 120.0)
    explicit = _first(stream, m21key.Key) if trust_key else None
    explicit_name = (keys.key_name(explicit.tonic.pitchClass, explicit.mode)
                     if explicit is not None and explicit.mode in ("major", "minor") else None)
    return keys.apply_key(roll, normalize_key, key_algorithm, explicit_name)


def _spelling(key_name: str | None):
    """A MIDI number -> music21 Pitch function that spells with flats in flat keys."""
    from music21 import key as m21key, pitch

    use_flats = False
    if key_name:
        tonic, mode = keys.parse_key(key_name)
        use_flats = m21key.Key(keys.key_name(tonic, mode).split()[0], mode).sharps < 0

    def make(midi: int):
        p = pitch.Pitch(midi=midi)
        if use_flats and p.accidental is not None and p.accidental.alter > 0:
            p = p.getLowerEnharmonic()
        return p
    return make


def _staff(frames: np.ndarray, lowest: int, steps_per_quarter: int, make_pitch, staff_cls):
    """One staff: a chord, note or rest per run of identical frames, ties where notes go on."""
    from music21 import chord, note, tie

    staff = staff_cls()
    n = len(frames)
    change = np.flatnonzero(np.any(frames[1:] != frames[:-1], axis=1)) + 1
    bounds = [0, *change.tolist(), n]
    for start, stop in zip(bounds[:-1], bounds[1:]):
        row = frames[start]
        length = Fraction(stop - start, steps_per_quarter)
        columns = np.flatnonzero(row)
        if columns.size == 0:
            element = note.Rest(quarterLength=length)
        else:
            nxt = frames[stop] if stop < n else np.zeros_like(row)
            prev = frames[start - 1] if start > 0 else np.zeros_like(row)
            notes = []
            for c in columns:
                n_obj = note.Note(make_pitch(int(c) + lowest), quarterLength=length)
                held_before, held_after = bool(prev[c]), bool(nxt[c])
                if held_before or held_after:
                    n_obj.tie = tie.Tie("continue" if held_before and held_after
                                        else "stop" if held_before else "start")
                notes.append(n_obj)
            element = notes[0] if len(notes) == 1 else chord.Chord(notes, quarterLength=length)
        staff.insert(Fraction(start, steps_per_quarter), element)
    return staff


def to_stream(roll: PianoRoll, title: str | None = None):
    """A music21 ``Score`` of the roll: a piano part on two staves (treble from middle C up, bass
    below), notes, chords and rests from runs of frames, with the roll's time signature, tempo
    and key, moved back by ``-roll.transposition`` so it sounds where it came from.

    >>> roll = PianoRoll.from_benchmark([(48, 60, 64), (48, 60, 64), (), (67,)], key="C major")
    >>> score = to_stream(roll)
    >>> [len(staff.recurse().notes) for staff in score.parts]
    [2, 1]
    >>> from_stream(score, normalize_key=False).notes() == roll.notes()
    True
    """
    from music21 import clef, key as m21key, layout, metadata, meter, stream, tempo

    sounding_lowest = roll.lowest - roll.transposition    # MIDI pitch of column 0 as heard
    if sounding_lowest < 0 or sounding_lowest + roll.n_pitches > 128:
        raise ValueError(f"moved back by {-roll.transposition:+d} semitones the roll's range "
                         f"leaves MIDI's 0..127")
    make_pitch = _spelling(roll.key)
    score = stream.Score()
    if title:
        score.insert(0, metadata.Metadata(title=title))
    split = int(np.clip(MIDDLE_C - sounding_lowest, 0, roll.n_pitches))
    staves = []
    for columns, lowest, staff_clef in (
            (slice(split, None), sounding_lowest + split, clef.TrebleClef()),
            (slice(0, split), sounding_lowest, clef.BassClef())):
        staff = _staff(roll.frames[:, columns], lowest, roll.steps_per_quarter, make_pitch,
                       stream.PartStaff)
        staff.insert(0, staff_clef)
        staff.insert(0, meter.TimeSignature(roll.time_signature))
        if roll.key:
            tonic, mode = keys.parse_key(roll.key)
            staff.insert(0, m21key.Key(keys.key_name(tonic, mode).split()[0], mode))
        staves.append(staff)
    staves[0].insert(0, tempo.MetronomeMark(number=roll.bpm, referent=1.0))
    for staff in staves:
        score.insert(0, staff)
    score.insert(0, layout.StaffGroup(staves, symbol="brace"))
    return score


def read(path: str | os.PathLike, steps_per_quarter: int = 2, normalize_key: bool = True,
         key_algorithm: str | None = None, trust_key: bool = False,
         reader: Literal["auto", "music21", "mido"] = "auto", **options) -> PianoRoll:
    """Read one piece from MIDI, MusicXML, ABC, Humdrum or any format music21 reads.

    MIDI files take the fast mido reader unless ``reader="music21"``. A file holding several
    pieces (an ABC collection, say) raises: read it with :class:`~rnnrbm_music.Corpus`.

    >>> from music21 import corpus
    >>> roll = read(corpus.getWork("bach/bwv66.6"))
    >>> roll.key, roll.time_signature, len(roll)
    ('F# minor', '4/4', 72)
    """
    pieces = read_pieces(path, steps_per_quarter, normalize_key, key_algorithm, trust_key,
                         reader, **options)
    if len(pieces) != 1:
        raise ReadError(path, f"holds {len(pieces)} pieces; read it with Corpus({str(path)!r})")
    return pieces[0]


def read_pieces(path: str | os.PathLike, steps_per_quarter: int = 2, normalize_key: bool = True,
                key_algorithm: str | None = None, trust_key: bool = False,
                reader: Literal["auto", "music21", "mido"] = "auto",
                **options) -> list[PianoRoll]:
    """Every piece in a file (an ABC or MusicXML file may hold an Opus of many), as PianoRolls.

    Any failure is raised as :class:`ReadError` naming the file and the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise ReadError(path, "no such file")
    settings = dict(steps_per_quarter=steps_per_quarter, normalize_key=normalize_key,
                    key_algorithm=key_algorithm, trust_key=trust_key, **options)
    is_midi = path.suffix.lower() in MIDI_SUFFIXES
    if is_midi or reader == "mido":
        from .midi_io import read_midi
        return [read_midi(path, parser="music21" if reader == "music21" else "mido", **settings)]
    from music21 import converter

    try:
        parsed = (converter.parse(path, quantizePost=False) if is_midi
                  else converter.parse(path))
    except Exception as error:  # music21 raises many kinds; all mean "cannot read this file"
        raise ReadError(path, f"music21 cannot parse it ({type(error).__name__}: {error})") from None
    scores = pieces_of(parsed)
    if not scores:
        raise ReadError(path, "the file holds no pieces")
    pieces = []
    for i, score in enumerate(scores):
        label = f"{path}#{i + 1}" if len(scores) > 1 else str(path)
        pieces.append(from_stream(score, source=label, **settings))
    return pieces


def pieces_of(stream) -> list:
    """The pieces of a stream: each Score (or other stream) of an Opus, or the stream itself."""
    from music21 import stream as m21stream

    if isinstance(stream, m21stream.Opus):
        return [el for el in stream.elements if isinstance(el, m21stream.Stream)]
    return [stream]


def write(music, path: str | os.PathLike, **plot_options) -> Path:
    """Write a PianoRoll or music21 Stream by the path's extension: ``.mid``/``.midi``,
    ``.musicxml``/``.xml``/``.mxl``, or ``.png`` (a piano-roll plot, PianoRolls only;
    ``plot_options`` go to :func:`~rnnrbm_music.plot.plot_roll`).

    >>> import tempfile, os
    >>> out = write(PianoRoll.from_benchmark([(60, 64, 67)] * 4), os.path.join(tempfile.mkdtemp(), "c.mid"))
    >>> out.stat().st_size > 0
    True
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        if not isinstance(music, PianoRoll):
            raise ValueError(f"{path}: a .png piano-roll plot needs a PianoRoll, not a Stream")
        from .plot import plot_roll
        return plot_roll(music, path, **plot_options)
    fmt = {".mid": "midi", ".midi": "midi", ".musicxml": "musicxml", ".xml": "musicxml",
           ".mxl": "mxl"}.get(suffix)
    if fmt is None:
        raise ValueError(f"{path}: unknown output kind {suffix!r}; use .mid, .musicxml or .png")
    score = to_stream(music) if isinstance(music, PianoRoll) else music
    path.parent.mkdir(parents=True, exist_ok=True)
    score.write(fmt, fp=str(path))
    return path

