"""Real-time MIDI: play piano rolls and endless continuations into a DAW, answer a player.

Ports go through mido with python-rtmidi underneath: an existing port is opened by its exact
name, or a virtual one is created (JACK or ALSA on Linux, CoreMIDI on macOS; Windows has no
virtual ports, so give the name of a loopMIDI port there). ``api`` picks rtmidi's backend
(``"jack"``, ``"alsa"``, ``"coremidi"``, ``"windows"``); by default the first that works.

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

The MIDI libraries' own C-level messages (libjack's "Cannot connect to server socket", ALSA's
"open /dev/snd/seq failed") are kept off the terminal while ports are listed and opened: a
failure is reported once, in one line, by :class:`LiveMidiError`.
"""

from __future__ import annotations

import math
import os
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
from .phrase import PhraseRecorder
from .roll import PianoRoll, bar_frames, fold_into_range

#: rtmidi API names by the short names this module takes.
APIS = {"alsa": "LINUX_ALSA", "jack": "UNIX_JACK", "coremidi": "MACOSX_CORE",
        "windows": "WINDOWS_MM"}
ALL_NOTES_OFF = 123
CLOCKS_PER_QUARTER = 24
# The last stretch of every wait is spun rather than slept: sleep overshoots by up to ~1 ms.
_SPIN_SECONDS = 0.0015


@contextmanager
def _one_torch_thread():
    """Run torch on one thread inside the block (per thread with OpenMP; restored after)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextmanager
def _c_library_messages_hidden():
    """Send what C libraries write to the process's standard error (file descriptor 2) to
    /dev/null inside the block; Python's own ``sys.stderr`` writes are flushed first."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


#: rtmidi's messages when a backend cannot start, in users' words.
_BACKEND_PROBLEMS = {"JACK server not running": "no JACK server is running (start one: jackd, "
                                                "QjackCtl, or your DAW's audio settings)",
                     "ALSA sequencer": "no ALSA sequencer (/dev/snd/seq) on this machine"}


def _problem(error: Exception) -> str:
    text = str(error).strip()
    return next((ours for theirs, ours in _BACKEND_PROBLEMS.items() if theirs in text), text)


class LiveMidiError(RuntimeError):
    """A MIDI port could not be opened or created; the message says what to do."""


def _backend(api: str) -> mido.Backend:
    return mido.Backend(f"mido.backends.rtmidi/{APIS[api]}", load=True)


def _port_names(backend: mido.Backend, kind: str) -> list[str]:
    with _c_library_messages_hidden():
        return backend.get_output_names() if kind == "output" else backend.get_input_names()


def _candidate_apis(api: str | None) -> list[str]:
    if api is not None:
        if api not in APIS:
            raise LiveMidiError(f"unknown MIDI api {api!r}: use one of {sorted(APIS)}")
        return [api]
    if sys.platform == "darwin":
        return ["coremidi"]
    if sys.platform == "win32":
        return ["windows"]
    # ALSA's sequencer needs /dev/snd/seq; without it (containers) JACK is the way.
    return ["alsa", "jack"] if os.path.exists("/dev/snd/seq") else ["jack", "alsa"]


def list_ports(api: str | None = None) -> dict[str, dict]:
    """Input and output port names by api: ``{"jack": {"inputs": [...], "outputs": [...]}}``;
    an api that does not answer has ``{"error": "no JACK server is running (...)"}`` instead."""
    found = {}
    for name in _candidate_apis(api):
        try:
            backend = _backend(name)
            found[name] = {"inputs": _port_names(backend, "input"),
                           "outputs": _port_names(backend, "output")}
        except Exception as error:  # rtmidi raises SystemError and others when an api is absent
            found[name] = {"error": _problem(error)}
    return found


def _open(kind: str, port: str | None, virtual_name: str | None, api: str | None):
    """Open an input or output: an existing port by exact name, or a new virtual one."""
    problems = []
    for name in _candidate_apis(api):
        try:
            backend = _backend(name)
            if port is not None:
                names = _port_names(backend, kind)
                if port in names:
                    with _c_library_messages_hidden():
                        return getattr(backend, f"open_{kind}")(port)
                problems.append(f"{name} has no {kind} port named {port!r} (it has: "
                                f"{', '.join(map(repr, names)) or 'none'}; see "
                                "`rnnrbm-music ports`)")
                continue
            with _c_library_messages_hidden():
                return getattr(backend, f"open_{kind}")(virtual_name, virtual=True,
                                                        client_name=virtual_name)
        except Exception as error:  # rtmidi raises SystemError etc. when the api cannot start
            problems.append(f"{name}: {_problem(error)}")
    if port is None and sys.platform == "win32":
        raise LiveMidiError("Windows has no virtual MIDI ports: create one with loopMIDI and "
                            f"pass its name (e.g. port='loopMIDI Port') instead of a virtual {kind}")
    what = f"{kind} port {port!r}" if port else f"virtual {kind} port {virtual_name!r}"
    raise LiveMidiError(f"cannot open {what}: {'; '.join(problems)}")


def open_output(port: str | None = None, virtual_name: str = "rnnrbm-music",
                api: str | None = None):
    """An output port: ``port`` by exact name, else a new virtual port ``virtual_name``."""
    return _open("output", port, virtual_name, api)


def open_input(port: str | None = None, virtual_name: str = "rnnrbm-music-in",
               api: str | None = None):
    """An input port: ``port`` by exact name, else a new virtual port ``virtual_name``."""
    return _open("input", port, virtual_name, api)


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
    """When playing started and how long a frame lasts (monotonic clock, seconds)."""

    start: float
    frame_seconds: float
    frames_played: int = 0


class LivePlayer:
    """Plays piano rolls and endless continuations to a MIDI output, in time.

    ``port`` opens an existing output by exact name; without it a virtual port
    ``virtual_name`` is created for a DAW to connect to. Use it as a context manager (or call
    ``close()``) so the port is released.

    ``clock=True`` also sends MIDI clock (24 pulses per quarter note) with Start and Stop, so a
    DAW can follow the tempo.
    """

    def __init__(self, port: str | None = None, virtual_name: str = "rnnrbm-music",
                 bpm: float = 120, channel: int = 0, velocity: int = 80,
                 program: int | None = None, api: str | None = None, clock: bool = False):
        bpm, channel, velocity, program = check_all(bpm=bpm, channel=channel, velocity=velocity,
                                                    program=program)
        self.bpm, self.channel, self.velocity, self.clock = bpm, channel, velocity, clock
        self.port = open_output(port, virtual_name, api)
        self.sounding: set[int] = set()
        self._silent = True   # no performance since the last All Notes Off
        self.schedule: Schedule | None = None
        self._stop = threading.Event()
        self.program = program
        if program is not None:
            self._send(mido.Message("program_change", channel=channel, program=program))

    def __enter__(self) -> LivePlayer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Silence everything and close the port."""
        self.all_notes_off()
        if not self.port.closed:
            self.port.close()

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
            if remaining > _SPIN_SECONDS and self._stop.wait(remaining - _SPIN_SECONDS):
                return False
            while time.monotonic() < target:
                pass
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
                frames = sounding_pitches(roll)
                # Onsets as given: a chunk of an endless continuation that starts with a note
                # held from the chunk before has no onset there, and nothing is struck again.
                struck = (sounding_pitches(roll, roll.onsets) if roll.onsets is not None
                          else np.zeros_like(frames))
                if schedule is None:
                    if self.program is not None:   # again: a DAW may have connected since
                        self._send(mido.Message("program_change", channel=self.channel,
                                                program=self.program))
                    seconds = 60.0 / (self.bpm * roll.steps_per_quarter)
                    start = time.monotonic() + lead if start_at is None else start_at
                    schedule = self.schedule = Schedule(start, seconds)
                    if self.clock:
                        clock = _Clock(schedule.start, 60.0 / (self.bpm * CLOCKS_PER_QUARTER))
                        self._send(mido.Message("start"))
                for row, struck_row in zip(frames, struck):
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

    # --- playing -------------------------------------------------------------------------------
    def play(self, music, lead: float = 0.05, start_at: float | None = None) -> Schedule:
        """Play a PianoRoll or a music21 Stream to the end (or until ``stop()``), from
        ``lead`` seconds on, or from ``start_at`` (a time on the monotonic clock)."""
        if not isinstance(music, PianoRoll):
            from .score_reading import from_stream
            music = from_stream(music, normalize_key=False)
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
        try:
            return self._perform(chunks, bars * frames_per_bar if bars else None, lead)
        finally:
            chunks.close()


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


class LiveSession:
    """Call and response: listen to a player on ``in_port``, answer with a continuation.

    What is played is quantized to frames at ``bpm`` on the session's bar grid (bars from
    :attr:`grid_start`, when the session opened), as a keyboard sends it
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
                 in_channels: Iterable[int] | None = None, sustain: bool = True):
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
        self.player = LivePlayer(out_port, virtual_name, bpm=bpm, api=api, channel=channel)
        #: Where the session's bar grid starts (monotonic clock, seconds): phrases are placed on
        #: it and answers start on its downbeats.
        self.grid_start = time.monotonic()
        self._answer_from = self.grid_start
        self._stop = threading.Event()
        self.phrases: list[PianoRoll] = []
        #: Each phrase as it was heard: (start, end, MIDI pitch), monotonic seconds.
        self.heard: list[list[tuple[float, float, int]]] = []

    def __enter__(self) -> LiveSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.player.close()
        if not self.input.closed:
            self.input.close()

    def stop(self) -> None:
        """Stop listening or answering (from another thread)."""
        self._stop.set()
        self.player.stop()

    @property
    def frames_per_bar(self) -> int:
        return bar_frames(self.time_signature, self.composer.steps_per_quarter)

    @property
    def bar_seconds(self) -> float:
        """How long a bar of the session's meter lasts at its tempo."""
        return self.frames_per_bar / self.composer.steps_per_quarter * 60.0 / self.bpm

    def downbeat(self, at: float, after: bool = True) -> float:
        """The session grid's downbeat at or after ``at`` (or at or before it, ``after=False``)."""
        bars = (at - self.grid_start) / self.bar_seconds
        whole = math.ceil(bars - 1e-9) if after else math.floor(bars + 1e-9)
        return self.grid_start + whole * self.bar_seconds

    def listen(self) -> PianoRoll | None:
        """Record one phrase and return it as a PianoRoll (in the player's key, normalized as
        the composer's corpus was); None if stopped first."""
        quarter = 60.0 / self.bpm
        silence = self.silence_bars * self.frames_per_bar / self.composer.steps_per_quarter * quarter
        recorder = PhraseRecorder(silence, self.in_channels, self.sustain, self.controller)
        for _ in self.input.iter_pending():   # forget anything played while we were answering
            pass
        while not self._stop.is_set() and not recorder.ended(time.monotonic()):
            message = self.input.poll()
            if message is None:
                time.sleep(0.001)
            else:
                recorder.hear(message, time.monotonic())
        notes = recorder.notes
        if not notes:
            return None
        self.heard.append(sorted(notes))
        # On the session's bar grid: from the downbeat before the first note to the one after
        # the last, so the phrase's bar lines are the grid's and the answer starts on a downbeat.
        first = self.downbeat(min(start for start, _, _ in notes), after=False)
        self._answer_from = self.downbeat(max(end for _, end, _ in notes))
        in_quarters = [((s - first) / quarter, (e - first) / quarter, p) for s, e, p in notes]
        frames = round((self._answer_from - first) / quarter * self.composer.steps_per_quarter)
        roll = PianoRoll.from_notes(in_quarters, steps_per_quarter=self.composer.steps_per_quarter,
                                    out_of_range="fold", time_signature=self.time_signature,
                                    bpm=self.bpm, n_frames=frames)
        return keys.apply_key(roll, self.composer.normalize_key)

    def answer(self, phrase: PianoRoll, lead: float = 0.05) -> Schedule:
        """Continue ``phrase`` for whole bars (``answer_bars``, else as many as the phrase has)
        and play the continuation from the first downbeat of the session's grid after the
        phrase, or after the answer is ready (``lead`` seconds on) if that is later."""
        bars = self.answer_bars or max(1, round(len(phrase) / self.frames_per_bar))
        with _one_torch_thread():
            reply = self.composer.continue_roll(phrase, bars * self.frames_per_bar, self.k,
                                                self.temperature, self.seed,
                                                include_prime=False)[0]
        start = self.downbeat(max(self._answer_from, time.monotonic() + lead))
        return self.player.play(reply, start_at=start)

    def run(self, phrases: int | None = None) -> int:
        """Listen and answer, ``phrases`` times or until ``stop()`` / Ctrl+C; returns the count."""
        answered = 0
        while not self._stop.is_set() and (phrases is None or answered < phrases):
            phrase = self.listen()
            if phrase is None:
                break
            self.phrases.append(phrase)
            self.answer(phrase)
            answered += 1
        return answered
