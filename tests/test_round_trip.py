"""Round trips over real corpora: the MIDI files of ../shared/data/nottingham_midi and the Bach
chorales of music21's corpus. The default suite takes a fixed sample of the larger ones (every
fourth Nottingham tune, every sixth chorale where the score is parsed again, a few MusicXML
files); ``-m slow`` takes every file.

- read -> write .mid: the file's note events (read back one by one with mido) are the roll's
  notes, each struck once, and reading the file gives the roll again;
- read -> score (to_stream) -> read: the same frames, meter, tempo, pickup and key;
- read -> write .musicxml -> read, the same through the file (parsing MusicXML costs a third of
  a second a piece);
- every note of the source is a note of the roll, struck once.
"""

import pytest

from conftest import NOTTINGHAM_MIDI
from midi_events import midi_notes
from rnnrbm_music import Corpus, from_stream, read, to_stream, write


@pytest.fixture(scope="module")
def nottingham(tmp_path_factory):
    files = sorted(NOTTINGHAM_MIDI.glob("*.mid"))
    assert len(files) > 1000
    return Corpus(files, cache_dir=tmp_path_factory.mktemp("cache"), progress=False, strict=True)


def assert_midi_round_trip(corpus, folder, every: int = 1):
    for i, (name, roll) in enumerate(zip(corpus.names, corpus)):
        if i % every == 0:
            path = write(roll, folder / f"{i}.mid")
            assert midi_notes(path, roll.steps_per_quarter) == roll.sounding_notes(), name
            assert read(path) == roll, name


def test_nottingham_midi_files_round_trip_through_written_midi_sample(nottingham, tmp_path):
    """Every fourth tune (tests/test_properties.py tries the property on made-up rolls too)."""
    assert_midi_round_trip(nottingham, tmp_path, every=4)


@pytest.mark.slow
def test_every_nottingham_midi_file_round_trips_through_written_midi(nottingham, tmp_path):
    assert_midi_round_trip(nottingham, tmp_path)


def test_chorales_round_trip_through_written_midi(chorales, tmp_path):
    assert_midi_round_trip(chorales, tmp_path)


def assert_score_round_trip(corpus, every: int):
    for i, (name, roll) in enumerate(zip(corpus.names, corpus)):
        if i % every == 0:
            assert from_stream(to_stream(roll)) == roll, name


def test_nottingham_round_trips_through_scores_sample(nottingham):
    """Every fourth tune (tests/test_properties.py tries the property on made-up rolls too)."""
    assert_score_round_trip(nottingham, every=4)


@pytest.mark.slow
def test_every_nottingham_tune_round_trips_through_scores(nottingham):
    assert_score_round_trip(nottingham, every=1)


def test_chorales_round_trip_through_scores_sample(chorales):
    """Every fourth chorale."""
    assert len(chorales) == 371 and not chorales.errors
    assert_score_round_trip(chorales, every=4)


@pytest.mark.slow
def test_every_chorale_round_trips_through_scores(chorales):
    assert_score_round_trip(chorales, every=1)


def assert_musicxml_round_trip(corpus, folder, every: int):
    for i, (name, roll) in enumerate(zip(corpus.names, corpus)):
        if i % every == 0:
            assert read(write(roll, folder / f"{i}.musicxml")) == roll, name


def test_musicxml_files_round_trip_sample(chorales, nottingham, tmp_path):
    assert_musicxml_round_trip(chorales, tmp_path, every=25)
    assert_musicxml_round_trip(nottingham, tmp_path, every=50)


@pytest.mark.slow
def test_every_musicxml_file_round_trips(chorales, nottingham, tmp_path):
    assert_musicxml_round_trip(chorales, tmp_path, every=1)
    assert_musicxml_round_trip(nottingham, tmp_path, every=1)


def strikes(notes, steps_per_quarter):
    """Where notes given in quarter notes are struck on the frame grid: {(frame, pitch)}."""
    return {(int(float(start) * steps_per_quarter + 0.5), pitch) for start, _, pitch in notes}


def assert_every_chorale_note_is_struck_once(chorales, every: int):
    from music21 import converter
    from rnnrbm_music.score_reading import _as_performed, tied_notes

    for name, roll in zip(chorales.names[::every], chorales[::every]):
        score = _as_performed(converter.parse(name), True, name)
        source = {(frame, pitch + roll.transposition) for part in score.parts
                  for frame, pitch in strikes(tied_notes(part), roll.steps_per_quarter)}
        assert {(onset, pitch) for onset, _, pitch in roll.notes()} == source, name


def test_every_chorale_note_is_struck_once_in_the_roll_sample(chorales):
    """Each note of the score (ties merged, grace notes left out, repeats played out) is a note
    of the roll at its onset frame, and each note of the roll is one of them; voices in unison
    strike one note (a roll holds one note of a pitch at a time). Every sixth chorale: parsing
    the scores again costs a tenth of a second each."""
    assert_every_chorale_note_is_struck_once(chorales, every=6)


@pytest.mark.slow
def test_every_chorale_note_is_struck_once_in_the_roll(chorales):
    assert_every_chorale_note_is_struck_once(chorales, every=1)


def test_every_nottingham_note_on_is_a_note_of_the_roll(nottingham):
    import mido

    for name, roll in zip(nottingham.names, nottingham):
        midi = mido.MidiFile(name)
        struck = set()
        for track in midi.tracks:
            tick = 0
            for message in track:
                tick += message.time
                if message.type == "note_on" and message.velocity and message.channel != 9:
                    struck.add((tick / midi.ticks_per_beat, None, message.note + roll.transposition))
        assert {(onset, pitch) for onset, _, pitch in roll.notes()} == strikes(
            struck, roll.steps_per_quarter), name
