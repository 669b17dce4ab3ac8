"""The score-reading and writing rows of ../shared/cases/io/README.md, each as a test.

Written MIDI files are read back event by event (tests/midi_events.py), written MusicXML is
parsed back by music21 and its spelling, measures and ties inspected. The MIDI-reading rows are
in test_midi_cases.py.
"""

import pytest
from music21 import converter, meter

from conftest import CASES
from midi_events import meta_events, midi_notes
from rnnrbm_music import PianoRoll, read, to_stream, write

C4, D4, E4, F4, G4, A4, B4, C5 = 60, 62, 64, 65, 67, 69, 71, 72


def case(name, **options):
    return read(CASES / name, normalize_key=False, **options)


def written_pitches(path) -> list[str]:
    """Pitch names, as a notation program shows them, of every note of a written score, in time
    order (both staves)."""
    return written_pitches_of(converter.parse(path))


# --- reading scores ----------------------------------------------------------------------------
def test_clarinet_in_b_flat_is_read_at_sounding_pitch():
    solo = case("clarinet_in_bflat_solo.musicxml")
    assert solo.notes() == [(0, 2, F4), (2, 2, G4), (4, 2, A4), (6, 2, 70), (8, 8, C5)]
    assert solo.key == "F major"
    # Beside a flute playing the same sounding notes: unisons, so the roll is the solo's.
    assert case("clarinet_in_bflat_with_flute.musicxml").frames.tolist() == solo.frames.tolist()


def test_repeats_and_endings_are_played_as_performed():
    performed = case("abc_repeat_with_endings.abc")
    first = [C4, D4, E4, F4, G4, A4, G4, E4]
    expected = PianoRoll.from_benchmark(
        [(p,) for p in first for _ in range(2)] + [(D4,)] * 4 + [(C4,)] * 4
        + [(p,) for p in first for _ in range(2)] + [(D4,)] * 4 + [(G4,)] * 4)
    assert len(performed) == 48
    assert performed.frames.tolist() == expected.frames.tolist()
    written = case("abc_repeat_with_endings.abc", expand_repeats=False)
    assert len(written) == 32          # as written: the first pass, then both endings once
    assert performed.bpm == 100


def test_chord_symbols_are_not_notes_unless_realized():
    melody = [(0, 2, 76), (2, 2, 74), (4, 2, 72), (6, 2, 76), (8, 2, 77), (10, 2, 81),
              (12, 2, 79), (14, 2, 71), (16, 8, 72)]
    assert case("lead_sheet_chord_symbols.musicxml").notes() == melody
    realized = case("lead_sheet_chord_symbols.musicxml", realize_chord_symbols=True)
    assert set(melody) < set(realized.notes())
    # C major sounds under the first bar, F under the first half of bar 2, G7 under the second.
    assert {48, 52, 55} <= {p for t, _, p in realized.notes() if t == 0}


def test_percussion_part_beside_a_piano_is_left_out():
    assert case("percussion_unpitched_with_piano.musicxml").notes() == [
        (0, 2, C4), (2, 2, E4), (4, 2, G4), (6, 2, C5)]


def test_grace_notes_are_left_out():
    assert case("grace_notes.musicxml").notes() == [
        (0, 2, C5), (2, 2, B4), (4, 2, A4), (6, 2, G4), (8, 8, C5)]


def test_triplets_round_to_the_documented_frames_and_a_finer_grid_keeps_them():
    assert case("triplet_eighths_2-4.musicxml").to_benchmark() == [
        (C4,), (D4, E4), (F4,), (G4, A4), (B4,), (B4,), (C5,), (C5,)]
    fine = case("triplet_eighths_2-4.musicxml", steps_per_quarter=6)
    assert [n[2] for n in fine.notes()] == [C4, D4, E4, F4, G4, A4, B4, C5]
    assert [n[:2] for n in fine.notes()][:6] == [(i * 2, 2) for i in range(6)]


def test_tie_across_the_barline_beside_a_moving_voice(tmp_path):
    roll = case("tie_across_barline_two_voices.musicxml")
    notes = roll.notes()
    assert roll.frames[:, 76 - 21].nonzero()[0].tolist() == list(range(6))   # E5 sounds (0,6)
    # ... struck by voice 1 (a half note) and again by voice 2 on beat 3: two notes.
    assert (0, 4, 76) in notes and (4, 2, 76) in notes
    assert (4, 8, 79) in notes                                     # G5 tied over the bar: one
    assert {(0, 2, 72), (2, 2, 74), (6, 2, 72), (8, 4, 71), (12, 4, 69)} <= set(notes)  # voice 2
    assert midi_notes(write(roll, tmp_path / "tie.mid")) == notes


def test_pickup_is_kept_through_reading_and_writing(tmp_path):
    roll = case("pickup_anacrusis_3-4.musicxml")
    assert (roll.pickup, roll.time_signature) == (2, "3/4")
    score = converter.parse(write(roll, tmp_path / "pickup.musicxml"))
    bars = list(score.parts[0].getElementsByClass("Measure"))
    assert [p.nameWithOctave for p in bars[0].pitches] == ["D4"]     # alone before the bar line
    assert bars[0].paddingLeft == 2.0 and bars[0].number == 0
    first_downbeat = bars[1].notes.first()
    assert first_downbeat.offset == 0 and first_downbeat.pitch.nameWithOctave == "G4"
    assert read(tmp_path / "pickup.musicxml", normalize_key=False) == roll
    # Written MIDI: the notes where the score puts them.
    assert midi_notes(write(roll, tmp_path / "pickup.mid")) == roll.notes()


# --- writing scores: spelling ------------------------------------------------------------------
def test_c_minor_is_spelled_with_flats_and_a_raised_leading_tone(tmp_path):
    roll = read(CASES / "c_minor_melody.musicxml")          # normalized to C minor and back
    assert roll.key == "C minor"
    pitches = written_pitches(write(roll, tmp_path / "minor.musicxml"))
    assert pitches == ["C4", "E-4", "G4", "A-4", "G4", "F4", "E-4", "D4", "C4", "B3", "C4"]


def test_key_change_is_written_without_double_accidentals(tmp_path):
    roll = read(CASES / "key_change_G_to_Eb.musicxml")         # one key for the whole piece
    pitches = written_pitches(write(roll, tmp_path / "keys.musicxml"))
    # Each half spelled in its own key: F#, not G-flat, in the G major bars.
    assert pitches == ["G4", "B4", "D5", "F#5", "G5", "D5", "B4", "G4",
                       "E-4", "G4", "B-4", "D5", "E-5", "B-4", "A-4", "E-4"]


@pytest.mark.parametrize("key_name, expected", [
    ("F major", ["F4", "G4", "A4", "B-4", "C5", "D5", "E5"]),
    ("E- major", ["E-4", "F4", "G4", "A-4", "B-4", "C5", "D5"]),
    ("B major", ["B3", "C#4", "D#4", "E4", "F#4", "G#4", "A#4"]),
    ("F# minor", ["F#4", "G#4", "A4", "B4", "C#5", "D5", "E#5"]),
    ("B- minor", ["B-3", "C4", "D-4", "E-4", "F4", "G-4", "A4"]),
])
def test_every_key_spells_its_scale_and_leading_tone(key_name, expected):
    from music21 import pitch

    midis = [pitch.Pitch(name).midi for name in expected]
    roll = PianoRoll.from_notes([(i, i + 1, m) for i, m in enumerate(midis)], key=key_name)
    assert written_pitches_of(to_stream(roll)) == expected


def written_pitches_of(score) -> list[str]:
    return [p.nameWithOctave for n in score.flatten().notes for p in n.pitches]


# --- writing MIDI and scores: each note once, for its whole length -----------------------------
def test_held_note_under_a_moving_voice_is_struck_once(tmp_path):
    roll = case("held_note_under_moving_voice.mid")
    assert roll.notes() == [(0, 2, E4), (0, 8, C5), (2, 2, F4), (4, 2, G4), (6, 2, A4),
                            (8, 2, G4), (8, 6, C4)]
    assert midi_notes(write(roll, tmp_path / "ours.mid")) == roll.notes()
    # The score to_stream makes writes the same notes with its own write("midi").
    score = to_stream(roll)
    score.write("midi", fp=str(tmp_path / "score.mid"))
    assert midi_notes(tmp_path / "score.mid") == roll.notes()
    # In the score the held C5 is one whole note in a voice of its own.
    c5 = [n for n in score.recurse().notes if 72 in [p.midi for p in n.pitches]]
    assert len(c5) == 1 and c5[0].quarterLength == 4 and c5[0].tie is None


def test_readme_harmonization_writes_every_note_once(tmp_path):
    """The README's own example: harmonize(tune).write("midi") holds the roll's notes."""
    from rnnrbm_music import RnnRbmComposer

    tune = converter.parse("tinyNotation: 4/4 d4 d a a b b a2 g4 g f# f# e e d2")
    composer = RnnRbmComposer.pretrained()
    roll = composer.harmonize_roll(tune, seed=3)[0]
    sounding = roll.sounding_notes()
    score = composer.harmonize(tune, seed=3)
    score.write("midi", fp=str(tmp_path / "harmonized.mid"))
    assert midi_notes(tmp_path / "harmonized.mid") == sounding
    assert midi_notes(write(roll, tmp_path / "ours.mid")) == sounding
    parsed = converter.parse(write(roll, tmp_path / "harmonized.musicxml"))
    assert parsed.recurse().getElementsByClass("KeySignature").first().sharps == 2   # D major
    assert all(p.accidental is None or abs(p.accidental.alter) <= 1 for p in parsed.pitches)


def test_tempo_change_survives_read_and_write(tmp_path):
    roll = case("tempo_change_midpiece.mid")
    assert (roll.bpm, roll.tempo_changes) == (100, ((16, 50.0),))
    tempos = meta_events(write(roll, tmp_path / "tempo.mid"), "set_tempo")
    assert [(q, round(m.tempo)) for q, m in tempos] == [(0, 600000), (8, 1200000)]
    assert read(tmp_path / "tempo.mid", normalize_key=False) == roll
    staff = converter.parse(write(roll, tmp_path / "tempo.musicxml")).parts[0]
    marks = staff.recurse().getElementsByClass("MetronomeMark")
    assert [(m.getOffsetInHierarchy(staff), m.number) for m in marks] == [(0, 100), (8, 50)]


def test_first_tempo_after_bar_one_keeps_the_default_before_it(tmp_path):
    roll = case("first_tempo_after_bar1.mid")
    assert (roll.bpm, roll.tempo_changes) == (120, ((8, 60.0),))
    tempos = meta_events(write(roll, tmp_path / "late.mid"), "set_tempo")
    assert [(q, round(m.tempo)) for q, m in tempos] == [(0, 500000), (4, 1000000)]


def test_meter_change_survives_midi_and_musicxml(tmp_path):
    roll = case("timesig_change_3-4_to_4-4.mid")
    assert (roll.time_signature, roll.time_signature_changes) == ("3/4", ((12, "4/4"),))
    signatures = meta_events(write(roll, tmp_path / "meter.mid"), "time_signature")
    assert [(q, (m.numerator, m.denominator)) for q, m in signatures] == [(0, (3, 4)), (6, (4, 4))]
    assert read(tmp_path / "meter.mid", normalize_key=False) == roll
    score = converter.parse(write(roll, tmp_path / "meter.musicxml"))
    bars = list(score.parts[0].getElementsByClass("Measure"))
    assert [b.timeSignature.ratioString for b in bars if b.timeSignature] == ["3/4", "4/4"]
    assert [b.duration.quarterLength for b in bars] == [3, 3, 4, 4]
    assert read(tmp_path / "meter.musicxml", normalize_key=False) == roll


def test_written_midi_carries_names_key_and_program(tmp_path):
    roll = read(CASES / "c_minor_melody.musicxml")
    path = write(roll, tmp_path / "named.mid", title="A minor matter")
    names = [m.name for _, m in meta_events(path, "track_name")]
    assert names == ["A minor matter", "Piano"]
    assert [m.key for _, m in meta_events(path, "key_signature")] == ["Cm"]
    assert midi_notes(path) == roll.sounding_notes()


def test_impossible_meter_leaves_every_later_step_working(tmp_path):
    with pytest.warns(UserWarning, match="timesig_numerator_zero.mid"):
        roll = case("timesig_numerator_zero.mid")
    assert roll.time_signature == "4/4"
    score = to_stream(roll)
    assert score.recurse().getElementsByClass(meter.TimeSignature).first().ratioString == "4/4"
    assert midi_notes(write(roll, tmp_path / "meter.mid")) == roll.notes()
    write(roll, tmp_path / "meter.musicxml")


def test_scores_write_midi_with_ties_followed_in_every_voice(tmp_path):
    """A note tied over a bar line in a staff of several voices sounds once, whether the score
    is written by rnnrbm_music.write or by its own write("midi") (music21 alone strikes it
    again: music21 issue #1134)."""
    roll = PianoRoll.from_notes([(0, 6, C5), (0, 1, E4), (1, 2, F4), (2, 3, G4), (3, 4, A4),
                                 (4, 5, B4), (5, 6, G4), (3, 5, C4)], bpm=90, key="C major")
    score = to_stream(roll)
    staves = list(score.parts)
    assert any(m.voices for m in staves[0].getElementsByClass("Measure"))
    assert midi_notes(score.write("midi", fp=tmp_path / "own.mid")) == roll.notes()
    assert midi_notes(write(score, tmp_path / "ours.mid")) == roll.notes()
    tracks = [m.name for _, m in meta_events(tmp_path / "own.mid", "track_name")]
    assert tracks == ["Piano"]                  # two staves, one piano track; an untitled piece
    from music21 import stream
    plain = stream.Score(list(score.parts))                         # music21's own writer
    plain.write("midi", fp=str(tmp_path / "music21.mid"))
    with pytest.raises(AssertionError, match="struck again|never switched off"):
        assert midi_notes(tmp_path / "music21.mid") == roll.notes()


def test_a_score_with_a_pickup_writes_midi_with_its_pickup_bar(tmp_path):
    """Written from a Score (not a roll), the pickup is still a first bar of its own length."""
    roll = case("pickup_anacrusis_3-4.musicxml")
    score = converter.parse(CASES / "pickup_anacrusis_3-4.musicxml")
    for path in (write(score, tmp_path / "score.mid"),
                 to_stream(roll).write("midi", fp=tmp_path / "own.mid")):
        signatures = meta_events(path, "time_signature")
        assert [(q, f"{m.numerator}/{m.denominator}") for q, m in signatures] == [(0, "1/4"), (1, "3/4")]
        assert read(path, normalize_key=False) == roll


def test_closing_rests_of_a_score_are_kept(tmp_path):
    roll = read(CASES / "c_minor_melody.musicxml", normalize_key=False)
    tune = converter.parse("tinyNotation: 4/4 c4 d e r")
    from rnnrbm_music import from_stream
    assert len(from_stream(tune)) == 8                      # the rest is part of the bar
    assert len(roll) == 24 and read(write(roll, tmp_path / "m.musicxml"), normalize_key=False) == roll


def test_musicxml_and_mxl_of_one_name_both_survive(tmp_path):
    roll = case("grace_notes.musicxml")
    first = write(roll, tmp_path / "piece.musicxml")
    second = write(roll, tmp_path / "piece.mxl")
    assert read(first, normalize_key=False) == read(second, normalize_key=False) == roll
    assert sorted(p.name for p in tmp_path.iterdir()) == ["piece.musicxml", "piece.mxl"]


def test_a_score_is_written_to_midi_as_it_sounds_and_is_played(tmp_path):
    """Score -> .mid: one track per part of a chorale, repeats played out, a clarinet at
    sounding pitch, the key signature's key (a bare MusicXML key signature has no mode)."""
    from music21 import corpus

    chorale = corpus.parse("bach/bwv66.6")
    path = write(chorale, tmp_path / "chorale.mid")
    assert [m.name for _, m in meta_events(path, "track_name")][1:] == [
        "Soprano", "Alto", "Tenor", "Bass"]
    assert [m.key for _, m in meta_events(path, "key_signature")] == ["F#m"]
    repeats = write(converter.parse(CASES / "abc_repeat_with_endings.abc"), tmp_path / "abc.mid")
    assert len(midi_notes(repeats)) == 20                       # both passes, both endings
    clarinet = write(converter.parse(CASES / "clarinet_in_bflat_solo.musicxml"), tmp_path / "cl.mid")
    assert [p for _, _, p in midi_notes(clarinet)] == [F4, G4, A4, 70, C5]
    minor = write(converter.parse(CASES / "c_minor_melody.musicxml"), tmp_path / "minor.mid")
    assert [m.key for _, m in meta_events(minor, "key_signature")] == ["Cm"]


def test_trust_key_reads_a_bare_key_signature_with_its_mode():
    assert read(CASES / "c_minor_melody.musicxml", trust_key=True).key == "C minor"
    assert read(CASES / "key_change_G_to_Eb.musicxml", trust_key=True).key == "G major"


def test_a_meter_change_right_after_a_pickup_is_written_to_midi(tmp_path):
    roll = case("timesig_change_3-4_to_4-4.mid")[10:]     # the end of a 3/4 bar, then 4/4
    assert (roll.pickup, roll.time_signature, roll.time_signature_changes) == (2, "4/4", ())
    signatures = meta_events(write(roll, tmp_path / "m.mid"), "time_signature")
    assert [(q, f"{m.numerator}/{m.denominator}") for q, m in signatures] == [(0, "1/4"), (1, "4/4")]
    assert read(tmp_path / "m.mid", normalize_key=False, trust_key=True) == roll


def test_a_folder_given_to_read_is_named_as_a_folder(tmp_path):
    from rnnrbm_music import ReadError

    with pytest.raises(ReadError, match="a folder, not a music file"):
        read(tmp_path)


def test_a_meter_whose_bar_is_no_whole_number_of_frames_is_a_clear_error(tmp_path):
    from rnnrbm_music import ReadError

    tune = converter.parse("tinyNotation: 3/16 c16 d e f g a")
    path = tmp_path / "three-sixteen.musicxml"
    tune.write("musicxml", fp=str(path))
    with pytest.raises(ReadError, match=r"three-sixteen.musicxml: a bar of 3/16 is 1.5 frames .* "
                                        r"steps_per_quarter=4"):
        read(path)
    assert read(path, steps_per_quarter=4, normalize_key=False).notes()[:2] == [(0, 1, 60), (1, 1, 62)]


def test_a_bar_cut_short_keeps_the_bar_lines_after_it(tmp_path):
    """An ABC tune with a three-beat bar in 4/4, and a MIDI meter change in the middle of a bar:
    the bars after them stay where the music puts them, in the roll and in the written score."""
    abc = tmp_path / "short.abc"
    abc.write_text("X:1\nT:Short bar\nM:4/4\nL:1/4\nK:C\nC D E F|G A B|c B A G|c4|]\n")
    roll = read(abc, normalize_key=False)
    assert roll.time_signature_changes == ((8, "3/4"), (14, "4/4"))
    assert [start for start, _, _ in roll.measures()] == [0, 8, 14, 22]
    assert (14, 2, C5) in roll.notes()                                  # c on the downbeat of bar 3
    score = converter.parse(write(roll, tmp_path / "short.musicxml"))
    assert [m.duration.quarterLength for m in score.parts[0].getElementsByClass("Measure")] == [4, 3, 4, 4]
    assert read(tmp_path / "short.musicxml", normalize_key=False) == roll

    midbar = PianoRoll.from_notes([(q, q + 1, 60 + q) for q in range(9)], time_signature="4/4",
                                  time_signature_changes=((5, "3/4"),))
    assert [start for start, _, _ in midbar.measures()] == [0, 5, 11, 17]
    back = read(write(midbar, tmp_path / "midbar.musicxml"), normalize_key=False)
    assert [start for start, _, _ in back.measures()] == [0, 5, 11, 17]     # a 5/8 bar, then 3/4
    assert back.notes() == midbar.notes()
