"""Shared fixtures: the real data in ../shared/data and music21's corpus."""

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
JSB = DATA / "benchmarks" / "jsb_chorales.pickle"
NOTTINGHAM = DATA / "benchmarks" / "nottingham.pickle"
NOTTINGHAM_MIDI = DATA / "nottingham_midi"
#: Real-world inputs of the kinds MIDI and score tools get wrong; README.md gives each right result.
CASES = DATA.parent / "cases" / "io"


@pytest.fixture(scope="session")
def chorales(tmp_path_factory):
    """All 371 Bach chorales of music21's corpus as PianoRolls (keys normalized)."""
    from rnnrbm_music import Corpus
    return Corpus.from_music21("chorales", cache_dir=tmp_path_factory.mktemp("cache"),
                               progress=False, strict=True)


@pytest.fixture(scope="session")
def jsb_train():
    from rnnrbm_music import Corpus
    return Corpus.from_benchmark(JSB, "train")


@pytest.fixture(scope="session")
def jsb_valid():
    from rnnrbm_music import Corpus
    return Corpus.from_benchmark(JSB, "valid")
