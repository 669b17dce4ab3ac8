"""Real-time MIDI: play piano rolls and endless continuations into a DAW, answer a player.

Ports are opened by :mod:`~rnnrbm_music.midi_ports` (by exact name, or virtual; ``api`` picks
rtmidi's backend); a DAW's clock is followed by :mod:`~rnnrbm_music.midi_clock`.

Frames become note_on / note_off messages by the difference between consecutive frames, and a
pitch struck again (an onset where it already sounds) is released and struck anew; each frame
is sent at an absolute deadline on the monotonic clock (no drift, however long it plays).
Endless playing generates ahead in a producer thread into a bounded queue, so sampling never
delays a frame. Generation runs on one torch thread: sampling one frame at a time is a chain of
tiny products that more threads do not speed up, and that runs 3x slower on two threads than on
one when another process is busy (benchmarks/generation_speed.py); the other cores stay free for
the audio server (a JACK server that is late loses MIDI). However playing ends (the music's end,
``stop()``, Ctrl+C, an exception, a port that went away) every sounding note is turned off and
All Notes Off (CC 123) is sent once, after MIDI Stop when clock is on. Notes that a key moves
back below A0 or above C8 are moved by octaves into the piano's range, as on input and in files
(:meth:`~rnnrbm_music.roll.PianoRoll.sounding_notes`).
"""

from __future__ import annotations

import gc
import math
import queue
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import mido
import numpy as np
import torch

from . import keys
from .checks import check_all, checked
from .midi_clock import DUE, PULSES_PER_QUARTER, SPIN_SECONDS, STOPPED, ClockFollower, spin_until
from .midi_ports import Closing, open_input, open_output
from .phrase import PhraseRecorder
from .roll import PianoRoll, bar_frames, fold_into_range

ALL_NOTES_OFF = 123


@contextmanager
def _one_torch_thread():
    """Run torch on one thread inside the block (per thread with OpenMP; restored after)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


_real_time_depth = 0          # blocks entered and not left, under the lock
_real_time_lock = threading.Lock()
_real_time_restore: tuple[float, bool] = (0.005, True)   # switch interval, whether to unfreeze


@contextmanager
def _in_real_time(seconds: float = 0.0005):
    """Inside the block (nested blocks, and blocks of several threads at once, count as one,
    from the first entered to the last left):

    - a Python thread that wants the GIL waits at most ``seconds`` for it (Python's switch
      interval, 5 ms by default; restored after): a thread composing ahead keeps the thread
      sending frames from its deadlines, and the thread reading a master's clock from its
      pulses, no longer than this;
    - the objects that exist on entry are left out of garbage collection (``gc.freeze()``;
      ``gc.unfreeze()`` on leaving, unless the program had frozen objects itself): a full
      collection walks every object of the process holding the GIL, about 0.3 s with 60
      chorales parsed, and a note waits that long (``benchmarks/live_timing.py``, large heap).
      Objects made during the block are collected as usual; garbage among those frozen
      (bounded by what existed on entry) waits for the block's end."""
    global _real_time_depth, _real_time_restore
    with _real_time_lock:
        if _real_time_depth == 0:
            _real_time_restore = (sys.getswitchinterval(), gc.get_freeze_count() == 0)
            sys.setswitchinterval(min(_real_time_restore[0], seconds))
            gc.freeze()
        _real_time_depth += 1
    try:
        yield
    finally:
        with _real_time_lock:
            _real_time_depth -= 1
            if _real_time_depth == 0:
                interval, unfreeze = _real_time_restore
                sys.setswitchinterval(interval)
                if unfreeze:
                    gc.unfreeze()


def sounding_pitches(roll: PianoRoll, of: np.ndarray | None = None) -> np.ndarray:
    """(frames, 128) booleans of the MIDI pitches that sound (or of ``of``, an array shaped like
    the roll's frames: its onsets, say), moved back by ``-transposition``.

    >>> sounding_pitches(PianoRoll.from_benchmark([(60,)], transposition=-2)).nonzero()
    (array([0]), array([62]))

    A note moved back below A0 (21) goes up an octave, as in files:

    >>> sounding_pitches(PianoRoll.from_benchmark([(23,)], transposition=5)).nonzero()
    (array([0]), array([30]))
    """
    frames = np.zeros((len(roll), 128), dtype=bool)
    columns = roll.frames if of is None else of
    for column in np.flatnonzero(columns.any(axis=0)):
        pitch = fold_into_range(roll.lowest + int(column) - roll.transposition, roll.lowest,
                                roll.highest)
        frames[:, pitch] |= columns[:, column]
    return frames


@dataclass
class Schedule:
    """When playing started and how long a frame lasts (monotonic clock, seconds; following a
    master's clock, as it was when playing started, 0 if its tempo was not known yet)."""

    start: float
    frame_seconds: float
    frames_played: int = 0


class LivePlayer(Closing):
    """Plays piano rolls and endless continuations to a MIDI output, in time.

    ``port`` opens an existing output by exact name; without it a virtual port
    ``virtual_name`` is created for a DAW to connect to. Use it as a context manager (or call
    ``close()``) so the port is released.

    Two ways to keep time:

    - its own, at ``bpm``; ``clock=True`` also sends MIDI clock (24 pulses per quarter note) with
      Start and Stop, so a DAW can follow it;
    - a DAW's: ``clock_in`` follows the MIDI clock a master sends to an input port (the port's
      exact name, or ``True`` for a new virtual input ``{virtual_name}-clock``). Playing waits
      for Start (or Continue), places every frame on the master's pulse for it (a sixteenth-note
      frame on every sixth pulse) at the master's tempo, turns every note off on Stop and goes
      on with Continue: a piece (:meth:`play`) from the frame at the song position, endless
      music (:meth:`play_forever`) from where it stopped, at the same place in the bar.
      ``bpm`` is then unused. See :class:`~rnnrbm_music.midi_clock.ClockFollower`.

    Raises ValueError for ``clock`` with ``clock_in``, :class:`LiveMidiError` for a port that
    cannot be opened.
    """

    def __init__(self, port: str | None = None, virtual_name: str = "rnnrbm-music",
                 bpm: float = 120, channel: int = 0, velocity: int = 80,
                 program: int | None = None, api: str | None = None, clock: bool = False,
                 clock_in: str | bool | None = None):
        bpm, channel, velocity, program = check_all(bpm=bpm, channel=channel, velocity=velocity,
                                                    program=program)
        if clock_in is not None and clock_in is not True and not (
                isinstance(clock_in, str) and clock_in.strip()):
            raise ValueError(f"clock_in must be an input port's exact name, or True for a new "
                             f"virtual input, got {clock_in!r}")
        if clock and clock_in:
            raise ValueError("clock and clock_in: a player sends the clock (it is the master) or "
                             "follows a master's, not both")
        self.bpm, self.channel, self.velocity, self.clock = bpm, channel, velocity, clock
        self.port = open_output(port, virtual_name, api)
        #: The master's clock followed (``clock_in``), or None.
        self.follower: ClockFollower | None = None
        if clock_in:
            try:
                self.follower = ClockFollower(None if clock_in is True else clock_in,
                                              f"{virtual_name}-clock", api)
            except BaseException:
                self.port.close()
                raise
        self.sounding: set[int] = set()
        self._silent = True   # no performance since the last All Notes Off
        self.schedule: Schedule | None = None
        self._stop = threading.Event()
        self.program = program
        if program is not None:
            self._send(mido.Message("program_change", channel=channel, program=program))

    def close(self) -> None:
        """Stop playing, silence everything and close the ports."""
        self._stop.set()
        self.all_notes_off()
        if not self.port.closed:
            self.port.close()
        if self.follower is not None:
            self.follower.close()

    def stop(self) -> None:
        """Stop playing (from another thread); the playing call returns with every note off."""
        self._stop.set()

    # --- sending -------------------------------------------------------------------------------
    def _send(self, message: mido.Message) -> None:
        self.port.send(message)

    def all_notes_off(self) -> None:
        """note_off for every sounding note, then All Notes Off (CC 123), once: not again
        until something more is played. Never raises."""
        try:
            if self.port.closed or self._silent:
                return
            for pitch in sorted(self.sounding):
                self._send(mido.Message("note_off", channel=self.channel, note=pitch))
            self._send(mido.Message("control_change", channel=self.channel,
                                    control=ALL_NOTES_OFF, value=0))
        except Exception:  # the port went away: nothing more can be sent through it
            pass
        finally:
            self.sounding.clear()
            self._silent = True

    def _send_frame(self, row: np.ndarray, struck: np.ndarray) -> None:
        """Go from what sounds to ``row``: release what stops or is struck again, then strike
        what starts or is struck again (``struck``: the frame's onsets)."""
        now = set(np.flatnonzero(row).tolist())
        again = set(np.flatnonzero(struck).tolist()) & self.sounding
        for pitch in sorted((self.sounding - now) | again):
            self._send(mido.Message("note_off", channel=self.channel, note=pitch))
            self.sounding.discard(pitch)
        for pitch in sorted(now - self.sounding):
            self._send(mido.Message("note_on", channel=self.channel, note=pitch,
                                    velocity=self.velocity))
            self.sounding.add(pitch)

    # --- timing --------------------------------------------------------------------------------
    def _wait_until(self, deadline: float, clock: _Clock | None) -> bool:
        """Sleep until ``deadline`` (sending clock pulses due before it); False if stopped."""
        while True:
            target = deadline
            if clock is not None and clock.next_time() <= deadline:
                target = clock.next_time()
            remaining = target - time.monotonic()
            if remaining > SPIN_SECONDS and self._stop.wait(remaining - SPIN_SECONDS):
                return False
            spin_until(target)
            if self._stop.is_set():
                return False
            if target == deadline and (clock is None or clock.next_time() > deadline):
                return True
            self._send(mido.Message("clock"))
            clock.advance()

    def _perform(self, rolls: Iterable[PianoRoll], max_frames: int | None, lead: float,
                 start_at: float | None = None) -> Schedule:
        self._stop.clear()
        self._silent = False
        schedule = self.schedule = None
        clock = None
        try:
            for roll in rolls:
                if schedule is None:
                    if self.program is not None:   # again: a DAW may have connected since
                        self._send(mido.Message("program_change", channel=self.channel,
                                                program=self.program))
                    seconds = 60.0 / (self.bpm * roll.steps_per_quarter)
                    start = time.monotonic() + lead if start_at is None else start_at
                    schedule = self.schedule = Schedule(start, seconds)
                    if self.clock:
                        clock = _Clock(schedule.start, 60.0 / (self.bpm * PULSES_PER_QUARTER))
                        self._send(mido.Message("start"))
                for row, struck_row in _frame_rows(roll):
                    if max_frames is not None and schedule.frames_played >= max_frames:
                        break
                    deadline = schedule.start + schedule.frames_played * schedule.frame_seconds
                    if not self._wait_until(deadline, clock):
                        return schedule
                    self._send_frame(row, struck_row)
                    schedule.frames_played += 1
                if max_frames is not None and schedule.frames_played >= max_frames:
                    break
            if schedule is not None:   # let the last frame last its time
                self._wait_until(schedule.start + schedule.frames_played * schedule.frame_seconds,
                                 clock)
            return schedule or Schedule(time.monotonic(), 0.0)
        finally:
            if clock is not None:   # transport first, so All Notes Off is the last word
                try:
                    self._send(mido.Message("stop"))
                except Exception:  # the port went away
                    pass
            self.all_notes_off()

    def _follow(self, rolls: Iterable[PianoRoll], max_frames: int | None,
                from_pulse: float | None, seekable: bool) -> Schedule:
        """Play on the master's clock (``clock_in``): frame i on song position ``anchor + i *
        pulses_per_frame``, the anchor being ``from_pulse`` or the first downbeat once the
        transport runs. After Stop (every note off) or a jump, a ``seekable`` performance goes
        on from the frame at the new song position; an endless one from where it was, moved to
        the first song position at the same place in the bar."""
        follower = self.follower
        self._stop.clear()
        frames = _Frames(rolls, keep=seekable)
        schedule = self.schedule = None
        try:
            if frames.get(0) is None:
                return Schedule(time.monotonic(), 0.0)
            per_frame = PULSES_PER_QUARTER / frames.steps_per_quarter
            bar = bar_frames(frames.time_signature, frames.steps_per_quarter) * per_frame
            anchor, frame, transport = from_pulse, 0, None
            playing_already = follower.running     # from where it is, not where it started
            while True:
                if transport != follower.transport or not follower.running:
                    self.all_notes_off()     # stopped, or a jump: nothing may hang
                    if not follower.wait_running(self._stop):
                        break
                    transport, position = follower.transport_state()
                    if playing_already:
                        position, playing_already = follower.position, False
                    anchor, frame = resume(position, anchor, frame, per_frame, bar, seekable)
                pulse = anchor + frame * per_frame
                if seekable and follower.position > pulse + per_frame:   # late: skip, silently
                    frame = resume(follower.position, anchor, frame, per_frame, bar, True)[1]
                    pulse = anchor + frame * per_frame
                row = None if max_frames is not None and frame >= max_frames else frames.get(frame)
                outcome = follower.wait_for(pulse, transport, self._stop, self.all_notes_off)
                if row is None or outcome == STOPPED:   # the end has lasted its time, or stop()
                    break
                if outcome != DUE:
                    continue
                self._silent = False
                self._send_frame(*row)
                if schedule is None:   # the tempo is not known yet when clock starts with Start
                    seconds = follower.pulse_seconds
                    schedule = self.schedule = Schedule(follower.time_of(pulse) or time.monotonic(),
                                                        seconds * per_frame if seconds else 0.0)
                schedule.frames_played += 1
                frame += 1
            return schedule or Schedule(time.monotonic(), 0.0)
        finally:
            self.all_notes_off()

    # --- playing -------------------------------------------------------------------------------
    def play(self, music, lead: float = 0.05, start_at: float | None = None,
             from_pulse: float | None = None) -> Schedule:
        """Play a PianoRoll or a music21 Stream to the end (or until ``stop()``), from
        ``lead`` seconds on, or from ``start_at`` (a time on the monotonic clock).

        With ``clock_in``, from song position ``from_pulse`` (MIDI clock pulses, 24 a quarter,
        from the master's Start) instead; by default from the first downbeat once the transport
        runs (bar 1 after Start)."""
        if not isinstance(music, PianoRoll):
            from .score_reading import from_stream
            music = from_stream(music, normalize_key=False)
        with _in_real_time():
            if self.follower is not None:
                return self._follow([music], None, from_pulse, seekable=True)
            return self._perform([music], None, lead, start_at)

    def play_forever(self, composer, prime=None, bars: int | None = None, k: int = 25,
                     temperature: float = 1.0, seed: int | None = None, chunk_bars: int = 1,
                     queue_chunks: int = 4, lead: float = 0.2, time_signature: str = "4/4",
                     key: str = "C major") -> Schedule:
        """Play an endless continuation of ``prime`` (or fresh music) from ``composer``, for
        ``bars`` bars or until ``stop()`` / Ctrl+C. A producer thread keeps up to
        ``queue_chunks`` chunks of ``chunk_bars`` bars generated ahead."""
        prime = composer.to_roll(prime) if prime is not None else None
        meter = prime.time_signature if prime is not None else time_signature
        frames_per_bar = bar_frames(meter, composer.steps_per_quarter)
        stream = composer.stream_rolls(prime, chunk_bars * frames_per_bar, k, temperature, seed,
                                       key=key, time_signature=meter, bpm=self.bpm)
        chunks = _Producer(stream, queue_chunks, self._stop)
        max_frames = bars * frames_per_bar if bars else None
        try:
            with _in_real_time():
                if self.follower is not None:
                    return self._follow(chunks, max_frames, None, seekable=False)
                return self._perform(chunks, max_frames, lead)
        finally:
            chunks.close()


def resume(position: float, anchor: float | None, frame: int, per_frame: float, bar: float,
           seekable: bool) -> tuple[float, int]:
    """Where a performance on a master's clock goes on when the transport runs from song
    position ``position`` (pulses): ``(anchor, frame)``, frame i being due on pulse
    ``anchor + i * per_frame``. ``anchor`` None (not begun): from the first downbeat at or after
    ``position`` (bars of ``bar`` pulses). A ``seekable`` piece: from its frame at
    ``position``. Endless music goes on with ``frame``, moved to the first pulse at or after
    ``position`` at the same place in the bar.

    >>> resume(0, None, 0, 6, 96, seekable=False)        # Start: bar 1
    (0, 0)
    >>> resume(24, 0, 8, 6, 96, seekable=True)           # a piece, from beat 2: its frame 4
    (0, 4)
    >>> resume(24, 0, 8, 6, 96, seekable=False)          # endless: frame 8 stays on beat 3
    (0, 8)
    >>> resume(120, 0, 8, 6, 96, seekable=False)         # ... of the next bar
    (96, 8)
    """
    if anchor is None:
        return math.ceil(position / bar - 1e-9) * bar, frame
    if seekable:
        return anchor, max(0, math.ceil((position - anchor) / per_frame - 1e-9))
    due = anchor + frame * per_frame
    return position + (due - position) % bar - frame * per_frame, frame


def _frame_rows(roll: PianoRoll) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(sounding, struck) MIDI pitches of each frame of ``roll``, 128 booleans each. Onsets as
    given: a chunk of an endless continuation that starts with a note held from the chunk
    before has no onset there, and nothing is struck again."""
    frames = sounding_pitches(roll)
    struck = (sounding_pitches(roll, roll.onsets) if roll.onsets is not None
              else np.zeros_like(frames))
    return zip(frames, struck)


class _Frames:
    """A performance's frames by index, drawn from its rolls as they are asked for (endless
    music comes chunk by chunk). Unless ``keep``, frames before the last one asked for are
    dropped, so memory stays bounded however long it plays."""

    def __init__(self, rolls: Iterable[PianoRoll], keep: bool):
        self._rolls, self._keep = iter(rolls), keep
        self._rows: list[tuple[np.ndarray, np.ndarray]] = []
        self._first = 0   # the index of _rows[0]
        self.steps_per_quarter: int | None = None
        self.time_signature: str | None = None

    def get(self, index: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Frame ``index``'s (sounding, struck) pitches; None past the music's end."""
        while index >= self._first + len(self._rows):
            roll = next(self._rolls, None)
            if roll is None:
                return None
            if self.steps_per_quarter is None:
                self.steps_per_quarter, self.time_signature = (roll.steps_per_quarter,
                                                               roll.time_signature)
            self._rows.extend(_frame_rows(roll))
        if not self._keep and index > self._first:
            del self._rows[:index - self._first]
            self._first = index
        return self._rows[index - self._first]


class _Clock:
    """MIDI clock pulses on absolute deadlines from the start of playing."""

    def __init__(self, start: float, seconds: float):
        self.start, self.seconds, self.count = start, seconds, 0

    def next_time(self) -> float:
        return self.start + self.count * self.seconds

    def advance(self) -> None:
        self.count += 1


class _Producer:
    """Runs a generator in a thread, ahead of its consumer, through a bounded queue.

    An exception in the generator is handed to the consumer and raised there."""

    _END = object()

    def __init__(self, source: Iterator, size: int, stop: threading.Event):
        self.queue: queue.Queue = queue.Queue(maxsize=max(1, size))
        self.stop = stop
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(source,), daemon=True,
                                       name="rnnrbm-music generator")
        self.thread.start()

    def _run(self, source: Iterator) -> None:
        try:
            with _one_torch_thread():
                for item in source:
                    if not self._put(item):
                        return
        except BaseException as error:  # handed over to the consumer, which raises it
            self._put(error)
            return
        self._put(self._END)

    def _put(self, item) -> bool:
        while not (self.closed.is_set() or self.stop.is_set()):
            try:
                self.queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self):
        while True:
            try:
                item = self.queue.get(timeout=0.05)
            except queue.Empty:
                if self.stop.is_set() or not self.thread.is_alive() and self.queue.empty():
                    return
                continue
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self.closed.set()
        self.thread.join(timeout=5)


class LiveSession(Closing):
    """Call and response: listen to a player on ``in_port``, answer with a continuation.

    What is played is quantized to frames on the session's bar grid: bars at ``bpm`` from
    :attr:`grid_start`, when the session opened, or with ``clock_in`` the bars of the song a
    DAW's MIDI clock plays (see :class:`LivePlayer`; a phrase played while its transport is
    stopped is placed from its first note, and answered once the transport runs). It is heard
    as a keyboard sends it
    (:class:`~rnnrbm_music.phrase.PhraseRecorder`): on ``in_channels`` (0-15; default every one
    but channel 10, the drums), with the sustain pedal holding released notes (``sustain``). The phrase ends after ``silence_bars`` bars with nothing sounding, or
    when ``controller`` is pressed (64, the sustain pedal itself, makes the pedal end phrases
    instead of holding notes); the composer then continues it, in the player's key, for
    ``answer_bars`` whole bars (default: as many as the phrase), played from the grid's next
    downbeat on ``out_port`` (or a new virtual port ``virtual_name``); then it listens again.
    """

    def __init__(self, in_port: str, out_port: str | None = None, composer=None,
                 bpm: float = 120, virtual_name: str = "rnnrbm-music", silence_bars: float = 1.0,
                 controller: int | None = None, answer_bars: int | None = None, k: int = 25,
                 temperature: float = 1.0, seed: int | None = None, api: str | None = None,
                 time_signature: str = "4/4", channel: int = 0,
                 in_channels: Iterable[int] | None = None, sustain: bool = True,
                 clock_in: str | bool | None = None):
        if composer is None:
            from .composer import RnnRbmComposer
            composer = RnnRbmComposer.pretrained()
        self.composer = composer
        bpm, silence_bars, controller, answer_bars, k, temperature, seed = check_all(
            bpm=bpm, silence_bars=silence_bars, controller=controller, answer_bars=answer_bars,
            k=k, temperature=temperature, seed=seed)
        self.bpm, self.silence_bars, self.controller = bpm, silence_bars, controller
        self.answer_bars, self.k, self.temperature, self.seed = answer_bars, k, temperature, seed
        self.time_signature = time_signature
        self.in_channels = None if in_channels is None else [checked("channel", c)
                                                             for c in in_channels]
        self.sustain = checked("sustain", sustain)
        self.input = open_input(in_port, api=api)
        try:
            self.player = LivePlayer(out_port, virtual_name, bpm=bpm, api=api, channel=channel,
                                     clock_in=clock_in)
        except BaseException:
            self.input.close()
            raise
        self.follower = self.player.follower
        #: Where the session's bar grid starts (monotonic clock, seconds): phrases are placed on
        #: it and answers start on its downbeats.
        self.grid_start = time.monotonic()
        self._answer_from: float | None = 0.0    # quarters on the grid
        self._stop = threading.Event()
        self.phrases: list[PianoRoll] = []
        #: Each phrase as it was heard: (start, end, MIDI pitch), monotonic seconds.
        self.heard: list[list[tuple[float, float, int]]] = []
        #: Each answer as it was played (in the player's key).
        self.answers: list[PianoRoll] = []

    def close(self) -> None:
        self.player.close()
        self.input.close()

    def stop(self) -> None:
        """Stop listening or answering (from another thread)."""
        self._stop.set()
        self.player.stop()

    @property
    def frames_per_bar(self) -> int:
        return bar_frames(self.time_signature, self.composer.steps_per_quarter)

    @property
    def bar_quarters(self) -> float:
        """How many quarter notes a bar of the session's meter lasts."""
        return self.frames_per_bar / self.composer.steps_per_quarter

    @property
    def bar_seconds(self) -> float:
        """How long a bar lasts at the session's tempo (``bpm``: its own clock's)."""
        return self.bar_quarters * 60.0 / self.bpm

    def position(self, at: float) -> float | None:
        """Where monotonic time ``at`` falls on the session's grid, in quarter notes from its
        start: from :attr:`grid_start` at ``bpm``, or with ``clock_in`` the song position of
        the master's clock (None while its transport is stopped)."""
        if self.follower is None:
            return (at - self.grid_start) * self.bpm / 60.0
        pulses = self.follower.position_at(at)
        return None if pulses is None else pulses / PULSES_PER_QUARTER

    def downbeat(self, quarters: float, after: bool = True) -> float:
        """The grid's downbeat at or after ``quarters`` (at or before it, ``after=False``)."""
        bars = quarters / self.bar_quarters
        whole = math.ceil(bars - 1e-9) if after else math.floor(bars + 1e-9)
        return whole * self.bar_quarters

    def _tempo(self) -> float:
        """Quarter notes per minute: the master's, once heard, with ``clock_in``."""
        return (self.follower.bpm if self.follower is not None else None) or self.bpm

    def listen(self) -> PianoRoll | None:
        """Record one phrase and return it as a PianoRoll (in the player's key, normalized as
        the composer's corpus was); None if stopped first."""
        silence = self.silence_bars * self.bar_quarters * 60.0 / self._tempo()
        recorder = PhraseRecorder(silence, self.in_channels, self.sustain, self.controller)
        self.input.drain()   # forget anything played while we were answering
        while not self._stop.is_set() and not recorder.ended(time.monotonic()):
            heard = self.input.poll()
            if heard is None:
                time.sleep(0.001)
            else:
                recorder.hear(*heard)
        notes = recorder.notes
        if not notes:
            return None
        self.heard.append(sorted(notes))
        placed = [(self.position(start), self.position(end), pitch) for start, end, pitch in notes]
        if all(start is not None and end is not None for start, end, _ in placed):
            # On the grid: from the downbeat before the first note to the one after the last,
            # so the phrase's bar lines are the grid's and the answer starts on a downbeat.
            first = self.downbeat(min(start for start, _, _ in placed), after=False)
            self._answer_from = self.downbeat(max(end for _, end, _ in placed))
        else:   # the master's transport is stopped: the first note starts a bar
            quarter, began = 60.0 / self._tempo(), min(start for start, _, _ in notes)
            placed = [((s - began) / quarter, (e - began) / quarter, p) for s, e, p in notes]
            first, self._answer_from = 0.0, None
        in_quarters = [(start - first, end - first, pitch) for start, end, pitch in placed]
        length = self.downbeat(max(end for _, end, _ in in_quarters))
        roll = PianoRoll.from_notes(in_quarters, steps_per_quarter=self.composer.steps_per_quarter,
                                    out_of_range="fold", time_signature=self.time_signature,
                                    bpm=round(self._tempo(), 2),
                                    n_frames=round(length * self.composer.steps_per_quarter))
        return keys.apply_key(roll, self.composer.normalize_key)

    def answer(self, phrase: PianoRoll, lead: float = 0.05) -> Schedule:
        """Continue ``phrase`` for whole bars (``answer_bars``, else as many as the phrase has)
        and play the continuation from the first downbeat of the session's grid after the
        phrase, or after the answer is ready (``lead`` seconds on) if that is later; with
        ``clock_in`` and the transport stopped, from the first downbeat once it runs."""
        bars = self.answer_bars or max(1, round(len(phrase) / self.frames_per_bar))
        with _one_torch_thread():
            reply = self.composer.continue_roll(phrase, bars * self.frames_per_bar, self.k,
                                                self.temperature, self.seed,
                                                include_prime=False)[0]
        self.answers.append(reply)
        ready = self.position(time.monotonic() + lead)
        if self._answer_from is None or ready is None:
            return self.player.play(reply)
        start = self.downbeat(max(self._answer_from, ready))
        if self.follower is not None:
            return self.player.play(reply, from_pulse=start * PULSES_PER_QUARTER)
        return self.player.play(reply, start_at=self.grid_start + start * 60.0 / self.bpm)

    def run(self, phrases: int | None = None) -> int:
        """Listen and answer, ``phrases`` times or until ``stop()`` / Ctrl+C; returns the count."""
        answered = 0
        with _in_real_time():   # the ports' threads hear while the answer is composed
            while not self._stop.is_set() and (phrases is None or answered < phrases):
                phrase = self.listen()
                if phrase is None:
                    break
                self.phrases.append(phrase)
                self.answer(phrase)
                answered += 1
        return answered
