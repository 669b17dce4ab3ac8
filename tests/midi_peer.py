"""A second MIDI process for the live tests and the timing benchmark.

    python midi_peer.py receive PORT OUT.json [--until-cc123 N] [--timeout S]
        Opens input PORT (exact name), prints "ready", records every message with its arrival
        time on the monotonic clock until N All-Notes-Off messages (or the timeout), writes JSON.
    python midi_peer.py keyboard NAME ANSWER_PORT OUT.json --bpm B [--pedal]
        Creates a virtual output NAME, waits for input ANSWER_PORT to exist and opens it, plays a
        phrase, stays silent, records the answer until All Notes Off, writes JSON. With --pedal
        it plays as a keyboard in a studio sends: the sixth note (D5) released after 0.3 beat
        under the sustain pedal (down at beat 4.95, up at 5.95), a drum note (channel 10) on
        every off-beat, MIDI clock (24 a beat) and active sensing throughout.
"""

import argparse
import json
import time

import mido

mido.set_backend("mido.backends.rtmidi/UNIX_JACK")
PHRASE = [62, 62, 66, 69, 69, 74, 73, 69, 66, 62]     # D major, quarter notes, two repeated
PEDAL_DOWN, PEDAL_UP = 4.95, 5.95                     # beats: the sixth note's release held
CONNECTION_SETTLES = 0.3                              # seconds


def record(port, until_cc123: int, timeout: float) -> list:
    messages, ends = [], 0
    deadline = time.monotonic() + timeout
    while ends < until_cc123 and time.monotonic() < deadline:
        for message in port.iter_pending():
            messages.append([time.monotonic(), message.dict()])
            ends += message.type == "control_change" and message.control == 123
        time.sleep(0.0002)
    return messages


def wait_for(name: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while name not in mido.get_input_names():
        if time.monotonic() > deadline:
            raise SystemExit(f"no port {name!r}; there are {mido.get_input_names()}")
        time.sleep(0.05)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["receive", "keyboard"])
    parser.add_argument("names", nargs="+")
    parser.add_argument("--until-cc123", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--bpm", type=float, default=240)
    parser.add_argument("--pedal", action="store_true")
    args = parser.parse_args()
    if args.mode == "receive":
        port_name, out = args.names
        wait_for(port_name)
        with mido.open_input(port_name) as port:
            # JACK makes a new connection live between process cycles, later on a loaded
            # machine: messages sent before then are lost (a note_on missing from a test).
            time.sleep(CONNECTION_SETTLES)
            print("ready", flush=True)
            messages = record(port, args.until_cc123, args.timeout)
        json.dump({"messages": messages}, open(out, "w"))
    else:
        name, answer_port, out = args.names
        beat = 60 / args.bpm
        with mido.open_output(name, virtual=True, client_name=name) as keys:
            print("ready", flush=True)
            wait_for(answer_port)
            with mido.open_input(answer_port) as answers:
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
                messages = record(answers, 1, args.timeout)
        json.dump({"phrase_start": start, "phrase_end": phrase_end, "messages": messages},
                  open(out, "w"))
