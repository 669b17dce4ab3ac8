"""A player's phrase from the MIDI messages a keyboard sends, as call and response hears it.

Notes pair first in, first out by pitch, as a MIDI file's do (a key struck again while it
sounds is a second note; each note_off ends the earliest). The sustain pedal (controller 64)
holds every note released while it is down until it is lifted, or until its key is struck
again, as on a piano. Only the chosen channels are heard, by default every one but channel 10
(General MIDI's drums); clock, active sensing and every other system message are not notes and
change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

import mido

#: Channel 10, counted from 0 as in MIDI messages: General MIDI's drums.
DRUMS = 9
#: The sustain (damper) pedal's controller; at 64 and above it is down.
SUSTAIN = 64


class PhraseRecorder:
    """Hears messages one at a time (:meth:`hear`, with the time each arrived, in seconds) and
    says when the phrase has ended (:meth:`ended`): after ``silence`` seconds with nothing
    sounding, or when ``controller`` is pressed. ``channels`` (0-15; default every one but
    drums) are heard. With ``sustain`` the pedal holds released notes; a ``controller`` of 64
    makes the pedal end the phrase instead.

    >>> recorder = PhraseRecorder(silence=1.0)
    >>> for at, message in [(0.0, mido.Message("control_change", control=64, value=127)),
    ...                     (0.1, mido.Message("note_on", note=60, velocity=80)),
    ...                     (0.5, mido.Message("note_off", note=60)),       # under the pedal
    ...                     (0.6, mido.Message("note_on", note=36, channel=9, velocity=90)),
    ...                     (0.7, mido.Message("clock")),
    ...                     (1.2, mido.Message("control_change", control=64, value=0))]:
    ...     recorder.hear(message, at)
    >>> recorder.notes, recorder.ended(2.0), recorder.ended(2.2)
    ([(0.1, 1.2, 60)], False, True)
    """

    def __init__(self, silence: float, channels: Iterable[int] | None = None,
                 sustain: bool = True, controller: int | None = None):
        self.silence = silence
        self.channels = (frozenset(range(16)) - {DRUMS} if channels is None
                         else frozenset(channels))
        self.controller = controller
        self.sustain = sustain and controller != SUSTAIN
        self.notes: list[tuple[float, float, int]] = []   # (start, end, pitch), seconds
        self._started: dict[int, list[float]] = {}        # sounding keys' start times
        self._held: list[tuple[float, int]] = []           # released under the pedal
        self._pedal = False
        self._last_event: float | None = None
        self._closed = False

    def sounding(self) -> bool:
        """Whether a key is down or the pedal holds a note."""
        return any(self._started.values()) or bool(self._held)

    def ended(self, now: float) -> bool:
        """Whether the phrase is over at ``now``: the controller was pressed, or nothing has
        sounded for ``silence`` seconds after some notes."""
        return self._closed or (bool(self.notes) and not self.sounding()
                                and now - self._last_event >= self.silence)

    def hear(self, message: mido.Message, now: float) -> None:
        """Take one message that arrived at ``now`` (seconds)."""
        if getattr(message, "channel", None) not in self.channels:   # system, drums, others
            return
        if message.type == "note_on" and message.velocity > 0:
            self._release_held(now, message.note)   # a held key struck again ends first
            self._started.setdefault(message.note, []).append(now)
            self._last_event = now
        elif message.type in ("note_on", "note_off") and self._started.get(message.note):
            start = self._started[message.note].pop(0)
            if self._pedal:
                self._held.append((start, message.note))
            else:
                self.notes.append((start, now, message.note))
            self._last_event = now
        elif message.type == "control_change":
            self._control(message.control, message.value, now)

    def _control(self, control: int, value: int, now: float) -> None:
        if control == self.controller and value >= 64 and (self.notes or self.sounding()):
            self.notes.extend((t, now, p) for p, times in self._started.items() for t in times)
            self._started.clear()
            self._release_held(now)
            self._closed = True
        elif control == SUSTAIN and self.sustain:
            self._pedal = value >= 64
            if not self._pedal:
                self._release_held(now)
                self._last_event = now

    def _release_held(self, now: float, pitch: int | None = None) -> None:
        """End the notes the pedal holds (those of ``pitch`` only, if given) at ``now``."""
        ending = [(start, p) for start, p in self._held if pitch is None or p == pitch]
        self.notes.extend((start, now, p) for start, p in ending)
        self._held = [held for held in self._held if held not in ending]
