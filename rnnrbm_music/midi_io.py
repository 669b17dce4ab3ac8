"""Standard MIDI File -> :class:`PianoRoll`: two byte-level parsers, one event logic.

The bytes are parsed by mido (``parser="mido"``, the default: the corpus reader, fast) or by
music21's low-level ``music21.midi.MidiFile`` (``parser="music21"``; not music21's
MIDI-to-stream translation, which drops notes never switched off and zero-length notes). Each
parser only turns its tracks into plain event lists; one function, :func:`_roll_from_tracks`,
turns those into notes, tempo map, meters and key, so both parsers give the same roll.

The rules, in MIDI's units (ticks) and the roll's (quarter notes, frames):

* Ticks become quarter notes with the header's ticks per quarter, so frames count beats whatever
  the tempo. A header with SMPTE time division (ticks per second: frames per second x ticks per
  frame; 29 fps means 29.97) is read as seconds and turned into quarter notes at 120 bpm; such a
  roll is at 120 bpm and the file's tempo events are ignored (they do not time SMPTE files).
* Notes pair note_on with note_off (a note_on of velocity 0 is a note_off) first in, first out
  per track, channel and pitch, so overlapping notes of one pitch each end; a note_off with
  nothing sounding is ignored; a zero-length note is kept (it gets one frame). A note never
  switched off ends at the end of its track (the tick of the track's last event, normally its
  end_of_track). Channel 10 (General MIDI percussion) is left out.
* Tempo, time-signature and key-signature events are read from every track. ``bpm`` is the
  tempo at tick 0 (MIDI's default 120 until the first tempo event) and ``time_signature`` the
  meter there (default 4/4); later ones become ``tempo_changes`` / ``time_signature_changes``
  at frame ``round(tick / ticks_per_quarter * steps_per_quarter)`` (halves up): of several at one
  frame the last wins, one equal to the value in force is dropped, and so is one at or after
  the roll's last frame. The first valid key signature is the file's explicit key
  (used with ``trust_key``).
* The title is the sequence name: the first track name in the first track (the only track of a
  type-0 file), as the Standard MIDI File specification defines it; a name that is blank or a
  placeholder ("Track 1", "Tempo Track", "Conductor", "Untitled", a number) is no title, and
  neither is a later name. See :func:`sequence_name` for how its bytes are read.
* Impossible values (a tempo of 0 microseconds per quarter, a time signature such as 0/4 or
  2/2^33, a key signature outside -7..7 sharps or with a mode other than 0 or 1) are ignored,
  with one warning naming the file and the values.
* Damaged files: mido rejects some files music21's parser reads (an impossible key signature:
  ``KeySignatureError``; a track chunk declaring more bytes than the file holds: ``EOFError``);
  the mido path then reads that file with music21's parser. A chunk cut short is read as far as
  it goes, with a warning. mido's other refusals (an undefined status byte, running status with
  no status before it, a data byte above 127) are not retried: music21's parser reads on past
  them by guessing, and after an undefined status byte its clock is wrong. Whatever cannot be
  read raises :class:`ReadError` naming the file and the problem in one line: not a MIDI file,
  MIDI type 2, a damaged chunk, no pitched notes, only percussion.
"""

from __future__ import annotations

import io
import os
import re
import unicodedata
import warnings
from collections import deque
from pathlib import Path

import mido

from . import keys
from .errors import ReadError
from .roll import PIANO_KEYS, PIANO_LOWEST, PianoRoll, bar_frames, parse_time_signature, value_map

#: MIDI channel 10, General MIDI percussion, counted from 0.
PERCUSSION_CHANNEL = 9
#: MIDI's tempo until the first tempo event: 500,000 microseconds per quarter note (120 bpm).
DEFAULT_BPM = 120.0
#: The tempo at which a SMPTE-timed file (seconds) is turned into quarter notes.
SMPTE_BPM = 120.0
PARSERS = ("mido", "music21")
#: The ticks per SMPTE frame music21's parser accepts (it takes that byte for the frame rate).
_MUSIC21_SMPTE_TICKS = (24, 25, 29, 30)
_SMPTE_UNSUPPORTED = ("SMPTE timing ({} fps x {} ticks per frame) is not supported by music21's "
                      "MIDI parser (it reads SMPTE only with 24, 25, 29 or 30 ticks per frame); "
                      "read it with parser='mido'")

# Kinds of the events the parsers hand to _roll_from_tracks. Each event is a tuple
# (tick, kind, channel, a, b): tick counted from the track's start; channel 0..15 (-1 for meta
# events); NOTE_ON / NOTE_OFF: a = pitch, b = velocity; TEMPO: a = microseconds per quarter
# note; TIME_SIGNATURE: a = numerator, b = denominator; KEY_SIGNATURE: a = sharps (negative:
# flats), b = mode (0 major, 1 minor); TRACK_NAME: a = the name's bytes. A value the bytes do
# not give (a meta event with too few data bytes) is None.
NOTE_ON, NOTE_OFF, TEMPO, TIME_SIGNATURE, KEY_SIGNATURE, TRACK_NAME = range(6)
#: The words of the names DAWs and notation programs give an unnamed track ("Track 1", "Tempo
#: Map", "Conductor Track", "Untitled score", "MIDI 01"): a name of these words, digits and
#: punctuation alone names no piece.
PLACEHOLDER_WORDS = frozenset({
    "untitled", "unnamed", "new", "master", "control", "conductor", "conduct", "tempo", "map",
    "midi", "track", "sequence", "seq", "instrument", "inst", "score", "song"})
#: What this package wrote as the sequence name of an untitled piece until it read titles
#: from MIDI: no title either.
_OWN_PLACEHOLDER = "rnnrbm-music"

# Key-signature names as mido decodes them, by number of sharps (-7..7): major, then minor.
_MAJOR_NAMES = ("Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#")
_MINOR_NAMES = ("Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#")
_MIDO_KEYS = {**{name: (sharps - 7, 0) for sharps, name in enumerate(_MAJOR_NAMES)},
              **{name + "m": (sharps - 7, 1) for sharps, name in enumerate(_MINOR_NAMES)}}


def read_midi(path: str | os.PathLike, steps_per_quarter: int = 2, normalize_key: bool = True,
              key_algorithm: str | None = None, trust_key: bool = False,
              lowest: int = PIANO_LOWEST, n_pitches: int = PIANO_KEYS,
              out_of_range: str = "error", parser: str = "mido") -> PianoRoll:
    """Read a Standard MIDI File (type 0 or 1) into a :class:`PianoRoll`, by the rules of this
    module's docstring; the other arguments are those of :func:`rnnrbm_music.read`.

    ``parser`` picks the byte-level parser: ``"mido"`` (default; falls back to music21's parser
    for a file mido rejects) or ``"music21"``. They differ in one thing: music21's parser reads
    SMPTE time division only with 24, 25, 29 or 30 ticks per frame (it mistakes that byte for
    the frame rate), and raises :class:`ReadError` saying SMPTE timing is not supported for the
    others, which mido's reads.

    Raises :class:`ReadError` (one line: the path, then the problem) for a file that is not
    MIDI, damaged beyond reading, of type 2, or without pitched notes (only percussion, say);
    :class:`~rnnrbm_music.roll.RangeError` for a note outside the pitch range (with
    ``out_of_range="error"``); ValueError for an unknown ``parser``.

    >>> roll = read_midi("../shared/data/nottingham_midi/ashover1.mid")
    >>> roll.time_signature, roll.bpm, roll.key
    ('3/4', 120.0, 'G major')
    """
    if parser not in PARSERS:
        raise ValueError(f"parser must be one of {', '.join(map(repr, PARSERS))}, got {parser!r}")
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ReadError(path, f"cannot open it ({type(error).__name__}: {error.strerror or error})") from None
    midi_type, division, damage = _check_chunks(path, data)
    if midi_type == 2:
        raise ReadError(path, "MIDI type 2 (independent sequences) is not supported: "
                              "only types 0 and 1 are")
    smpte = bool(division & 0x8000)
    if smpte:
        frames_per_second, ticks_per_frame = 256 - (division >> 8), division & 0xFF
        ticks_per_quarter = ((30000 / 1001 if frames_per_second == 29 else frames_per_second)
                             * ticks_per_frame * 60 / SMPTE_BPM)
        if not ticks_per_quarter:
            raise ReadError(path, f"its SMPTE time division gives 0 ticks per second "
                                  f"({frames_per_second} fps x {ticks_per_frame} ticks per frame)")
        music21_can = ticks_per_frame in _MUSIC21_SMPTE_TICKS
        if parser == "music21" and not music21_can:
            raise ReadError(path, _SMPTE_UNSUPPORTED.format(frames_per_second, ticks_per_frame))
    else:
        ticks_per_quarter, music21_can = division, True
        if not ticks_per_quarter:
            raise ReadError(path, "its header gives 0 ticks per quarter note")
    if parser == "music21":
        try:
            tracks = _music21_tracks(data)
        except Exception as error:  # MidiException, IndexError, ValueError...
            raise ReadError(path, _unreadable(damage, ("music21", error))) from None
    else:
        try:
            tracks = _mido_tracks(data)
        except (mido.KeySignatureError, EOFError) as error:
            # Impossible key data, a chunk cut short: music21's parser reads the rest of the file.
            if not music21_can:
                raise ReadError(path, _unreadable(damage, ("mido", error))) from None
            try:
                tracks = _music21_tracks(data)
            except Exception as second:
                raise ReadError(path, _unreadable(damage, ("mido", error), ("music21", second))) from None
        except Exception as error:  # OSError (undefined status byte...), ValueError...
            raise ReadError(path, _unreadable(damage, ("mido", error))) from None
    return _roll_from_tracks(path, tracks, ticks_per_quarter, smpte, damage,
                             steps_per_quarter=steps_per_quarter, normalize_key=normalize_key,
                             key_algorithm=key_algorithm, trust_key=trust_key, lowest=lowest,
                             n_pitches=n_pitches, out_of_range=out_of_range)


# --- the bytes: header and chunks -----------------------------------------------------------------
def _check_chunks(path: Path, data: bytes) -> tuple[int, int, list[str]]:
    """The header's (MIDI type, time division) and the damage found walking the track chunks
    (each a short phrase, e.g. "track chunk 1 declares 40 bytes more than the file holds").
    Raises ReadError when there is no complete MThd header."""
    if data[:4] != b"MThd":
        raise ReadError(path, f"not a readable MIDI file: it starts with {data[:4]!r}, not with "
                              "the b'MThd' of a MIDI header")
    if len(data) < 14:
        raise ReadError(path, f"not a readable MIDI file: the header is cut short "
                              f"({len(data)} of 14 bytes)")
    header_length = int.from_bytes(data[4:8], "big")
    midi_type = int.from_bytes(data[8:10], "big")
    n_tracks = int.from_bytes(data[10:12], "big")
    division = int.from_bytes(data[12:14], "big")
    damage = []
    position = 8 + header_length
    for number in range(1, n_tracks + 1):
        if position + 8 > len(data):
            damage.append(f"the header announces {n_tracks} track(s) but the file holds "
                          f"{number - 1}")
            break
        if data[position:position + 4] != b"MTrk":
            damage.append(f"chunk {number} after the header is {data[position:position + 4]!r}, not a "
                          "track (b'MTrk')")
            break
        declared = int.from_bytes(data[position + 4:position + 8], "big")
        excess = position + 8 + declared - len(data)
        if excess > 0:
            damage.append(f"track chunk {number} declares {excess} bytes more than the file holds")
            break
        position += 8 + declared
    return midi_type, division, damage


def _unreadable(damage: list[str], *failures: tuple[str, Exception]) -> str:
    """One line saying why the file cannot be read: the damage found in its chunks, else each
    parser's error."""
    if damage:
        return f"not a readable MIDI file: {damage[0]}"
    said = []
    for parser, error in failures:
        text = str(error) or ("the data end in the middle of an event"
                              if isinstance(error, EOFError) else "no reason given")
        said.append(f"{parser}: {type(error).__name__}: {text}")
    return "not a readable MIDI file (" + " ".join("; ".join(said).split()) + ")"


# --- the two parsers: bytes -> per-track event lists --------------------------------------------
def _mido_tracks(data: bytes) -> list[tuple[list[tuple], int]]:
    """(events, end tick) of each track, parsed by mido."""
    tracks = []
    for track in mido.MidiFile(file=io.BytesIO(data)).tracks:
        events: list[tuple] = []
        append = events.append
        tick = 0
        for message in track:
            tick += message.time
            kind = message.type
            if kind == "note_on":
                append((tick, NOTE_ON, message.channel, message.note, message.velocity))
            elif kind == "note_off":
                append((tick, NOTE_OFF, message.channel, message.note, message.velocity))
            elif kind == "set_tempo":
                append((tick, TEMPO, -1, message.tempo, None))
            elif kind == "time_signature":
                append((tick, TIME_SIGNATURE, -1, message.numerator, message.denominator))
            elif kind == "key_signature":
                append((tick, KEY_SIGNATURE, -1, *_MIDO_KEYS[message.key]))
            elif kind == "track_name":   # mido decodes text as Latin-1: its bytes again
                append((tick, TRACK_NAME, -1, message.name.encode("latin-1"), None))
        tracks.append((events, tick))
    return tracks


def _music21_tracks(data: bytes) -> list[tuple[list[tuple], int]]:
    """(events, end tick) of each track, parsed by music21's low-level MIDI parser."""
    from music21 import midi

    note_on, note_off = midi.ChannelVoiceMessages.NOTE_ON, midi.ChannelVoiceMessages.NOTE_OFF
    tempo, meter, key, name = (midi.MetaEvents.SET_TEMPO, midi.MetaEvents.TIME_SIGNATURE,
                               midi.MetaEvents.KEY_SIGNATURE, midi.MetaEvents.SEQUENCE_TRACK_NAME)
    midi_file = midi.MidiFile()
    midi_file.readstr(data)
    tracks = []
    for track in midi_file.tracks:
        events: list[tuple] = []
        append = events.append
        tick = 0
        # music21 keeps (DeltaTime, MidiEvent) pairs; channels count from 1, meta data is bytes.
        for delta, event in zip(track.events[::2], track.events[1::2]):
            tick += delta.time
            kind = event.type
            if kind is note_on:
                append((tick, NOTE_ON, event.channel - 1, event.pitch, event.velocity))
            elif kind is note_off:
                append((tick, NOTE_OFF, event.channel - 1, event.pitch, event.velocity))
            elif kind is tempo:
                value = event.data
                append((tick, TEMPO, -1, int.from_bytes(value, "big") if len(value) == 3 else None,
                        None))
            elif kind is meter:
                value = event.data
                append((tick, TIME_SIGNATURE, -1, *((value[0], 2 ** value[1]) if len(value) >= 2
                                                    else (None, None))))
            elif kind is key:
                value = event.data
                append((tick, KEY_SIGNATURE, -1, *((value[0] - 256 * (value[0] > 127), value[1])
                                                   if len(value) >= 2 else (None, None))))
            elif kind is name:
                append((tick, TRACK_NAME, -1, bytes(event.data), None))
        tracks.append((events, tick))
    return tracks


# --- the one event logic: event lists -> PianoRoll -----------------------------------------------
def _roll_from_tracks(path: Path, tracks: list[tuple[list[tuple], int]],
                      ticks_per_quarter: float, smpte: bool, damage: list[str],
                      steps_per_quarter: int, normalize_key: bool, key_algorithm: str | None,
                      trust_key: bool, lowest: int, n_pitches: int, out_of_range: str) -> PianoRoll:
    """Notes, tempo map, meters and key from the parsers' event lists (see the module docstring)."""
    notes, metas, percussion = _notes_and_metas(tracks)
    if not notes:
        raise ReadError(path, "it holds only percussion (channel 10): no pitched notes to turn into "
                              "a piano roll" if percussion else
                              "it holds no notes: nothing to turn into a piano roll")

    def frame(tick: int) -> int:
        return int(tick / ticks_per_quarter * steps_per_quarter + 0.5)

    tempos: list[tuple[int, float]] = []
    signatures: list[tuple[int, str]] = []
    key = title = None
    named = False
    problems = [f"{damage[0]}: read what is there"] if damage else []
    for tick, track, kind, a, b in metas:
        if kind == TRACK_NAME:
            if track == 0 and not named:   # the first name only, a placeholder or not
                title, named = sequence_name(a), True
        elif kind == TEMPO:
            if smpte:
                continue
            if a is None:
                problems.append(f"ignored a tempo event with too few data bytes at tick {tick}")
            elif not a:
                problems.append(f"ignored a tempo of 0 microseconds per quarter note at tick {tick}")
            else:
                tempos.append((frame(tick), round(60_000_000 / a, 3)))
        elif kind == TIME_SIGNATURE:
            if a is None:
                problems.append(f"ignored a time-signature event with too few data bytes at tick {tick}")
                continue
            text = f"{a}/{b}" if b <= 64 else f"{a}/2^{b.bit_length() - 1}"
            try:
                parse_time_signature(text)
            except ValueError:
                problems.append(f"ignored time signature {text} at tick {tick}")
            else:
                signatures.append((frame(tick), text))
        elif a is None:
            problems.append(f"ignored a key-signature event with too few data bytes at tick {tick}")
        elif not -7 <= a <= 7 or b not in (0, 1):
            problems.append(f"ignored a key signature of {a} sharps, mode {b} at tick {tick}")
        elif key is None:
            key = keys.key_name(7 * a + 9 * b, "minor" if b else "major")
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        warnings.warn(f"{path}: {shown}", stacklevel=3)
    roll = PianoRoll.from_notes(
        [(start / ticks_per_quarter, end / ticks_per_quarter, pitch) for start, end, pitch in notes],
        steps_per_quarter=steps_per_quarter, lowest=lowest, n_pitches=n_pitches,
        out_of_range=out_of_range, source=str(path),
        # The piece lasts until its last track of notes ends: closing rests count, as in a score.
        n_frames=frame(max(end for events, end in tracks
                           if any(event[1] <= NOTE_OFF for event in events))))
    time_signature, time_signature_changes = value_map(signatures, "4/4", len(roll))
    pickup, time_signature, time_signature_changes = _pickup_bar(
        time_signature, time_signature_changes, steps_per_quarter)
    bpm, tempo_changes = value_map(tempos, DEFAULT_BPM, len(roll))
    try:
        roll = roll.replace(time_signature=time_signature, bpm=bpm, pickup=pickup,
                            time_signature_changes=time_signature_changes,
                            tempo_changes=tempo_changes, title=title)
    except ValueError as error:   # a meter whose bar is no whole number of frames
        raise ReadError(path, str(error)) from None
    return keys.apply_key(roll, normalize_key, key_algorithm,
                          keys.trusted(key, str(path)) if trust_key else None)


def sequence_name(data: bytes) -> str | None:
    """The piece's title a track name's bytes give, or None for a placeholder name.

    The bytes are read as UTF-8 where they are UTF-8, else as Windows-1252 (Latin-1 with
    typographic quotes and dashes where Latin-1 has control codes), else as Latin-1. Control
    characters and a byte-order mark are dropped and runs of white space made one space. A name
    of :data:`PLACEHOLDER_WORDS`, digits and punctuation alone ("Track 1", "Tempo Track", "???",
    "1999") is None. Other encodings (Shift-JIS, say) are not recognized.

    >>> sequence_name("Étude in F♯".encode()), sequence_name("Don’t Stop".encode("cp1252"))
    ('Étude in F♯', 'Don’t Stop')
    >>> sequence_name(b"Track 1"), sequence_name(b"Tempo Map"), sequence_name(b"  \\0???")
    (None, None, None)
    >>> sequence_name(b"Track and Field Polka"), sequence_name(b"Tempo di Valse")
    ('Track and Field Polka', 'Tempo di Valse')
    """
    for encoding in ("utf-8", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    text = " ".join("".join(" " if unicodedata.category(c) == "Cc" or c == "\ufeff" else c
                            for c in text).split())
    words = re.findall(r"[^\W\d_]+", text.lower())
    if text == _OWN_PLACEHOLDER or all(word in PLACEHOLDER_WORDS for word in words):
        return None
    return text


def _notes_and_metas(tracks: list[tuple[list[tuple], int]]) -> tuple[list, list, bool]:
    """The notes, as ``(start tick, end tick, MIDI pitch)``; the meta events (tempo, time and key
    signatures, track names) of all tracks, as ``(tick, track, kind, a, b)`` in time order; and
    whether channel-10 (percussion) notes were left out."""
    notes: list[tuple[int, int, int]] = []
    metas: list[tuple] = []
    percussion = False
    for number, (events, end) in enumerate(tracks):
        sounding: dict[tuple[int, int], deque[int]] = {}   # note_on ticks by (channel, pitch)
        for tick, kind, channel, a, b in events:
            if kind > NOTE_OFF:
                metas.append((tick, number, kind, a, b))
            elif channel == PERCUSSION_CHANNEL:
                percussion = True
            elif kind == NOTE_ON and b:
                starts = sounding.get((channel, a))
                if starts is None:
                    sounding[channel, a] = deque((tick,))
                else:
                    starts.append(tick)
            else:
                starts = sounding.get((channel, a))
                if starts:
                    notes.append((starts.popleft(), tick, a))
        # Notes never switched off end with their track.
        notes.extend((start, end, pitch) for (_, pitch), starts in sounding.items() for start in starts)
    metas.sort(key=lambda meta: meta[:2])   # stable: a track's events keep their order
    return notes, metas, percussion


def _pickup_bar(first: str, changes: tuple, steps_per_quarter: int) -> tuple[int, str, tuple]:
    """MIDI has no anacrusis: notation programs write a pickup as a first bar in a meter of its
    own length (1/4 before 3/4, as :func:`~rnnrbm_music.roll.meter_of_length` does).
    One such bar, shorter than the meter that follows it, is read as the pickup:
    ``(pickup frames, the meter, the later changes)``. (A single bar of 3/4 before 4/4 reads as
    a three-beat pickup: the bar lines are the same.)

    >>> _pickup_bar("1/4", ((2, "3/4"), (20, "2/4")), 2)
    (2, '3/4', ((20, '2/4'),))
    >>> _pickup_bar("3/4", ((12, "4/4"),), 2)       # two bars of 3/4: a meter change
    (0, '3/4', ((12, '4/4'),))
    """
    if changes:
        frame, meter = changes[0]
        try:
            if frame == bar_frames(first, steps_per_quarter) < bar_frames(meter, steps_per_quarter):
                return frame, meter, changes[1:]
        except ValueError:   # a bar of no whole number of frames: the roll says so when built
            pass
    return 0, first, changes
