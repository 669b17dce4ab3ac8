"""A second MIDI process for the live tests and the timing benchmark.

    python midi_peer.py receive PORT OUT.json [--until-cc123 N] [--timeout S]
        Opens input PORT (exact name), prints "ready", records every message with its arrival
        time on the monotonic clock until N All-Notes-Off messages (or the timeout), writes JSON.
    python midi_peer.py keyboard NAME ANSWER_PORT OUT.json --bpm B
        Creates a virtual output NAME, waits for input ANSWER_PORT to exist and opens it, plays a
        phrase, stays silent, records the answer until All Notes Off, writes JSON.
"""

import argparse
import json
import time

import mido

mido.set_backend("mido.backends.rtmidi/UNIX_JACK")
PHRASE = [62, 62, 66, 69, 69, 74, 73, 69, 66, 62]     # D major, quarter notes, two repeated
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
                events = sorted([(i * beat, 1, pitch) for i, pitch in enumerate(PHRASE)]
                                + [((i + (1.2 if i == 3 else 0.9)) * beat, 0, pitch)
                                   for i, pitch in enumerate(PHRASE)])
                for at, is_on, pitch in events:
                    while time.monotonic() < start + at:
                        time.sleep(0.0005)
                    keys.send(mido.Message("note_on" if is_on else "note_off", note=pitch,
                                           velocity=90 if is_on else 0))
                phrase_end = time.monotonic()
                messages = record(answers, 1, args.timeout)
        json.dump({"phrase_start": start, "phrase_end": phrase_end, "messages": messages},
                  open(out, "w"))
