"""The real-world MIDI kinds of ../shared/cases/io (see its README.md), read by both byte-level
parsers: notes are (onset frame, length in frames, MIDI pitch), eighth-note frames."""

import warnings
from pathlib import Path

import mido
import pytest

from rnnrbm_music import ReadError, from_stream, read, to_stream
from rnnrbm_music.midi_io import _mido_tracks, _music21_tracks, _notes_and_metas

CASES = Path(__file__).resolve().parents[2] / "shared" / "cases" / "io"
PARSERS = ("mido", "music21")
C4, D4, E4, F4, G4 = 60, 62, 64, 65, 67
#: C4 D4 E4 F4 quarters, then G4 half.
FIVE = [(0, 2, C4), (2, 2, D4), (4, 2, E4), (6, 2, F4), (8, 4, G4)]
#: type0_two_channels.mid and type1_two_tracks.mid: the melody of FIVE over C3 G2 C3 halves.
EIGHT = sorted(FIVE + [(0, 4, 48), (4, 4, 43), (8, 4, 48)])


def read_case(name, parser, **options):
    """Read a case file, failing on any warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read(CASES / name, normalize_key=False, reader=parser, **options)


def read_case_warned(name, parser, **options):
    """Read a case file that must give exactly one warning, of one line naming the file."""
    with pytest.warns(UserWarning) as record:
        roll = read(CASES / name, normalize_key=False, reader=parser, **options)
    assert len(record) == 1, [str(w.message) for w in record]
    message = str(record[0].message)
    assert name in message and "\n" not in message
    return roll, message


NOTES = {
    "running_status_across_meta.mid": [(0, 4, C4), (0, 4, E4), (2, 2, G4)],
    "noteon_velocity0_as_noteoff.mid": [(0, 2, C4), (2, 2, D4), (4, 2, E4)],
    # C4 sounds ticks 0-1440, frames (0,6), struck at ticks 0 and 240: two notes
    "overlapping_same_pitch.mid": [(0, 1, C4), (0, 2, G4), (1, 5, C4)],
    "zero_length_note.mid": [(0, 1, C4), (0, 4, 48), (4, 2, C4)],
    "hanging_note_no_noteoff.mid": [(0, 2, C4), (2, 16, E4), (4, 2, G4)],
    "type0_two_channels.mid": EIGHT,
    "type1_two_tracks.mid": EIGHT,
    "trailing_garbage.mid": FIVE,
    "missing_end_of_track.mid": FIVE,
    "drums_and_piano_type0.mid": [(2 * i, 2, p) for i, p in enumerate((60, 62, 64, 65, 67, 65, 64, 62))],
    "program_change_pitch_bend.mid": [(0, 2, C4), (2, 2, D4), (4, 2, E4), (6, 2, F4)],
    "tempo_on_second_track.mid": FIVE,
}


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("name", sorted(NOTES))
def test_notes(name, parser):
    assert sorted(read_case(name, parser).notes()) == sorted(NOTES[name])


@pytest.mark.parametrize("name", ["overlapping_same_pitch.mid", "zero_length_note.mid",
                                  "hanging_note_no_noteoff.mid", "long_24000_notes.mid",
                                  "tempo_change_midpiece.mid", "timesig_change_3-4_to_4-4.mid"])
def test_both_parsers_give_the_same_roll(name):
    assert read_case(name, "mido") == read_case(name, "music21")


def test_long_file_both_parsers_pair_all_24000_notes():
    data = (CASES / "long_24000_notes.mid").read_bytes()
    by_mido, _, _ = _notes_and_metas(_mido_tracks(data))
    by_music21, _, _ = _notes_and_metas(_music21_tracks(data))
    assert len(by_mido) == 24000
    assert sorted(by_mido) == sorted(by_music21)
    # sixteenth notes, 4 at a time: 6000 chords of 120 ticks
    assert {end - start for start, end, _ in by_mido} == {120}
    roll = read_case("long_24000_notes.mid", "mido", steps_per_quarter=4)
    assert len(roll) == 6000


@pytest.mark.parametrize("parser", PARSERS)
def test_smpte_division_is_read_as_seconds_at_120_bpm(parser):
    path = CASES / "smpte_division_25fps.mid"
    if parser == "music21":   # music21's parser takes only 24, 25, 29 or 30 ticks per frame
        with pytest.raises(ReadError, match="SMPTE timing .* is not supported by music21's MIDI parser"):
            read(path, reader=parser)
        return
    roll = read_case(path.name, parser)
    assert roll.notes() == [(0, 2, C4), (2, 2, D4), (4, 4, E4)]
    assert roll.bpm == 120.0 and roll.tempo_changes == ()


@pytest.mark.parametrize("parser", PARSERS)
def test_types_0_and_1_give_one_roll_at_100_bpm(parser):
    type0 = read_case("type0_two_channels.mid", parser)
    type1 = read_case("type1_two_tracks.mid", parser)
    assert type0 == type1
    assert type0.bpm == 100.0 and type0.tempo_changes == ()


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("name, time_signature, time_signature_changes, bpm, tempo_changes", [
    ("tempo_on_second_track.mid", "4/4", (), 90.0, ()),
    ("tempo_change_midpiece.mid", "4/4", (), 100.0, ((16, 50.0),)),
    ("first_tempo_after_bar1.mid", "4/4", (), 120.0, ((8, 60.0),)),
    ("timesig_change_3-4_to_4-4.mid", "3/4", ((12, "4/4"),), 120.0, ()),
])
def test_tempo_and_meter_maps(name, parser, time_signature, time_signature_changes, bpm,
                              tempo_changes):
    roll = read_case(name, parser)
    assert roll.time_signature == time_signature
    assert roll.time_signature_changes == time_signature_changes
    assert roll.bpm == bpm
    assert roll.tempo_changes == tempo_changes


@pytest.mark.parametrize("parser", PARSERS)
def test_tempo_change_midpiece_keeps_notes_by_beats(parser):
    roll = read_case("tempo_change_midpiece.mid", parser)
    pitches = (60, 62, 64, 65, 67, 69, 71, 72, 72, 71, 69, 67, 65, 64, 62, 60)
    expected = [(2 * i, 2, p) for i, p in enumerate(pitches)]
    assert roll.notes() == sorted(expected)           # the two C5 quarters stay two notes
    assert roll.bpm_at(15) == 100.0 and roll.bpm_at(16) == 50.0


@pytest.mark.parametrize("parser", PARSERS)
def test_track_length_too_long_reads_the_five_notes_with_a_warning(parser):
    roll, message = read_case_warned("track_length_too_long.mid", parser)
    assert roll.notes() == FIVE
    assert "track chunk 1 declares 40 bytes more than the file holds" in message


def test_mido_rejects_what_the_fallback_reads():
    """The mido path falls back to music21's parser for these: mido itself refuses them."""
    with pytest.raises(mido.KeySignatureError):
        mido.MidiFile(CASES / "key_signature_18_sharps.mid")
    with pytest.raises(EOFError):
        mido.MidiFile(CASES / "track_length_too_long.mid")


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("trust_key", [False, True])
def test_impossible_key_signature_is_ignored(parser, trust_key):
    if trust_key:   # ignored, so there is none to trust: a second warning says so
        with pytest.warns(UserWarning) as record:
            roll = read(CASES / "key_signature_18_sharps.mid", normalize_key=False,
                        reader=parser, trust_key=True)
        message, trusting = (str(w.message) for w in record)
        assert "no key signature to trust: the key is detected from the notes" in trusting
    else:
        roll, message = read_case_warned("key_signature_18_sharps.mid", parser)
    assert roll.notes() == FIVE
    assert "key signature of 18 sharps, mode 0" in message
    assert roll.key == "C major"    # detected from the notes, not taken from the event


@pytest.mark.parametrize("parser", PARSERS)
def test_tempo_zero_falls_back_to_120_bpm(parser):
    roll, message = read_case_warned("tempo_zero.mid", parser)
    assert roll.notes() == FIVE
    assert roll.bpm == 120.0 and roll.tempo_changes == ()
    assert "tempo of 0 microseconds per quarter note" in message


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("name, value", [("timesig_numerator_zero.mid", "0/4"),
                                         ("timesig_denominator_2pow33.mid", "2/2^33")])
def test_impossible_time_signature_falls_back_to_4_4(name, value, parser):
    roll, message = read_case_warned(name, parser)
    assert f"time signature {value}" in message
    assert roll.notes() == FIVE
    assert roll.time_signature == "4/4" and roll.time_signature_changes == ()
    score = to_stream(roll)                       # every later step works on the roll
    assert from_stream(score, normalize_key=False).notes() == FIVE


ERRORS = [
    ("drums_channel10_only.mid", "mido", r"only percussion \(channel 10\)"),
    ("drums_channel10_only.mid", "music21", r"only percussion \(channel 10\)"),
    ("type2_two_sequences.mid", "mido", "MIDI type 2"),
    ("type2_two_sequences.mid", "music21", "MIDI type 2"),
    ("smpte_division_25fps.mid", "music21", "SMPTE timing"),
]


@pytest.mark.parametrize("name, parser, reason", ERRORS)
def test_read_errors_name_the_file_in_one_line(name, parser, reason):
    with pytest.raises(ReadError, match=reason) as error:
        read(CASES / name, reader=parser)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(str(CASES / name) + ": ")
    assert error.value.reason and error.value.reason in message


@pytest.mark.parametrize("name", sorted(p.name for p in CASES.glob("*.mid")))
def test_every_case_file_is_read_or_refused_by_both_parsers_alike(name):
    """Both parsers give the same roll, or both refuse (SMPTE excepted: music21's parser may)."""
    outcomes = []
    for parser in PARSERS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                outcomes.append(read(CASES / name, normalize_key=False, reader=parser))
            except ReadError as error:
                outcomes.append(type(error))
    if name == "smpte_division_25fps.mid":
        assert outcomes[1] is ReadError
    else:
        assert outcomes[0] == outcomes[1]
