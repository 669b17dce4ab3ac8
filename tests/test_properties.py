"""Properties of PianoRoll and the writers, over rolls hypothesis draws (not hand-picked ones).

- notes <-> frames: the notes a roll is built from are the notes it gives back, and the notes it
  gives back build it again;
- without onsets a note is a maximal run of sounding frames;
- the MIDI writer: read back event by event with mido, the file strikes each note of the roll
  once, for its length; the package's reader gives the roll again;
- the score writer: a Score (to_stream) read back gives the roll again, notes, meter, pickup,
  tempo and key (its signature trusted); a MusicXML file gives its notes again.
"""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from midi_events import midi_notes
from rnnrbm_music import PianoRoll, from_stream, read, to_stream, write

#: Few, fast examples: the suite runs on two shared cores.
FAST = settings(max_examples=60, deadline=None)
#: Writing and parsing files costs a tenth of a second and more an example.
FILES = settings(max_examples=25, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def notes(draw, min_size: int = 0, frames: int = 32, low: int = 48, high: int = 84
          ) -> list[tuple[int, int, int]]:
    """Notes as ``(onset, length, pitch)`` in frames, sorted; notes of one pitch never overlap
    but may follow each other at once (a repeated note)."""
    drawn = draw(st.lists(st.tuples(st.integers(0, frames - 1), st.integers(1, 8),
                                    st.integers(low, high)), min_size=min_size, max_size=24))
    kept, ends = [], {}
    for onset, length, pitch in sorted(drawn):
        if onset >= ends.get(pitch, 0):
            kept.append((onset, length, pitch))
            ends[pitch] = onset + length
    return sorted(kept)


@st.composite
def rolls(draw) -> PianoRoll:
    """A roll of drawn notes (one at least: a file without notes is refused) in a drawn
    context: frame rate, meter, pickup, tempo, key."""
    spq = draw(st.sampled_from([1, 2, 4]))
    meter = draw(st.sampled_from(["4/4", "3/4", "2/4"]))
    bar = int(meter[0]) * spq
    drawn = draw(notes(min_size=1))
    pickup = draw(st.integers(0, bar - 1))
    length = max(onset + duration for onset, duration, _ in drawn)
    return PianoRoll.from_notes(
        [(onset / spq, (onset + duration) / spq, pitch) for onset, duration, pitch in drawn],
        steps_per_quarter=spq, time_signature=meter, pickup=pickup,
        n_frames=max(length, pickup + bar),      # a piece shorter than a bar is all pickup
        bpm=draw(st.sampled_from([60.0, 96.0, 120.0])),
        key=draw(st.sampled_from(["C major", "A minor", "E- major", "F# minor"])))


@FAST
@given(notes(), st.sampled_from([1, 2, 4]))
def test_the_notes_a_roll_is_built_from_are_its_notes(drawn, spq):
    roll = PianoRoll.from_notes([(t / spq, (t + d) / spq, p) for t, d, p in drawn], steps_per_quarter=spq)
    assert roll.notes() == drawn
    again = PianoRoll.from_notes([(t / spq, (t + d) / spq, p) for t, d, p in roll.notes()],
                                 steps_per_quarter=spq, n_frames=len(roll))
    assert again == roll


@FAST
@given(st.integers(1, 24).flatmap(lambda t: st.lists(st.lists(st.booleans(), min_size=6, max_size=6),
                                                     min_size=t, max_size=t)))
def test_without_onsets_a_note_is_a_maximal_run_of_frames(rows):
    frames = np.array(rows, bool)
    runs = []
    for column in range(frames.shape[1]):
        t = 0
        while t < len(frames):
            if frames[t, column]:
                end = t
                while end + 1 < len(frames) and frames[end + 1, column]:
                    end += 1
                runs.append((t, end - t + 1, 60 + column))
                t = end
            t += 1
    roll = PianoRoll(frames, lowest=60)
    assert roll.notes() == sorted(runs)


@FILES
@given(roll=rolls())
def test_written_midi_strikes_each_note_once_and_reads_back_as_the_roll(roll, tmp_path):
    path = write(roll, tmp_path / "roll.mid")
    assert midi_notes(path, roll.steps_per_quarter) == roll.sounding_notes()
    assert read(path, steps_per_quarter=roll.steps_per_quarter, normalize_key=False,
                trust_key=True) == roll


@FILES
@given(roll=rolls())
def test_a_score_and_a_musicxml_file_give_the_roll_back(roll, tmp_path):
    options = dict(steps_per_quarter=roll.steps_per_quarter, normalize_key=False, trust_key=True)
    assert from_stream(to_stream(roll), **options) == roll
    assert read(write(roll, tmp_path / "roll.musicxml"), **options).notes() == roll.notes()
