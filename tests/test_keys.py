"""Key names, key detection and key normalization (rnnrbm_music.keys), by their right values."""

import numpy as np
import pytest

from rnnrbm_music import PianoRoll
from rnnrbm_music.keys import detect_key, key_name, key_of_signature, normalize, parse_key

C_MAJOR_SCALE = np.array([2, 0, 1, 0, 1, 1, 0, 2, 0, 1, 0, 1.])
A_HARMONIC_MINOR = np.array([2, 0, 1, 0, 2, 1, 0, 0, 1, 3, 0, 1.])     # A, C, E, G#, ...
TWELVE_TONE_ROW = np.ones(12)                                         # every pitch class alike


def test_key_names_are_spelled_as_music21_spells_key_tonics():
    """As music21's key analysis names them (E- and A- major, C# and G# minor), except D- major
    (five flats) where music21 keeps C# major (seven sharps)."""
    assert [key_name(pc, "major") for pc in (1, 3, 8, 10)] == [
        "D- major", "E- major", "A- major", "B- major"]
    assert [key_name(pc, "minor") for pc in (1, 3, 8, 10)] == [
        "C# minor", "E- minor", "G# minor", "B- minor"]


@pytest.mark.parametrize("name, expected", [
    ("F# minor", (6, "minor")), ("Bb major", (10, "major")), ("B- major", (10, "major")),
    ("f#", (6, "minor")),         # music21's convention: a lower-case tonic alone is minor
    ("Eb", (3, "major")), ("C## major", (2, "major")), ("  a   MINOR ", (9, "minor")),
])
def test_key_names_are_read(name, expected):
    assert parse_key(name) == expected


@pytest.mark.parametrize("name, problem", [
    ("", "expected e.g. 'D major'"), ("D major please", "expected e.g. 'D major'"),
    ("D dorian", "mode must be 'major' or 'minor'"), ("H major", "unknown tonic 'H'"),
    ("DX major", "unknown tonic 'DX'"),
])
def test_unreadable_key_names_are_one_clear_error(name, problem):
    with pytest.raises(ValueError, match=f"cannot read key {name!r}: {problem}"):
        parse_key(name)


@pytest.mark.parametrize("scale", [1e-3, 1 / C_MAJOR_SCALE.sum(), 1, 480])
@pytest.mark.parametrize("shift", [0, 2, 9])
def test_the_key_of_a_histogram_does_not_depend_on_its_unit(scale, shift):
    """Frames, quarters or a distribution summing to 1: the same notes are in the same key."""
    histogram = np.roll(C_MAJOR_SCALE, shift) * scale
    assert detect_key(histogram) == key_name(shift, "major")
    assert detect_key(np.roll(A_HARMONIC_MINOR, shift) * scale) == key_name(9 + shift, "minor")


def test_silence_has_no_key():
    assert detect_key(np.zeros(12)) is None


def test_a_signature_stands_for_its_major_key_unless_the_notes_fit_the_relative_minor_better():
    assert key_of_signature(0, A_HARMONIC_MINOR) == "A minor"
    assert key_of_signature(0, C_MAJOR_SCALE) == "C major"
    assert key_of_signature(-3, np.roll(A_HARMONIC_MINOR, 3)) == "C minor"
    # Notes that fit both alike (all twelve pitch classes): the signature's major key.
    assert key_of_signature(-2, TWELVE_TONE_ROW) == "B- major"
    assert key_of_signature(3, TWELVE_TONE_ROW) == "A major"


@pytest.mark.parametrize("key, pitch, expected", [
    ("B major", 108, -11),       # +1 would take C8 past the piano's top: down 11 instead
    ("F# major", 105, -6),       # +6 would take A7 past it: down 6
    ("F major", 21, 7),          # -5 would take A0 below the bottom: up 7
    ("G minor", 22, 5),          # up 5, the smallest move, fits: kept
])
def test_normalizing_moves_an_octave_the_other_way_where_a_note_would_leave_the_range(
        key, pitch, expected):
    roll = normalize(PianoRoll.from_benchmark([(pitch,)]), key)
    assert (roll.transposition, roll.key) == (expected, key)
    assert roll.to_benchmark() == [(pitch + expected,)]


@pytest.mark.parametrize("mode", ["major", "minor"])
def test_the_key_found_is_music21s_on_the_same_notes_in_every_key(mode):
    """Scales with their tonic triads in all twelve keys: the key music21's analyze('key')
    finds in the stream is the one detect_key finds in its pitch-class histogram, named alike
    (D- major for music21's C# major)."""
    from music21 import note, stream

    intervals = (0, 2, 4, 5, 7, 9, 11) if mode == "major" else (0, 2, 3, 5, 7, 8, 11)
    triad = (0, intervals[2], 7)
    for tonic in range(12):
        pitches = [60 + tonic + i for i in intervals + triad * 3]
        music = stream.Stream([note.Note(pitch, quarterLength=1) for pitch in pitches])
        found = music.analyze("key")
        theirs = f"{found.tonic.name} {found.mode}".replace("C# major", "D- major")
        histogram = np.bincount([pitch % 12 for pitch in pitches], minlength=12)
        assert detect_key(histogram) == theirs == key_name(tonic, mode), pitches
