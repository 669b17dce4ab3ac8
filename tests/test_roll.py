import warnings
from fractions import Fraction

import numpy as np
import pytest

from rnnrbm_music import PianoRoll, RangeError
from rnnrbm_music import roll as roll_module
from rnnrbm_music.roll import fold_into_range, meter_of_length, midi_pitch_name, value_map


def roll_of(steps, **context):
    return PianoRoll.from_benchmark(steps, **context)


def test_transpose_records_interval_and_refuses_to_leave_range():
    roll = roll_of([(21, 60), (108,)])
    with pytest.raises(RangeError, match="out of the range 21..108"):
        roll.transpose(1)
    with pytest.raises(RangeError, match="21 -> 20"):
        roll.transpose(-1)
    moved = roll_of([(30, 60)]).transpose(-5).transpose(2)
    assert moved.to_benchmark() == [(27, 57)]
    assert moved.transposition == -3


def test_slicing_concat_and_equality():
    roll = roll_of([(60,), (62,), (64,), (65,)], time_signature="3/4", bpm=90, key="C major")
    assert roll[1:3].to_benchmark() == [(62,), (64,)]
    assert roll[1:3].context() == {**roll.context(), "pickup": 5}   # 5 frames to the next bar
    assert roll[0:3].context() == roll.context()
    assert roll[:2].concat(roll[2:]) == roll
    assert roll != roll.replace(bpm=91)
    assert roll != roll_of([(60,), (62,), (64,), (66,)], time_signature="3/4", bpm=90, key="C major")
    with pytest.raises(ValueError, match="different pitch ranges or frame rates"):
        roll.concat(roll.replace(steps_per_quarter=4))


def test_from_notes_quantizes_to_nearest_frame_and_keeps_short_notes():
    roll = PianoRoll.from_notes([(0.0, 0.1, 60), (0.74, 1.26, 62), (1.5, 1.5, 64)],
                                steps_per_quarter=2)
    # 0.74 -> frame 1 (1.48), 1.26 -> frame 3 (2.52 rounds to 3); zero-length note -> one frame.
    assert roll.notes() == [(0, 1, 60), (1, 2, 62), (3, 1, 64)]


def test_out_of_range_notes_error_or_fold():
    with pytest.raises(RangeError, match="note 110 .* outside the range 21..108"):
        PianoRoll.from_notes([(0, 1, 110)], source="tune.mid")
    with pytest.warns(UserWarning, match="2 note"):
        folded = PianoRoll.from_notes([(0, 1, 110), (0, 1, 12)], out_of_range="fold")
    assert folded.to_benchmark() == [(24, 98), (24, 98)]


def test_frames_are_validated():
    with pytest.raises(ValueError, match="2-D"):
        PianoRoll(np.zeros(88))
    with pytest.raises(ValueError, match="boolean"):
        PianoRoll(np.full((2, 88), 0.5))


def meter_roll():
    """16 frames: a 2-frame pickup in 3/4, 2/4 from frame 8, 60 bpm from frame 10."""
    return PianoRoll(np.zeros((16, 88), bool), time_signature="3/4", bpm=100, pickup=2,
                     time_signature_changes=[(8, "2/4")], tempo_changes=[(10, 60)])


def test_measures_follow_pickup_and_meter_changes():
    roll = meter_roll()
    assert roll.measures() == [(0, 2, "3/4"), (2, 8, "3/4"), (8, 12, "2/4"), (12, 16, "2/4")]
    assert [roll.downbeat_after(f) for f in (0, 1, 2, 3, 8, 9, 16)] == [2, 2, 2, 8, 8, 12, 16]
    assert (roll.time_signature_at(7), roll.time_signature_at(8)) == ("3/4", "2/4")
    assert (roll.bpm_at(9), roll.bpm_at(10)) == (100, 60)


def test_slices_keep_bar_lines_meter_and_tempo():
    roll = meter_roll()
    tail = roll[9:]
    assert (tail.time_signature, tail.bpm, tail.pickup) == ("2/4", 100, 3)
    assert tail.tempo_changes == ((1, 60.0),) and tail.time_signature_changes == ()
    # The end of a 3/4 bar, then 2/4: a pickup in 2/4 (the pickup bar's meter is its length).
    middle = roll[5:9]
    assert (middle.pickup, middle.time_signature, middle.time_signature_changes) == (3, "2/4", ())
    # The context a continuation starts from: the last meter and tempo, the bar's remainder.
    end = roll[len(roll):]
    assert (len(end), end.time_signature, end.bpm, end.pickup) == (0, "2/4", 60, 0)
    assert roll[:13][13:].pickup == 3


def test_concat_records_changes_at_the_join():
    roll = meter_roll()
    assert roll[:9].concat(roll[9:]) == roll
    waltz = PianoRoll(np.zeros((6, 88), bool), time_signature="3/4", bpm=90)
    joined = roll.concat(waltz)
    assert joined.time_signature_changes == ((8, "2/4"), (16, "3/4"))
    assert joined.tempo_changes == ((10, 60.0), (16, 90.0))
    assert joined.measures()[-1] == (16, 22, "3/4")


def test_meter_and_tempo_are_validated():
    for bad in ("0/4", "2/8589934592", "3/5", "abc"):
        with pytest.raises(ValueError, match="time signature"):
            PianoRoll(np.zeros((1, 88), bool), time_signature=bad)
    with pytest.raises(ValueError, match="tempo must be positive"):
        PianoRoll(np.zeros((1, 88), bool), bpm=0)
    with pytest.raises(ValueError, match="increasing frames > 0"):
        PianoRoll(np.zeros((1, 88), bool), tempo_changes=[(0, 90)])
    with pytest.raises(ValueError, match="pickup must be 0..5"):
        PianoRoll(np.zeros((1, 88), bool), time_signature="3/4", pickup=6)
    # JSON round trip (the corpus cache stores the context as JSON): lists become tuples again.
    import json
    roll = meter_roll()
    assert PianoRoll(roll.frames, **json.loads(json.dumps(roll.context()))) == roll


def test_notes_folded_back_into_range_onto_one_pitch_sound_once():
    roll = roll_of([(21, 33)] * 4 + [(21,)] * 2 + [(33,)] * 4, transposition=3)
    with pytest.warns(UserWarning, match="moved by octaves"):
        notes = roll.sounding_notes()
    # A0 (frames 0-6) and A1 (0-4, struck again at 6) both fold onto F#1: no two notes of it
    # sound at once.
    assert notes == [(0, 6, 30), (6, 4, 30)]


def test_notes_lasting_absurdly_long_are_a_read_error_not_a_memory_error():
    from rnnrbm_music import ReadError

    with pytest.raises(ReadError, match=r"huge.mid: the music lasts .* hours at 120 bpm"):
        PianoRoll.from_notes([(0, 2 ** 28, 60)], source="huge.mid")


def test_from_benchmark_refuses_a_pitch_one_past_the_top_by_name():
    assert roll_of([(21, 108)]).to_benchmark() == [(21, 108)]      # both ends of the piano
    with pytest.raises(RangeError, match=r"^pitch 109 at step 1 is outside the range 21\.\.108$"):
        roll_of([(60,), (109,)])
    with pytest.raises(RangeError, match=r"^pitch 20 at step 0 is outside the range 21\.\.108$"):
        roll_of([(20,)])


def test_repeated_notes_are_strikes_where_the_same_pitch_ends():
    # D a half note, D again a quarter (struck as the first ends), E, then D after the E:
    # one re-strike; a note of another pitch, or after one, is none.
    roll = PianoRoll.from_notes([(0, 1, 62), (1, 1.5, 62), (2, 3, 64), (3, 4, 62)])
    assert roll.notes() == [(0, 2, 62), (2, 1, 62), (4, 2, 64), (6, 2, 62)]
    assert roll.repeated_notes() == 1
    assert PianoRoll.from_notes([(0, 1, 62), (2, 3, 62)]).repeated_notes() == 0   # a rest between


def test_the_same_music_under_another_title_or_composer_is_equal():
    roll = roll_of([(60,), (64, 67)], key="C major", title="Chorale", composer="J.S. Bach")
    assert roll == roll.replace(title="Another") == roll.replace(composer="Someone else")
    assert roll != roll.replace(key="A minor")


def test_a_bar_has_a_meter_of_its_length_only_down_to_sixty_fourths():
    assert meter_of_length(Fraction(1, 16), "4/4") == "1/64"
    assert meter_of_length(Fraction(1, 32), "4/4") is None      # a 1/128 bar: no meter writes it
    assert meter_of_length(Fraction(3, 32), "3/8") is None
    assert meter_of_length(0, "3/4") is None                     # an empty bar has no meter


def test_concat_of_several_records_each_tempo_where_its_roll_starts():
    a, b, c = (roll_of([(60,), (62,)], bpm=bpm) for bpm in (120, 60, 90))
    assert a.concat(b, c).tempos() == [(0, 120.0), (2, 60.0), (4, 90.0)]
    # A change inside the first roll stays where it is when the next changes as far after the join.
    first = roll_of([(60,)] * 4, tempo_changes=[(2, 90)])
    second = roll_of([(62,)] * 4, bpm=90, tempo_changes=[(2, 60)])
    assert first.concat(second).tempos() == [(0, 120.0), (2, 90.0), (6, 60.0)]
    # An empty roll between two: the tempo of the one after it holds from the join.
    assert a.concat(b[:0], c).tempos() == [(0, 120.0), (2, 90.0)]


def test_concat_records_a_meter_change_one_frame_in_and_onto_an_empty_roll():
    joined = roll_of([(60,)], time_signature="3/4").concat(roll_of([(62,)] * 4, time_signature="2/4"))
    assert joined.measures() == [(0, 1, "1/8"), (1, 5, "2/4")]     # the short first bar is named
    tune = roll_of([(62,), (64,)], time_signature="3/4", bpm=60)
    after_nothing = roll_of([]).concat(tune)
    assert after_nothing.to_benchmark() == tune.to_benchmark()
    assert after_nothing.time_signature_changes == () and after_nothing.tempo_changes == ()
    assert (after_nothing.time_signature, after_nothing.bpm) == ("3/4", 60)   # the music's own
    # An empty roll followed by music is that music: its pickup, key and transposition too,
    # even after an empty slice that ends inside a bar of another meter.
    waltz = roll_of([(62,), (64,)] * 7, time_signature="3/4", pickup=2, key="D major", transposition=-2)
    assert roll_of([]).concat(waltz) == waltz
    assert (roll_of([]).concat(waltz).pickup, roll_of([]).concat(waltz).transposition) == (2, -2)
    song = roll_of([(60,)] * 8, time_signature="3/4")
    assert song[len(song):].pickup == 4 and song[len(song):].concat(waltz) == waltz
    # An appended roll's changes at or after its own end are not the music's.
    for frames, at in ((0, 4), (0, 1), (4, 4)):
        beyond = PianoRoll(np.ones((frames, 88), bool), tempo_changes=((at, 60),))
        assert roll_of([(60,)] * 8).concat(beyond, roll_of([(62,)] * 8)).tempos() == [(0, 120.0)]
    # After an empty roll, each roll that follows is appended; a change undone at once is none.
    a, b = roll_of([(60,)] * 2), roll_of([(62,)] * 2, bpm=60)
    assert roll_of([]).concat(a, b, a) == a.concat(b, a)
    assert a.concat(b[:0], a).tempos() == [(0, 120.0)]
    # A tempo or meter appended after the last frame changes nothing that sounds: dropped.
    assert tune.concat(roll_of([], bpm=90, time_signature="2/4")) == tune
    assert tune.concat(roll_of([], bpm=90)).tempos() == [(0, 60.0)]


def test_concat_keeps_rolls_without_onsets_without_and_names_a_mismatch():
    benchmark = roll_of([(60,), (60,)])
    assert benchmark.concat(benchmark).onsets is None
    struck = PianoRoll.from_notes([(0, 0.5, 60), (0.5, 1, 60)])
    assert benchmark.concat(struck).notes() == [(0, 2, 60), (2, 1, 60), (3, 1, 60)]
    with pytest.raises(ValueError, match=r"^cannot concatenate piano rolls of different pitch ranges "
                                         r"or frame rates: 21\.\.108 @ 2/quarter vs 36\.\.84 @ 2/quarter$"):
        benchmark.concat(roll_of([(60,)], lowest=36, n_pitches=49))


def test_from_benchmark_builds_a_roll_of_any_range():
    roll = roll_of([(36,), (60, 84)], lowest=36, n_pitches=49)
    assert (roll.lowest, roll.highest, roll.n_pitches) == (36, 84, 49)
    assert roll.notes() == [(0, 1, 36), (1, 1, 60), (1, 1, 84)]


def test_midi_pitches_are_named_with_sharps_and_octaves():
    assert [midi_pitch_name(p) for p in range(60, 72)] == [
        "C4", "C#4", "D4", "D#4", "E4", "F4", "F#4", "G4", "G#4", "A4", "A#4", "B4"]
    assert (midi_pitch_name(0), midi_pitch_name(21), midi_pitch_name(127)) == ("C-1", "A0", "G9")


def test_a_slice_keeps_the_re_strikes_and_takes_only_frame_ranges():
    d_d = PianoRoll.from_notes([(0, 1, 62), (1, 2, 62), (2, 3, 62)])      # "D D D": three notes
    assert d_d[0:4].notes() == [(0, 2, 62), (2, 2, 62)]
    assert d_d[1:6].notes() == [(0, 1, 62), (1, 2, 62), (3, 2, 62)]       # the first held over
    with pytest.raises(TypeError, match=r"^PianoRoll supports slicing by frames only, e\.g\. roll\[0:16\]$"):
        d_d[2]
    with pytest.raises(ValueError, match=r"^PianoRoll slices take every frame: roll\[a:b\], not "
                                         r"roll\[a:b:step\]$"):
        d_d[::2]


def test_notes_moved_back_to_their_key_fold_only_when_they_leave_the_range():
    edges = roll_of([(24,), (105,)], transposition=3)        # back down to 21 and 102: in range
    top = roll_of([(105,)], transposition=-3)                 # back up to 108: in range
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert edges.sounding_notes() == [(0, 1, 21), (1, 1, 102)]
        assert top.sounding_notes() == [(0, 1, 108)]
    low = roll_of([(22,), (23,), (40,)], transposition=4)     # back to 18, 19 and 36
    with pytest.warns(UserWarning, match=r"^2 note\(s\) would leave 21\.\.108 .*\(-4 semitones\)") as caught:
        assert low.sounding_notes() == [(0, 1, 30), (1, 1, 31), (2, 1, 36)]
    assert caught[0].filename != roll_module.__file__          # the warning names a caller
    with pytest.warns(UserWarning, match=r"^1 note\(s\) would leave"):
        assert roll_of([(105,)], transposition=-6).sounding_notes() == [(0, 1, 99)]     # 111


def test_fold_into_range_moves_by_as_many_octaves_as_it_takes():
    pitches = (8, 9, 20, 21, 108, 109, 121)
    assert [fold_into_range(p, 21, 108) for p in pitches] == [32, 21, 32, 21, 108, 97, 97]


def test_a_slice_at_a_change_starts_in_it_and_one_ending_there_leaves_it_out():
    roll = roll_of([(60,)] * 10, time_signature="3/4", tempo_changes=[(6, 90)],
                   time_signature_changes=[(6, "2/4")])
    assert roll[6:10].tempos() == [(0, 90.0)] and roll[6:10].time_signatures() == [(0, "2/4")]
    assert roll[0:6].tempos() == [(0, 120.0)] and roll[0:6].time_signatures() == [(0, "3/4")]


def test_transposing_by_a_semitone_moves_notes_and_re_strikes_alike():
    d_d = PianoRoll.from_notes([(0, 1, 62), (1, 2, 62)])
    assert d_d.transpose(1).notes() == [(0, 2, 63), (2, 2, 63)]
    assert d_d.transpose(-1).notes() == [(0, 2, 61), (2, 2, 61)]
    assert d_d.transpose(1).transpose(-1) == d_d


def test_transposing_by_nothing_is_a_copy_that_keeps_the_re_strikes():
    d_d = PianoRoll.from_notes([(0, 1, 62), (1, 2, 62)])       # music already in C: normalize moves it by 0
    same = d_d.transpose(0)
    assert same.notes() == [(0, 2, 62), (2, 2, 62)] and same == d_d
    same.frames[:, 0] = True
    same.onsets[:, 0] = True
    assert d_d.notes() == [(0, 2, 62), (2, 2, 62)] and not d_d.onsets[:, 0].any()
    assert roll_of([(60,)]).transpose(0).onsets is None                # runs stay runs


def test_transposing_reaches_both_ends_of_the_piano():
    assert roll_of([(22,), (107,)]).transpose(-1).to_benchmark() == [(21,), (106,)]
    assert roll_of([(22,), (107,)]).transpose(1).to_benchmark() == [(23,), (108,)]


def test_a_tempo_map_drops_repeats_and_changes_at_the_end():
    changes = [(0, 90.0), (4, 60.0), (8, 60.0), (12, 90.0), (16, 100.0)]
    assert value_map(changes, 120.0, 16) == (90.0, ((4, 60.0), (12, 90.0)))
    assert value_map(changes, 120.0, 17) == (90.0, ((4, 60.0), (12, 90.0), (16, 100.0)))
    assert value_map([], "4/4", 8) == ("4/4", ())


def test_from_notes_names_the_source_and_counts_the_notes_it_folds():
    with pytest.raises(RangeError, match=r"^tune\.mid: note 110 \(D8\) at quarter 1\.5 is outside "
                                         r"the range 21\.\.108$"):
        PianoRoll.from_notes([(0, 1, 60), (1.5, 2, 110)], source="tune.mid")
    with pytest.raises(RangeError, match=r"^note 110 \(D8\)"):
        PianoRoll.from_notes([(0, 1, 110)])
    with pytest.warns(UserWarning, match=r"^tune\.mid: 2 note\(s\) outside 21\.\.108 moved by octaves "
                                         r"into the range$"):
        PianoRoll.from_notes([(0, 1, 110), (0, 1, 12), (0, 1, 60)], out_of_range="fold", source="tune.mid")
    with pytest.warns(UserWarning, match=r"^1 note\(s\) outside") as caught:
        PianoRoll.from_notes([(0, 1, 12)], out_of_range="fold")
    assert caught[0].filename != roll_module.__file__          # the warning names a caller
    with pytest.raises(ValueError, match=r"^out_of_range must be 'error' or 'fold', got 'drop'$"):
        PianoRoll.from_notes([(0, 1, 60)], out_of_range="drop")
    assert len(PianoRoll.from_notes([])) == 0


def test_a_roll_holds_up_to_max_frames_and_says_how_long_music_beyond_lasts():
    from rnnrbm_music import ReadError
    from rnnrbm_music.roll import MAX_FRAMES
    one_key = dict(lowest=60, n_pitches=1)                    # a megaframe of one key is a megabyte
    assert len(PianoRoll.from_notes([(0, MAX_FRAMES / 2, 60)], **one_key)) == MAX_FRAMES
    with pytest.raises(ReadError, match=r"^notes: the music lasts 2,000,000 frames \(138\.9 hours at "
                                        r"120 bpm\), more than the 1,048,576 a piano roll holds"):
        PianoRoll.from_notes([(0, 1_000_000, 60)], **one_key)
