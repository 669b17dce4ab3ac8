"""Key detection and key normalization of piano rolls.

The key is found by music21's own key-profile algorithms (``stream.analyze('key')`` and its
siblings: ``'krumhansl'``, ``'aarden'``, ``'bellman'``, ``'temperley'``, ``'simple'``): the
pitch-class histogram, weighted by duration, is correlated with each algorithm's major and minor
profiles in all twelve transpositions, and the best correlation wins. We apply that computation to
the roll's histogram rather than to a music21 stream, so that every reader (music21, the fast MIDI
path, the benchmark pickles) gets the same key from the same notes, in microseconds. It equals
``analyze(...)`` on the stream up to the rounding of durations to frames, and one spelling: the
major key a semitone above C is D- major (five flats) here, where music21's analysis keeps the
C# of its pitch-class names (seven sharps).

Normalizing moves major keys to C major and minor keys to C minor (the benchmarks' convention) by
the smallest interval: -5 to +6 semitones (F# goes up to C).
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np

from .roll import PianoRoll, RangeError



# Key tonics as music21's analysis spells them (its pitch-class names, flipped to the enharmonic
# where not among its ``keysValidMajor`` / ``keysValidMinor``), except D- major for its C# major.
_MAJOR_TONICS = ("C", "D-", "D", "E-", "E", "F", "F#", "G", "A-", "A", "B-", "B")
_MINOR_TONICS = ("C", "C#", "D", "E-", "E", "F", "F#", "G", "G#", "A", "B-", "B")


@lru_cache(maxsize=None)
def _profiles(algorithm: str) -> tuple[np.ndarray, np.ndarray]:
    """The (major, minor) weight profiles of a music21 key algorithm, by its analyze() name."""
    from music21.analysis import discrete

    cls = discrete.analysisClassFromMethodName(algorithm)
    if cls is None or not issubclass(cls, discrete.KeyWeightKeyAnalysis):
        raise ValueError(f"unknown key algorithm {algorithm!r}: use one of music21's analyze() "
                         "names, e.g. 'key', 'krumhansl', 'aarden', 'bellman', 'temperley', 'simple'")
    analyser = cls()
    return (np.asarray(analyser.getWeights("major"), float),
            np.asarray(analyser.getWeights("minor"), float))


def _correlations(histogram: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Pearson correlation of the histogram with the profile rotated to each of the 12 tonics."""
    rotated = np.stack([np.roll(profile, tonic) for tonic in range(12)])  # [tonic, pitch class]
    h = histogram - histogram.mean()
    r = rotated - rotated.mean(axis=1, keepdims=True)
    denominator = np.sqrt((r ** 2).sum(axis=1) * (h ** 2).sum())
    return np.divide(r @ h, denominator, out=np.zeros(12), where=denominator > 0)


def key_name(tonic_pitch_class: int, mode: str) -> str:
    """A key's name as this package writes it, spelled as music21 spells key tonics.

    >>> key_name(6, "major"), key_name(8, "minor"), key_name(10, "major")
    ('F# major', 'G# minor', 'B- major')
    """
    tonics = _MAJOR_TONICS if mode == "major" else _MINOR_TONICS
    return f"{tonics[tonic_pitch_class % 12]} {mode}"


def display_name(key: str) -> str:
    """A key's name as musicians write it, for titles: music21's ``-`` flat as ``♭``, ``#`` as
    ``♯``.

    >>> display_name("D- major"), display_name("F# minor"), display_name("C major")
    ('D♭ major', 'F♯ minor', 'C major')
    """
    tonic, mode = key.split()
    return f"{tonic[0]}{tonic[1:].replace('-', '♭').replace('#', '♯')} {mode}"


def parse_key(name: str) -> tuple[int, str]:
    """``"F# minor"`` -> ``(6, "minor")``. Accepts music21's names too (``"f# minor"``, ``"Bb major"``).

    >>> parse_key("B- major"), parse_key("f# minor"), parse_key("Eb")
    ((10, 'major'), (6, 'minor'), (3, 'major'))
    """
    parts = name.strip().split()
    if not parts or len(parts) > 2:
        raise ValueError(f"cannot read key {name!r}: expected e.g. 'D major' or 'F# minor'")
    tonic = parts[0]
    mode = parts[1].lower() if len(parts) == 2 else ("minor" if tonic[0].islower() else "major")
    if mode not in ("major", "minor"):
        raise ValueError(f"cannot read key {name!r}: mode must be 'major' or 'minor'")
    step = tonic[0].upper()
    base = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}.get(step)
    accidentals = tonic[1:]
    if base is None or any(c not in "#b-" for c in accidentals):
        raise ValueError(f"cannot read key {name!r}: unknown tonic {tonic!r}")
    alter = accidentals.count("#") - accidentals.count("b") - accidentals.count("-")
    return (base + alter) % 12, mode


def detect_key(histogram: np.ndarray, algorithm: str = "key") -> str | None:
    """The most likely key of a pitch-class histogram, by a music21 key algorithm; None if silent.

    >>> c_major_scale = np.array([2, 0, 1, 0, 1, 1, 0, 2, 0, 1, 0, 1.])
    >>> detect_key(c_major_scale)
    'C major'
    >>> detect_key(np.roll(c_major_scale, 2))    # the same notes a tone higher
    'D major'
    """
    histogram = np.asarray(histogram, float)
    if histogram.sum() <= 0:
        return None
    major, minor = _profiles(algorithm)
    scores = np.concatenate([_correlations(histogram, major), _correlations(histogram, minor)])
    best = int(np.argmax(scores))
    return key_name(best % 12, "major" if best < 12 else "minor")


def key_of_signature(sharps: int, histogram: np.ndarray, algorithm: str = "key") -> str:
    """The key a key signature of ``sharps`` (negative: flats) stands for: its major key or
    the relative minor, whichever the pitch-class ``histogram`` fits better (a MusicXML or MIDI
    key signature often says no mode).

    >>> a_minor_tune = np.array([2, 0, 1, 0, 2, 0, 0, 0, 1, 3, 0, 0.])    # A, C, E, G#
    >>> a_minor_tune[8] = 1
    >>> key_of_signature(0, a_minor_tune), key_of_signature(-3, np.roll(a_minor_tune, 3))
    ('A minor', 'C minor')
    """
    major_tonic = (7 * sharps) % 12
    major, minor = _profiles(algorithm)
    histogram = np.asarray(histogram, float)
    as_major = _correlations(histogram, major)[major_tonic]
    as_minor = _correlations(histogram, minor)[(major_tonic + 9) % 12]
    return (key_name(major_tonic, "major") if as_major >= as_minor
            else key_name(major_tonic + 9, "minor"))


def normalizing_interval(key: str) -> int:
    """Semitones that bring a key to C (major) or C (minor) by the smallest move, -5..+6.

    >>> normalizing_interval("A major"), normalizing_interval("F# minor"), normalizing_interval("F major")
    (3, 6, -5)
    """
    tonic, _ = parse_key(key)
    shift = (-tonic) % 12
    return shift - 12 if shift > 6 else shift


def normalize(roll: PianoRoll, key: str | None) -> PianoRoll:
    """Transpose ``roll`` (whose key is ``key``) to C major / C minor, recording key and interval.

    Where the smallest move would push a note out of range, the move an octave the other way is
    used instead.

    >>> roll = PianoRoll.from_benchmark([(62, 66, 69)])       # a D major triad
    >>> c = normalize(roll, "D major")
    >>> c.to_benchmark(), c.key, c.transposition
    ([(60, 64, 67)], 'D major', -2)
    """
    roll = roll.replace(key=key)
    if key is None:
        return roll
    shift = normalizing_interval(key)
    try:
        return roll.transpose(shift)
    except RangeError:
        return roll.transpose(shift - 12 if shift > 0 else shift + 12)


def trusted(key: str | None, source: str) -> str | None:
    """The key a key signature names, to be trusted; None, with a warning naming ``source``,
    where there is none (the key is then detected from the notes)."""
    if key is None:
        warnings.warn(f"{source}: no key signature to trust: the key is detected from the "
                      "notes", stacklevel=3)
    return key


def apply_key(roll: PianoRoll, normalize_key: bool, algorithm: str | None = None,
              explicit_key: str | None = None) -> PianoRoll:
    """Record the roll's key (``explicit_key`` if given, else detected by ``algorithm``) and,
    with ``normalize_key``, move the roll to C major / C minor.

    >>> roll = PianoRoll.from_benchmark([(62, 66, 69)] * 3 + [(67, 71, 74), (69, 73, 76)])
    >>> apply_key(roll, normalize_key=False).key
    'D major'
    >>> apply_key(roll, normalize_key=True, explicit_key="B minor").transposition
    1
    """
    key = explicit_key or detect_key(roll.pitch_class_histogram(), algorithm or "key")
    return normalize(roll, key) if normalize_key else roll.replace(key=key)
