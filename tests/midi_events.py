"""A written MIDI file read back event by event with mido, the way a DAW meets it."""

from fractions import Fraction

import mido


def midi_notes(path, steps_per_quarter: int = 2) -> list[tuple[int, int, int]]:
    """Every note of the file as ``(onset frame, length in frames, pitch)``, from its note_on and
    note_off events (a note_on while the same pitch sounds is a second strike: it fails)."""
    file = mido.MidiFile(path)
    notes = []
    for track in file.tracks:
        tick, sounding = 0, {}
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity > 0:
                assert (message.channel, message.note) not in sounding, (
                    f"{path}: pitch {message.note} struck again at tick {tick} while it sounds")
                sounding[message.channel, message.note] = tick
            elif message.type in ("note_on", "note_off"):
                start = sounding.pop((message.channel, message.note))
                notes.append((frames(start, file, steps_per_quarter),
                              frames(tick - start, file, steps_per_quarter), message.note))
        assert not sounding, f"{path}: notes never switched off: {sorted(sounding)}"
    return sorted(notes)


def frames(ticks: int, file: mido.MidiFile, steps_per_quarter: int) -> int:
    value = Fraction(ticks * steps_per_quarter, file.ticks_per_beat)
    assert value.denominator == 1, f"tick {ticks} is off the frame grid"
    return int(value)


def meta_events(path, kind: str) -> list[tuple[float, object]]:
    """``(quarter, message)`` of every meta message of one kind ('set_tempo', 'time_signature',
    'key_signature', 'track_name'), in time order."""
    file = mido.MidiFile(path)
    found = []
    for track in file.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == kind:
                found.append((tick / file.ticks_per_beat, message))
    return sorted(found, key=lambda pair: pair[0])
