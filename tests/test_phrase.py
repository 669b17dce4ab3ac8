"""How call and response hears a player (rnnrbm_music.phrase): real MIDI messages, as a keyboard
and a DAW send them, fed with their arrival times."""

import mido

from rnnrbm_music.phrase import PhraseRecorder


def heard(events, **options) -> PhraseRecorder:
    recorder = PhraseRecorder(silence=1.0, **options)
    for at, message in events:
        recorder.hear(message, at)
    return recorder


def on(pitch, channel=0):
    return mido.Message("note_on", note=pitch, velocity=80, channel=channel)


def off(pitch, channel=0):
    return mido.Message("note_off", note=pitch, channel=channel)


def pedal(value, control=64):
    return mido.Message("control_change", control=control, value=value)


def test_the_pedal_holds_released_notes_until_it_lifts():
    recorder = heard([(0.0, on(60)), (0.2, pedal(127)), (0.4, off(60)), (0.5, on(64)),
                      (0.6, off(64)), (1.5, pedal(0)), (1.6, on(67)), (1.8, off(67))])
    assert sorted(recorder.notes) == [(0.0, 1.5, 60), (0.5, 1.5, 64), (1.6, 1.8, 67)]
    assert not heard([(0.0, on(60)), (0.2, pedal(127)), (0.4, off(60))]).ended(9.0), \
        "a note the pedal holds still sounds: the phrase goes on"


def test_a_key_struck_again_under_the_pedal_ends_its_held_note():
    recorder = heard([(0.0, pedal(127)), (0.0, on(60)), (0.3, off(60)), (0.5, on(60)),
                      (0.7, off(60)), (1.0, pedal(0))])
    assert sorted(recorder.notes) == [(0.0, 0.5, 60), (0.5, 1.0, 60)]


def test_drums_clock_and_system_messages_are_not_the_phrase():
    events = [(0.0, mido.Message("start")), (0.0, on(62)), (0.1, mido.Message("clock")),
              (0.2, on(36, channel=9)), (0.25, mido.Message("active_sensing")),
              (0.3, off(36, channel=9)), (0.4, off(62)),
              (0.5, mido.Message("sysex", data=[1, 2, 3])), (0.6, mido.Message("stop"))]
    recorder = heard(events)
    assert recorder.notes == [(0.0, 0.4, 62)]
    assert recorder.ended(1.41) and not recorder.ended(1.39)   # a second after the last note
    drums_only = heard(events, channels=[9])
    assert drums_only.notes == [(0.2, 0.3, 36)]


def test_the_pedal_ends_the_phrase_when_it_is_the_controller():
    recorder = heard([(0.0, on(60)), (0.2, pedal(127)), (0.4, on(64))], controller=64)
    assert recorder.ended(0.4) and sorted(recorder.notes) == [(0.0, 0.2, 60)]
    soft = heard([(0.0, on(60)), (0.2, pedal(127)), (0.3, off(60)), (0.5, pedal(127, 67))],
                 controller=67)
    assert soft.ended(0.5) and soft.notes == [(0.0, 0.5, 60)]   # held by the pedal to the end


def test_without_sustain_a_released_key_ends_its_note():
    recorder = heard([(0.0, pedal(127)), (0.0, on(60)), (0.3, off(60))], sustain=False)
    assert recorder.notes == [(0.0, 0.3, 60)] and recorder.ended(1.3)
