"""Live MIDI over a real JACK server, with a second process on the other end of each port."""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from music21 import corpus

from jack import JackServer, require_jackd
from midi_peer import PHRASE
from rnnrbm_music import PianoRoll, RnnRbmComposer, from_stream
from rnnrbm_music.engine import RnnRbmConfig, build
from rnnrbm_music.live import LivePlayer, LiveSession, sounding_pitches
from rnnrbm_music.midi_ports import LiveMidiError, list_ports

PEER = Path(__file__).with_name("midi_peer.py")
BPM = 240


@pytest.fixture(scope="module")
def jack():
    require_jackd()
    server = JackServer(f"rnnrbm-test-{id(object())}").start()
    yield server
    server.stop()


def small_composer(conditional: str) -> RnnRbmComposer:
    """A small untrained model that plays one or two notes a frame, as a melody."""
    torch.manual_seed(0)
    c = RnnRbmComposer(n_hidden=32, n_recurrent=16, seed=0, conditional=conditional)
    c.model_ = build(RnnRbmConfig(88, 32, 16, conditional=conditional))
    with torch.no_grad():
        c.model_.bv.fill_(-4.0)
    return c


@pytest.fixture(scope="module", params=["rbm", "nade"])
def composer(request):
    """Either conditional: live playing works the same with both."""
    return small_composer(request.param)


def peer(*args):
    process = subprocess.Popen([sys.executable, str(PEER), *map(str, args)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    assert line.strip() == "ready", process.stderr.read()
    return process


def finish(process, out):
    _, errors = process.communicate(timeout=60)          # waits, and closes the pipes
    assert process.returncode == 0, errors
    return json.loads(Path(out).read_text())


def notes_of(messages):
    """(pitch, on_time, off_time) of every note; asserts none is left hanging."""
    sounding, notes = {}, []
    for t, m in messages:
        if m["type"] == "note_on" and m["velocity"] > 0:
            assert m["note"] not in sounding
            sounding[m["note"]] = t
        elif m["type"] in ("note_off", "note_on"):
            notes.append((m["note"], sounding.pop(m["note"]), t))
    assert not sounding, f"notes left hanging: {sorted(sounding)}"
    kinds = [(m["type"], m.get("control")) for _, m in messages]
    last_note = max(i for i, (kind, _) in enumerate(kinds) if kind.startswith("note"))
    assert ("control_change", 123) in kinds[last_note:], "no All Notes Off after the last note"
    return notes


def assert_on_time(errors_ms, jack):
    """Note-ons ``errors_ms`` (ms after the times they are due) arrive on time: typically (the
    median) within one JACK period plus 2 ms, each within two periods plus 2 ms (7.3 ms, less
    than half a pulse at 150 bpm: a note on the wrong pulse fails).

    The transport alone puts a note up to a period late, and a machine busy for a moment a
    cycle more, which the live benchmark measures (p99) and this does not fail on."""
    errors = np.abs(np.asarray(errors_ms, dtype=float))
    assert np.median(errors) <= jack.period_seconds * 1000 + 2, errors.round(2)
    assert errors.max() <= 2 * jack.period_seconds * 1000 + 2, errors.round(2)


def test_a_second_process_receives_the_roll_in_order(jack, tmp_path):
    roll = from_stream(corpus.parse("bach/bwv66.6"))[:24]
    out = tmp_path / "received.json"
    with LivePlayer(virtual_name="rnnrbm-play", bpm=BPM, api="jack") as player:
        receiver = peer("receive", "rnnrbm-play:rnnrbm-play", out)
        schedule = player.play(roll)
    messages = finish(receiver, out)["messages"]
    notes = notes_of(messages)
    assert schedule.frames_played == len(roll)
    # Rebuild the frames from arrival times and compare with what was played.
    expected = sounding_pitches(roll)
    rebuilt = np.zeros_like(expected)
    for pitch, on, off in notes:
        first = round((on - schedule.start) / schedule.frame_seconds)
        last = round((off - schedule.start) / schedule.frame_seconds)
        rebuilt[first:last, pitch] = True
    assert np.array_equal(rebuilt, expected)
    ons = [t for t, m in messages if m["type"] == "note_on"]
    assert ons == sorted(ons)


def test_a_performance_leaves_the_objects_already_there_out_of_garbage_collection(jack, tmp_path):
    """A full collection walks every object of the process: 0.1-0.2 s in this one, holding
    scores and models, which would make a note that late. While a roll plays, every object that
    existed before is frozen (``gc.freeze``); afterwards none is."""
    import gc

    roll = from_stream(corpus.parse("bach/bwv66.6"))[:8]
    objects, frozen = len(gc.get_objects()), []

    def watch(player):
        while player.schedule is None or player.schedule.frames_played < 4:
            time.sleep(0.005)
        frozen.append(gc.get_freeze_count())

    out = tmp_path / "gc.json"
    with LivePlayer(virtual_name="rnnrbm-gc", bpm=BPM, api="jack") as player:
        receiver = peer("receive", "rnnrbm-gc:rnnrbm-gc", out)
        watcher = threading.Thread(target=watch, args=(player,))
        watcher.start()
        player.play(roll)
        watcher.join(10)
    finish(receiver, out)
    assert frozen and frozen[0] >= objects * 0.9, (frozen, objects)
    assert gc.get_freeze_count() == 0


def test_performances_overlapping_in_two_threads_keep_real_time_until_the_last_ends():
    """Two threads play at once, the first ends first: the second keeps the short switch
    interval and the freeze; when it ends both are as before. A program's own gc.freeze() is
    not undone."""
    import gc
    import sys

    from rnnrbm_music.live import _in_real_time

    interval = sys.getswitchinterval()
    first, second = _in_real_time(), _in_real_time()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert sys.getswitchinterval() == 0.0005 and gc.get_freeze_count() > 0
    second.__exit__(None, None, None)
    assert sys.getswitchinterval() == interval and gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with _in_real_time():
            pass
        assert gc.get_freeze_count() >= frozen > 0
    finally:
        gc.unfreeze()


def test_repeated_notes_arrive_struck_each_time(jack, tmp_path):
    """The README's tune: every D, A and B struck as often as the tune strikes it."""
    from music21 import converter

    tune = converter.parse("tinyNotation: 4/4 d4 d a a b b a2 g4 g f# f# e e d2")
    roll = from_stream(tune, normalize_key=False)
    assert len(roll.notes()) == 14
    out = tmp_path / "received.json"
    with LivePlayer(virtual_name="rnnrbm-repeat", bpm=BPM, api="jack") as player:
        receiver = peer("receive", "rnnrbm-repeat:rnnrbm-repeat", out)
        schedule = player.play(roll)
    notes = notes_of(finish(receiver, out)["messages"])
    assert len(notes) == 14
    heard = sorted((round((on - schedule.start) / schedule.frame_seconds),
                    round((off - on) / schedule.frame_seconds), pitch) for pitch, on, off in notes)
    assert heard == roll.notes()


def stop_after_frames(player, frames):
    """Stop ``player`` from this thread once it has played ``frames`` frames (however slow the
    machine is to produce them)."""
    while player.schedule is None or player.schedule.frames_played < frames:
        time.sleep(0.005)
    player.stop()


def test_stopping_mid_phrase_leaves_no_note_sounding(jack, composer, tmp_path):
    out = tmp_path / "stopped.json"
    with LivePlayer(virtual_name="rnnrbm-stop", bpm=BPM, api="jack", clock=True) as player:
        receiver = peer("receive", "rnnrbm-stop:rnnrbm-stop", out)
        threading.Thread(target=stop_after_frames, args=(player, 12)).start()
        schedule = player.play_forever(composer, seed=1)
    messages = finish(receiver, out)["messages"]
    notes_of(messages)
    assert 12 <= schedule.frames_played < 16
    kinds = [m["type"] for _, m in messages]
    assert kinds[0] == "start" and "stop" in kinds and kinds.count("clock") > 20
    assert kinds[-1] == "control_change", "the transport stops before All Notes Off"


class FailingComposer(RnnRbmComposer):
    def stream_rolls(self, *args, **kwargs):
        stream = super().stream_rolls(*args, **kwargs)
        yield next(stream)
        yield next(stream)
        raise RuntimeError("the generator broke")


def test_a_generator_exception_leaves_no_note_sounding(jack, composer, tmp_path):
    failing = FailingComposer(n_hidden=32, n_recurrent=16, seed=0)
    failing.model_ = composer.model_
    out = tmp_path / "failed.json"
    with LivePlayer(virtual_name="rnnrbm-fail", bpm=BPM, api="jack") as player:
        receiver = peer("receive", "rnnrbm-fail:rnnrbm-fail", out)
        with pytest.raises(RuntimeError, match="the generator broke"):
            player.play_forever(composer=failing, seed=1)
    notes_of(finish(receiver, out)["messages"])


def test_play_forever_for_some_bars_continues_a_primer(jack, composer, tmp_path):
    out = tmp_path / "bars.json"
    primer = PianoRoll.from_benchmark([(62, 66, 69)] * 4 + [(67, 71, 74)] * 4, time_signature="3/4")
    with LivePlayer(virtual_name="rnnrbm-bars", bpm=BPM * 2, api="jack") as player:
        receiver = peer("receive", "rnnrbm-bars:rnnrbm-bars", out)
        schedule = player.play_forever(composer, prime=primer, bars=3, seed=2)
    notes_of(finish(receiver, out)["messages"])
    assert schedule.frames_played == 3 * 6


def test_call_and_response_answers_after_the_phrase(jack, composer, tmp_path):
    out = tmp_path / "answer.json"
    keyboard = peer("keyboard", "kb", "rnnrbm-answer:rnnrbm-answer", out, "--bpm", BPM)
    with LiveSession("kb:kb", virtual_name="rnnrbm-answer", composer=composer, bpm=BPM,
                     api="jack", seed=3, answer_bars=2) as session:
        thread = threading.Thread(target=session.run, kwargs={"phrases": 1})
        thread.start()
        result = finish(keyboard, out)
        thread.join(30)
    assert not thread.is_alive()
    phrase = session.phrases[0]
    assert phrase.key == "D major" and len(phrase) >= 14
    # Every note played is a note of the phrase: the repeated D and A are struck twice.
    assert [pitch - phrase.transposition for _, _, pitch in phrase.notes()] == PHRASE
    answer = notes_of(result["messages"])
    assert answer, "no answer was played"
    assert min(on for _, on, _ in answer) > result["phrase_end"]
    # The answer starts on a downbeat of the session's bar grid, its notes on its frames, for
    # two whole bars.
    start, frame = session.player.schedule.start, session.player.schedule.frame_seconds
    bars = (start - session.grid_start) / session.bar_seconds
    assert abs(bars - round(bars)) < 1e-6 and session.player.schedule.frames_played == 16
    frames = np.array([(on - start) / frame for _, on, _ in answer])
    assert (frames > -0.01).all()
    assert_on_time((frames - frames.round()) * frame * 1000, jack)


def test_ports_are_listed_and_bad_names_explained(jack):
    with LivePlayer(virtual_name="rnnrbm-list", api="jack"):
        assert "rnnrbm-list:rnnrbm-list" in list_ports("jack")["jack"]["inputs"]
    with pytest.raises(LiveMidiError, match="no output port named 'nowhere'") as raised:
        LivePlayer(port="nowhere", api="jack")
    assert "server" not in str(raised.value)    # one is running: the name is what is wrong
    with pytest.raises(LiveMidiError, match="unknown MIDI api"):
        LivePlayer(api="beos")


def test_all_notes_off_is_sent_once_at_the_end(jack, tmp_path):
    out = tmp_path / "once.json"
    roll = from_stream(corpus.parse("bach/bwv66.6"))[:8]
    with LivePlayer(virtual_name="rnnrbm-once", bpm=BPM, api="jack") as player:
        receiver = peer("receive", "rnnrbm-once:rnnrbm-once", out, "--until-cc123", 2,
                        "--timeout", 3)
        player.play(roll)
    messages = finish(receiver, out)["messages"]
    notes_of(messages)
    assert [m.get("control") for _, m in messages].count(123) == 1


def test_notes_moved_back_below_a0_fold_up_an_octave_on_the_port(jack, tmp_path):
    """A continuation of a G major primer, sampled in C, moves back down 5 semitones: its B0
    would be MIDI 18, below the piano's A0, so it sounds an octave up (30), as in files."""
    out = tmp_path / "range.json"
    roll = PianoRoll.from_benchmark([(23, 60), (23, 60)], transposition=5, bpm=BPM)
    with LivePlayer(virtual_name="rnnrbm-range", bpm=BPM, api="jack") as player:
        receiver = peer("receive", "rnnrbm-range:rnnrbm-range", out)
        player.play(roll)
    pitches = sorted({pitch for pitch, _, _ in notes_of(finish(receiver, out)["messages"])})
    assert pitches == [30, 55]


def test_the_program_is_sent_again_when_playing_starts(jack, tmp_path):
    """A DAW connects to the new virtual port after it opens: the program change sent then is
    lost to it, so the performance starts by sending it again."""
    out = tmp_path / "program.json"
    roll = from_stream(corpus.parse("bach/bwv66.6"))[:4]
    with LivePlayer(virtual_name="rnnrbm-program", bpm=BPM, api="jack", program=40,
                    channel=1) as player:
        receiver = peer("receive", "rnnrbm-program:rnnrbm-program", out)
        player.play(roll)
    messages = [m for _, m in finish(receiver, out)["messages"]]
    assert messages[0]["type"] == "program_change"
    assert (messages[0]["program"], messages[0]["channel"]) == (40, 1)


def test_the_phrase_is_heard_as_a_keyboard_sends_it(jack, composer, tmp_path):
    """The sustain pedal holds the D5 released under it until it lifts (two frames, not one);
    the drums on channel 10, the clock and active sensing are not in the phrase."""
    out = tmp_path / "pedal.json"
    keyboard = peer("keyboard", "kb2", "rnnrbm-pedal:rnnrbm-pedal", out, "--bpm", BPM, "--pedal")
    with LiveSession("kb2:kb2", virtual_name="rnnrbm-pedal", composer=composer, bpm=BPM,
                     api="jack", seed=3, answer_bars=1) as session:
        thread = threading.Thread(target=session.run, kwargs={"phrases": 1})
        thread.start()
        finish(keyboard, out)
        thread.join(30)
    phrase, heard = session.phrases[0], session.heard[0]
    assert [pitch - phrase.transposition for _, _, pitch in phrase.notes()] == PHRASE
    assert [pitch for _, _, pitch in heard] == PHRASE                 # no drum (36) among them
    beat = 60 / BPM
    (start, end), = [(start, end) for start, end, pitch in heard if pitch == 74]
    first = heard[0][0]
    # Struck on beat 5, released at 5.3 under the pedal, held to beat 5.95 when it lifts.
    assert abs((start - first) / beat - 5) < 0.05 and abs((end - first) / beat - 5.95) < 0.05


def song_grid(record):
    """Each song position's pulse sending time, from a master peer's record."""
    return {position: sent for position, sent in record["pulses"] if position is not None}


def test_following_a_daws_clock_plays_on_its_pulses(jack, tmp_path):
    """A DAW sends a beat of clock at 120 bpm, Start, 4 beats, 4 more at 150 bpm, Stop, a beat
    of clock while stopped, Continue, 2.5 beats, Stop, and active sensing throughout. A frame a
    sixteenth long is due every sixth pulse: every note-on arrives on time for its pulse
    (assert_on_time; from a beat after the tempo change, and within a pulse during that beat),
    none between Stop and Continue, and the piece goes on after Continue from the frame where
    it stopped."""
    out = tmp_path / "clock.json"
    steps = [(60 + i % 12,) for i in range(42)]     # a new note every frame: 32 + 10 frames
    roll = PianoRoll.from_benchmark(steps, steps_per_quarter=4)
    master = peer("master", "daw", "rnnrbm-follow:rnnrbm-follow", out, "--steps",
                  "clock:1@120 start clock:4@120 clock:4@150 stop clock:1@150 continue "
                  "clock:2.5@150 stop clock:0.5@150", "--active-sensing")
    with LivePlayer(virtual_name="rnnrbm-follow", api="jack", clock_in="daw:daw") as player:
        schedule = player.play(roll)
    record = finish(master, out)
    messages, grid = record["messages"], song_grid(record)
    notes_of(messages)
    assert schedule.frames_played == 42
    ons = [(t, m["note"]) for t, m in messages if m["type"] == "note_on" and m["velocity"]]
    assert [pitch for _, pitch in ons] == [pitch for pitch, in steps]
    errors = np.array([(t - grid[6 * frame]) * 1000 for frame, (t, _) in enumerate(ons)])
    settled = np.r_[0:16, 20:42]             # frames 16-19: the first beat at 150 bpm
    assert_on_time(errors[settled], jack)
    assert np.abs(errors).max() <= 60 / 150 / 24 * 1000      # within a pulse while following
    (_, stop), (_, resume) = [event for event in record["transport"]
                              if event[0] in ("stop", "continue")][:2]
    assert not [t for t, _ in ons if stop < t < resume]
    silenced = [t for t, m in messages if stop < t < resume and m["type"] == "control_change"]
    assert silenced and silenced[0] - stop < 0.02, "All Notes Off follows Stop at once"


def test_call_and_response_on_a_daws_clock_answers_on_its_downbeat(jack, tmp_path):
    """The keyboard is a DAW too: it sends clock at 150 bpm and Start, plays the phrase from
    beat 1.5 of the song, and keeps the clock going. The phrase is placed on the song's bars
    and the answer's first note-on arrives on a pulse of the song's grid, as many frames after a
    downbeat (after the phrase) as the answer's first note is into it. (One conditional: the
    grid is the session's, the same for both, which the other call-and-response tests run.)"""
    composer = small_composer("rbm")
    out = tmp_path / "answer-clock.json"
    keyboard = peer("keyboard", "kb3", "rnnrbm-answer3:rnnrbm-answer3", out, "--bpm", 150,
                    "--clock", "--timeout", 30)
    with LiveSession("kb3:kb3", virtual_name="rnnrbm-answer3", composer=composer, api="jack",
                     seed=3, answer_bars=1, clock_in="kb3:kb3") as session:
        thread = threading.Thread(target=session.run, kwargs={"phrases": 1})
        thread.start()
        record = finish(keyboard, out)
        thread.join(30)
    assert not thread.is_alive()
    phrase, reply = session.phrases[0], session.answers[0]
    steps = composer.steps_per_quarter
    # Started on beat 1.5 of the song's bar 1, the phrase is placed from that bar's downbeat, and
    # (ten beats long) ends on bar 4's downbeat.
    assert phrase.notes()[0][0] == 1.5 * steps and len(phrase) == 3 * session.frames_per_bar
    assert [pitch - phrase.transposition for _, _, pitch in phrase.notes()] == PHRASE
    grid = song_grid(record)
    ons = sorted(on for _, on, _ in notes_of(record["messages"]))
    positions = [min(grid, key=lambda p: abs(grid[p] - on)) for on in ons]
    # Every note of the answer on the pulse of its frame, counted from a downbeat after the
    # phrase (bar 5 or later).
    downbeat = positions[0] - reply.notes()[0][0] * 24 // steps
    assert downbeat % 96 == 0 and downbeat >= 4 * 96, (positions[0], reply.notes()[0])
    due = sorted(downbeat + onset * 24 // steps for onset, _, _ in reply.notes())
    assert positions == due
    assert_on_time([(on - grid[p]) * 1000 for on, p in zip(ons, positions)], jack)


def test_after_a_song_position_pointer_the_piece_goes_on_from_the_frame_there(jack, tmp_path):
    """Stop after beat 3, Song Position Pointer to beat 2 (four sixteenths), Continue: the
    piece plays its frame 4 (beat 2) again, on the pulse of beat 2 as the master sends it. The
    master sends no clock before Start: the first frame waits for the first pulse."""
    out = tmp_path / "songpos.json"
    steps = [(60 + i,) for i in range(16)]          # a bar of sixteenth notes, all different
    roll = PianoRoll.from_benchmark(steps, steps_per_quarter=4)
    master = peer("master", "daw4", "rnnrbm-seek:rnnrbm-seek", out, "--steps",
                  "start clock:3@120 stop clock:0.5@120 songpos:4 continue "
                  "clock:3.5@120 stop")
    with LivePlayer(virtual_name="rnnrbm-seek", api="jack", clock_in="daw4:daw4") as player:
        schedule = player.play(roll)
    record = finish(master, out)
    messages = record["messages"]
    notes_of(messages)
    ons = [(t, m["note"]) for t, m in messages if m["type"] == "note_on" and m["velocity"]]
    assert [pitch - 60 for _, pitch in ons] == list(range(12)) + list(range(4, 16))
    assert schedule.frames_played == 24
    # Before Stop, frame i on pulse 6i as first sent; after Continue, frames 4-15 on pulses
    # 24-90 as sent again.
    first_sent, last_sent = {}, {}
    for position, sent in record["pulses"]:
        first_sent.setdefault(position, sent)
        last_sent[position] = sent
    due = [first_sent[6 * i] for i in range(12)] + [last_sent[6 * i] for i in range(4, 16)]
    assert_on_time([(on - sent) * 1000 for (on, _), sent in zip(ons, due)], jack)


def test_the_play_command_follows_a_clock_for_a_bar(jack, tmp_path, capsys):
    """`rnnrbm-music play --clock-in PORT --bars 1`: a bar of the pretrained model's music on
    the master's pulses, starting with its Start."""
    from rnnrbm_music.cli import main

    out = tmp_path / "cli.json"
    master = peer("master", "daw5", "rnnrbm-cli:rnnrbm-cli", out, "--steps",
                  "clock:1@150 start clock:5@150 stop")
    assert main(["play", "--api", "jack", "--virtual", "rnnrbm-cli", "--clock-in", "daw5:daw5",
                 "--bars", "1", "--seed", "1"]) == 0
    record = finish(master, out)
    assert "following the clock on 'daw5:daw5'" in capsys.readouterr().out
    grid = song_grid(record)
    notes = notes_of(record["messages"])
    assert notes
    ons = [on for _, on, _ in notes]
    positions = [min(grid, key=lambda p: abs(grid[p] - on)) for on in ons]
    # On sixteenths (pulses 0, 6, ...) of bar 1 (pulses 0-95).
    assert all(position % 6 == 0 and position < 96 for position in positions), positions
    assert_on_time([(on - grid[p]) * 1000 for on, p in zip(ons, positions)], jack)


def test_a_piece_started_while_the_daw_plays_starts_on_its_next_downbeat(jack, tmp_path):
    """play() called during bar 1 of a song already playing: the piece starts on bar 2's
    downbeat, each frame on its pulse, none of bar 1 fired at once."""
    out = tmp_path / "midsong.json"
    roll = PianoRoll.from_benchmark([(60 + i,) for i in range(8)], steps_per_quarter=4)
    master = peer("master", "daw6", "rnnrbm-mid:rnnrbm-mid", out, "--steps",
                  "clock:1@120 start clock:10@120 stop")
    with LivePlayer(virtual_name="rnnrbm-mid", api="jack", clock_in="daw6:daw6") as player:
        while player.follower.position < 30:
            time.sleep(0.005)
        player.play(roll)
    record = finish(master, out)
    grid = song_grid(record)
    ons = [t for t, m in record["messages"] if m["type"] == "note_on" and m["velocity"]]
    positions = [min(grid, key=lambda p: abs(grid[p] - on)) for on in ons]
    assert positions == [96 + 6 * i for i in range(8)]
    assert_on_time([(on - grid[p]) * 1000 for on, p in zip(ons, positions)], jack)
