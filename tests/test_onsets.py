"""Repeated notes survive: onsets from reading, through the writers, to a model that learns them.

(Onsets through slicing, concat and the readers are in test_roll.py, test_round_trip.py and the
cases; the live player's re-strikes in test_live.py.)
"""

from pathlib import Path

import numpy as np
import pytest
from music21 import converter

from conftest import NOTTINGHAM_MIDI
from midi_events import midi_notes
from rnnrbm_music import Corpus, PianoRoll, RnnRbmComposer, from_stream, write

README_TUNE = "tinyNotation: 4/4 d4 d a a b b a2 g4 g f# f# e e d2"


def repeat_share(rolls) -> float:
    """Re-struck notes per note."""
    return sum(roll.repeated_notes() for roll in rolls) / sum(len(roll.notes()) for roll in rolls)


def test_the_readme_tune_keeps_every_note_through_a_continuation(tmp_path):
    tune = converter.parse(README_TUNE)
    prime = from_stream(tune)
    assert len(prime.notes()) == 14
    composer = RnnRbmComposer.pretrained(device="cpu")
    whole = composer.continue_roll(tune, n_steps=16, seed=0)[0]
    assert [n for n in whole.notes() if n[0] < len(prime)] == prime.notes()
    written = midi_notes(write(whole, tmp_path / "continued.mid"))
    assert [n for n in written if n[0] < len(prime)] == from_stream(tune, normalize_key=False).notes()


def test_a_repeated_note_is_written_as_two_notes_not_a_tie(tmp_path):
    roll = PianoRoll.from_notes([(0, 1, 62), (1, 2, 62), (2, 4, 69)])
    assert roll.notes() == [(0, 2, 62), (2, 2, 62), (4, 4, 69)]
    score = converter.parse(write(roll, tmp_path / "dd.musicxml"))
    notes = list(score.flatten().notes)
    assert [(n.offset, n.pitch.nameWithOctave, n.tie) for n in notes] == [
        (0.0, "D4", None), (1.0, "D4", None), (2.0, "A4", None)]
    assert midi_notes(write(roll, tmp_path / "dd.mid")) == roll.notes()


@pytest.fixture(scope="module")
def folk_with_onsets(tmp_path_factory):
    files = sorted(NOTTINGHAM_MIDI.glob("*.mid"))[::20]
    corpus = Corpus(files, cache_dir=tmp_path_factory.mktemp("cache"), progress=False)
    composer = RnnRbmComposer(n_hidden=64, n_recurrent=32, articulation=True, seed=0, epochs=8,
                              k=5, batch_size=8, optimizer="adam", lr=0.01)
    return corpus, composer.fit(corpus, progress=False)


def test_a_model_with_onsets_learns_to_repeat_notes(folk_with_onsets, tmp_path):
    corpus, composer = folk_with_onsets
    assert composer.model_.config.n_visible == 176
    corpus_share = repeat_share(corpus)
    generated = repeat_share(composer.generate_roll(n_steps=96, seed=1, n=6))
    print(f"repeated notes: corpus {corpus_share:.3f}, generated {generated:.3f}")
    assert corpus_share > 0.1
    assert generated > 0.25 * corpus_share          # without onsets: 0 by construction
    # The layout is in the model file and comes back with it.
    loaded = RnnRbmComposer.load(composer.save(tmp_path / "onsets.safetensors"), device="cpu")
    assert loaded.articulation and loaded.model_.config.articulation
    assert loaded.generate_roll(n_steps=32, seed=3)[0] == composer.generate_roll(n_steps=32, seed=3)[0]
    figures = loaded.evaluate(corpus[:2], n_chains=2, n_betas=20)
    assert figures["layout"] == "176 units: 88 sounding + 88 onset"


def test_harmonizing_with_onsets_keeps_the_melodys_repeated_notes(folk_with_onsets):
    _, composer = folk_with_onsets
    tune = converter.parse(README_TUNE)
    melody = composer.to_roll(tune)
    harmonized = composer.harmonize_roll(tune, seed=2)[0]
    top = {(onset, pitch) for onset, _, pitch in harmonized.notes()}
    assert {(onset, pitch) for onset, _, pitch in melody.notes()} <= top
    assert np.array_equal(harmonized.onsets & melody.frames, melody.note_starts())


def test_harmonizing_with_the_88_unit_model_strikes_every_melody_note():
    """A melody without onsets (a benchmark roll): each of its notes is struck in the
    harmonization, even where the harmony sounded its pitch just before."""
    composer = RnnRbmComposer.load(Path(__file__).resolve().parents[1] / "benchmarks" / "models"
                                   / "bach_chorales_88.safetensors", device="cpu")
    pitches = [67, 69, 71, 72, 74, 72, 71, 69, 67, 66, 67, 62]
    melody = PianoRoll.from_benchmark([(p,) for p in pitches for _ in range(2)])
    assert melody.onsets is None
    for harmonized in composer.harmonize_roll(melody, seed=0, n=4):
        struck = {(onset, pitch) for onset, _, pitch in harmonized.notes()}
        assert {(2 * i, p) for i, p in enumerate(pitches)} <= struck


def test_a_tie_without_its_stop_still_holds_the_note(tmp_path):
    """music21 drops the stop of a tie into a second ending; a tie start goes on into the next
    note of its pitch all the same."""
    from music21 import note, stream, tie

    part = stream.Part()
    held, after = note.Note("G4", quarterLength=2), note.Note("G4", quarterLength=2)
    held.tie = tie.Tie("start")                   # and no stop on ``after``
    part.append([note.Note("C4", quarterLength=2), held, after, note.Note("G4", quarterLength=2)])
    assert from_stream(part, normalize_key=False).notes() == [(0, 4, 60), (4, 8, 67), (12, 4, 67)]


def test_a_unison_of_two_voices_is_never_struck_twice_at_once(tmp_path):
    from music21 import note, stream

    measure = stream.Measure()
    upper, lower = stream.Voice(), stream.Voice()
    upper.append(note.Note("C5", quarterLength=2))
    lower.append([note.Note("C5", quarterLength=1), note.Note("C5", quarterLength=1)])
    measure.insert(0, upper)
    measure.insert(0, lower)
    part = stream.Part([measure])
    # midi_notes fails on a key struck while it sounds.
    assert midi_notes(write(part, tmp_path / "unison.mid")) == [(0, 2, 72), (2, 2, 72)]


def test_filtering_the_frames_of_a_roll_with_onsets_drops_their_onsets():
    roll = PianoRoll.from_notes([(0, 1, 60), (1, 2, 60), (0, 2, 84)])
    low = roll.replace(frames=roll.frames & (np.arange(88) < 84 - 21))
    assert low.notes() == [(0, 2, 60), (2, 2, 60)]
