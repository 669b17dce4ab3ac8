"""A :class:`Corpus` is a list of :class:`PianoRoll` gathered from anywhere music comes from.

Files are parsed in parallel worker processes, their progress shown (:mod:`.progress`), and
cached on disk (in ``$XDG_CACHE_HOME/rnnrbm-music``, ``~/.cache/rnnrbm-music`` by default, keyed
by the file's content, the reading settings, the package version and the cache's format), so
the second reading of a thousand files takes about a second; deleting that folder clears the
cache. A file that cannot be read is reported (path and reason) and skipped, or raises with
``strict=True``.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import pickle
import warnings
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from . import __version__
from .errors import ReadError
from .music21_io import (MIDI_SUFFIXES, MUSIC21_SUFFIXES, check_reading, is_music_text, is_stream,
                         parse_text, pieces_of, read_pieces)
from .score_reading import from_stream
from .progress import Progress
from .roll import PianoRoll

#: Frame step of each benchmark of Boulanger-Lewandowski et al. (2012), in frames per quarter.
BENCHMARK_STEPS_PER_QUARTER = {"jsb_chorales": 1, "nottingham": 2, "musedata": 2, "piano_midi": 2}
_READABLE = MIDI_SUFFIXES + MUSIC21_SUFFIXES
#: How a source names a query of music21's own corpus ("music21:chorales", "music21:bach").
MUSIC21_CORPUS = "music21:"
#: Bumped whenever what a reader makes of a file changes (2: pickups, meter and tempo changes,
#: repeats played out; 3: onsets; 4: titles and composers; 5: a MIDI file's sequence name as its
#: title), so that no cache entry of an older reading is used.
CACHE_FORMAT = 5
# Below this many files to parse, worker processes cost more than they save.
_PARALLEL_THRESHOLD = 8


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/rnnrbm-music`` (``~/.cache/rnnrbm-music`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rnnrbm-music"


class _RollCache:
    """One ``.npz`` file per source file, named by a hash of its name, its bytes and the
    settings (the name too: a piece without a title of its own is titled by its file's name)."""

    def __init__(self, directory: Path, settings: dict):
        self.directory = directory
        self.salt = json.dumps({**settings, "version": __version__, "format": CACHE_FORMAT},
                               sort_keys=True).encode()

    def key(self, path: Path) -> str:
        digest = hashlib.sha256(self.salt)
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes())
        return digest.hexdigest()

    def load(self, key: str) -> list[PianoRoll] | None:
        try:
            with np.load(self.directory / f"{key}.npz", allow_pickle=False) as data:
                contexts = json.loads(str(data["contexts"]))
                return [PianoRoll(data[f"frames_{i}"], **context,
                                  onsets=data[f"onsets_{i}"] if f"onsets_{i}" in data else None)
                        for i, context in enumerate(contexts)]
        except (OSError, KeyError, ValueError):
            return None

    def store(self, key: str, rolls: list[PianoRoll]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        arrays = {f"frames_{i}": roll.frames for i, roll in enumerate(rolls)}
        arrays.update({f"onsets_{i}": roll.onsets for i, roll in enumerate(rolls)
                       if roll.onsets is not None})
        contexts = json.dumps([roll.context() for roll in rolls])
        partial = self.directory / f"{key}.{os.getpid()}.tmp.npz"
        np.savez(partial, contexts=np.array(contexts), **arrays)
        os.replace(partial, self.directory / f"{key}.npz")


def _read_file(job: tuple[str, dict]) -> tuple[list[PianoRoll] | None, str | None, list[str]]:
    """Worker: read one file; failures come back as a reason, never as an exception, and the
    warnings of the reading as their messages (a worker process's own would be lost)."""
    path, settings = job
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            rolls, reason = read_pieces(path, **settings), None
        except ReadError as error:
            rolls, reason = None, error.reason
        except Exception as error:  # anything else a broken file provokes in a parser
            rolls, reason = None, f"{type(error).__name__}: {error}"
    return rolls, reason, [str(w.message) for w in caught]


class Corpus(Sequence[PianoRoll]):
    """Piano rolls from music21 streams, files, folders, globs, Opuses or other rolls.

    ``sources`` is one source or a list of them: a :class:`PianoRoll`, a music21 Stream (an
    Opus gives each of its scores), a file, a folder (searched recursively for MIDI, MusicXML,
    ABC, Humdrum... files), a glob pattern, music written as text, or ``"music21:QUERY"`` for
    music21's own corpus (:meth:`from_music21`; ValueError if it has nothing for the query).
    ``errors`` lists what could not be read.

    >>> from music21 import corpus
    >>> chorales = Corpus([corpus.parse("bach/bwv66.6"), corpus.parse("bach/bwv7.7")])
    >>> len(chorales), [roll.key for roll in chorales]
    (2, ['F# minor', 'E minor'])
    >>> train, valid = chorales.split(valid_fraction=0.5, seed=0)
    >>> len(train), len(valid)
    (1, 1)
    """

    def __init__(self, sources=(), *, steps_per_quarter: int = 2, normalize_key: bool = True,
                 key_algorithm: str | None = None, trust_key: bool = False,
                 out_of_range: str = "error", reader: str = "auto",
                 expand_repeats: bool = True, realize_chord_symbols: bool = False,
                 strict: bool = False, workers: int | None = None, cache: bool = True,
                 cache_dir: str | os.PathLike | None = None, progress: bool = True):
        check_reading(reader, {}, "Corpus")
        self.settings = dict(steps_per_quarter=steps_per_quarter, normalize_key=normalize_key,
                             key_algorithm=key_algorithm, trust_key=trust_key,
                             out_of_range=out_of_range, reader=reader,
                             expand_repeats=expand_repeats,
                             realize_chord_symbols=realize_chord_symbols)
        self.strict = strict
        self.rolls: list[PianoRoll] = []
        self.names: list[str] = []
        self.errors: list[ReadError] = []
        files: list[Path] = []
        if isinstance(sources, (str, os.PathLike, PianoRoll)) or is_stream(sources):
            sources = [sources]
        for source in sources:
            if isinstance(source, PianoRoll):
                self._add(source, "PianoRoll")
            elif is_stream(source):
                self._add_stream(source)
            elif isinstance(source, str) and is_music_text(source):
                self._add_stream(parse_text(source))
            elif isinstance(source, str) and source.startswith(MUSIC21_CORPUS):
                files.extend(music21_corpus_paths(source[len(MUSIC21_CORPUS):]))
            elif isinstance(source, (str, os.PathLike)):
                files.extend(self._expand(source))
            else:
                raise TypeError(f"cannot build a Corpus from {type(source).__name__}: give "
                                "music21 streams, PianoRolls, file or folder paths, or globs")
        if files:
            self._read_files(files, workers, cache, cache_dir, progress)
        if self.errors and not strict:
            lines = "\n  ".join(str(e) for e in self.errors[:20])
            more = f"\n  ... and {len(self.errors) - 20} more" if len(self.errors) > 20 else ""
            warnings.warn(f"skipped {len(self.errors)} unreadable piece(s):\n  {lines}{more}",
                          stacklevel=2)

    # --- gathering ----------------------------------------------------------------------------
    def _fail(self, error: ReadError) -> None:
        if self.strict:
            raise error
        self.errors.append(error)

    def _add(self, roll: PianoRoll, name: str) -> None:
        self.rolls.append(roll)
        self.names.append(name)

    def _add_stream(self, stream) -> None:
        scores = pieces_of(stream)
        reading = {k: v for k, v in self.settings.items() if k != "reader"}
        for score in scores:
            name = str(getattr(score, "filePath", None) or score.metadata and score.metadata.title
                       or f"stream {len(self.rolls) + 1}")
            try:
                self._add(from_stream(score, source=name, **reading), name)
            except ValueError as error:
                self._fail(error if isinstance(error, ReadError) else ReadError(name, str(error)))

    def _expand(self, source: str | os.PathLike) -> list[Path]:
        path = Path(source).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*")
                           if p.suffix.lower() in _READABLE and p.is_file())
            if not found:
                self._fail(ReadError(path, "the folder holds no music files "
                                           f"({', '.join(_READABLE)})"))
            return found
        if path.is_file():
            return [path]
        if glob.has_magic(str(path)):
            found = sorted(Path(p) for p in glob.glob(str(path), recursive=True)
                           if Path(p).is_file())
            if not found:
                self._fail(ReadError(source, "the pattern matches no files"))
            return found
        self._fail(ReadError(path, "no such file or folder"))
        return []

    def _read_files(self, files: list[Path], workers: int | None, cache: bool,
                    cache_dir: str | os.PathLike | None, progress: bool) -> None:
        store = _RollCache(Path(cache_dir) if cache_dir else default_cache_dir(),
                           self.settings) if cache else None
        results: dict[Path, list[PianoRoll]] = {}
        todo: list[tuple[Path, str | None]] = []
        for path in files:
            key = store.key(path) if store else None
            cached = store.load(key) if store else None
            if cached is not None:
                results[path] = cached
            else:
                todo.append((path, key))
        jobs = [(str(path), self.settings) for path, _ in todo]
        workers = workers or os.cpu_count() or 1
        with Progress("reading corpus", len(jobs), "files", enabled=progress) as shown:
            if workers > 1 and len(jobs) >= _PARALLEL_THRESHOLD:
                with ProcessPoolExecutor(max_workers=workers) as pool:
                    outcomes = list(shown.track(pool.map(_read_file, jobs, chunksize=4)))
            else:
                outcomes = list(shown.track(map(_read_file, jobs)))
        for (path, key), (rolls, reason, said) in zip(todo, outcomes):
            for message in dict.fromkeys(said):   # each once, in the order they came
                warnings.warn(message, stacklevel=3)
            if reason is not None:
                self._fail(ReadError(path, reason))
                continue
            results[path] = rolls
            if store:
                store.store(key, rolls)
        for path in files:
            if path in results:
                pieces = results[path]
                for i, roll in enumerate(pieces):
                    self._add(roll, f"{path}#{i + 1}" if len(pieces) > 1 else str(path))

    # --- other constructors -------------------------------------------------------------------
    @classmethod
    def from_music21(cls, query: str, **options) -> Corpus:
        """Pieces from music21's own corpus: ``"chorales"`` (the 371 Bach chorales), a composer
        or collection name (``"bach"``, ``"essenFolksong"``, ``"ryansMammoth"``), or a work
        (``"bach/bwv66.6"``).

        >>> len(Corpus.from_music21("bach/bwv66.6", progress=False))
        1
        """
        return cls([str(p) for p in music21_corpus_paths(query)], **options)

    @classmethod
    def from_benchmark(cls, path: str | os.PathLike, split: str = "train",
                       steps_per_quarter: int | None = None) -> Corpus:
        """One split (``"train"``, ``"valid"``, ``"test"``) of a benchmark pickle of
        Boulanger-Lewandowski et al. (2012). The pieces are already in C major / C minor.
        ``steps_per_quarter`` defaults from the file's name (JSB Chorales: 1, Nottingham: 2).

        >>> len(Corpus.from_benchmark("../shared/data/benchmarks/jsb_chorales.pickle", "test"))
        77
        """
        path = Path(path).expanduser()
        try:
            with open(path, "rb") as f:
                # The benchmark files are pickles by definition; they are data the user chose to
                # load, not a model file (model files are safetensors and never unpickled).
                data = pickle.load(f, encoding="latin1")
        except FileNotFoundError:
            raise ReadError(path, "no such file") from None
        except Exception as error:
            raise ReadError(path, f"not a benchmark pickle ({type(error).__name__}: {error})") from None
        if not isinstance(data, dict) or split not in data:
            keys = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise ReadError(path, f"has no split {split!r} (it has {keys})")
        spq = steps_per_quarter or BENCHMARK_STEPS_PER_QUARTER.get(path.stem, 2)
        corpus = cls()
        for i, steps in enumerate(data[split]):
            corpus._add(PianoRoll.from_benchmark(steps, steps_per_quarter=spq),
                        f"{path.name}:{split}:{i}")
        corpus.settings["steps_per_quarter"] = spq
        return corpus

    # --- use ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.rolls)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._subset(range(len(self))[index])
        return self.rolls[index]

    def __iter__(self) -> Iterator[PianoRoll]:
        return iter(self.rolls)

    def __repr__(self) -> str:
        return (f"<Corpus of {len(self)} pieces, {self.n_frames} frames"
                f"{f', {len(self.errors)} skipped' if self.errors else ''}>")

    @property
    def n_frames(self) -> int:
        """Total frames over all pieces."""
        return sum(len(roll) for roll in self.rolls)

    def _subset(self, indices: Iterable[int]) -> Corpus:
        subset = Corpus()
        subset.settings = dict(self.settings)
        for i in indices:
            subset._add(self.rolls[i], self.names[i])
        return subset

    def split(self, valid_fraction: float = 0.1, seed: int = 0) -> tuple[Corpus, Corpus]:
        """A random (train, valid) split by piece; at least one piece in each when possible."""
        if not 0 < valid_fraction < 1:
            raise ValueError(f"valid_fraction must be between 0 and 1, got {valid_fraction}")
        if len(self) < 2:
            raise ValueError(f"cannot hold out {valid_fraction:g} of {len(self)} piece(s) for "
                             "validation: that needs two pieces at least")
        order = np.random.default_rng(seed).permutation(len(self))
        n_valid = min(max(1, round(valid_fraction * len(self))), max(len(self) - 1, 0))
        return self._subset(sorted(order[n_valid:])), self._subset(sorted(order[:n_valid]))


def _one_work(found, name: str) -> Path:
    """music21's getWork gives a list where several files share a name: take the exact one."""
    if not isinstance(found, list):
        return Path(found)
    stem = name.split("/")[-1]
    exact = [p for p in found if Path(p).stem == stem]
    return Path(sorted(exact or found, key=lambda p: Path(p).suffix != ".mxl")[0])


def music21_corpus_paths(query: str) -> list[Path]:
    """The files of music21's own corpus a query names (see :meth:`Corpus.from_music21`);
    ValueError naming the query where there are none."""
    from music21 import corpus as m21corpus

    if query.lower() in ("chorales", "bach/chorales", "bach chorales"):
        paths = [_one_work(m21corpus.getWork(name), name) for name in
                 m21corpus.chorales.Iterator(returnType="filename")]
    else:
        paths = list(m21corpus.getComposer(query))
        if not paths:
            try:
                work = m21corpus.getWork(query)
            except Exception:  # music21 raises CorpusException, or others on odd names
                work = []
            paths = work if isinstance(work, list) else [work]
        paths = [p for p in paths if Path(p).suffix.lower() in _READABLE]
    if not paths:
        raise ValueError(f"music21's corpus has nothing for {query!r}: try 'chorales', "
                         "'bach', 'essenFolksong', 'ryansMammoth' or a work like 'bach/bwv66.6'")
    return [Path(p) for p in paths]


def as_corpus(data, **options) -> Corpus:
    """``data`` if it is a Corpus already, else ``Corpus(data, **options)``."""
    return data if isinstance(data, Corpus) else Corpus(data, **options)
