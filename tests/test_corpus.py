import pickle
import re
import shutil

import pytest

import rnnrbm_music.corpus as corpus_module
import rnnrbm_music.progress as progress_module
from conftest import JSB, NOTTINGHAM, NOTTINGHAM_MIDI
from rnnrbm_music import Corpus, PianoRoll, ReadError


@pytest.mark.parametrize("path, counts, spq", [(JSB, (229, 76, 77), 1),
                                               (NOTTINGHAM, (694, 173, 170), 2)])
def test_benchmarks_load_with_published_split_counts_and_round_trip(path, counts, spq):
    with open(path, "rb") as f:
        raw = pickle.load(f, encoding="latin1")
    for split, count in zip(("train", "valid", "test"), counts):
        corpus = Corpus.from_benchmark(path, split)
        assert len(corpus) == count
        assert all(roll.steps_per_quarter == spq for roll in corpus)
        for roll, steps in zip(corpus, raw[split]):
            assert roll.to_benchmark() == [tuple(sorted(int(p) for p in s)) for s in steps]


def test_benchmark_errors_name_the_file(tmp_path):
    with pytest.raises(ReadError, match="no split 'dev'"):
        Corpus.from_benchmark(JSB, "dev")
    junk = tmp_path / "junk.pickle"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(ReadError, match="junk.pickle: not a benchmark pickle"):
        Corpus.from_benchmark(junk)


@pytest.fixture
def folder_with_a_broken_file(tmp_path):
    good = sorted(NOTTINGHAM_MIDI.glob("ashover*.mid"))[:5]
    (tmp_path / "sub").mkdir()
    for i, path in enumerate(good):
        shutil.copy(path, tmp_path / ("sub" if i % 2 else ".") / path.name)
    (tmp_path / "broken.mid").write_bytes(good[0].read_bytes()[:60])
    (tmp_path / "readme.txt").write_text("not music, not read")
    return tmp_path, [p.name for p in good]


def test_folder_with_one_broken_file_reports_and_skips_it(folder_with_a_broken_file, tmp_path_factory):
    folder, good = folder_with_a_broken_file
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable piece\(s\):\n  .*broken.mid"):
        corpus = Corpus(folder, cache_dir=tmp_path_factory.mktemp("c"), progress=False)
    assert len(corpus) == len(good)
    assert sorted(name.split("/")[-1] for name in corpus.names) == sorted(good)
    assert [e.source.split("/")[-1] for e in corpus.errors] == ["broken.mid"]


def test_strict_raises_on_the_broken_file(folder_with_a_broken_file, tmp_path_factory):
    folder, _ = folder_with_a_broken_file
    with pytest.raises(ReadError, match="broken.mid"):
        Corpus(folder, strict=True, cache_dir=tmp_path_factory.mktemp("c"), progress=False)


def test_parallel_reading_then_cache(tmp_path, monkeypatch):
    files = sorted(NOTTINGHAM_MIDI.glob("*.mid"))[:24]
    first = Corpus(files, workers=2, cache_dir=tmp_path, progress=False)
    assert len(first) == 24 and len(list(tmp_path.glob("*.npz"))) == 24

    def must_not_parse(*args, **kwargs):
        raise AssertionError("a cached file was parsed again")
    monkeypatch.setattr(corpus_module, "read_pieces", must_not_parse)
    second = Corpus(files, workers=1, cache_dir=tmp_path, progress=False)
    assert second.rolls == first.rolls and second.names == first.names
    # Other settings are another cache entry.
    with pytest.warns(UserWarning, match="skipped 24"):
        Corpus(files, steps_per_quarter=4, workers=1, cache_dir=tmp_path, progress=False)


def test_reading_off_a_terminal_writes_lines_with_the_count_and_the_time_left(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(progress_module, "PERIOD", 0.0)    # a line for every file
    files = sorted(NOTTINGHAM_MIDI.glob("ashover*.mid"))[:3]
    Corpus(files, workers=1, cache_dir=tmp_path)
    lines = capsys.readouterr().err.splitlines()
    assert [re.sub(r", \d+:\d\d elapsed.*", "", line) for line in lines] == [
        "reading corpus: 1/3 files (33 %)", "reading corpus: 2/3 files (67 %)",
        "reading corpus: 3/3 files (100 %)"]
    assert all(re.search(r", \d+:\d\d elapsed, ~\d+:\d\d left$", line) for line in lines[:2])
    assert re.search(r", \d+:\d\d elapsed$", lines[2])
    Corpus(files, workers=1, cache_dir=tmp_path / "other", progress=False)
    Corpus(files, workers=1, cache_dir=tmp_path)            # all cached: nothing to read
    assert capsys.readouterr().err == ""


def test_globs_streams_opus_and_rolls(tmp_path):
    from music21 import converter, stream
    opus = stream.Opus([converter.parse("tinyNotation: 4/4 c4 e g c'"),
                        converter.parse("tinyNotation: 3/4 a4 c' e'")])
    roll = PianoRoll.from_benchmark([(60,), (64,)])
    corpus = Corpus([opus, roll, str(NOTTINGHAM_MIDI / "ashover1*.mid")], cache=False,
                    progress=False)
    assert len(corpus) == 2 + 1 + len(list(NOTTINGHAM_MIDI.glob("ashover1*.mid")))
    assert corpus[1].time_signature == "3/4"
    assert corpus[2] is roll


def test_missing_sources_are_reported():
    with pytest.warns(UserWarning, match="no such file or folder"):
        corpus = Corpus(["/nonexistent/folder"], progress=False)
    assert len(corpus) == 0
    with pytest.raises(ReadError, match="no files"):
        Corpus(["/nonexistent/*.mid"], strict=True)


def test_split_is_by_piece_and_reproducible(jsb_train):
    train, valid = jsb_train.split(0.2, seed=3)
    again_train, again_valid = jsb_train.split(0.2, seed=3)
    assert len(valid) == round(0.2 * len(jsb_train)) and len(train) + len(valid) == len(jsb_train)
    assert valid.names == again_valid.names
    assert not set(train.names) & set(valid.names)


def test_music21_queries():
    assert len(Corpus.from_music21("bach/bwv66.6", progress=False)) == 1
    with pytest.raises(ValueError, match="nothing for 'no-such-composer'"):
        Corpus.from_music21("no-such-composer")


def test_music21s_corpus_is_named_as_on_the_command_line():
    """``Corpus("music21:QUERY")`` takes what ``Corpus.from_music21(QUERY)`` does; a query with
    nothing behind it is one clear error, not an empty corpus."""
    corpus = Corpus(["music21:bach/bwv66.6", "music21:bach/bwv86.6"], progress=False)
    assert [roll.key for roll in corpus] == ["F# minor", "E major"]
    with pytest.raises(ValueError, match="music21's corpus has nothing for 'nosuchcomposer'"):
        Corpus("music21:nosuchcomposer")


def test_identical_files_under_two_names_keep_their_own_titles_through_the_cache(tmp_path):
    """Nottingham holds identical tunes under two names (hpps24, hpps25): each is titled by its
    own file's name, read afresh or from the cache."""
    folder = tmp_path / "tunes"
    folder.mkdir()
    for name in ("hpps24.mid", "hpps25.mid"):
        shutil.copy(NOTTINGHAM_MIDI / "hpps24.mid", folder / name)
    for _ in ("read", "cached"):
        corpus = Corpus(folder, cache_dir=tmp_path / "cache", progress=False)
        assert [roll.title for roll in corpus] == ["hpps24", "hpps25"]
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2
