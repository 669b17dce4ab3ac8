"""Following a MIDI clock master: tempo, sending times and transport, from timed messages."""

import threading
import time

import mido
import numpy as np
import pytest

from rnnrbm_music.midi_clock import DUE, STOPPED, TRANSPORT, SongClock

PERIOD = 128 / 48000          # a JACK period: how late a pulse may arrive


def pulse_seconds(bpm):
    return 60 / (bpm * 24)


def hear_pulses(song, sent, delays):
    for at, delay in zip(sent, delays):
        song.hear(mido.Message("clock"), at + delay)


def test_a_pulse_is_due_when_the_master_sends_it_not_when_it_arrives():
    """Pulses at 120 bpm arrive late by 0 to a JACK period: the tempo is the master's and the
    next pulse is due within a fifth of a period of its sending time, where the line through
    the arrivals is half a period late."""
    rng = np.random.default_rng(0)
    song = SongClock()
    song.hear(mido.Message("start"), 0.0)
    sent = 0.01 + pulse_seconds(120) * np.arange(48)
    delays = rng.uniform(0, PERIOD, len(sent))
    hear_pulses(song, sent, delays)
    assert song.bpm == pytest.approx(120, rel=0.005)
    assert song.position == 48
    next_sent = sent[-1] + pulse_seconds(120)
    assert abs(song.time_of(48) - next_sent) < PERIOD / 5
    fitted = np.polyval(np.polyfit(np.arange(36, 48), sent[36:] + delays[36:], 1), 48)
    assert fitted - next_sent > PERIOD / 4     # what a mean would give: notes half a period late


@pytest.mark.parametrize("new_bpm", [60, 150])
def test_a_tempo_change_is_followed_from_its_second_pulse(new_bpm):
    """Jittered pulses at 120 bpm, then at ``new_bpm``: the first pulse of the new tempo cannot
    be foreseen, but it starts the line anew, and every pulse after it is due within a JACK
    period of its sending time (a line through the last half beat would be 40 ms early on a
    drop to 60 bpm)."""
    rng = np.random.default_rng(1)
    song = SongClock()
    song.hear(mido.Message("start"), 0.0)
    sent = list(0.01 + pulse_seconds(120) * np.arange(48))
    sent += list(sent[-1] + pulse_seconds(new_bpm) * np.arange(1, 49))
    errors = []
    for pulse, at in enumerate(sent):
        if pulse > 12:
            errors.append(song.time_of(pulse) - at)
        song.hear(mido.Message("clock"), at + rng.uniform(0, PERIOD))
    errors = np.abs(errors)
    first_new = 48 - 13
    assert errors[:first_new].max() < PERIOD
    assert errors[first_new] > 0.5 * abs(pulse_seconds(new_bpm) - pulse_seconds(120))
    assert errors[first_new + 1:].max() < PERIOD
    assert song.bpm == pytest.approx(new_bpm, rel=0.01)


def test_song_position_follows_start_stop_song_position_pointer_and_continue():
    song = SongClock()
    step = pulse_seconds(120)
    clock = iter(np.arange(200) * step)
    for _ in range(6):                          # clock while stopped: the tempo, no position
        song.hear(mido.Message("clock"), next(clock))
    assert (song.running, song.position) == (False, 0) and song.time_of(0) is None
    assert song.bpm == pytest.approx(120)
    song.hear(mido.Message("start"), 5.5 * step)
    assert song.running and song.time_of(0) == pytest.approx(6 * step)   # the next pulse
    for _ in range(30):
        song.hear(mido.Message("clock"), next(clock))
    assert song.position == 30
    song.hear(mido.Message("stop"), 35.5 * step)
    for _ in range(10):                         # stopped: pulses keep the tempo, not the song
        song.hear(mido.Message("clock"), next(clock))
    assert (song.running, song.position) == (False, 30) and song.time_of(30) is None
    song.hear(mido.Message("songpos", pos=4), 45.5 * step)    # four sixteenths: beat 2
    song.hear(mido.Message("continue"), 45.6 * step)
    assert song.running and song.position == 24
    assert song.time_of(24) == pytest.approx(46 * step)        # the next pulse is beat 2
    song.hear(mido.Message("clock"), next(clock))
    assert song.position == 25
    assert song.position_at(46 * step + step / 2) == pytest.approx(24.5)
    assert song.transport == 4


def test_nothing_is_due_past_the_pulses_heard_and_a_pause_forgets_the_tempo():
    """A master that stops sending clock stops the player: a pulse more than one past the last
    heard is not predicted. After a pause the tempo is heard anew."""
    song = SongClock()
    song.hear(mido.Message("start"), 0.0)
    hear_pulses(song, pulse_seconds(120) * np.arange(1, 13), np.zeros(12))
    assert song.time_of(12) is not None and song.time_of(13) is None
    later = 5.0 + pulse_seconds(90) * np.arange(2)
    hear_pulses(song, later[:1], np.zeros(1))
    assert song.bpm is None
    hear_pulses(song, later[1:], np.zeros(1))
    assert song.bpm == pytest.approx(90)


def test_waiting_for_a_pulse_ends_when_due_on_stop_or_on_a_transport_message():
    song = SongClock()
    song.hear(mido.Message("start"), 0.0)
    step = pulse_seconds(240)
    now = time.monotonic()
    hear_pulses(song, now - step * np.arange(6, 0, -1), np.zeros(6))   # pulses 0-5, heard
    assert song.wait_for(6, song.transport, threading.Event()) == DUE
    assert time.monotonic() >= now
    stop = threading.Event()
    stop.set()
    assert song.wait_for(6, song.transport, stop) == STOPPED
    transport = song.transport
    threading.Timer(0.05, song.hear, (mido.Message("stop"), time.monotonic())).start()
    assert song.wait_for(100, transport, threading.Event()) == TRANSPORT
    assert not song.running


def test_where_the_transport_started_is_kept_however_many_pulses_follow():
    """A DAW sends Start with the first pulse in one JACK cycle: by the time the player reads
    the song position, pulses have been counted; it still starts from the downbeat."""
    song = SongClock()
    song.hear(mido.Message("songpos", pos=16), 0.0)        # bar 2
    song.hear(mido.Message("continue"), 0.0)
    hear_pulses(song, [0.0, 0.02], [0, 0])
    assert song.position == 98 and song.transport_state() == (2, 96)
    song.hear(mido.Message("start"), 0.05)
    hear_pulses(song, [0.05, 0.07], [0, 0])
    assert song.position == 2 and song.transport_state() == (3, 0)


def test_a_slow_tempo_is_learned_and_a_stale_one_forgotten_at_start():
    """20 bpm (a pulse every 1/8 s) is a tempo, not a pause. A master that sends clock only
    while playing: the pulses before its last Stop do not time the first pulse after Start."""
    song = SongClock()
    hear_pulses(song, pulse_seconds(20) * np.arange(4), np.zeros(4))
    assert song.bpm == pytest.approx(20)
    song.hear(mido.Message("start"), 10.0)
    assert song.running and song.bpm is None and song.time_of(0) is None
    song.hear(mido.Message("clock"), 10.01)
    assert song.time_of(0) == 10.01       # heard: due when it came, the tempo not known yet


def test_a_clock_gone_silent_without_stop_silences_the_player_once():
    song = SongClock()
    song.hear(mido.Message("start"), 0.0)
    now = time.monotonic()
    hear_pulses(song, now - 0.3 - pulse_seconds(120) * np.arange(6, 0, -1), np.zeros(6))
    silenced = []
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    assert song.wait_for(50, song.transport, stop, lambda: silenced.append(1)) == STOPPED
    assert silenced == [1]
