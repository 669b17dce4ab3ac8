"""music21 Streams -> :class:`PianoRoll`: how a score sounds (repeats played out, transposing
instruments at sounding pitch, ties followed, percussion left out), its meters, pickup, tempos,
key signature, title and composer. The MIDI writer reads scores by the same rules
(:mod:`rnnrbm_music.midi_writer`); files are :mod:`rnnrbm_music.music21_io`'s.
"""

from __future__ import annotations

import copy
import warnings
from fractions import Fraction
from typing import Literal

import numpy as np

from . import keys
from .errors import ReadError
from .roll import PIANO_KEYS, PIANO_LOWEST, PianoRoll, meter_of_length, value_map


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
                out_of_range: Literal["error", "fold"] = "error", expand_repeats: bool = True,
                realize_chord_symbols: bool = False, source: str = "") -> PianoRoll:
    """Turn a music21 Stream into a :class:`PianoRoll`; the stream itself is never modified.

    The music is read as it sounds and as it is performed:

    - transposing instruments (a B-flat clarinet, a horn in F) at sounding pitch;
    - repeats and first/second endings played out (music21's ``expandRepeats``) unless
      ``expand_repeats=False`` (then as written); a score whose repeats music21 cannot expand is
      read as written, with a warning;
    - chord symbols (lead-sheet harmonies) are not sounding notes and are left out, unless
      ``realize_chord_symbols`` (then each sounds, as music21 realizes it, until the next one);
    - grace notes, unpitched and percussion parts left out;
    - all other pitched parts merged into one roll (chords, ties, voices, overlapping notes).

    Times are rounded to the nearest frame; a note shorter than a frame still gets one. A note
    outside the pitch range raises :class:`~rnnrbm_music.roll.RangeError` naming it
    (``out_of_range="fold"`` moves it by octaves instead). The roll lasts as long as the score,
    rests at its end included, and keeps the score's pickup
    (the frames of an incomplete first bar), its time signatures and its tempo marks with the
    frames where they change (120 bpm until the first mark). The key is found by music21's key
    analysis ``key_algorithm`` (default ``'key'``; see :mod:`rnnrbm_music.keys`), or taken from
    the stream's own ``Key`` when ``trust_key`` is set and it has one; with ``normalize_key`` the
    roll is moved to C major / C minor and the interval recorded in ``transposition``.

    Raises :class:`ReadError` (naming ``source``) when nothing pitched is left to read.

    >>> from music21 import converter
    >>> s = converter.parse("tinyNotation: 3/4 d4 f#8 a8 d'4")
    >>> roll = from_stream(s)
    >>> roll.key, roll.transposition, roll.time_signature
    ('D major', -2, '3/4')
    >>> roll.notes()[:3]             # (onset, duration, pitch) in eighth-note frames, now in C
    [(0, 2, 60), (2, 1, 64), (3, 1, 67)]
    """
    label = str(source or getattr(stream, "filePath", None) or repr(stream))
    credits = {"title": title_of(stream), "composer": _composer_of(stream)}   # before copying
    stream = _as_performed(stream, expand_repeats, label)
    parts = list(stream.parts) if hasattr(stream, "parts") and len(stream.parts) else [stream]
    pitched = [p for p in parts if not _is_percussion(p)]
    notes = [n for part in pitched for n in _sounding_notes(part, realize_chord_symbols)]
    if not notes:
        what = "only percussion" if parts and not pitched else "no pitched notes"
        raise ReadError(label, f"the score has {what}: nothing to turn into a piano roll")

    def frame(offset) -> int:
        return int(np.floor(float(offset) * steps_per_quarter + 0.5))

    roll = PianoRoll.from_notes(notes, steps_per_quarter=steps_per_quarter, lowest=lowest,
                                n_pitches=n_pitches, out_of_range=out_of_range, source=label,
                                n_frames=frame(stream.highestTime))   # trailing rests count
    signature, signature_changes = value_map(
        [(frame(offset), meter) for offset, meter in meters(parts[0])], "4/4", len(roll))
    bpm, tempo_changes = value_map(
        [(frame(offset), float(mark.getQuarterBPM()))
         for offset, mark in _timed(stream, "MetronomeMark") if mark.getQuarterBPM()],
        120.0, len(roll))
    try:
        roll = roll.replace(time_signature=signature, time_signature_changes=signature_changes,
                            bpm=bpm, tempo_changes=tempo_changes,
                            pickup=frame(pickup_quarters(parts[0])))
    except ValueError as error:   # a meter whose bar is no whole number of frames
        raise ReadError(label, str(error)) from None
    explicit = (keys.trusted(written_key(stream, roll.pitch_class_histogram()), label)
                if trust_key else None)
    roll = roll.replace(**credits)
    return keys.apply_key(roll, normalize_key, key_algorithm, explicit)


def title_of(stream) -> str | None:
    """The piece's name in a stream's metadata (its title, else its movement name, without
    the file extension music21 puts there for corpus files), or None.

    >>> from music21 import corpus
    >>> title_of(corpus.parse("bach/bwv66.6"))
    'bwv66.6'
    """
    metadata = _metadata_of(stream)
    if metadata is None:
        return None
    name = metadata.title or metadata.movementName
    if not name:
        return None
    name = str(name)
    if name == "Music21 Fragment":   # music21's placeholder for a score without a title
        return None
    stem, dot, extension = name.rpartition(".")
    return stem if dot and extension.lower() in ("mxl", "xml", "musicxml", "krn", "abc",
                                                 "mid", "midi") else name


def _metadata_of(stream):
    """A stream's metadata, or that of the stream it was taken from (``score.measures(0, 4)``
    has none of its own) or belongs to (``score.parts[0]``)."""
    metadata = getattr(stream, "metadata", None)
    if metadata is not None:
        return metadata
    origin = getattr(getattr(stream, "derivation", None), "origin", None)
    if origin is not None:
        return _metadata_of(origin)
    owners = [site for site in stream.sites.get() if site is not None and
              type(site).__name__ in ("Score", "Opus")] if hasattr(stream, "sites") else []
    return next((owner.metadata for owner in owners if owner.metadata is not None), None)


def _composer_of(stream) -> str | None:
    """The composer a stream's metadata names; None for none, or for the "Music21" that
    music21 credits a score written without one."""
    metadata = _metadata_of(stream)
    composer = metadata.composer if metadata is not None else None
    return str(composer) if composer and composer != "Music21" else None


def written_key(stream, histogram) -> str | None:
    """The key a stream's first key signature names: a ``Key`` with its mode, or a bare
    ``KeySignature`` read as its major key or the relative minor, whichever the pitch-class
    ``histogram`` fits (:func:`~rnnrbm_music.keys.key_of_signature`); None without one."""
    from music21 import key as m21key

    signature = _first(stream, m21key.KeySignature)
    if signature is None or signature.sharps is None:
        return None
    if isinstance(signature, m21key.Key) and signature.mode in ("major", "minor"):
        return keys.key_name(signature.tonic.pitchClass, signature.mode)
    return keys.key_of_signature(signature.sharps, histogram)


def _as_performed(stream, expand_repeats: bool, label: str):
    """The stream at sounding pitch with its repeats played out (a copy when either applies)."""
    from music21 import bar, repeat, spanner

    parts = [stream, *getattr(stream, "parts", [])]
    transposing = any(inst.transposition is not None and inst.transposition.semitones
                      for inst in stream.recurse().getElementsByClass("Instrument"))
    if transposing and any(p.atSoundingPitch is not True for p in parts):
        stream = stream.toSoundingPitch(inPlace=False)
    repeats = (stream.recurse().getElementsByClass((bar.Repeat, repeat.RepeatExpression)).first()
               or stream.recurse().getElementsByClass(spanner.RepeatBracket).first())
    if expand_repeats and repeats is not None:
        try:
            stream = stream.expandRepeats()
        except Exception as error:  # music21 raises ExpanderException and others on odd repeats
            warnings.warn(f"{label}: repeats read as written (music21 cannot expand them: "
                          f"{error})", stacklevel=3)
    return stream


def _sounding_notes(part, realize_chord_symbols: bool) -> list[tuple[float, float, int]]:
    """``(start, end, midi)`` in quarter notes of every sounding note of one part."""
    from music21 import harmony

    flat = part.flatten()
    if realize_chord_symbols:
        flat = copy.deepcopy(flat)   # realizing sets durations: leave the caller's stream alone
        harmony.realizeChordSymbolDurations(flat)
    return [(float(start), float(end), midi)
            for start, end, midi in tied_notes(flat, skip_chord_symbols=not realize_chord_symbols)]


def tied_notes(stream, skip_chord_symbols: bool = True) -> list[tuple[Fraction, Fraction, int]]:
    """The notes of a stream as they sound: ``(start, end, midi)`` in quarter notes, each note
    tied over bar lines or within a voice merged into one, sorted by start.

    Ties are followed note by note (chord members too) and by pitch, across voices and
    measures: a tie that stops or continues extends the note of that pitch which sounds until
    exactly its start. (music21's ``stripTies`` pairs tied notes only where they stand next to
    each other in the flattened stream, so a tie across a bar line in a staff with several
    voices is lost; music21 issue #1134.) Grace notes and unpitched notes are left out, and so
    are chord symbols unless ``skip_chord_symbols=False``.

    >>> from music21 import converter
    >>> [(float(start), float(end), midi) for start, end, midi in
    ...  tied_notes(converter.parse("tinyNotation: 2/4 c2~ c4 e4~ e4 e4"))]
    [(0.0, 3.0, 60), (3.0, 5.0, 64), (5.0, 6.0, 64)]
    """
    from music21 import chord, harmony, note

    found: list[list] = []
    sounding_tie: dict[int, int] = {}   # midi -> index in found of the note its tie goes on from
    for element in stream.flatten().notes:
        if isinstance(element, note.Unpitched) or element.duration.isGrace:
            continue
        if skip_chord_symbols and isinstance(element, harmony.ChordSymbol):
            continue
        start = Fraction(element.offset)
        end = start + Fraction(element.quarterLength)
        members = element.notes if isinstance(element, chord.Chord) else [element]
        for member in members:
            midi = member.pitch.midi
            kind = member.tie.type if member.tie is not None else None
            index = sounding_tie.get(midi)
            # A tie goes on into the next note of its pitch that starts where it ends, whatever
            # that note says (music21 drops the stop of a tie into a second ending).
            if index is not None and found[index][1] == start:
                found[index][1] = end
            else:
                found.append([start, end, midi])
                index = len(found) - 1
            if kind in ("start", "continue"):
                sounding_tie[midi] = index
            else:
                sounding_tie.pop(midi, None)
    return sorted(tuple(n) for n in found)


def _timed(stream, class_name: str) -> list[tuple[Fraction, object]]:
    """``(offset in quarters, element)`` of each ``class_name`` element, in time order."""
    elements = stream.flatten().getElementsByClass(class_name)
    return sorted(((Fraction(el.offset), el) for el in elements), key=lambda pair: pair[0])


def meters(part) -> list[tuple[Fraction, str]]:
    """``(offset in quarters, time signature)`` where the meter of a part changes. A bar of
    irregular length inside a piece in measures (a bar cut short before a repeat, say) counts as
    a meter of its own length (5/8 for two and a half quarters) for that bar, so that the bar
    lines after it stay where the score puts them; two short bars in a row that make one whole
    bar (the bar before a repeat sign and the pickup after it, once the repeat is played out)
    are one bar. The first bar (a pickup) and the last are left to the roll's ``pickup`` and
    end.
    """
    bars = list(part.getElementsByClass("Measure"))
    if not bars:
        return [(offset, ts.ratioString) for offset, ts in _timed(part, "TimeSignature")]
    lengths = [Fraction(bar.duration.quarterLength) for bar in bars]
    full = [Fraction(bar.barDuration.quarterLength) for bar in bars]
    # Two short bars that make one whole (the bar before a repeat sign and the pickup after it,
    # once the repeat is played out) are one bar of the meter.
    whole = set()
    for i in range(1, len(bars) - 1):
        if i - 1 not in whole and lengths[i] < full[i] and lengths[i] + lengths[i + 1] == full[i]:
            whole |= {i, i + 1}
    found, meter, irregular = [], "4/4", False
    for i, bar in enumerate(bars):
        if bar.timeSignature is not None:
            meter = bar.timeSignature.ratioString
        own = (meter_of_length(lengths[i], meter)
               if 0 < i < len(bars) - 1 and lengths[i] != full[i] and i not in whole else None)
        if own is not None:
            found.append((Fraction(bar.offset), own))
        elif irregular or bar.timeSignature is not None:
            found.append((Fraction(bar.offset), meter))
        irregular = own is not None
    return found


def pickup_quarters(part) -> Fraction:
    """Quarter notes of an incomplete first bar (an anacrusis) of a part in measures, 0 if the
    music starts on a downbeat (or is not in measures)."""
    measure = part.getElementsByClass("Measure").first()
    if measure is None:
        return Fraction(0)
    length = Fraction(measure.duration.quarterLength)
    return length if 0 < length < Fraction(measure.barDuration.quarterLength) else Fraction(0)
