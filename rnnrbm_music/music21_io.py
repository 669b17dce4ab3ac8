"""Music files and music21 Streams <-> :class:`PianoRoll`.

``from_stream`` (:mod:`rnnrbm_music.score_reading`) reads any Stream (Score, Part, a flat stream
of notes and chords, voices);
``to_stream`` writes a two-staff piano Score (treble and bass, split at middle C) that music21 can
``.show()``, ``.write('midi')`` and ``.write('musicxml')``. ``read`` and ``write`` handle files by
extension; MIDI files take the fast mido path of :mod:`rnnrbm_music.midi_io` by default.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal

import numpy as np

from .errors import ReadError
from .notation import to_stream
from .roll import PianoRoll
from .score_reading import from_stream

MIDI_SUFFIXES = (".mid", ".midi")
MUSIC21_SUFFIXES = (".mxl", ".musicxml", ".xml", ".abc", ".krn", ".mei", ".rntxt")
#: Reading options that only scores have (MIDI files hold no repeats or chord symbols).
SCORE_OPTIONS = ("expand_repeats", "realize_chord_symbols")
#: The further reading options ``read`` and ``read_pieces`` take (``**options``).
READING_OPTIONS = ("lowest", "n_pitches", "out_of_range", *SCORE_OPTIONS)


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
    check_reading(reader, options)
    if is_stream(path):
        raise TypeError(f"read() takes a file or music as text, not a music21 {type(path).__name__}:"
                        " use from_stream() for that")
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
        raise ReadError("the music given as text", f"music21 cannot parse it "
                        f"({type(error).__name__}: {one_line(error)})") from None


#: The parsers a MIDI file can be read with ("auto": mido's).
READERS = ("auto", "music21", "mido")


def check_reading(reader: str, options: dict, function: str = "read") -> None:
    """ValueError unless ``reader`` is one of :data:`READERS`; TypeError naming ``function``
    for an option not among :data:`READING_OPTIONS` (a misspelt keyword)."""
    if reader not in READERS:
        raise ValueError(f"reader={reader!r}: use one of {', '.join(map(repr, READERS))}")
    unknown = sorted(set(options) - set(READING_OPTIONS))
    if unknown:
        raise TypeError(f"{function}() got an unexpected keyword argument {unknown[0]!r}; its "
                        f"reading options are {', '.join(READING_OPTIONS)}")


def one_line(error: Exception) -> str:
    """An exception's message on one line (music21 quotes the text it choked on, newlines and
    all)."""
    return " ".join(str(error).split())


def is_stream(music) -> bool:
    """Whether ``music`` is a music21 Stream (a Score, Part, Opus...), without importing music21."""
    return type(music).__module__.startswith("music21") and hasattr(music, "recurse")


def read_pieces(path: str | os.PathLike, steps_per_quarter: int = 2, normalize_key: bool = True,
                key_algorithm: str | None = None, trust_key: bool = False,
                reader: Literal["auto", "music21", "mido"] = "auto",
                **options) -> list[PianoRoll]:
    """Every piece in a file (an ABC or MusicXML file may hold an Opus of many), as PianoRolls.

    Any failure is raised as :class:`ReadError` naming the file and the problem; an unknown
    ``reader`` as ValueError.
    """
    check_reading(reader, options, "read_pieces")
    path = Path(path).expanduser()
    if path.is_dir():
        raise ReadError(path, "a folder, not a music file (a folder of pieces is a corpus: "
                              "train on it, or read it with Corpus)")
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
        raise ReadError(path, f"music21 cannot parse it ({type(error).__name__}: {one_line(error)})") \
            from None
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
    score = to_stream(music, title=title) if isinstance(music, PianoRoll) else music
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
