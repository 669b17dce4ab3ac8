"""Following a MIDI clock master: its transport and the tempo of its pulses.

A DAW that sends MIDI clock is the studio's master: 24 pulses (Timing Clock, 0xF8) a quarter
note, Start (0xFA: the song from its beginning, the first pulse after it is the downbeat of
bar 1), Stop (0xFC), Continue (0xFB: from where it stopped) and Song Position Pointer (0xF2: a
new place, in sixteenth notes, set while stopped). :class:`ClockFollower` listens to them on an
input port and tells a player where the song is and when a pulse of the song is due.

Timing. Each pulse is stamped on the monotonic clock when it arrives, and arrives late by a
varying transport delay (a JACK MIDI message waits for the next process cycle: 0 to one
period). The tempo is the slope of a least-squares line through the last ``window`` pulses
(12: half a beat); a pulse that strays from that tempo by more than the transport's delay
starts the line anew from the last interval, so a tempo change is followed from its second
pulse on. A pulse's sending time is estimated
as that line moved down to its earliest arrival in the window, as NTP estimates a clock from its
least-delayed packets: the delay is never negative, so the pulses that came earliest were the
least delayed. A player that sends at those times sends with the master's pulses, and its notes
reach the DAW with the pulses' own delay rather than with two.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from .midi_ports import Closing, open_input

PULSES_PER_QUARTER = 24
PULSES_PER_SONG_POSITION = 6    # Song Position Pointer counts sixteenth notes
# A gap this many pulses long (or 0.1 s, whichever is longer) means the clock paused: the
# pulses before it say nothing of the tempo after it.
_GAP_PULSES = 3
# A clock silent this many pulses long (or 0.25 s) while the transport runs has gone away
# without a Stop (a DAW that crashed, a cable pulled): the player turns its notes off.
_SILENT_PULSES = 8
# How far a pulse may stray from the tempo heard (beyond the delays seen) before it is taken as
# the first pulse of a new tempo.
_CHANGE_SECONDS = 0.001
# A pulse of the song is predicted only this many pulses past the last one heard: if the master
# stops sending clock, the player stops with it instead of running on by itself.
_MAX_LEAD_PULSES = 1
_POLL_SECONDS = 0.0005
#: The last stretch of a wait is spun rather than slept: sleep overshoots by up to ~1 ms.
SPIN_SECONDS = 0.0015

DUE, TRANSPORT, STOPPED = "due", "transport", "stopped"


def spin_until(at: float) -> None:
    """Busy-wait until ``at`` (monotonic seconds), handing the GIL over on every turn, so the
    thread reading the master's clock is never kept waiting by a frame's deadline."""
    while time.monotonic() < at:
        time.sleep(0)


class SongClock:
    """The transport and tempo of a MIDI clock master, from the messages it sends
    (:meth:`hear`) with their arrival times. Song positions are counted in pulses (24 a quarter
    note) from the song's start; ``window`` pulses (at least 3) give the tempo.

    >>> import mido
    >>> song = SongClock()
    >>> for pulse in range(30):         # 120 bpm: a pulse every 1/48 s; Start before the 7th
    ...     if pulse == 6:
    ...         song.hear(mido.Message("start"), 5.5 / 48)
    ...     song.hear(mido.Message("clock"), pulse / 48)
    >>> round(song.bpm, 6), song.running, song.position
    (120.0, True, 24)
    >>> round(song.time_of(24) * 48, 6)     # the next pulse, song position 24, is due at 30/48 s
    30.0

    Attributes (read them under no lock: each is one Python object):
        running: whether the transport plays (after Start or Continue, until Stop).
        position: the song position, in pulses, of the next pulse to come.
        transport: how many transport messages (Start, Stop, Continue, Song Position Pointer)
            have been heard; a player notices a jump by this count changing.
    """

    def __init__(self, window: int = PULSES_PER_QUARTER // 2):
        if window < 3:
            raise ValueError(f"window must be at least 3 pulses, got {window}")
        self.running = False
        self.position = 0
        self.transport = 0
        self._ticks = 0            # pulses heard, running or not
        self._origin = 1           # the tick that is song position 0 (while running)
        self._recent: deque[tuple[int, float]] = deque(maxlen=window)   # (tick, arrival)
        #: The song position the transport last started from (at Start, Continue or a Song
        #: Position Pointer): where playing goes on, however many pulses have come since.
        self.started_from = 0
        self._jitter = 0.0         # the largest spread of delays seen over a whole window
        self._changed = threading.Condition()

    # --- hearing ---------------------------------------------------------------------------------
    def hear(self, message, at: float) -> None:
        """Take one MIDI message that arrived at ``at`` (monotonic seconds): clock and
        transport; anything else is ignored."""
        kind = message.type
        with self._changed:
            if kind in ("clock", "start", "continue") and self._paused_before(at):
                self._recent.clear()     # a master that sends clock only while it plays
            if kind == "clock":
                if self._tempo_changed_at(self._ticks + 1, at):
                    while len(self._recent) > 1:     # the new tempo: from the last interval on
                        self._recent.popleft()
                self._ticks += 1
                self._recent.append((self._ticks, at))
                if self.running:
                    self.position += 1
            elif kind == "start":
                self.running, self.position = True, 0
                self._origin = self._ticks + 1
            elif kind == "continue":
                self.running = True
                self._origin = self._ticks + 1 - self.position
            elif kind == "stop":
                self.running = False
            elif kind == "songpos":
                self.position = message.pos * PULSES_PER_SONG_POSITION
                self._origin = self._ticks + 1 - self.position
            else:
                return
            if kind != "clock":
                self.transport += 1
                self.started_from = self.position
            self._changed.notify_all()

    def transport_state(self) -> tuple[int, int]:
        """``(transport, started_from)`` read together: the count of transport messages and
        the song position the last of them started the transport from (the pulses heard since
        are not counted: the first pulse after Start is the downbeat, whenever it is read)."""
        with self._changed:
            return self.transport, self.started_from

    def _tempo_changed_at(self, tick: int, at: float) -> bool:
        """Whether pulse ``tick``, arriving at ``at``, cannot be of the tempo heard: earlier or
        later than its predicted sending time by more than the transport delays pulses (the
        largest spread of delays seen, plus ``_CHANGE_SECONDS``). The line lags a change by
        its window; this catches a change at its first pulse."""
        if len(self._recent) < 4:
            return False
        seconds = self._pulse_seconds()
        if seconds is None:
            return False
        last = self._recent[-1][0]
        envelope = self._sent_at(last, seconds)
        spread = max(heard_at - (envelope - (last - heard) * seconds)
                     for heard, heard_at in self._recent)
        if len(self._recent) == self._recent.maxlen:
            self._jitter = max(self._jitter, spread)     # the transport's, once a window is full
        delay = at - (envelope + (tick - last) * seconds)
        bound = max(spread, self._jitter) + _CHANGE_SECONDS
        return not -bound < delay < bound

    def _paused_before(self, at: float) -> bool:
        """Whether the last pulse is longer ago than ``_GAP_PULSES`` pulses (0.1 s at least) at
        the tempo heard."""
        if not self._recent:
            return False
        seconds = self._pulse_seconds()
        return seconds is not None and at - self._recent[-1][1] > max(0.1, _GAP_PULSES * seconds)

    # --- tempo -----------------------------------------------------------------------------------
    def _pulse_seconds(self) -> float | None:
        """Seconds per pulse: the least-squares slope of arrival against pulse over the window;
        None before two pulses have been heard in a row."""
        if len(self._recent) < 2:
            return None
        ticks = [tick for tick, _ in self._recent]
        times = [at for _, at in self._recent]
        mean_tick, mean_time = sum(ticks) / len(ticks), sum(times) / len(times)
        spread = sum((tick - mean_tick) ** 2 for tick in ticks)
        slope = sum((tick - mean_tick) * (at - mean_time) for tick, at in self._recent) / spread
        return slope if slope > 0 else None

    @property
    def pulse_seconds(self) -> float | None:
        """Seconds between the master's pulses, smoothed over the window; None until two
        pulses have been heard in a row."""
        with self._changed:
            return self._pulse_seconds()

    @property
    def bpm(self) -> float | None:
        """The master's tempo in quarter notes per minute (``60 / (24 * pulse_seconds)``);
        None until two pulses have been heard in a row."""
        seconds = self.pulse_seconds
        return None if seconds is None else 60.0 / (seconds * PULSES_PER_QUARTER)

    def _sent_at(self, tick: float, seconds: float) -> float:
        """When the master sent pulse ``tick`` (monotonic seconds): the window's lower envelope,
        ``min(arrival_i + (tick - tick_i) * seconds)``."""
        return min(at + (tick - heard) * seconds for heard, at in self._recent)

    def time_of(self, pulse: float) -> float | None:
        """When song position ``pulse`` (pulses, may be fractional) is due on the monotonic
        clock, as the master sends it; None while that cannot be known (stopped, the tempo not
        yet heard, or ``pulse`` more than a pulse past the last one heard)."""
        with self._changed:
            return self._time_of(pulse)

    def _time_of(self, pulse: float) -> float | None:
        if not self.running or not self._recent:
            return None
        tick = self._origin + pulse
        last = self._recent[-1][0]
        if tick > last + _MAX_LEAD_PULSES:
            return None
        seconds = self._pulse_seconds()
        if seconds is None:   # no tempo yet: a pulse already heard is due when it came
            return next((at for heard, at in self._recent if heard >= tick), None)
        return self._sent_at(tick, seconds)

    def position_at(self, at: float) -> float | None:
        """The song position (pulses, fractional) at monotonic time ``at``, on the tempo and
        sending times heard so far; None while stopped or before the tempo is known."""
        with self._changed:
            seconds = self._pulse_seconds()
            if not self.running or seconds is None:
                return None
            last = self._recent[-1][0]
            return last - self._origin + (at - self._sent_at(last, seconds)) / seconds

    def _silent_at(self, now: float) -> bool:
        if not self._recent:
            return False
        seconds = self._pulse_seconds() or 0.0
        return now - self._recent[-1][1] > max(0.25, _SILENT_PULSES * seconds)

    # --- waiting ---------------------------------------------------------------------------------
    def wait_running(self, stop: threading.Event) -> bool:
        """Block until the transport runs (Start or Continue); False if ``stop`` is set first."""
        with self._changed:
            while not self.running:
                if stop.is_set():
                    return False
                self._changed.wait(0.05)
            return True

    def wait_for(self, pulse: float, transport: int, stop: threading.Event,
                 on_silence=None) -> str:
        """Block until song position ``pulse`` is due. Returns ``DUE``; ``TRANSPORT`` as soon
        as the transport count is no longer ``transport`` (Stop, Start, Continue, a new song
        position) or the transport is stopped; ``STOPPED`` when ``stop`` is set. If the clock
        falls silent meanwhile (``_SILENT_PULSES`` pulses, 0.25 s at least, with no Stop),
        ``on_silence()`` is called, once, and the wait goes on."""
        silenced = False
        while True:
            with self._changed:
                while True:
                    if stop.is_set():
                        return STOPPED
                    if self.transport != transport or not self.running:
                        return TRANSPORT
                    due = self._time_of(pulse)
                    now = time.monotonic()
                    remaining = math.inf if due is None else due - now
                    if remaining <= SPIN_SECONDS:
                        break
                    if on_silence is not None and not silenced and self._silent_at(now):
                        silenced = True
                        on_silence()
                    # Woken by every pulse: a tempo change moves ``due``.
                    self._changed.wait(min(0.05, remaining - SPIN_SECONDS))
            spin_until(due)
            with self._changed:
                if self.transport == transport and self.running:
                    return DUE


class ClockFollower(SongClock, Closing):
    """A :class:`SongClock` that hears a MIDI clock master on an input port: ``port`` opens an
    existing input by exact name (a DAW's clock output, a hardware MIDI interface); without it
    a virtual input ``virtual_name`` is created for the DAW to send its clock to. A thread
    reads the port every half millisecond; each message keeps the time the MIDI backend stamped
    on its arrival (:mod:`~rnnrbm_music.midi_input`), however late it is read.

    Raises :class:`~rnnrbm_music.midi_ports.LiveMidiError` when the port cannot be opened.
    """

    def __init__(self, port: str | None = None, virtual_name: str = "rnnrbm-music-clock",
                 api: str | None = None, window: int = PULSES_PER_QUARTER // 2):
        super().__init__(window)
        self.input = open_input(port, virtual_name, api)
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True,
                                        name="rnnrbm-music clock follower")
        self._reader.start()

    def close(self) -> None:
        self._closed.set()
        self._reader.join(timeout=1)
        self.input.close()

    def _read(self) -> None:
        while not self._closed.is_set():
            heard = self.input.poll()
            if heard is None:
                time.sleep(_POLL_SECONDS)
            else:
                self.hear(*heard)
