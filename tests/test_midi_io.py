import struct
import warnings

import mido
import pytest

from conftest import NOTTINGHAM_MIDI
from rnnrbm_music import RangeError, ReadError, from_stream, keys, read
from rnnrbm_music.midi_io import read_midi

PARSERS = ("mido", "music21")
#: Every 25th Nottingham file: 42 files across the collection.
NOTTINGHAM_SAMPLE = sorted(NOTTINGHAM_MIDI.glob("*.mid"))[::25]


# --- small MIDI files built here ----------------------------------------------------------------
def vlq(n: int) -> bytes:
    out = [n & 0x7F]
    while n := n >> 7:
        out.append(0x80 | (n & 0x7F))
    return bytes(reversed(out))


def smf(division: int, *tracks: bytes, midi_type: int = 1) -> bytes:
    """A Standard MIDI File from raw track bodies (delta-time + event bytes)."""
    return (b"MThd" + struct.pack(">IHHH", 6, midi_type, len(tracks), division)
            + b"".join(b"MTrk" + struct.pack(">I", len(body)) + body for body in tracks))


def note(delta: int, pitch: int, length: int, channel: int = 0) -> bytes:
    """A note_on after ``delta`` ticks and its note_off ``length`` ticks later."""
    return (vlq(delta) + bytes([0x90 | channel, pitch, 80])
            + vlq(length) + bytes([0x80 | channel, pitch, 0]))


def meta(delta: int, kind: int, payload: bytes) -> bytes:
    return vlq(delta) + bytes([0xFF, kind]) + vlq(len(payload)) + payload


def tempo(delta: int, microseconds: int) -> bytes:
    return meta(delta, 0x51, microseconds.to_bytes(3, "big"))


END = meta(0, 0x2F, b"")


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read_quietly(path, parser, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read(path, normalize_key=False, reader=parser, **options)


# --- the rules, on files built for them -----------------------------------------------------------
@pytest.mark.parametrize("parser", PARSERS)
def test_a_hanging_note_ends_with_its_own_track(tmp_path, parser):
    # track 1: E4 switched on at 0, never off, track ends at tick 960; track 2 plays to tick 4800
    hanging = vlq(0) + bytes([0x90, 64, 80]) + meta(960, 0x2F, b"")
    melody = note(0, 60, 4800) + END
    roll = read_quietly(write(tmp_path, "hanging.mid", smf(480, hanging, melody)), parser)
    assert roll.notes() == [(0, 4, 64), (0, 20, 60)]


@pytest.mark.parametrize("parser", PARSERS)
def test_a_hanging_note_ends_at_the_last_event_of_a_track_without_end_of_track(tmp_path, parser):
    body = vlq(0) + bytes([0x90, 64, 80]) + note(0, 60, 480) + note(480, 62, 480)
    roll = read_quietly(write(tmp_path, "no_eot.mid", smf(480, body, midi_type=0)), parser)
    assert roll.notes() == [(0, 2, 60), (0, 6, 64), (4, 2, 62)]


@pytest.mark.parametrize("parser", PARSERS)
def test_tempo_map_rules(tmp_path, parser):
    conductor = (tempo(0, 700_000) + tempo(0, 600_000)          # two at tick 0: the last wins
                 + tempo(960, 600_000)                           # the tempo in force: dropped
                 + tempo(960, 1_000_000) + tempo(5, 750_000)     # one frame (8): the last wins
                 + tempo(480, 500_000)                           # frame 10
                 + tempo(7680, 400_000)                          # after the last note: dropped
                 + END)
    melody = note(0, 60, 4800) + END                               # 10 quarters: 20 frames
    roll = read_quietly(write(tmp_path, "tempi.mid", smf(480, conductor, melody)), parser)
    assert roll.bpm == 100.0
    assert roll.tempo_changes == ((8, 80.0), (10, 120.0))
    assert len(roll) == 20


@pytest.mark.parametrize("parser", PARSERS)
def test_meter_map_from_any_track(tmp_path, parser):
    def signature(delta, numerator, power):
        return meta(delta, 0x58, bytes([numerator, power, 24, 8]))
    first = signature(0, 3, 2) + signature(1440, 6, 3) + END          # 3/4, then 6/8 at frame 6
    second = signature(2880, 2, 2) + note(0, 60, 1920) + END           # 2/4 at frame 12 (track 2)
    notes = note(0, 62, 4800) + END
    roll = read_quietly(write(tmp_path, "meters.mid", smf(480, first, second, notes)), parser)
    assert roll.time_signature == "3/4"
    assert roll.time_signature_changes == ((6, "6/8"), (12, "2/4"))


@pytest.mark.parametrize("parser", PARSERS)
def test_a_stray_note_off_and_a_restruck_note(tmp_path, parser):
    body = (vlq(0) + bytes([0x80, 60, 0])                            # note_off, nothing sounding
            + vlq(0) + bytes([0x90, 60, 80]) + vlq(480) + bytes([0x90, 60, 80])   # C4 twice
            + vlq(240) + bytes([0x90, 60, 0])                        # first C4 ends at 720
            + vlq(720) + bytes([0x80, 60, 0]) + END)                 # second at 1440
    data = smf(480, body, midi_type=0)
    from rnnrbm_music.midi_io import _mido_tracks, _music21_tracks, _notes_and_metas
    parse = _mido_tracks if parser == "mido" else _music21_tracks
    assert sorted(_notes_and_metas(parse(data))[0]) == [(0, 720, 60), (480, 1440, 60)]
    roll = read_quietly(write(tmp_path, "restruck.mid", data), parser)
    assert roll.notes() == [(0, 2, 60), (2, 4, 60)]              # struck at frames 0 and 2
    assert roll.frames[:, 60 - 21].nonzero()[0].tolist() == list(range(6))


@pytest.mark.parametrize("parser", PARSERS)
def test_smpte_that_both_parsers_read(tmp_path, parser):
    # 25 fps x 24 ticks per frame = 600 ticks per second = 300 ticks per quarter at 120 bpm
    body = tempo(0, 1_000_000) + note(0, 60, 300) + note(0, 62, 600) + END
    roll = read_quietly(write(tmp_path, "smpte24.mid", smf(0xE718, body, midi_type=0)), parser)
    assert roll.notes() == [(0, 2, 60), (2, 4, 62)]
    assert roll.bpm == 120.0 and roll.tempo_changes == ()     # SMPTE files ignore tempo events


def test_smpte_29_fps_means_29_97(tmp_path):
    # 29.97 fps x 40 ticks: 11,600 ticks are 9.68 s, 19.35 quarters, 38.7 frames (29 fps: 40)
    body = note(0, 60, 11_600) + END
    roll = read_quietly(write(tmp_path, "smpte29.mid", smf(0xE328, body, midi_type=0)), "mido")
    assert roll.notes() == [(0, 39, 60)]


@pytest.mark.parametrize("parser", PARSERS)
def test_every_key_signature_is_the_explicit_key(tmp_path, parser):
    for (sharps, mode), name in sorted(mido.midifiles.meta._key_signature_decode.items()):
        track = mido.MidiTrack([mido.MetaMessage("key_signature", key=name),
                                mido.Message("note_on", note=60, time=0),
                                mido.Message("note_off", note=60, time=480)])
        midi = mido.MidiFile(type=0, ticks_per_beat=480)
        midi.tracks.append(track)
        path = tmp_path / f"key{sharps}{mode}.mid"
        midi.save(path)
        tonic = name[:-1] if name.endswith("m") else name
        expected = keys.key_name(keys.parse_key(tonic)[0], "minor" if mode else "major")
        assert read_quietly(path, parser, trust_key=True).key == expected, name
        assert keys.parse_key(expected)[0] == (7 * sharps + 9 * mode) % 12


@pytest.mark.parametrize("parser", PARSERS)
def test_the_sequence_name_is_the_title(tmp_path, parser):
    """The first name in the first track (the SMF specification's sequence name) titles the
    piece, read as UTF-8 or else Windows-1252, control characters dropped; a later name, a
    later track's name, a blank name or a DAW's placeholder does not, and the file's name
    titles it."""
    tune = note(0, 60, 480) + END

    def name(text: bytes) -> bytes:
        return meta(0, 0x03, text)

    files = {
        "utf8": (smf(480, name("Étude in F♯".encode()) + tune, midi_type=0), "Étude in F♯"),
        "latin1": (smf(480, name("Étude".encode("latin-1")) + END, name(b"Piano") + tune), "Étude"),
        "first_of_two": (smf(480, name(b"The  Ash\0Grove ") + name(b"Other") + tune, midi_type=0),
                         "The Ash Grove"),                     # the first, not the one sorting first
        "second_track": (smf(480, END, name(b"Violin") + tune), "second_track"),
        "placeholder": (smf(480, name(b"Tempo Track") + END, tune), "placeholder"),
        "numbered": (smf(480, name(b"Track 1") + tune, midi_type=0), "numbered"),
        "blank": (smf(480, name(b"  \0\0") + tune, midi_type=0), "blank"),
        # The first name only: a placeholder followed by an instrument's name is no title.
        "then_piano": (smf(480, name(b"Tempo Track") + name(b"Piano") + END, tune), "then_piano"),
        "windows": (smf(480, name("Don’t Stop – “Live”".encode("cp1252")) + tune, midi_type=0),
                    "Don’t Stop – “Live”"),
        "controls": (smf(480, name("\ufeffMy\x01 Tune\x1a".encode()) + tune, midi_type=0), "My Tune"),
        "punctuation": (smf(480, name(b"???") + tune, midi_type=0), "punctuation"),
        "not_1252": (smf(480, name(b"Caf\xe9 \x81Noir") + tune, midi_type=0), "Café Noir"),  # Latin-1
        "old_own": (smf(480, name(b"rnnrbm-music") + END, tune), "old_own"),
    }
    for i, placeholder in enumerate((b"Conductor Track", b"Tempo Map", b"Master Track", b"MIDI 01",
                                     b"New Track", b"Untitled score", b"Unnamed Sequence",
                                     b"control track", b"1999")):
        files[f"placeholder{i}"] = (smf(480, name(placeholder) + tune, midi_type=0), f"placeholder{i}")
    for stem, (data, title) in files.items():
        assert read_quietly(write(tmp_path, f"{stem}.mid", data), parser).title == title, stem


def test_a_written_title_is_read_back_and_an_untitled_file_is_titled_by_its_name(tmp_path):
    from rnnrbm_music import write as write_music

    roll = read(NOTTINGHAM_MIDI / "ashover1.mid")
    assert roll.title == "ashover1"                        # the collection's names are blank
    titled = write_music(roll.replace(title="Ashover, in G"), tmp_path / "a.mid")
    assert [read(titled, reader=parser).title for parser in PARSERS] == ["Ashover, in G"] * 2
    untitled = write_music(roll.replace(title=None), tmp_path / "untitled.mid")
    assert read(untitled).title == "untitled"


@pytest.mark.parametrize("parser", PARSERS)
def test_the_roll_has_the_range_and_source_asked_for_and_lasts_until_its_tracks_end(tmp_path, parser):
    # C4 for a quarter, then C7, then the track ends three quarters later: 10 frames in all.
    body = note(0, 60, 480) + note(0, 96, 480) + meta(1440, 0x2F, b"")
    path = write(tmp_path, "range.mid", smf(480, body, midi_type=0))
    with pytest.warns(UserWarning, match=r"range.mid: 1 note\(s\) outside 48..84 moved by octaves"):
        roll = read(path, reader=parser, lowest=48, n_pitches=37, out_of_range="fold",
                    normalize_key=False)
    assert (roll.lowest, roll.n_pitches, len(roll)) == (48, 37, 10)
    assert roll.notes() == [(0, 2, 60), (2, 2, 84)]                 # C7 folded to C6
    with pytest.raises(RangeError, match="96"):
        read(path, reader=parser, lowest=48, n_pitches=37)


@pytest.mark.parametrize("parser", PARSERS)
def test_files_without_notes_are_told_apart_from_files_of_drums(tmp_path, parser):
    silent = write(tmp_path, "silent.mid", smf(480, tempo(0, 500_000) + END, midi_type=0))
    with pytest.raises(ReadError, match=r"^.*silent.mid: it holds no notes: nothing to turn into a "
                                        r"piano roll$"):
        read(silent, reader=parser)
    drums = write(tmp_path, "drums.mid", smf(480, note(0, 36, 480, channel=9) + END, midi_type=0))
    with pytest.raises(ReadError, match=r"^.*drums.mid: it holds only percussion \(channel 10\): no "
                                        r"pitched notes to turn into a piano roll$"):
        read(drums, reader=parser)


def test_meta_events_with_too_few_bytes_are_each_named_and_the_rest_is_read(tmp_path):
    """mido refuses such events; music21's parser reads them, and each is named in the one
    warning (five at most, then how many more), the events after it still read."""
    short = (meta(0, 0x51, b"\x07\xa1") + meta(0, 0x58, b"\x03") + meta(0, 0x59, b"\x01")
             + meta(0, 0x51, b"\x07\xa1") + meta(0, 0x58, b"\x03") + meta(0, 0x51, b"\x07\xa1")
             + meta(0, 0x51, b"") + tempo(0, 600_000)
             + meta(0, 0x58, bytes([3, 2])) + meta(0, 0x59, bytes([1, 0])))   # 2 bytes: enough
    path = write(tmp_path, "short_meta.mid", smf(480, short + note(0, 67, 960) + END, midi_type=0))
    with pytest.warns(UserWarning) as caught:
        roll = read(path, reader="music21", normalize_key=False, trust_key=True)
    assert [str(w.message) for w in caught] == [
        f"{path}: ignored a tempo event with too few data bytes at tick 0; ignored a "
        "time-signature event with too few data bytes at tick 0; ignored a key-signature event "
        "with too few data bytes at tick 0; ignored a tempo event with too few data bytes at "
        "tick 0; ignored a time-signature event with too few data bytes at tick 0; and 2 more"]
    assert (roll.bpm, roll.time_signature, roll.key) == (100.0, "3/4", "G major")
    # Five problems are all named; a sixth is counted.
    for count, more in ((5, ""), (6, "; and 1 more")):
        path = write(tmp_path, f"short{count}.mid", smf(480, meta(0, 0x51, b"") * count
                                                        + note(0, 67, 960) + END, midi_type=0))
        with pytest.warns(UserWarning) as caught:
            read(path, reader="music21")
        problem = "ignored a tempo event with too few data bytes at tick 0"
        assert str(caught[0].message) == f"{path}: " + "; ".join([problem] * 5) + more


@pytest.mark.parametrize("parser", PARSERS)
def test_key_signatures_just_past_seven_sharps_or_flats_are_ignored(tmp_path, parser):
    for sharps, stored in ((8, 8), (-8, 248), (127, 127), (-128, 128)):
        body = meta(0, 0x59, bytes([stored, 0])) + note(0, 62, 480) + note(0, 66, 480) + END
        path = write(tmp_path, f"key{stored}.mid", smf(480, body, midi_type=0))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            roll = read(path, reader=parser, normalize_key=False, trust_key=True)
        assert [str(w.message) for w in caught] == [
            f"{path}: ignored a key signature of {sharps} sharps, mode 0 at tick 0",
            f"{path}: no key signature to trust: the key is detected from the notes"]
        with pytest.warns(UserWarning, match="ignored a key signature"):
            assert roll.key == read(path, reader=parser, normalize_key=False).key   # the notes''' key


@pytest.mark.parametrize("parser", PARSERS)
def test_tempi_are_read_to_the_thousandth_of_a_beat_per_minute(tmp_path, parser):
    for microseconds, bpm in ((640_000, 93.75), (428_571, 140.0), (500_001, 120.0), (461_538, 130.0)):
        body = tempo(0, microseconds) + note(0, 60, 480) + END
        roll = read_quietly(write(tmp_path, f"t{microseconds}.mid", smf(480, body, midi_type=0)), parser)
        assert roll.bpm == bpm and isinstance(roll.bpm, float), microseconds


@pytest.mark.parametrize("parser", PARSERS)
def test_a_meter_in_sixty_fourths_is_read_and_one_off_the_frame_grid_is_named(tmp_path, parser):
    body = meta(0, 0x58, bytes([3, 6, 24, 8])) + note(0, 60, 90) + END     # 3/64: 3/16 quarter
    path = write(tmp_path, "fast.mid", smf(480, body, midi_type=0))
    assert read_quietly(path, parser, steps_per_quarter=16).time_signature == "3/64"
    with pytest.raises(ReadError, match=r"^.*fast.mid: .*3/64"):
        read(path, reader=parser, normalize_key=False)


@pytest.mark.parametrize("parser", PARSERS)
def test_smpte_files_ignore_their_tempo_events_but_read_the_meter_after_them(tmp_path, parser):
    body = (tempo(0, 1_000_000) + meta(0, 0x58, bytes([3, 2, 24, 8]))
            + note(0, 60, 300) + END)                                     # 25 fps x 24 ticks
    roll = read_quietly(write(tmp_path, "smpte_meter.mid", smf(0xE718, body, midi_type=0)), parser)
    assert (roll.bpm, roll.time_signature) == (120.0, "3/4")


@pytest.mark.parametrize("parser", PARSERS)
def test_smpte_with_no_ticks_per_frame_is_named(tmp_path, parser):
    path = write(tmp_path, "no_ticks.mid", smf(0xE700, note(0, 60, 30) + END, midi_type=0))
    with pytest.raises(ReadError, match=rf"^{path}: its SMPTE time division gives 0 ticks per "
                                        r"second \(25 fps x 0 ticks per frame\)$"):
        read(path, reader=parser)


def test_a_delta_time_that_never_ends_is_named_with_each_parsers_reason(tmp_path):
    path = write(tmp_path, "endless.mid", smf(480, b"\x80\x80\x80\x80", midi_type=0))
    music21 = r"music21: IndexError: index out of range\)$"
    with pytest.raises(ReadError, match=rf"^{path}: not a readable MIDI file \({music21}"):
        read(path, reader="music21")
    with pytest.raises(ReadError, match=rf"^{path}: not a readable MIDI file \(mido: EOFError: the "
                                        rf"data end in the middle of an event; {music21}"):
        read(path)


def test_smpte_that_music21s_parser_cannot_time_is_named_with_its_rate(tmp_path):
    body = note(0, 60, 300) + END
    path = write(tmp_path, "smpte40.mid", smf(0xE728, body, midi_type=0))    # 25 fps x 40 ticks
    with pytest.raises(ReadError, match=rf"^{path}: SMPTE timing \(25 fps x 40 ticks per frame\) "
                                        r"is not supported by music21's MIDI parser"):
        read(path, reader="music21")
    assert read_quietly(path, "mido").notes() == [(0, 1, 60)]
    # Where mido refuses such a file too (an impossible key signature), its reason is given.
    body = meta(0, 0x59, bytes([18, 0])) + note(0, 60, 300) + END
    path = write(tmp_path, "smpte40_key18.mid", smf(0xE728, body, midi_type=0))
    with pytest.raises(ReadError, match=rf"^{path}: not a readable MIDI file \(mido: "
                                        r"KeySignatureError: Could not decode key with 18 sharps "
                                        r"and mode 0\)$"):
        read(path)


def test_a_header_without_tracks_reads_as_a_file_without_notes(tmp_path):
    path = write(tmp_path, "empty.mid", smf(480, midi_type=0))
    assert len(path.read_bytes()) == 14
    with pytest.raises(ReadError, match=r"empty.mid: it holds no notes"):
        read(path)


def test_a_parser_error_without_words_is_still_one_line():
    from rnnrbm_music.midi_io import _unreadable

    assert _unreadable([], ("mido", ValueError()), ("music21", EOFError())) == (
        "not a readable MIDI file (mido: ValueError: no reason given; music21: EOFError: the "
        "data end in the middle of an event)")


def test_read_midi_by_default_reads_as_read_does():
    """Two frames a quarter, moved to C, the key from the notes: ashover16 sounds in D major
    under a G-major signature."""
    path = NOTTINGHAM_MIDI / "ashover16.mid"
    roll = read_midi(path)
    assert roll == read(path) and roll.steps_per_quarter == 2
    assert (roll.key, roll.transposition) == ("D major", -2)
    assert read_midi(path, trust_key=True).key == "G major"


@pytest.mark.parametrize("parser", PARSERS)
def test_smpte_timing_over_a_long_note(tmp_path, parser):
    """25 fps x 24 ticks: 3,000 ticks are 5 s, 10 quarters at 120 bpm, 20 frames; 29.97 fps x 40
    ticks (parser mido): 299,700 ticks are 1,000 frames (29.94 fps would make them 1,001)."""
    body = note(0, 60, 3000) + END
    roll = read_quietly(write(tmp_path, "smpte25.mid", smf(0xE718, body, midi_type=0)), parser)
    assert roll.notes() == [(0, 20, 60)]
    if parser == "mido":
        body = note(0, 60, 299_700) + END
        roll = read_quietly(write(tmp_path, "smpte29.mid", smf(0xE328, body, midi_type=0)), parser)
        assert roll.notes() == [(0, 1000, 60)]


@pytest.mark.parametrize("parser", PARSERS)
def test_an_odd_number_of_ticks_per_quarter_is_not_smpte(tmp_path, parser):
    body = tempo(0, 1_000_000) + note(0, 60, 25) + note(0, 62, 50) + END     # 25 ticks a quarter
    roll = read_quietly(write(tmp_path, "odd.mid", smf(25, body, midi_type=0)), parser)
    assert roll.notes() == [(0, 2, 60), (2, 4, 62)] and roll.bpm == 60.0


@pytest.mark.parametrize("parser", PARSERS)
def test_an_empty_last_track_is_no_damage_and_one_byte_short_is(tmp_path, parser):
    data = smf(480, note(0, 60, 480) + END, b"")
    assert read_quietly(write(tmp_path, "empty_track.mid", data), parser).notes() == [(0, 2, 60)]
    data = smf(480, note(0, 60, 480) + END, note(0, 64, 480) + END)
    with pytest.raises(ReadError, match=r"cut.mid: not a readable MIDI file: track chunk 2 declares "
                                        r"1 bytes more than the file holds$"):     # its end is cut
        read(write(tmp_path, "cut.mid", data[:-1]), reader=parser, normalize_key=False)


def test_a_path_that_cannot_be_opened_is_named_with_the_reason(tmp_path):
    with pytest.raises(ReadError, match=rf"^{tmp_path}: cannot open it \(IsADirectoryError: Is a "
                                        r"directory\)$"):
        read_midi(tmp_path)
    with pytest.raises(ReadError, match=rf"^{tmp_path / 'gone.mid'}: cannot open it "
                                        r"\(FileNotFoundError: No such file or directory\)$"):
        read_midi(tmp_path / "gone.mid")


def test_unknown_parser_is_refused():
    with pytest.raises(ValueError, match="parser must be one of 'mido', 'music21'"):
        read_midi(NOTTINGHAM_MIDI / "ashover1.mid", parser="pretty_midi")


# --- damaged files --------------------------------------------------------------------------------
@pytest.mark.parametrize("parser", PARSERS)
def test_truncated_midi_file_is_read_as_far_as_it_goes(tmp_path, parser):
    path = NOTTINGHAM_MIDI / "ashover1.mid"
    data = path.read_bytes()
    broken = write(tmp_path, "truncated.mid", data[: len(data) // 2])
    with pytest.warns(UserWarning, match=r"truncated.mid: track chunk 2 declares \d+ bytes more "
                                         "than the file holds: read what is there"):
        cut = read(broken, normalize_key=False, reader=parser)
    whole = read(path, normalize_key=False)
    assert len(cut) == len(whole) - 2            # track 1 is whole; track 2 stops at frame 13
    # every note is the whole file's but the one sounding at the cut, which ends there
    (sounding, *others) = set(cut.notes()) - set(whole.notes())
    assert others == [] and sounding == (12, 1, 38)
    assert (12, 6, 38) in whole.notes()
    assert len(whole.notes()) - len(cut.notes()) > 20


@pytest.mark.parametrize("parser", PARSERS)
def test_missing_track_is_named(tmp_path, parser):
    data = smf(480, note(0, 60, 480) + END, note(0, 64, 480) + END)
    broken = write(tmp_path, "two_of_one.mid", data[: data.rindex(b"MTrk") + 2])
    with pytest.raises(ReadError, match="two_of_one.mid: not a readable MIDI file: the header "
                                        r"announces 2 track\(s\) but the file holds 1$"):
        read(broken, reader=parser)


@pytest.mark.parametrize("parser", PARSERS)
def test_a_chunk_that_is_not_a_track_is_named(tmp_path, parser):
    data = smf(480, note(0, 60, 480) + END, note(0, 64, 480) + END)
    at = data.rindex(b"MTrk")
    broken = write(tmp_path, "junk.mid", data[:at] + b"JUNK" + data[at + 4:])
    with pytest.raises(ReadError, match=r"junk.mid: not a readable MIDI file: chunk 2 after the "
                                        r"header is b'JUNK', not a track \(b'MTrk'\)"):
        read(broken, reader=parser)


@pytest.mark.parametrize("parser", PARSERS)
def test_text_file_named_mid_is_named(tmp_path, parser):
    fake = write(tmp_path, "notes.mid", b"these are not the notes you are looking for\n")
    with pytest.raises(ReadError, match="notes.mid: not a readable MIDI file: it starts with "
                                        "b'thes', not with the b'MThd' of a MIDI header"):
        read(fake, reader=parser)


@pytest.mark.parametrize("parser", PARSERS)
def test_cut_header_and_zero_division_are_named(tmp_path, parser):
    with pytest.raises(ReadError, match=r"short.mid: not a readable MIDI file: the header is cut "
                                        r"short \(10 of 14 bytes\)"):
        read(write(tmp_path, "short.mid", smf(480)[:10]), reader=parser)
    with pytest.raises(ReadError, match="zero.mid: its header gives 0 ticks per quarter note"):
        read(write(tmp_path, "zero.mid", smf(0, note(0, 60, 1) + END)), reader=parser)


def test_both_parsers_failing_gives_one_line_naming_the_problem(tmp_path):
    # A tempo event cut after its type byte: mido runs out of bytes (EOFError), so the mido path
    # tries music21's parser, which fails too.
    body = note(0, 60, 480) + bytes([0x00, 0xFF, 0x51])
    path = write(tmp_path, "cut_event.mid", smf(480, body, midi_type=0))
    with pytest.raises(ReadError) as error:
        read(path)
    assert str(error.value).startswith(
        f"{path}: not a readable MIDI file (mido: EOFError: the data end in the middle of an "
        "event; music21: IndexError: ")
    assert "\n" not in str(error.value)


def test_mido_errors_other_than_key_data_and_short_chunks_are_not_retried(tmp_path):
    # An undefined status byte: music21's parser skips it and reads on with its clock wrong.
    body = note(0, 60, 480) + bytes([0x00, 0xF4, 0x01, 0x02]) + note(0, 62, 480) + END
    path = write(tmp_path, "status_f4.mid", smf(480, body, midi_type=0))
    with pytest.raises(ReadError, match=r"status_f4.mid: not a readable MIDI file \(mido: OSError: "
                                        r"undefined status byte 0xf4\)$"):
        read(path)


# --- Nottingham: the readers agree ------------------------------------------------------------------
def _time_signature_changes(stream, roll):
    """(frame, "n/d") of the stream's later time signatures, as the roll should hold them."""
    from music21 import meter

    found = sorted({(round(float(ts.getOffsetInHierarchy(stream)) * roll.steps_per_quarter),
                     ts.ratioString) for ts in stream.recurse().getElementsByClass(meter.TimeSignature)})
    changes, current = [], found[0][1] if found and found[0][0] == 0 else "4/4"
    for frame, value in found:
        if 0 < frame < len(roll) and value != current:
            changes.append((frame, value))
            current = value
    return tuple(changes)


def test_mido_reader_agrees_with_music21s_converter_on_nottingham_files():
    """An independent check: music21's own MIDI-to-stream translation, then from_stream."""
    from music21 import converter

    assert len(NOTTINGHAM_SAMPLE) > 40
    with_changes = 0
    for path in NOTTINGHAM_SAMPLE:
        fast = read(path)
        stream = converter.parse(path, quantizePost=False, forceSource=True)
        slow = from_stream(stream, source=str(path))
        # music21 fills the last bar up with rests, which a score's reading keeps: compare the
        # frames the file holds notes in, and that the rest is silent.
        assert 0 <= len(slow) - len(fast) < slow.frames_per_bar, path
        assert (fast.frames == slow.frames[:len(fast)]).all(), path
        assert not slow.frames[len(fast):].any(), path
        assert (fast.time_signature, fast.bpm, fast.key, fast.transposition) == (
            slow.time_signature, slow.bpm, slow.key, slow.transposition), path
        assert fast.time_signature_changes == _time_signature_changes(stream, fast), path
        with_changes += bool(fast.time_signature_changes)
    assert with_changes >= 1


def test_mido_and_music21_parsers_agree_on_nottingham_files():
    for path in NOTTINGHAM_SAMPLE:
        assert read(path) == read(path, reader="music21"), path


def test_midi_meta_is_read():
    roll = read(NOTTINGHAM_MIDI / "ashover1.mid", normalize_key=False)
    assert roll.time_signature == "3/4"
    assert roll.time_signature_changes[:2] == ((42, "2/4"), (46, "3/4"))
    assert roll.bpm == 120.0 and roll.tempo_changes == ()
    assert roll.transposition == 0 and roll.key == "G major"
    trusted = read(NOTTINGHAM_MIDI / "ashover1.mid", normalize_key=False, trust_key=True)
    assert trusted.key == "G major"
