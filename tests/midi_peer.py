"""A second MIDI process for the live tests and the timing benchmark.

    python midi_peer.py receive PORT OUT.json [--until-cc123 N] [--timeout S]
        Opens input PORT (exact name), prints "ready", records every message with its arrival
        time on the monotonic clock until N All-Notes-Off messages (or the timeout), writes JSON.
    python midi_peer.py keyboard NAME ANSWER_PORT OUT.json --bpm B [--pedal]
        Creates a virtual output NAME, waits for input ANSWER_PORT to exist and opens it, plays a
        phrase, stays silent, records the answer until All Notes Off, writes JSON. With --pedal
        it plays as a keyboard in a studio sends: the sixth note (D5) released after 0.3 beat
        under the sustain pedal (down at beat 4.95, up at 5.95), a drum note (channel 10) on
        every off-beat, MIDI clock (24 a beat) and active sensing throughout. With --clock it is
        a DAW as well: a beat of clock, Start, the phrase from beat 1.5 of the song, and clock on
        until the answer ends; every pulse's sending time and song position are written.
    python midi_peer.py master NAME PLAYER_PORT OUT.json --steps "clock:1@120 start ..."
        A DAW sending MIDI clock on a new virtual output NAME while recording PLAYER_PORT: each
        step is clock:BEATS@BPM (pulses, 24 a beat, continuing the pulse train at that tempo),
        start, stop, continue or songpos:SIXTEENTHS (a transport message half a pulse after the
        last pulse); --active-sensing adds active sensing every 0.3 s, half-way between
        pulses, as many keyboards and interfaces send it. Writes every pulse's sending time and
        song position, the transport messages' sending times, and every message received, with
        arrival times.
"""

import argparse
import json
import sys
import threading
import time

import mido

from rnnrbm_music.midi_input import open_timed

mido.set_backend("mido.backends.rtmidi/UNIX_JACK")
# rtmidi calls Python from the JACK process cycle for every message received: let it have the GIL
# soon (the default 5 ms is two JACK periods).
sys.setswitchinterval(0.0005)
PHRASE = [62, 62, 66, 69, 69, 74, 73, 69, 66, 62]     # D major, quarter notes, two repeated
PEDAL_DOWN, PEDAL_UP = 4.95, 5.95                     # beats: the sixth note's release held
CONNECTION_SETTLES = 0.3                              # seconds


class Master:
    """Sends MIDI clock as a DAW does, on absolute deadlines (a sleep, then a spin), keeping
    each pulse's sending time and, while the transport runs, its song position."""

    def __init__(self, port, sensing: bool = False):
        self.port, self.sensing, self.sensed = port, sensing, 0.0
        self.pulses: list[list] = []       # [song position or None (stopped), sending time]
        self.transport: list[list] = []    # [message type, sending time]
        self.running, self.position = False, 0
        self.next_at = time.monotonic() + 0.05
        self.interval = 0.5 / 24

    def clock(self, beats: float, bpm: float, until=None, events=()) -> None:
        """``beats`` beats of pulses at ``bpm`` (or until ``until()``), sending ``events``
        ((time, message), sorted) when they fall due in between."""
        self.interval = 60 / (bpm * 24)
        events = list(events)
        for _ in range(round(beats * 24) if until is None else 10 ** 9):
            if until is not None and until():
                break
            if self.sensing and self.next_at - self.sensed > 0.3:   # half-way between pulses
                wait_until(self.next_at - self.interval / 2)
                self.port.send(mido.Message("active_sensing"))
                self.sensed = self.next_at
            while events and events[0][0] <= self.next_at:
                at, message = events.pop(0)
                wait_until(at)
                self.port.send(message)
            wait_until(self.next_at)
            sent = time.monotonic()
            self.port.send(mido.Message("clock"))
            self.pulses.append([self.position if self.running else None, sent])
            self.position += self.running
            self.next_at += self.interval

    def send(self, kind: str, sixteenths: int = 0) -> None:
        """A transport message, half a pulse after the last pulse."""
        wait_until(self.next_at - self.interval / 2)
        message = (mido.Message("songpos", pos=sixteenths) if kind == "songpos"
                   else mido.Message(kind))
        self.transport.append([kind, time.monotonic()])
        self.port.send(message)
        if kind == "start":
            self.running, self.position = True, 0
        elif kind == "continue":
            self.running = True
        elif kind == "stop":
            self.running = False
        else:
            self.position = sixteenths * 6

    def play(self, steps: str) -> None:
        for step in steps.split():
            if step.startswith("clock:"):
                beats, bpm = step[len("clock:"):].split("@")
                self.clock(float(beats), float(bpm))
            elif step.startswith("songpos:"):
                self.send("songpos", int(step[len("songpos:"):]))
            else:
                self.send(step)

    def record(self) -> dict:
        return {"pulses": self.pulses, "transport": self.transport}


def wait_until(at: float) -> None:
    """Sleep, then spin handing the GIL over (time.sleep(0)) so the port's thread never waits."""
    while at - time.monotonic() > 0.002:
        time.sleep(0.0005)
    while time.monotonic() < at:
        time.sleep(0)


class Listener:
    """Input ``port_name`` read by a thread, each message with the time it arrived (stamped by
    JACK: rtmidi_music.midi_input), so nothing waits for this process's GIL in JACK's cycle."""

    def __init__(self, port_name: str):
        self.input = open_timed("UNIX_JACK", port_name, virtual=False)
        self.received: list[list] = []
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while not self.closed.is_set():
            heard = self.input.poll()
            if heard is None:
                time.sleep(0.0002)
            else:
                self.received.append([heard[1], heard[0].dict()])

    def wait_for_all_notes_off(self, count: int, timeout: float) -> None:
        """Until ``count`` All Notes Off (CC 123) have arrived, or ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and sum(
                m["type"] == "control_change" and m["control"] == 123
                for _, m in list(self.received)) < count:
            time.sleep(0.005)

    def close(self) -> None:
        self.closed.set()
        self.thread.join()
        self.input.close()


def wait_for(name: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while name not in mido.get_input_names():
        if time.monotonic() > deadline:
            raise SystemExit(f"no port {name!r}; there are {mido.get_input_names()}")
        time.sleep(0.05)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["receive", "keyboard", "master"])
    parser.add_argument("names", nargs="+")
    parser.add_argument("--until-cc123", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--bpm", type=float, default=240)
    parser.add_argument("--pedal", action="store_true")
    parser.add_argument("--clock", action="store_true")
    parser.add_argument("--steps", default="")
    parser.add_argument("--active-sensing", action="store_true")
    args = parser.parse_args()
    if args.mode == "receive":
        port_name, out = args.names
        wait_for(port_name)
        listener = Listener(port_name)
        # JACK makes a new connection live between process cycles, later on a loaded machine:
        # messages sent before then are lost (a note_on missing from a test).
        time.sleep(CONNECTION_SETTLES)
        print("ready", flush=True)
        listener.wait_for_all_notes_off(args.until_cc123, args.timeout)
        listener.close()
        json.dump({"messages": listener.received}, open(out, "w"))
    elif args.mode == "master":
        name, player_port, out = args.names
        with mido.open_output(name, virtual=True, client_name=name) as clock_out:
            print("ready", flush=True)
            wait_for(player_port)
            listener = Listener(player_port)
            time.sleep(CONNECTION_SETTLES)
            master = Master(clock_out, sensing=args.active_sensing)
            master.play(args.steps)
            time.sleep(0.3)
            listener.close()
        json.dump({**master.record(), "messages": listener.received}, open(out, "w"))
    elif args.clock:
        name, answer_port, out = args.names
        beat = 60 / args.bpm
        with mido.open_output(name, virtual=True, client_name=name) as keys:
            print("ready", flush=True)
            wait_for(answer_port)
            answers = Listener(answer_port)
            received = answers.received
            time.sleep(0.5)               # let the session start listening
            master = Master(keys)
            master.clock(1, args.bpm)     # the tempo, heard before Start
            master.send("start")
            start = master.next_at + 1.5 * beat
            events = [(start + i * beat, mido.Message("note_on", note=pitch, velocity=90))
                      for i, pitch in enumerate(PHRASE)]
            events += [(start + (i + 0.9) * beat, mido.Message("note_off", note=pitch))
                       for i, pitch in enumerate(PHRASE)]
            events.sort(key=lambda event: event[0])
            master.clock(0, args.bpm, events=events, until=lambda: any(
                m["type"] == "control_change" and m["control"] == 123 for _, m in received)
                or time.monotonic() > start + args.timeout)
            master.send("stop")
            answers.close()
        json.dump({**master.record(), "phrase_start": start, "messages": received},
                  open(out, "w"))
    else:
        name, answer_port, out = args.names
        beat = 60 / args.bpm
        with mido.open_output(name, virtual=True, client_name=name) as keys:
            print("ready", flush=True)
            wait_for(answer_port)
            answers = Listener(answer_port)
            time.sleep(0.5)          # let the session start listening
            start = time.monotonic()
            # Each note held 0.9 beat; the first A (index 3) held on past the second one's
            # strike, as a sequencer plays an overlapping repeat: note_on, note_on, note_off,
            # note_off.
            held = {3: 1.2, **({5: 0.3} if args.pedal else {})}
            events = [(i * beat, mido.Message("note_on", note=pitch, velocity=90))
                      for i, pitch in enumerate(PHRASE)]
            events += [((i + held.get(i, 0.9)) * beat, mido.Message("note_off", note=pitch))
                       for i, pitch in enumerate(PHRASE)]
            if args.pedal:
                events += [(PEDAL_DOWN * beat, mido.Message("control_change", control=64,
                                                            value=127)),
                           (PEDAL_UP * beat, mido.Message("control_change", control=64,
                                                          value=0))]
                events += [((i + 0.5) * beat, mido.Message("note_on", channel=9, note=36,
                                                           velocity=100))
                           for i in range(len(PHRASE))]
                events += [((i + 0.7) * beat, mido.Message("note_off", channel=9, note=36))
                           for i in range(len(PHRASE))]
                events += [(n * beat / 24, mido.Message("clock"))
                           for n in range(24 * len(PHRASE))]
                events += [(i * beat / 3, mido.Message("active_sensing"))
                           for i in range(3 * len(PHRASE))]
            for at, message in sorted(events, key=lambda event: event[0]):
                while time.monotonic() < start + at:
                    time.sleep(0.0005)
                keys.send(message)
            phrase_end = time.monotonic()
            answers.wait_for_all_notes_off(1, args.timeout)
            answers.close()
            messages = answers.received
        json.dump({"phrase_start": start, "phrase_end": phrase_end, "messages": messages},
                  open(out, "w"))
