import numpy as np
import pytest

from rnnrbm_music import PianoRoll, RangeError


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
    assert roll[1:3].context() == roll.context()
    assert roll[:2].concat(roll[2:]) == roll
    assert roll != roll.replace(bpm=91)
    assert roll != roll_of([(60,), (62,), (64,), (66,)], time_signature="3/4", bpm=90, key="C major")
    with pytest.raises(ValueError, match="different pitch ranges or frame rates"):
        roll.concat(roll.replace(steps_per_quarter=4))


def test_notes_are_runs_of_frames():
    roll = roll_of([(60, 64), (60, 64), (64,), (), (60,)])
    assert roll.notes() == [(0, 2, 60), (0, 3, 64), (4, 1, 60)]


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
