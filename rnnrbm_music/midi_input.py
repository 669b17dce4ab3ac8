"""MIDI input read by polling, each message with the time it arrived (monotonic clock).

mido's rtmidi ports hand every message to Python from the MIDI backend's thread; on JACK that
thread is the server's process cycle, and a cycle kept waiting for the GIL (a model composing in
another thread, a module being imported) overruns its period: JACK reports an xrun and drops or
garbles that cycle's MIDI, clock pulses among it. A :class:`TimedInput` leaves messages in
rtmidi's own queue, where the backend stamps them (JACK's clock, read in the process cycle),
and reads them when asked: Python being busy delays the reading, never the stamp.

rtmidi gives each stamp as the time since the message before. Their running sum is put on the
monotonic clock by ``min(read time - sum)`` over the messages read so far: a message is never
read before it arrives, so the message read soonest after its arrival gives the offset (to
within how often the input is polled).
"""

from __future__ import annotations

import math
import time

import mido
import rtmidi

# rtmidi's own queue: over 20 minutes of clock at 120 bpm (48 pulses a second), so a port that
# is not read for a while (a session answering) keeps its latest messages, not a warning.
QUEUE_SIZE = 65536
# Heard, stamped, and then passed over: System Exclusive and active sensing. rtmidi's own filter
# would drop them before stamping, and the time since them would be lost from the next stamp.
_IGNORED = {"sysex", "active_sensing"}


class TimedInput:
    """An rtmidi input read by :meth:`poll`: ``(mido.Message, arrival)`` pairs, the arrival in
    monotonic seconds. Clock and the other system real-time messages are read; System
    Exclusive and active sensing are skipped (after their time is counted)."""

    def __init__(self, midi_in: rtmidi.MidiIn, name: str):
        self._in, self.name, self.closed = midi_in, name, False
        self._in.ignore_types(sysex=False, timing=False, active_sense=False)
        self._since_first = 0.0       # the backend's stamps, summed (seconds)
        self._offset = math.inf       # monotonic time minus that sum, its lower envelope

    def poll(self) -> tuple[mido.Message, float] | None:
        """The next message and its arrival time, or None when none is waiting. Bytes that
        are no MIDI message (a broken sender) are skipped."""
        while not self.closed:
            got = self._in.get_message()
            if got is None:
                return None
            data, delta = got
            self._since_first += delta
            self._offset = min(self._offset, time.monotonic() - self._since_first)
            try:
                message = mido.Message.from_bytes(data)
            except ValueError:
                continue
            if message.type not in _IGNORED:
                return message, self._since_first + self._offset
        return None

    def drain(self) -> None:
        """Forget every message waiting."""
        while self.poll() is not None:
            pass

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._in.close_port()
            self._in.delete()


def open_timed(api_name: str, name: str, virtual: bool) -> TimedInput:
    """Open rtmidi input ``name`` (an existing port's exact name, or a new virtual port and
    client of that name) on backend ``api_name`` (rtmidi's, e.g. ``"UNIX_JACK"``).
    Raises what rtmidi raises when the backend or the port cannot be opened."""
    api = getattr(rtmidi, f"API_{api_name}")
    # An existing port is read by a client of its own name: not the player's, which would then
    # be renamed (JACK makes a taken client name NAME-01).
    midi_in = rtmidi.MidiIn(api, name if virtual else "rnnrbm-music-in", QUEUE_SIZE)
    try:
        if virtual:
            midi_in.open_virtual_port(name)
        else:
            midi_in.open_port(midi_in.get_ports().index(name))
    except BaseException:
        midi_in.delete()
        raise
    return TimedInput(midi_in, name)
