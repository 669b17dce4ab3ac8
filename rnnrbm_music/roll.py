"""The one data type between the outside world and the model: :class:`PianoRoll`.

A piano roll is a boolean matrix, one row per time step (a *frame*) and one column per pitch,
together with what is needed to turn it back into music: the lowest MIDI pitch, frames per quarter
note, the pickup (frames before the first downbeat), the time signatures and tempos with the
frames where they change, the detected key and the transposition that was applied to bring the
music to C.

Frames are counted in beats, never in seconds: a frame lasts ``1 / steps_per_quarter`` quarter
notes; tempo only matters when the roll is played. Meter changes are kept as small
``(frame, value)`` pairs beside the first value, the way pretty_midi keeps its
``time_signature_changes``: ``time_signature`` and ``bpm`` hold from frame 0,
``time_signature_changes`` and ``tempo_changes`` list the later ones.

Sounding frames alone cannot tell one long note from the same pitch struck again on the next
frame ("D D" from one half note). A roll may therefore carry ``onsets``: a boolean array shaped
like ``frames``, True where a note is struck. An onset always sounds, and a note that starts
after a silence is always struck, so ``onsets`` only adds the re-strikes (an onset where its
frame is silent, left by filtering the frames, is dropped); a note sounding at frame 0 without
an onset is held over from before the roll (slices and continuations use this).
Without ``onsets`` (``None``: the benchmark data, say) a note is a maximal run of sounding
frames, and repeated notes merge into one.
"""

from __future__ import annotations

import dataclasses
import warnings
from fractions import Fraction
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import ReadError

#: The most frames a roll read from notes may have: 17 hours of eighth notes at 120 bpm
#: (88 MB of frames). A damaged file can ask for far more.
MAX_FRAMES = 1 << 20
#: MIDI pitch of the lowest piano key (A0) and the number of keys: the benchmarks' range.
PIANO_LOWEST = 21
PIANO_KEYS = 88


class RangeError(ValueError):
    """A note does not fit in a piano roll's pitch range."""


@dataclass(eq=False)
class PianoRoll:
    """Binary frames x pitches, plus the musical context needed to turn them back into music.

    >>> import numpy as np
    >>> frames = np.zeros((4, 88), dtype=bool)
    >>> frames[0:2, 60 - 21] = True            # middle C for two eighth notes
    >>> roll = PianoRoll(frames, time_signature="3/4", bpm=90)
    >>> len(roll), roll.n_pitches, roll.highest
    (4, 88, 108)
    >>> roll.notes()
    [(0, 2, 60)]
    >>> roll.transpose(2).notes()
    [(0, 2, 62)]
    """

    frames: np.ndarray
    lowest: int = PIANO_LOWEST
    steps_per_quarter: int = 2
    time_signature: str = "4/4"
    bpm: float = 120.0
    key: str | None = None
    transposition: int = 0
    #: Frames before the first downbeat (an anacrusis); 0 when the roll starts on a downbeat.
    pickup: int = 0
    #: Later time signatures: ``(frame, "3/4")`` pairs, frames increasing, each > 0.
    time_signature_changes: tuple[tuple[int, str], ...] = ()
    #: Later tempos: ``(frame, quarter-note bpm)`` pairs, frames increasing, each > 0.
    tempo_changes: tuple[tuple[int, float], ...] = ()
    #: Where notes are struck (frames x pitches, within ``frames``), or None: notes are runs.
    onsets: np.ndarray | None = None
    #: The piece's name and its composer, as files and pictures credit them (None: unknown).
    title: str | None = None
    composer: str | None = None

    def __post_init__(self) -> None:
        frames = np.asarray(self.frames)
        if frames.ndim != 2:
            raise ValueError(f"PianoRoll frames must be 2-D (frames x pitches), got shape {frames.shape}")
        if frames.dtype != np.bool_:
            if frames.size and not np.isin(frames, (0, 1)).all():
                raise ValueError("PianoRoll frames must be boolean (or 0/1)")
            frames = frames.astype(bool)
        self.frames = frames
        if self.onsets is not None:
            onsets = np.asarray(self.onsets).astype(bool)
            if onsets.shape != frames.shape:
                raise ValueError(f"PianoRoll onsets must be shaped like its frames {frames.shape}, "
                                 f"got {onsets.shape}")
            onsets &= frames                             # an onset sounds (frames filtered: gone)
            onsets[1:] |= frames[1:] & ~frames[:-1]      # a note after a silence is struck
            self.onsets = onsets
        if self.steps_per_quarter < 1:
            raise ValueError(f"steps_per_quarter must be >= 1, got {self.steps_per_quarter}")
        if not 0 <= self.lowest <= 127 or self.highest > 127:
            raise ValueError(f"pitch range {self.lowest}..{self.highest} is outside MIDI's 0..127")
        parse_time_signature(self.time_signature)
        self.bpm = check_bpm(self.bpm)
        self.time_signature_changes = _changes(self.time_signature_changes, "time_signature_changes",
                                               _checked_time_signature, self.time_signature)
        self.tempo_changes = _changes(self.tempo_changes, "tempo_changes", check_bpm, self.bpm)
        self.pickup = int(self.pickup)
        changes = self.time_signature_changes
        if self.pickup and changes and changes[0][0] == self.pickup and self.pickup < bar_frames(
                changes[0][1], self.steps_per_quarter):
            # A meter that starts where the pickup ends is the piece's meter: the pickup bar's
            # own meter says nothing but its length.
            self.time_signature, self.time_signature_changes = changes[0][1], changes[1:]
        if not 0 <= self.pickup < self.frames_per_bar:
            raise ValueError(f"pickup must be 0..{self.frames_per_bar - 1} frames (less than a bar "
                             f"of {self.time_signature}), got {self.pickup}")
        self._name_short_bars()

    def _name_short_bars(self) -> None:
        """A bar cut short by a meter change (a MIDI file's change in the middle of a bar) is
        given the meter of its own length, as a score writes it (5/8 for two and a half
        quarters), so the same bars always have the same names."""
        if not self.time_signature_changes:
            return
        named = []
        for start, end, signature in self.measures(self.time_signature_changes[-1][0]):
            short = end - start < bar_frames(signature, self.steps_per_quarter)
            if short and not (start == 0 and self.pickup):
                own = meter_of_length(Fraction(end - start, self.steps_per_quarter), signature)
                if own is not None:
                    named.append((start, own))
        if named:
            if named[0][0] == 0:
                self.time_signature = named.pop(0)[1]
            self.time_signature_changes = _changes(sorted(dict(
                [*self.time_signature_changes, *named]).items()), "time_signature_changes", str,
                self.time_signature)

    # --- shape ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.frames.shape[0]

    @property
    def n_pitches(self) -> int:
        """Number of pitch columns."""
        return self.frames.shape[1]

    @property
    def highest(self) -> int:
        """MIDI pitch of the last column."""
        return self.lowest + self.frames.shape[1] - 1

    @property
    def quarters(self) -> float:
        """Length in quarter notes."""
        return len(self) / self.steps_per_quarter

    @property
    def frames_per_bar(self) -> int:
        """Frames in one bar of the roll's time signature.

        >>> PianoRoll(np.zeros((0, 88), bool), time_signature="6/8", steps_per_quarter=4).frames_per_bar
        12
        """
        return bar_frames(self.time_signature, self.steps_per_quarter)

    # --- meter and tempo -------------------------------------------------------------------------
    def time_signature_at(self, frame: int) -> str:
        """The time signature in force at ``frame``.

        >>> roll = PianoRoll(np.zeros((20, 88), bool), time_signature="3/4",
        ...                  time_signature_changes=[(12, "4/4")])
        >>> roll.time_signature_at(11), roll.time_signature_at(12)
        ('3/4', '4/4')
        """
        return _value_at(self.time_signature, self.time_signature_changes, frame)

    def bpm_at(self, frame: int) -> float:
        """The tempo (quarter notes per minute) in force at ``frame``."""
        return _value_at(self.bpm, self.tempo_changes, frame)

    def time_signatures(self) -> list[tuple[int, str]]:
        """Every time signature with the frame it starts at, the first at frame 0."""
        return [(0, self.time_signature), *self.time_signature_changes]

    def tempos(self) -> list[tuple[int, float]]:
        """Every tempo with the frame it starts at, the first at frame 0."""
        return [(0, self.bpm), *self.tempo_changes]

    def measures(self, n_frames: int | None = None) -> list[tuple[int, int, str]]:
        """The bars as ``(first frame, end frame, time signature)`` over ``n_frames`` frames
        (default: the roll's length); the pickup, if any, is the first, short bar, and the last
        bar may be incomplete. A time-signature change starts a new bar.

        >>> roll = PianoRoll(np.zeros((16, 88), bool), time_signature="3/4", pickup=2,
        ...                  time_signature_changes=[(8, "2/4")])
        >>> roll.measures()
        [(0, 2, '3/4'), (2, 8, '3/4'), (8, 12, '2/4'), (12, 16, '2/4')]
        """
        n_frames = len(self) if n_frames is None else n_frames
        bars = []
        start = 0
        while start < n_frames:
            end = self._bar_end(start)
            bars.append((start, min(end, n_frames), self.time_signature_at(start)))
            start = end
        return bars

    def downbeat_after(self, frame: int) -> int:
        """The first downbeat (bar line) at or after ``frame``; frame 0 is one unless there is a
        pickup.

        >>> roll = PianoRoll(np.zeros((4, 88), bool), time_signature="3/4", pickup=2)
        >>> roll.downbeat_after(0), roll.downbeat_after(3)
        (2, 8)
        """
        start = self.pickup
        while start < frame:
            start = self._bar_end(start)
        return start

    def _bar_end(self, start: int) -> int:
        """Where the bar that starts at ``start`` ends: a full bar later, or at a meter change."""
        length = self.pickup if start == 0 and self.pickup else bar_frames(
            self.time_signature_at(start), self.steps_per_quarter)
        return min([start + length] + [f for f, _ in self.time_signature_changes if f > start])

    def replace(self, **changes) -> PianoRoll:
        """A copy with some fields changed (``dataclasses.replace``).

        >>> PianoRoll(np.zeros((2, 88), bool)).replace(bpm=60).bpm
        60.0
        """
        return dataclasses.replace(self, **changes)

    def __getitem__(self, index: slice) -> PianoRoll:
        """Slice by frames: ``roll[8:16]`` is frames 8..15. The slice keeps the meter and tempo in
        force where it starts and the later changes inside it; a slice that starts inside a bar
        begins with a pickup, so its bar lines stay where the music puts them.

        >>> roll = PianoRoll(np.ones((10, 88), bool), time_signature="3/4", tempo_changes=[(6, 90)])
        >>> part = roll[2:8]
        >>> part.frames.shape, part.pickup, part.tempos()
        ((6, 88), 4, [(0, 120.0), (4, 90.0)])
        >>> roll[len(roll):].pickup           # the context to continue from: 2 frames to the bar
        2
        """
        if not isinstance(index, slice):
            raise TypeError("PianoRoll supports slicing by frames only, e.g. roll[0:16]")
        start, stop, step = index.indices(len(self))
        if step != 1:
            raise ValueError("PianoRoll slices take every frame: roll[a:b], not roll[a:b:step]")
        stop = max(start, stop)
        return self.replace(
            frames=self.frames[start:stop],
            onsets=None if self.onsets is None else self.onsets[start:stop],
            time_signature=self.time_signature_at(start), bpm=self.bpm_at(start),
            pickup=self.downbeat_after(start) - start,
            time_signature_changes=_shifted(self.time_signature_changes, start, stop),
            tempo_changes=_shifted(self.tempo_changes, start, stop))

    def __eq__(self, other: object) -> bool:
        """The same music: frames, onsets and context; the title and composer may differ."""
        if not isinstance(other, PianoRoll):
            return NotImplemented
        return (
            self.frames.shape == other.frames.shape
            and bool(np.array_equal(self.frames, other.frames))
            and bool(np.array_equal(self.note_starts(), other.note_starts()))
            and _musical(self.context()) == _musical(other.context())
        )

    def context(self) -> dict:
        """Every field but the frames and onsets, as a plain dict (JSON-serializable)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in ("frames", "onsets")}

    # --- transformations -------------------------------------------------------------------------
    def transpose(self, semitones: int) -> PianoRoll:
        """Move every note by ``semitones``; ``transposition`` records the total applied.

        Fails with :class:`RangeError` if a note would leave the pitch range.

        >>> roll = PianoRoll.from_benchmark([(60, 64), (108,)])
        >>> roll.transpose(-12).to_benchmark()
        [(48, 52), (96,)]
        >>> roll.transpose(1)
        Traceback (most recent call last):
        ...
        rnnrbm_music.roll.RangeError: transposing by +1 moves 1 note(s) out of the range 21..108 (108 -> 109)
        """
        semitones = int(semitones)
        if semitones == 0:
            return self.replace(frames=self.frames.copy(),
                                onsets=None if self.onsets is None else self.onsets.copy())
        used = np.flatnonzero(self.frames.any(axis=0))
        if used.size:
            bad = used[(used + semitones < 0) | (used + semitones >= self.n_pitches)]
            if bad.size:
                worst = int(bad[0]) + self.lowest
                raise RangeError(
                    f"transposing by {semitones:+d} moves {bad.size} note(s) out of the range "
                    f"{self.lowest}..{self.highest} ({worst} -> {worst + semitones})")
        return self.replace(frames=_shift_columns(self.frames, semitones),
                            onsets=None if self.onsets is None else _shift_columns(self.onsets, semitones),
                            transposition=self.transposition + semitones)

    def concat(self, *others: PianoRoll) -> PianoRoll:
        """This roll followed by ``others`` (same pitch range and frame rate).

        The result keeps this roll's key, transposition and pickup; the bars go on from this
        roll's bar grid (an appended roll's pickup is not used). Where an appended roll's meter
        or tempo differs from the one in force at the join, the change is recorded there, and
        its own changes follow; an appended roll's changes at or after its own end, and one at
        the end of the result, where nothing follows, are dropped. An empty roll followed by
        music is that music, context and all: nothing sounds before it to keep a bar grid, a
        key or a tempo for.

        >>> a = PianoRoll.from_benchmark([(60,)]); b = PianoRoll.from_benchmark([(62,), ()], bpm=60)
        >>> joined = a.concat(b)
        >>> joined.to_benchmark(), joined.tempos()
        ([(60,), (62,), ()], [(0, 120.0), (1, 60.0)])
        >>> PianoRoll.from_benchmark([]).concat(b).tempos()
        [(0, 60.0)]
        """
        for other in others:
            if (other.lowest, other.n_pitches, other.steps_per_quarter) != (
                    self.lowest, self.n_pitches, self.steps_per_quarter):
                raise ValueError(
                    "cannot concatenate piano rolls of different pitch ranges or frame rates: "
                    f"{self.lowest}..{self.highest} @ {self.steps_per_quarter}/quarter vs "
                    f"{other.lowest}..{other.highest} @ {other.steps_per_quarter}/quarter")
        if not len(self) and others:
            return others[0].concat(*others[1:])
        signatures, tempos = list(self.time_signatures()), list(self.tempos())
        offset = len(self)
        length = offset + sum(len(other) for other in others)
        for other in others:
            for ours, theirs in ((signatures, other.time_signatures()), (tempos, other.tempos())):
                for frame, value in theirs:
                    at = offset + frame
                    if value == ours[-1][1] or at >= length or frame >= max(len(other), 1):
                        continue
                    if ours[-1][0] == at:      # a change where another starts: it replaces it
                        ours.pop()
                    ours.append((at, value))   # (one back to the value before is dropped by replace)
            offset += len(other)
        rolls = [self, *others]
        onsets = None if all(r.onsets is None for r in rolls) else np.concatenate(
            [r.onsets if r.onsets is not None else np.zeros_like(r.frames) for r in rolls])
        return self.replace(frames=np.concatenate([r.frames for r in rolls]), onsets=onsets,
                            time_signature_changes=tuple(signatures[1:]),
                            tempo_changes=tuple(tempos[1:]))

    # --- views -----------------------------------------------------------------------------------
    def note_starts(self) -> np.ndarray:
        """Where notes start (frames x pitches): the onsets, every sounding frame after a silent
        one, and every sounding frame 0.

        >>> frames = np.array([[1], [1], [1], [0], [1]], bool)
        >>> PianoRoll(frames, lowest=60).note_starts()[:, 0].astype(int)
        array([1, 0, 0, 0, 1])
        >>> struck_again = frames & [[0], [0], [1], [0], [0]]
        >>> PianoRoll(frames, lowest=60, onsets=struck_again).note_starts()[:, 0].astype(int)
        array([1, 0, 1, 0, 1])
        """
        starts = np.zeros_like(self.frames) if self.onsets is None else self.onsets.copy()
        starts[1:] |= self.frames[1:] & ~self.frames[:-1]
        starts[:1] |= self.frames[:1]
        return starts

    def notes(self) -> list[tuple[int, int, int]]:
        """Notes as ``(onset, duration, midi_pitch)`` in frames, sorted by onset then pitch.

        A note runs from where it starts (:meth:`note_starts`) while its pitch sounds, up to the
        next onset of that pitch: with onsets, a re-struck pitch is two notes.

        >>> PianoRoll.from_benchmark([(60,), (60, 64), (64,), ()]).notes()
        [(0, 2, 60), (1, 2, 64)]
        >>> PianoRoll.from_notes([(0, 1, 62), (1, 2, 62)]).notes()      # "D D": two notes
        [(0, 2, 62), (2, 2, 62)]
        """
        starts = self.note_starts()
        following = np.zeros_like(self.frames)
        following[:-1] = self.frames[1:] & ~starts[1:]     # the note goes on into the next frame
        ends = self.frames & ~following
        on_t, on_p = np.nonzero(starts)
        end_t, end_p = np.nonzero(ends)
        # Within one pitch, starts and ends alternate; order both by (pitch, time) to pair them.
        on = np.lexsort((on_t, on_p))
        end = np.lexsort((end_t, end_p))
        triples = [(int(t), int(e - t + 1), int(p) + self.lowest)
                   for t, e, p in zip(on_t[on], end_t[end], on_p[on])]
        triples.sort()
        return triples

    def repeated_notes(self) -> int:
        """How many notes are struck right where a note of the same pitch ends (re-strikes).

        >>> PianoRoll.from_notes([(0, 1, 62), (1, 2, 62), (2, 3, 69)]).repeated_notes()
        1
        """
        notes = self.notes()
        ends = {(onset + length, pitch) for onset, length, pitch in notes}
        return sum((onset, pitch) in ends for onset, _, pitch in notes)

    def sounding_notes(self) -> list[tuple[int, int, int]]:
        """:meth:`notes` where they sound: moved back by ``-transposition`` to the key the music
        came from. A note that would leave the roll's pitch range there (a continuation sampled
        in C can reach below A0 once moved back down) is moved by octaves into it, with a
        warning, as ``out_of_range="fold"`` does on input.

        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     PianoRoll.from_benchmark([(60,), (21,)], transposition=3).sounding_notes()
        [(0, 1, 57), (1, 1, 30)]
        >>> str(caught[0].message)
        "1 note(s) would leave 21..108 once moved back to the music's key (-3 semitones): moved by octaves into it"
        """
        shift = -self.transposition
        moved, folded = [], 0
        for onset, length, pitch in self.notes():
            pitch += shift
            if not self.lowest <= pitch <= self.highest:
                folded += 1
                pitch = fold_into_range(pitch, self.lowest, self.highest)
            moved.append((onset, length, pitch))
        if folded:
            warnings.warn(f"{folded} note(s) would leave {self.lowest}..{self.highest} once moved "
                          f"back to the music's key ({shift:+d} semitones): moved by octaves into "
                          "it", stacklevel=2)
            moved = [(start, end - start, pitch) for start, end, pitch in one_note_at_a_time(
                [(onset, onset + length, pitch) for onset, length, pitch in moved])]
        return sorted(moved)

    def pitch_class_histogram(self) -> np.ndarray:
        """Sounding time per pitch class (C=0 .. B=11), in quarter notes.

        >>> PianoRoll.from_benchmark([(60, 67), (60,)]).pitch_class_histogram()[[0, 7]]
        array([1. , 0.5])
        """
        per_pitch = self.frames.sum(axis=0) / self.steps_per_quarter
        hist = np.zeros(12)
        np.add.at(hist, (np.arange(self.n_pitches) + self.lowest) % 12, per_pitch)
        return hist

    # --- benchmark format ------------------------------------------------------------------------
    @classmethod
    def from_benchmark(cls, steps: Iterable[Sequence[int]], steps_per_quarter: int = 2,
                       lowest: int = PIANO_LOWEST, n_pitches: int = PIANO_KEYS,
                       **context) -> PianoRoll:
        """Build from the benchmarks' format: a list of time steps, each a tuple of MIDI pitches.

        >>> PianoRoll.from_benchmark([(60, 64, 67), (), (59,)]).frames.sum(axis=1)
        array([3, 0, 1])
        """
        steps = list(steps)
        frames = np.zeros((len(steps), n_pitches), dtype=bool)
        for t, pitches in enumerate(steps):
            for pitch in pitches:
                column = int(pitch) - lowest
                if not 0 <= column < n_pitches:
                    raise RangeError(f"pitch {pitch} at step {t} is outside the range "
                                     f"{lowest}..{lowest + n_pitches - 1}")
                frames[t, column] = True
        return cls(frames, lowest=lowest, steps_per_quarter=steps_per_quarter, **context)

    # --- from timed notes (the one quantizer every reader uses) -----------------------------------
    @classmethod
    def from_notes(cls, notes: Iterable[tuple[float, float, int]], steps_per_quarter: int = 2,
                   lowest: int = PIANO_LOWEST, n_pitches: int = PIANO_KEYS,
                   out_of_range: str = "error", source: str = "", n_frames: int = 0,
                   **context) -> PianoRoll:
        """Quantize ``(start, end, midi_pitch)`` notes, times in quarter notes, onto the frame grid.

        Start and end go to the nearest frame boundary (halves round up); a note shorter than a
        frame still gets one frame. Each note's first frame is an onset (``onsets``), so a pitch
        struck again is two notes; notes of one pitch that overlap sound as one span struck
        twice. The roll lasts until its last note ends, or ``n_frames`` if that is longer (a
        score's closing rests). Notes outside the pitch range raise :class:`RangeError` naming
        the note (``out_of_range="error"``, the default) or are moved by octaves into the range
        with a warning (``"fold"``).

        >>> PianoRoll.from_notes([(0, 1, 60), (0.2, 0.3, 64), (1.5, 3, 67)]).to_benchmark()
        [(60, 64), (60,), (), (67,), (67,), (67,)]
        >>> PianoRoll.from_notes([(0, 1, 10)])
        Traceback (most recent call last):
        ...
        rnnrbm_music.roll.RangeError: note 10 (A#-1) at quarter 0 is outside the range 21..108
        """
        if out_of_range not in ("error", "fold"):
            raise ValueError(f"out_of_range must be 'error' or 'fold', got {out_of_range!r}")
        notes = list(notes)
        highest = lowest + n_pitches - 1
        spans = []
        folded = 0
        for start, end, pitch in notes:
            pitch = int(pitch)
            if not lowest <= pitch <= highest:
                if out_of_range == "error":
                    raise RangeError(f"{source + ': ' if source else ''}note {pitch} "
                                     f"({midi_pitch_name(pitch)}) at quarter {start:g} is outside "
                                     f"the range {lowest}..{highest}")
                pitch = fold_into_range(pitch, lowest, highest)
                folded += 1
            first = int(np.floor(start * steps_per_quarter + 0.5))
            last = max(int(np.floor(end * steps_per_quarter + 0.5)), first + 1)
            spans.append((first, last, pitch - lowest))
        if folded:
            warnings.warn(f"{source + ': ' if source else ''}{folded} note(s) outside "
                          f"{lowest}..{highest} moved by octaves into the range", stacklevel=2)
        n_frames = max([n_frames] + [last for _, last, _ in spans])
        if n_frames > MAX_FRAMES:
            hours = n_frames / steps_per_quarter / 120 / 60
            raise ReadError(source or "notes", f"the music lasts {n_frames:,} frames ({hours:,.1f} "
                            f"hours at 120 bpm), more than the {MAX_FRAMES:,} a piano roll holds "
                            f"(a damaged file, or times far off?)")
        frames = np.zeros((n_frames, n_pitches), dtype=bool)
        onsets = np.zeros_like(frames)
        for first, last, column in spans:
            frames[first:last, column] = True
            onsets[first, column] = True
        return cls(frames, lowest=lowest, steps_per_quarter=steps_per_quarter, onsets=onsets,
                   **context)

    def to_benchmark(self) -> list[tuple[int, ...]]:
        """The benchmarks' format: a list of tuples of sounding MIDI pitches, one per frame.

        >>> PianoRoll.from_benchmark([(60, 64), ()]).to_benchmark()
        [(60, 64), ()]
        """
        return [tuple(int(p) + self.lowest for p in np.flatnonzero(row)) for row in self.frames]


def _musical(context: dict) -> dict:
    """A roll's context without its credits (title, composer)."""
    return {name: value for name, value in context.items() if name not in ("title", "composer")}


def fold_into_range(pitch: int, lowest: int, highest: int) -> int:
    """``pitch`` moved by whole octaves into ``lowest..highest`` (at least an octave wide):
    the one policy for notes outside the range, on input (``out_of_range="fold"``), in files
    and on MIDI ports.

    >>> fold_into_range(18, 21, 108), fold_into_range(110, 21, 108), fold_into_range(60, 21, 108)
    (30, 98, 60)
    """
    if pitch < lowest:
        return pitch + 12 * -((pitch - lowest) // 12)
    if pitch > highest:
        return pitch - 12 * -((highest - pitch) // 12)
    return pitch


def midi_pitch_name(pitch: int) -> str:
    """Scientific pitch name of a MIDI number, as music21 spells it.

    >>> midi_pitch_name(60), midi_pitch_name(70)
    ('C4', 'A#4')
    """
    names = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
    return f"{names[pitch % 12]}{pitch // 12 - 1}"


#: Denominators a time signature may have (MIDI allows any power of two; notation stops here).
TIME_SIGNATURE_DENOMINATORS = (1, 2, 4, 8, 16, 32, 64)


def parse_time_signature(time_signature: str) -> tuple[int, int]:
    """``"6/8"`` -> ``(6, 8)``; raises ValueError for anything that is not a time signature.

    >>> parse_time_signature("6/8")
    (6, 8)
    >>> parse_time_signature("0/4")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: impossible time signature '0/4': the numerator must be 1..64 and the denominator ...
    """
    try:
        numerator, denominator = (int(x) for x in str(time_signature).split("/"))
    except ValueError:
        raise ValueError(f"cannot read time signature {time_signature!r}: expected e.g. '3/4'") from None
    if not 1 <= numerator <= 64 or denominator not in TIME_SIGNATURE_DENOMINATORS:
        raise ValueError(f"impossible time signature {time_signature!r}: the numerator must be "
                         f"1..64 and the denominator one of "
                         f"{', '.join(map(str, TIME_SIGNATURE_DENOMINATORS))}")
    return numerator, denominator


def meter_of_length(quarters, meter: str) -> str | None:
    """A time signature ``quarters`` quarter notes long, in the beat of ``meter`` where it can
    be: how notation programs and MIDI files write a bar of irregular length (a pickup, a bar
    cut short). None if no meter with a denominator up to 64 is that long.

    >>> meter_of_length(1, "3/4"), meter_of_length(Fraction(1, 2), "6/8"), meter_of_length(2.5, "4/4")
    ('1/4', '1/8', '5/8')
    >>> meter_of_length(Fraction(1, 3), "3/4") is None
    True
    """
    whole_notes = Fraction(quarters) / 4
    denominator = parse_time_signature(meter)[1]
    while (whole_notes * denominator).denominator != 1 and denominator < 64:
        denominator *= 2
    if (whole_notes * denominator).denominator != 1 or whole_notes <= 0:
        return None
    return f"{int(whole_notes * denominator)}/{denominator}"


def check_bpm(bpm: float) -> float:
    """``bpm`` as a float if it is a playable tempo (positive and finite), else ValueError."""
    try:
        value = float(bpm)
    except (TypeError, ValueError):
        raise ValueError(f"tempo must be a number of quarter notes per minute, got {bpm!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"tempo must be positive and finite, got {bpm!r} bpm")
    return value


def bar_frames(time_signature: str, steps_per_quarter: int) -> int:
    """Frames in one bar of ``time_signature`` at ``steps_per_quarter`` frames per quarter.

    >>> bar_frames("3/4", 2), bar_frames("6/8", 4), bar_frames("4/4", 1)
    (6, 12, 4)
    >>> bar_frames("3/16", 2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: a bar of 3/16 is 1.5 frames at 2 frames per quarter note: ... steps_per_quarter=4 ...
    """
    numerator, denominator = parse_time_signature(time_signature)
    frames = Fraction(4 * numerator * steps_per_quarter, denominator)
    if frames.denominator != 1:
        raise ValueError(
            f"a bar of {time_signature} is {float(frames):g} frames at {steps_per_quarter} frames "
            f"per quarter note: read the music with steps_per_quarter="
            f"{steps_per_quarter * frames.denominator} (or a multiple) to keep its bar lines")
    return int(frames)


def _checked_time_signature(value) -> str:
    numerator, denominator = parse_time_signature(value)
    return f"{numerator}/{denominator}"


def _changes(pairs, name: str, check, first) -> tuple:
    """``(frame, value)`` pairs as a tuple of tuples, checked (frames > 0 and increasing),
    without the changes to the value already in force (``first`` from frame 0).

    >>> _changes([(4, "2/4"), (8, "2/4"), (12, "3/4")], "changes", str, "3/4")
    ((4, '2/4'), (12, '3/4'))
    """
    changes = tuple((int(frame), check(value)) for frame, value in pairs)
    frames = [frame for frame, _ in changes]
    if any(f <= 0 for f in frames) or frames != sorted(set(frames)):
        raise ValueError(f"{name} must be (frame, value) pairs with increasing frames > 0, "
                         f"got {list(changes)}")
    kept, current = [], first
    for frame, value in changes:
        if value != current:
            kept.append((frame, value))
            current = value
    return tuple(kept)


def _value_at(first, changes, frame: int):
    value = first
    for start, changed in changes:
        if start > frame:
            break
        value = changed
    return value


def _shifted(changes, start: int, stop: int) -> tuple:
    """The changes strictly inside ``(start, stop)``, moved to count from ``start``."""
    return tuple((frame - start, value) for frame, value in changes if start < frame < stop)


def value_map(changes: list[tuple[int, object]], default, n_frames: int) -> tuple[object, tuple]:
    """``(frame, value)`` pairs in time order -> (the value at frame 0, the later changes): of
    several at one frame the last wins; a change to the value in force, or at or after
    ``n_frames``, is dropped.

    >>> value_map([(0, 90.0), (0, 100.0), (8, 100.0), (16, 50.0), (16, 60.0), (40, 70.0)], 120.0, 32)
    (100.0, ((16, 60.0),))
    """
    at: dict[int, object] = {}
    for frame, value in changes:
        at[frame] = value
    first = at.pop(0, default)
    later, current = [], first
    for frame, value in at.items():
        if value != current and frame < n_frames:
            later.append((frame, value))
            current = value
    return first, tuple(later)


def _shift_columns(array: np.ndarray, semitones: int) -> np.ndarray:
    """``array`` (frames x pitches) moved by ``semitones`` columns, zeros shifted in."""
    shifted = np.zeros_like(array)
    if semitones > 0:
        shifted[:, semitones:] = array[:, :-semitones]
    elif semitones < 0:
        shifted[:, :semitones] = array[:, -semitones:]
    else:
        shifted[:] = array
    return shifted


def one_note_at_a_time(notes: list[tuple]) -> list[tuple]:
    """Notes ``(start, end, pitch)`` with no pitch sounding twice at once, as a roll or one MIDI
    channel holds them: where a note is struck while its pitch sounds (octaves folded onto each
    other, two voices of a score in unison), the sounding note ends there and the new one lasts
    until the later end; notes struck together are one, the longer.

    >>> one_note_at_a_time([(0, 2, 72), (0, 1, 72), (1, 2, 72), (4, 5, 72)])
    [(0, 1, 72), (1, 2, 72), (4, 5, 72)]
    """
    kept: list[list] = []
    for start, end, pitch in sorted(set(notes), key=lambda note: (note[2], note[0], -note[1])):
        last = kept[-1] if kept and kept[-1][2] == pitch else None
        if last is not None and start < last[1]:
            if start == last[0]:
                continue
            end, last[1] = max(end, last[1]), start
        kept.append([start, end, pitch])
    return sorted(tuple(note) for note in kept)
