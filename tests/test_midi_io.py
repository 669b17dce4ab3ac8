import pytest

from conftest import NOTTINGHAM_MIDI
from rnnrbm_music import ReadError, read


def test_mido_and_music21_paths_agree_on_nottingham_files():
    files = sorted(NOTTINGHAM_MIDI.glob("*.mid"))[::25]   # 42 files across the collection
    assert len(files) > 40
    for path in files:
        fast = read(path)
        slow = read(path, reader="music21")
        assert fast == slow, path


def test_midi_meta_is_read():
    roll = read(NOTTINGHAM_MIDI / "ashover1.mid", normalize_key=False)
    assert roll.time_signature == "3/4"
    assert roll.bpm > 0
    assert roll.transposition == 0 and roll.key == "G major"


def test_truncated_midi_file_is_named(tmp_path):
    data = (NOTTINGHAM_MIDI / "ashover1.mid").read_bytes()
    broken = tmp_path / "truncated.mid"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReadError, match="truncated.mid: not a readable MIDI file"):
        read(broken)


def test_text_file_named_mid_is_named(tmp_path):
    fake = tmp_path / "notes.mid"
    fake.write_text("these are not the notes you are looking for\n")
    with pytest.raises(ReadError, match="notes.mid: not a readable MIDI file"):
        read(fake)
