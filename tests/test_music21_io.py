
import numpy as np
import pytest
from music21 import chord, converter, corpus, instrument, key, note, stream, tie

from conftest import NOTTINGHAM_MIDI
from rnnrbm_music import PianoRoll, RangeError, ReadError, from_stream, read, to_stream, write
from rnnrbm_music.keys import detect_key


def snapshot(s):
    return [(el.getOffsetInHierarchy(s), tuple(p.nameWithOctave for p in el.pitches),
             el.quarterLength, el.tie.type if el.tie else None) for el in s.recurse().notes]


def test_detected_key_is_music21s_on_the_chorales(chorales):
    """Our key is music21's analyze('key') up to rounding to frames: it agrees on the chorales."""
    agree = 0
    sample = chorales.names[::10]
    for path in sample:
        score = converter.parse(path)
        ours = from_stream(score).key
        theirs = score.analyze("key")
        agree += ours == f"{theirs.tonic.name.upper()[0] + theirs.tonic.name[1:]} {theirs.mode}"
    assert agree >= 0.95 * len(sample)


@pytest.mark.parametrize("work, expected_key, mode", [
    ("bach/bwv66.6", "F# minor", "minor"),      # sharp key, minor
    ("bach/bwv86.6", "E major", "major"),       # a sharp major key
])
def test_sharp_and_minor_chorales_are_normalized_and_restored(work, expected_key, mode):
    score = corpus.parse(work)
    analysed = score.analyze("key")
    roll = from_stream(score)
    assert roll.key.split()[1] == analysed.mode == mode
    assert roll.key.split()[0].upper() == analysed.tonic.name.upper()
    if expected_key:
        assert roll.key == expected_key
    # Now in C: C major or C minor by music21's own analysis of the normalized music.
    in_c = to_stream(roll.replace(transposition=0)).analyze("key")
    assert (in_c.tonic.name, in_c.mode) == ("C", mode)
    assert -5 <= roll.transposition <= 6
    # to_stream moves it back: same pitches as the original.
    original = from_stream(score, normalize_key=False)
    assert from_stream(to_stream(roll), normalize_key=False).frames.tolist() == original.frames.tolist()
    written = to_stream(roll)
    assert written.recurse().getElementsByClass(key.Key).first().sharps == analysed.sharps


def test_callers_stream_is_unchanged():
    score = corpus.parse("bach/bwv66.6")
    before = snapshot(score)
    elements = len(list(score.recurse()))
    from_stream(score)
    assert snapshot(score) == before
    assert len(list(score.recurse())) == elements


def test_chords_ties_voices_overlaps_and_grace_notes():
    part = stream.Part()
    part.append(chord.Chord(["C4", "E4", "G4"], quarterLength=1))
    tied_a, tied_b = note.Note("D5", quarterLength=1), note.Note("D5", quarterLength=0.5)
    tied_a.tie, tied_b.tie = tie.Tie("start"), tie.Tie("stop")
    part.append([tied_a, tied_b])
    grace = note.Note("F5").getGrace()
    part.append(grace)
    part.insert(0, note.Note("C3", quarterLength=3))          # overlaps everything
    measure = stream.Measure()
    v1, v2 = stream.Voice(), stream.Voice()
    v1.append(note.Note("A4", quarterLength=1))
    v2.append(note.Note("F4", quarterLength=1))
    measure.insert(0, v1)
    measure.insert(0, v2)
    part.insert(3, measure)
    roll = from_stream(part, normalize_key=False)
    assert roll.notes() == [(0, 2, 60), (0, 2, 64), (0, 2, 67), (0, 6, 48), (2, 3, 74),
                            (6, 2, 65), (6, 2, 69)]


def test_percussion_parts_are_left_out():
    score = stream.Score()
    piano, drums = stream.Part(), stream.Part()
    piano.append(note.Note("E4", quarterLength=2))
    drums.insert(0, instrument.Woodblock())
    drums.append(note.Unpitched(quarterLength=1))
    drums.append(note.Note("C2", quarterLength=1))         # a pitched note in a percussion part
    score.insert(0, piano)
    score.insert(0, drums)
    assert from_stream(score, normalize_key=False).notes() == [(0, 4, 64)]


def test_empty_and_percussion_only_scores_are_clear_errors():
    with pytest.raises(ReadError, match="no pitched notes"):
        from_stream(stream.Score())
    drums = stream.Part()
    drums.insert(0, instrument.BassDrum())
    drums.append(note.Unpitched(quarterLength=1))
    score = stream.Score([drums])
    with pytest.raises(ReadError, match="only percussion"):
        from_stream(score)


def test_out_of_range_note_is_named():
    s = converter.parse("tinyNotation: 4/4 c4 c'''''4")
    with pytest.raises(RangeError, match=r"note 120 \(C9\)"):
        from_stream(s)


def test_trust_key_uses_the_streams_key_object():
    s = converter.parse("tinyNotation: 4/4 a4 c'4 e'4 a4")
    s.insert(0, key.Key("C"))
    assert from_stream(s, normalize_key=False, trust_key=True).key == "C major"
    assert from_stream(s, normalize_key=False).key == detect_key(
        from_stream(s, normalize_key=False).pitch_class_histogram())


def test_key_algorithms_are_selectable():
    score = corpus.parse("bach/bwv66.6")
    assert from_stream(score, key_algorithm="krumhansl").key == "F# minor"
    with pytest.raises(ValueError, match="unknown key algorithm"):
        from_stream(score, key_algorithm="nonsense")


def test_the_key_algorithm_asked_for_names_the_key_where_algorithms_disagree(tmp_path):
    """ashover34 is E minor to music21's default (Aarden) and to Krumhansl, D major to Temperley,
    Bellman and the simple profile: each reader, MIDI and score, names the key music21's
    analysis with the algorithm asked for finds, and normalizes the piece by it."""
    path = NOTTINGHAM_MIDI / "ashover34.mid"
    score = write(read(path, normalize_key=False), tmp_path / "ashover34.musicxml")
    parsed = converter.parse(path)
    for algorithm in ("key", "krumhansl", "temperley", "bellman", "simple"):
        found = parsed.analyze(algorithm)
        expected = f"{found.tonic.name} {found.mode}"
        assert expected == ("E minor" if algorithm in ("key", "krumhansl") else "D major")
        for source, reader in ((path, "mido"), (path, "music21"), (score, "music21")):
            roll = read(source, normalize_key=False, key_algorithm=algorithm, reader=reader)
            assert roll.key == expected, (algorithm, source, reader)
        normalized = read(path, key_algorithm=algorithm)
        assert (normalized.key, normalized.transposition) == (
            expected, -4 if expected == "E minor" else -2)        # moved to C by its own key


def test_a_broken_piece_of_a_collection_is_named_by_its_place(tmp_path):
    from rnnrbm_music.music21_io import read_pieces

    tunes = tmp_path / "tunes.abc"
    tunes.write_text("X:1\nM:4/4\nL:1/4\nK:C\nCDEF|G4|]\n\nX:2\nM:4/4\nL:1/4\nK:C\nz4|z4|]\n")
    with pytest.raises(ReadError, match=f"^{tunes}#2: the score has no pitched notes"):
        read_pieces(tunes)


def test_score_has_meter_tempo_and_two_staves(tmp_path):
    roll = PianoRoll.from_benchmark([(48, 64), (48, 64), (50, 65), ()], time_signature="3/4",
                                    bpm=84, key="D major", transposition=-2)
    score = to_stream(roll)
    staves = list(score.parts)
    assert len(staves) == 2
    assert staves[0].recurse().getElementsByClass("TimeSignature").first().ratioString == "3/4"
    assert score.recurse().getElementsByClass("MetronomeMark").first().getQuarterBPM() == 84
    assert sorted(p.midi for p in score.pitches) == [50, 52, 66, 67]   # back in D
    for suffix in (".mid", ".musicxml"):
        path = write(roll, tmp_path / f"out{suffix}")
        back = read(path, normalize_key=False, reader="music21")
        assert back.notes() == roll.transpose(2).notes()   # a MIDI file drops trailing silence


def test_read_names_missing_and_unparseable_files(tmp_path):
    with pytest.raises(ReadError, match="no such file"):
        read(tmp_path / "nope.musicxml")
    bad = tmp_path / "bad.musicxml"
    bad.write_text("<score-partwise><part id='P1'><measure>")
    with pytest.raises(ReadError, match=r"bad.musicxml: music21 cannot parse it \(ParseError: "
                                        r"no element found: line 1, column \d+\)$"):
        read(bad)


def test_a_note_held_over_the_bar_line_is_written_tied_and_struck_once(tmp_path):
    """C5 from beat 3 of bar 1 for two bars' worth of beats, under moving quarter notes: the
    MusicXML has it as tied pieces (start, stop) at C5, and it reads back as one note."""
    held = (4, 8, 72)                                          # frames 4-11: over the bar line at 8
    moving = [(2 * i, 2, 60 + 2 * (i % 3)) for i in range(8)]
    roll = PianoRoll.from_notes([(t / 2, (t + d) / 2, p) for t, d, p in [held, *moving]],
                                key="C major")
    score = converter.parse(write(roll, tmp_path / "held.musicxml"))
    pieces = [(element.getOffsetInHierarchy(score), n.quarterLength, n.tie.type if n.tie else None)
              for element in score.recurse().notes
              for n in (element.notes if element.isChord else [element]) if n.pitch.midi == 72]
    assert pieces == [(2.0, 2.0, "start"), (4.0, 2.0, "stop")]
    assert [n for n in from_stream(score, normalize_key=False).notes() if n[2] == 72] == [held]
    assert read(tmp_path / "held.musicxml", normalize_key=False).notes() == roll.notes()


def test_music_given_as_text_that_cannot_be_read_is_one_clear_error():
    """A URL is refused before music21 sees it (its converter would download it); text music21
    cannot parse names the music and music21's complaint."""
    from rnnrbm_music.music21_io import parse_text

    with pytest.raises(ReadError, match="^the music given as text: a URL: download the file"):
        parse_text("https://example.com/tune.abc")
    with pytest.raises(ReadError, match=r"^the music given as text: music21 cannot parse it "
                                        r"\(\w+(Error|Exception): .+\)$"):
        read('<?xml version="1.0"?><score-partwise><part>')
    with pytest.raises(ReadError) as raised:       # ABC music21 chokes on, quoted on one line
        read("abc: X:1\nK:Zq\n|:ab$$$")
    assert "\n" not in str(raised.value) and "cannot parse it" in str(raised.value)
    with pytest.raises(TypeError, match="not a music21 Score: use from_stream"):
        read(corpus.parse("bach/bwv66.6"))
    # A URL further on (in ABC, a comment) is the music's, not something to fetch.
    tune = parse_text("X:1\nT:Tune % from https://example.com\nM:4/4\nL:1/4\nK:C\nCDEF|\n")
    assert [n.nameWithOctave for n in tune.recurse().notes] == ["C4", "D4", "E4", "F4"]


def test_a_roll_is_written_into_new_folders_with_its_title_and_credit(tmp_path):
    from music21 import converter

    roll = PianoRoll.from_benchmark([(60, 64, 67)] * 4).replace(title="Study in C",
                                                                 composer="rnnrbm-music")
    for name in ("piece.musicxml", "piece.mid"):
        path = write(roll, tmp_path / "new" / "folders" / name)
        assert path.is_file()
    # A music21 Stream is written as it is.
    assert read(write(to_stream(roll), tmp_path / "stream.musicxml")) == read(
        tmp_path / "new" / "folders" / "piece.musicxml")
    score = converter.parse(tmp_path / "new" / "folders" / "piece.musicxml")
    assert (score.metadata.bestTitle, score.metadata.composer) == ("Study in C", "rnnrbm-music")


def test_unknown_output_kinds_are_one_clear_error(tmp_path):
    roll = PianoRoll.from_benchmark([(60,)])
    with pytest.raises(ValueError, match=r"piece.wav: unknown output kind '.wav'; use .mid"):
        write(roll, tmp_path / "piece.wav")
    with pytest.raises(ValueError, match="piece.png: a .png piano-roll plot needs a PianoRoll"):
        write(to_stream(roll), tmp_path / "piece.png")


def test_a_picture_is_drawn_with_the_title_accent_and_labels_asked_for(tmp_path, monkeypatch):
    import rnnrbm_music.plot
    from rnnrbm_music.music21_io import write_all

    drawn = []
    monkeypatch.setattr(rnnrbm_music.plot, "plot_roll",
                        lambda roll, path, **options: drawn.append(options) or path)
    roll = PianoRoll.from_benchmark([(60,), (62,)]).replace(title="Tune")
    accent = np.array([True, False])
    write_all(roll, [tmp_path / "a.png"], accent=accent, labels=("melody", "harmony"))
    write(roll, tmp_path / "b.png", title="Other")
    assert drawn[0]["accent"] is accent and drawn[0]["labels"] == ("melody", "harmony")
    assert drawn[0]["title"] == "Tune" and drawn[1]["title"] == "Other"


def test_music_given_as_text_is_read_as_a_file_would_be():
    """Leading blank lines or spaces, or no format prefix but several lines (ABC's headers), are
    music; it is moved to C like a file's, and a key signature it lacks is named after it."""
    from rnnrbm_music.music21_io import is_music_text

    assert is_music_text("\n  tinyNotation: 4/4 c4") and is_music_text("M:4/4\nK:C\nCDEF|")
    assert not is_music_text("tunes/reel.abc")
    d_major = read("tinyNotation: 4/4 d4 f# a d'")
    assert (d_major.key, d_major.transposition, d_major.notes()[0][2]) == ("D major", -2, 60)
    with pytest.warns(UserWarning, match="^the music given as text: no key signature to trust"):
        read("tinyNotation: 4/4 d4 f# a d'", trust_key=True)


def test_an_unknown_reader_is_one_clear_error():
    """Not every file of a corpus reported broken: the argument is what is wrong."""
    from rnnrbm_music import Corpus

    for reading in (lambda: read(NOTTINGHAM_MIDI / "ashover1.mid", reader="musci21"),
                    lambda: read("tinyNotation: 4/4 c4 d e f", reader="musci21"),
                    lambda: Corpus([NOTTINGHAM_MIDI / "ashover1.mid"], reader="musci21")):
        with pytest.raises(ValueError, match="reader='musci21': use one of 'auto', 'music21'"):
            reading()


def test_music_given_as_text_is_read_with_the_options_given():
    scale = "tinyNotation: 4/4 d4 e f# g a b c#' d'"      # B minor to Aarden, D major to Temperley
    assert read(scale, normalize_key=False).key == "B minor"
    assert read(scale, normalize_key=False, key_algorithm="temperley").key == "D major"
    high = "tinyNotation: 4/4 c'4 c''''''4"                    # C5, C9
    with pytest.raises(RangeError):
        read(high)
    with pytest.warns(UserWarning, match="moved by octaves"):
        folded = read(high, normalize_key=False, out_of_range="fold")
    assert [p for *_, p in folded.notes()] == [72, 108]            # C9 folded to C8


def test_read_pieces_by_default_reads_as_read_does():
    from rnnrbm_music.music21_io import read_pieces

    path = NOTTINGHAM_MIDI / "ashover16.mid"              # D major under a G-major signature
    pieces = read_pieces(path)
    assert pieces == [read(path)]
    assert (pieces[0].steps_per_quarter, pieces[0].key, pieces[0].transposition) == (2, "D major", -2)
    with pytest.raises(TypeError, match=r"^read_pieces\(\) got an unexpected keyword argument "
                                        r"'expand_repeat'"):
        read_pieces(path, expand_repeat=False)


def test_a_misspelt_reading_option_is_named_against_read():
    with pytest.raises(TypeError, match="read\\(\\) got an unexpected keyword argument "
                                        "'expand_repeat'; its reading options are lowest"):
        read("tinyNotation: 4/4 c4 d e f", expand_repeat=False)


def test_a_file_read_is_titled_by_its_own_title_else_by_its_name(tmp_path):
    """(A MIDI file's title is its sequence name: tests/test_midi_io.py.)"""
    roll = PianoRoll.from_benchmark([(60,), (62,)])
    assert read(write(roll.replace(title="Morning Reel"), tmp_path / "a.musicxml")).title \
        == "Morning Reel"
    for suffix in (".mid", ".musicxml"):
        assert read(write(roll.replace(title=None), tmp_path / f"untitled{suffix}")).title \
            == "untitled"


def test_a_folder_given_to_read_is_one_clear_error(tmp_path):
    with pytest.raises(ReadError, match=f"^{tmp_path}: " + r"a folder, not a music file \(a "
                       r"folder of pieces is a corpus: train on it, or read it with Corpus\)"):
        read(tmp_path)


def test_a_file_of_several_pieces_is_read_piece_by_piece(tmp_path):
    """An ABC file of three tunes, the second titled: read_pieces titles the others after the
    file and their place in it; read() refuses it in one line pointing to Corpus."""
    from rnnrbm_music.music21_io import read_pieces

    tunes = tmp_path / "tunes.abc"
    tunes.write_text("".join(f"X:{n}\n{title}M:4/4\nL:1/4\nK:G\nGABc|d4|\n\n"
                             for n, title in ((1, ""), (2, "T:The Second\n"), (3, ""))))
    assert [roll.title for roll in read_pieces(tunes)] == ["tunes #1", "The Second", "tunes #3"]
    with pytest.raises(ReadError, match=f"^{tunes}: holds 3 pieces; read it with "
                                        f"Corpus\\('{tunes}'\\)$"):
        read(tunes)


def test_an_mxl_file_is_compressed_musicxml(tmp_path):
    import zipfile

    roll = PianoRoll.from_benchmark([(60, 64, 67)] * 4)
    path = write(roll, tmp_path / "piece.mxl")
    assert zipfile.is_zipfile(path) and read(path).notes() == read(
        write(roll, tmp_path / "piece.musicxml")).notes()


def test_a_title_is_written_to_midi_as_readers_read_it_and_read_back(tmp_path):
    """MIDI text: ♭, ♯, typographic quotes and dashes as ASCII ('Study in B♭ minor' raised
    UnicodeEncodeError once); Latin-1 text as Latin-1 bytes; text Latin-1 cannot hold as UTF-8
    bytes. Each reads back as written; a title of white space is no title."""
    import mido

    def written(title: str) -> tuple[bytes, str]:
        path = write(PianoRoll.from_benchmark([(60,)]).replace(title=title), tmp_path / "t.mid")
        names = [m.name for track in mido.MidiFile(path).tracks for m in track
                 if m.type == "track_name"]
        return names[0].encode("latin-1"), read(path).title

    assert written("Study in B♭ minor") == (b"Study in Bb minor", "Study in Bb minor")
    assert written("Don’t Stop – “Live”") == (b"Don't Stop - \"Live\"", "Don't Stop - \"Live\"")
    assert written("Étude") == ("Étude".encode("latin-1"), "Étude")
    assert written("练习 in C") == ("练习 in C".encode(), "练习 in C")
    assert written("Élan — ♪")[1] == "Élan — ♪"                # UTF-8 keeps the dash too
    path = write(PianoRoll.from_benchmark([(60,)]).replace(title="  "), tmp_path / "blank.mid")
    assert [m.name for m in mido.MidiFile(path).tracks[0] if m.type == "track_name"] == []
