"""music21 Streams and files <-> :class:`PianoRoll`.

``from_stream`` reads any Stream (Score, Part, a flat stream of notes and chords, voices);
``to_stream`` writes a two-staff piano Score (treble and bass, split at middle C) that music21 can
``.show()``, ``.write('midi')`` and ``.write('musicxml')``. ``read`` and ``write`` handle files by
extension; MIDI files take the fast mido path of :mod:`rnnrbm_music.midi_io` by default.
"""

from __future__ import annotations

import copy
import os
import tempfile
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np

from . import keys
from .errors import ReadError
from .notation import to_stream
from .roll import PIANO_KEYS, PIANO_LOWEST, PianoRoll, meter_of_length, value_map

MIDI_SUFFIXES = (".mid", ".midi")
MUSIC21_SUFFIXES = (".mxl", ".musicxml", ".xml", ".abc", ".krn", ".mei", ".rntxt")
#: Reading options that only scores have (MIDI files hold no repeats or chord symbols).
SCORE_OPTIONS = ("expand_repeats", "realize_chord_symbols")


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
    explicit = written_key(stream, roll.pitch_class_histogram()) if trust_key else None
    roll = roll.replace(title=title_of(stream), composer=_composer_of(stream))
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
    stem, dot, extension = name.rpartition(".")
    return stem if dot and extension.lower() in ("mxl", "xml", "musicxml", "krn", "abc",
                                                 "mid", "midi") else name


def _metadata_of(stream):
    """A stream's metadata, or that of the stream it was taken from (``score.measures(0, 4)``
    has none of its own)."""
    metadata = getattr(stream, "metadata", None)
    origin = getattr(getattr(stream, "derivation", None), "origin", None)
    return metadata if metadata is not None or origin is None else _metadata_of(origin)


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


def read(path: str | os.PathLike, steps_per_quarter: int = 2, normalize_key: bool = True,
         key_algorithm: str | None = None, trust_key: bool = False,
         reader: Literal["auto", "music21", "mido"] = "auto", **options) -> PianoRoll:
    """Read one piece from MIDI, MusicXML, ABC, Humdrum or any format music21 reads.

    MIDI files are parsed by mido unless ``reader="music21"`` (music21's MIDI parser; see
    :mod:`rnnrbm_music.midi_io`); scores go through music21 and :func:`from_stream`, whose
    ``expand_repeats`` and ``realize_chord_symbols`` options ``options`` may set (with
    ``lowest``, ``n_pitches`` and ``out_of_range``). A file holding several pieces (an ABC
    collection, say) raises: read it with :class:`~rnnrbm_music.Corpus`. A ``~`` in the path
    is the home folder; a string that is music rather than a path, as music21's converter takes
    it (``"tinyNotation: 3/4 c4 d e"``, ABC text), is parsed as such (:func:`parse_text`).

    >>> from music21 import corpus
    >>> roll = read(corpus.getWork("bach/bwv66.6"))
    >>> roll.key, roll.time_signature, len(roll)
    ('F# minor', '4/4', 72)
    >>> read("tinyNotation: 3/4 c4 d e f2.", normalize_key=False).notes()[:2]
    [(0, 2, 60), (2, 2, 62)]
    """
    if isinstance(path, str) and is_music_text(path):
        return from_stream(parse_text(path), steps_per_quarter, normalize_key, key_algorithm,
                           trust_key, source="the music given as text", **options)
    pieces = read_pieces(path, steps_per_quarter, normalize_key, key_algorithm, trust_key,
                         reader, **options)
    if len(pieces) != 1:
        raise ReadError(path, f"holds {len(pieces)} pieces; read it with Corpus({str(path)!r})")
    return pieces[0]


#: How strings that are music, not paths, begin (music21's converter formats).
MUSIC_TEXT_PREFIXES = ("tinynotation:", "abc:", "humdrum:", "**kern", "x:", "<?xml", "<score")


def is_music_text(text: str) -> bool:
    """Whether ``text`` is music written out (tinyNotation, ABC, Humdrum, MusicXML) rather
    than a path: it starts as those formats do, or spans several lines.

    >>> is_music_text("tinyNotation: 4/4 c4 d e f"), is_music_text("~/music/tune.mid")
    (True, False)
    """
    start = text.lstrip().lower()
    return start.startswith(MUSIC_TEXT_PREFIXES) or "\n" in text.strip()


def parse_text(text: str):
    """A music21 stream of music written as text (see :func:`is_music_text`), by music21's
    converter; ReadError if it cannot. Nothing reaches the network: a URL is refused."""
    from music21 import converter

    if "://" in text.split("\n", 1)[0]:
        raise ReadError("the music given as text", "a URL: download the file and give its path")
    try:
        return converter.parse(text)
    except Exception as error:  # music21 raises many kinds; all mean "cannot read this"
        raise ReadError("the music given as text",
                        f"music21 cannot parse it ({type(error).__name__}: {error})") from None


def read_pieces(path: str | os.PathLike, steps_per_quarter: int = 2, normalize_key: bool = True,
                key_algorithm: str | None = None, trust_key: bool = False,
                reader: Literal["auto", "music21", "mido"] = "auto",
                **options) -> list[PianoRoll]:
    """Every piece in a file (an ABC or MusicXML file may hold an Opus of many), as PianoRolls.

    Any failure is raised as :class:`ReadError` naming the file and the problem.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise ReadError(path, f"is a folder: read a folder with Corpus({str(path)!r})")
    if not path.is_file():
        raise ReadError(path, "no such file")
    settings = dict(steps_per_quarter=steps_per_quarter, normalize_key=normalize_key,
                    key_algorithm=key_algorithm, trust_key=trust_key, **options)
    if path.suffix.lower() in MIDI_SUFFIXES:
        from .midi_io import read_midi
        for score_only in SCORE_OPTIONS:
            settings.pop(score_only, None)
        roll = read_midi(path, parser="music21" if reader == "music21" else "mido", **settings)
        return [roll if roll.title else roll.replace(title=path.stem)]
    from music21 import converter

    try:
        parsed = converter.parse(path)
    except Exception as error:  # music21 raises many kinds; all mean "cannot read this file"
        raise ReadError(path, f"music21 cannot parse it ({type(error).__name__}: {error})") from None
    scores = pieces_of(parsed)
    if not scores:
        raise ReadError(path, "the file holds no pieces")
    pieces = []
    for i, score in enumerate(scores):
        label = f"{path}#{i + 1}" if len(scores) > 1 else str(path)
        piece = from_stream(score, source=label, **settings)
        untitled = path.stem if len(scores) == 1 else f"{path.stem} #{i + 1}"
        pieces.append(piece if piece.title else piece.replace(title=untitled))
    return pieces


def pieces_of(stream) -> list:
    """The pieces of a stream: each Score (or other stream) of an Opus, or the stream itself."""
    from music21 import stream as m21stream

    if isinstance(stream, m21stream.Opus):
        return [el for el in stream.elements if isinstance(el, m21stream.Stream)]
    return [stream]


#: Output formats by file extension (and .png: a piano-roll picture).
OUTPUT_FORMATS = {".mid": "midi", ".midi": "midi", ".musicxml": "musicxml", ".xml": "musicxml",
                  ".mxl": "mxl"}


def write(music, path: str | os.PathLike, title: str | None = None, **plot_options) -> Path:
    """Write a PianoRoll or music21 Stream by the path's extension: ``.mid``/``.midi``,
    ``.musicxml``/``.xml``/``.mxl``, or ``.png`` (a piano-roll plot, PianoRolls only;
    ``plot_options`` go to :func:`~rnnrbm_music.plot.plot_roll`).

    MIDI files are written with :func:`~rnnrbm_music.midi_writer.write_midi`, from a roll's notes
    or a Stream's tied notes: each note struck once, with tempo, meter and key events. Scores of a
    roll come from :func:`to_stream`; MusicXML of a Stream is music21's. ``title`` names the
    piece in the file (default: the roll's ``title``). A ``~`` in the path is the home folder.
    Raises ValueError for an unknown extension.

    >>> import tempfile, os
    >>> out = write(PianoRoll.from_benchmark([(60, 64, 67)] * 4), os.path.join(tempfile.mkdtemp(), "c.mid"))
    >>> out.stat().st_size > 0
    True
    """
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if isinstance(music, PianoRoll):
        title = title or music.title
    if suffix == ".png":
        if not isinstance(music, PianoRoll):
            raise ValueError(f"{path}: a .png piano-roll plot needs a PianoRoll, not a Stream")
        from .plot import plot_roll
        return plot_roll(music, path, title=title, **plot_options)
    fmt = OUTPUT_FORMATS.get(suffix)
    if fmt is None:
        raise ValueError(f"{path}: unknown output kind {suffix!r}; use .mid, .musicxml or .png")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "midi":
        from .midi_writer import write_midi
        return write_midi(music, path, title=title)
    score = to_stream(music, title=title, composer=music.composer) \
        if isinstance(music, PianoRoll) else music
    # music21 writes an .mxl through a .musicxml of the same name beside it and deletes that
    # file after: write in a folder of our own, so a .musicxml asked for too survives.
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        written = Path(scratch) / path.name
        score.write(fmt, fp=str(written))
        os.replace(written, path)
    return path



def write_all(roll: PianoRoll, paths, accent: np.ndarray | None = None,
              labels: tuple[str, str] = ("primer", "continuation")) -> list[Path]:
    """Write one roll to every path, each by its extension (:func:`write`); ``accent`` and
    ``labels`` colour a piano-roll picture's primer or melody. Returns the paths written."""
    return [write(roll, path, accent=accent, labels=labels) for path in paths]
