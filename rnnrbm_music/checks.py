"""One validation layer for the Python API and the command line: every setting a user gives has
one rule here, with its range and unit, and both front ends raise its one-line message.

The API checks a value by the name of its argument (``checked("bpm", 0)`` raises
``ValueError: bpm must be a number from 4 to 1000 quarter notes per minute, got 0``); the
command line turns each rule into an argparse type, so ``--bpm 0`` ends with
``rnnrbm-music generate: error: argument --bpm: must be a number from 4 to 1000 quarter notes
per minute, got 0`` and exit status 2.

Ranges: what a musician or a model can use, and what the files and ports can carry (a MIDI tempo
is 24 bits of microseconds per quarter note: slower than 3.6 bpm it wraps around), so that a bad
value is refused before it costs a minute or a gigabyte.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .roll import MAX_FRAMES, parse_time_signature


@dataclass(frozen=True)
class Whole:
    """A whole number from ``low`` to ``high`` (inclusive; ``high`` None: no upper bound)."""

    low: int
    high: int | None = None
    unit: str = ""

    def __call__(self, value) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"must be a whole number{self._span()}, got {value!r}")
        if value < self.low or (self.high is not None and value > self.high):
            raise ValueError(f"must be a whole number{self._span()}, got {value}")
        return int(value)

    def parse(self, text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"must be a whole number{self._span()}, got {text!r}") from None

    def _span(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.high is None:
            return f" of at least {self.low:,}{unit}"
        return f" from {self.low:,} to {self.high:,}{unit}"


@dataclass(frozen=True)
class Number:
    """A finite number above ``low`` (or from it, with ``closed``) up to ``high``, or below it
    with ``open_high``."""

    low: float
    high: float
    unit: str = ""
    closed: bool = False
    open_high: bool = False

    def __call__(self, value) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError(f"must be a number{self._span()}, got {value!r}")
        number = float(value)
        low_ok = number >= self.low if self.closed else number > self.low
        high_ok = number < self.high if self.open_high else number <= self.high
        if not (math.isfinite(number) and low_ok and high_ok):
            raise ValueError(f"must be a number{self._span()}, got {value!r}")
        return number

    def parse(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"must be a number{self._span()}, got {text!r}") from None

    def _span(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.closed and not self.open_high:
            return f" from {self.low:g} to {self.high:g}{unit}"
        low = f"at least {self.low:g}" if self.closed else f"above {self.low:g}"
        high = f"below {self.high:g}" if self.open_high else f"at most {self.high:g}"
        return f" {low} and {high}{unit}"


@dataclass(frozen=True)
class Flag:
    """True or False (a recipe's ``"no"`` is neither: it would read as true)."""

    def __call__(self, value) -> bool:
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"must be true or false, got {value!r}")
        return bool(value)

    def parse(self, text: str) -> bool:
        return {"true": True, "false": False}.get(text.lower(), text)


@dataclass(frozen=True)
class TimeSignature:
    """A time signature such as ``"3/4"`` or ``"6/8"``, returned as written."""

    def __call__(self, value) -> str:
        parse_time_signature(value)
        return str(value)

    def parse(self, text: str) -> str:
        return text


@dataclass(frozen=True)
class KeyName:
    """A key name such as ``"D major"`` or ``"f# minor"``, returned in music21's spelling."""

    def __call__(self, value) -> str:
        from . import keys

        if not isinstance(value, str):
            raise ValueError(f"cannot read key {value!r}: expected a name such as 'D major'")
        return keys.key_name(*keys.parse_key(value))

    def parse(self, text: str) -> str:
        return text


@dataclass(frozen=True)
class Device:
    """Where to compute: ``"auto"`` or a PyTorch device this machine has (``"cpu"``,
    ``"cuda"``, ``"cuda:1"``, ``"mps"``), returned as written."""

    def __call__(self, value) -> str:
        import torch

        if value == "auto":
            return value
        try:
            device = torch.device(value)
        except (RuntimeError, TypeError):
            raise ValueError(f"must be auto, cpu, cuda, cuda:N or mps, got {value!r}") from None
        if device.type == "cuda":
            count = torch.cuda.device_count() if torch.cuda.is_available() else 0
            if (device.index or 0) >= max(count, 1) or not count:
                raise ValueError(f"{value}: this machine has no such CUDA GPU ({count} found; "
                                 f"PyTorch {torch.__version__})")
        elif device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"{value}: this machine has no Apple GPU (MPS)")
        elif device.type not in ("cpu", "cuda", "mps"):
            raise ValueError(f"must be auto, cpu, cuda, cuda:N or mps, got {value!r}")
        return str(value)

    def parse(self, text: str) -> str:
        return text


#: The rules, by the name the Python API gives the argument.
RULES: dict[str, Callable] = {
    # composing
    "n_steps": Whole(1, MAX_FRAMES, "frames"),
    "n_bars": Whole(1, 100_000, "bars"),
    "k": Whole(1, 10_000, "Gibbs steps"),
    "temperature": Number(0.01, 100, closed=True),   # colder overflows the sampler's logits
    "seed": Whole(0, 2 ** 63 - 1),
    "n": Whole(1, 1000, "pieces"),
    "particles": Whole(1, 4096, "particles"),
    "key": KeyName(),
    "time_signature": TimeSignature(),
    "device": Device(),
    "bpm": Number(4, 1000, "quarter notes per minute", closed=True),
    # the model and its data
    "n_hidden": Whole(1, 10_000, "units"),        # 10,000 x 10,000 weights: 400 MB already
    "n_recurrent": Whole(1, 10_000, "units"),
    "steps_per_quarter": Whole(1, 96, "frames per quarter note"),
    "valid_fraction": Number(0, 1, open_high=True),
    # training (TrainConfig)
    "epochs": Whole(1, 1_000_000, "epochs"),
    "batch_size": Whole(1, 1_000_000, "subsequences"),
    "seq_len": Whole(1, MAX_FRAMES, "frames"),
    "lr": Number(0, 100),
    "momentum": Number(0, 1, closed=True, open_high=True),
    "weight_decay": Number(0, 100, closed=True),
    "dropout": Number(0, 1, closed=True, open_high=True),
    "transpose": Whole(0, 12, "semitones"),
    "clip_grad": Number(0, 1e9),
    "lr_decay": Number(0, 1),
    "decay_epochs": Whole(1, 1_000_000, "epochs"),
    "pretrain_epochs": Whole(0, 1_000_000, "epochs"),
    "pretrain_lr": Number(0, 100),
    "patience": Whole(1, 1_000_000, "epochs"),
    "grad_accumulation": Whole(1, 1_000_000, "batches"),
    "max_nonfinite": Whole(1, 1_000_000, "batches"),
    "checkpoint_every": Whole(0, 1_000_000, "epochs"),
    # judging
    "n_chains": Whole(0, 100_000, "chains"),
    "n_betas": Whole(2, 10_000_000, "temperatures"),
    # live (channels and programs count from 0 here, as in MIDI messages and mido)
    "channel": Whole(0, 15),
    "program": Whole(0, 127),
    "velocity": Whole(1, 127),
    "controller": Whole(0, 127),
    "silence_bars": Number(0, 64, "bars"),
    "answer_bars": Whole(1, 1024, "bars"),
    "phrases": Whole(1, 1_000_000, "phrases"),
    "bars": Whole(1, 100_000, "bars"),
    "part": Whole(0, 1000),
    # switches
    "articulation": Flag(), "valid_accuracy": Flag(), "keep_checkpoints": Flag(),
    "normalize_key": Flag(), "sustain": Flag(),
}

#: The settings whose None means "not set" (no seed: a new piece each time; no n_bars: count
#: n_steps instead; no patience: never stop early...).
OPTIONAL = frozenset({"seed", "n_bars", "controller", "answer_bars", "phrases", "bars", "program",
                      "clip_grad", "decay_epochs", "patience", "valid_fraction", "part"})

#: Rules only the command line has: channels and programs counted from 1, as DAWs and the
#: General MIDI list count them (``--program 1`` is the acoustic grand piano).
CLI_RULES: dict[str, Callable] = {
    "channel": Whole(1, 16),
    "program": Whole(1, 128),
}


def checked(name: str, value, rule: Callable | None = None):
    """``value`` if it obeys the rule of argument ``name`` (:data:`RULES`, or ``rule``), in the
    rule's type; else ValueError naming the argument.

    >>> checked("k", 25), checked("bpm", 90)
    (25, 90.0)
    >>> checked("n_steps", "16")
    Traceback (most recent call last):
    ...
    ValueError: n_steps must be a whole number from 1 to 1,048,576 frames, got '16'
    """
    try:
        return (rule or RULES[name])(value)
    except ValueError as error:
        message = str(error)
        raise ValueError(f"{name} {message}" if message.startswith("must ") else
                         f"{name}: {message}") from None


def check_all(**values) -> tuple:
    """Each keyword's value checked by its rule, in order, in the rule's type (a numpy integer
    becomes an int); None passes only for the settings where it means "not set"
    (:data:`OPTIONAL`).

    >>> check_all(k=5, temperature=0.5, seed=None)
    (5, 0.5, None)
    >>> check_all(k=None)
    Traceback (most recent call last):
    ...
    ValueError: k must be a whole number from 1 to 10,000 Gibbs steps, got None
    """
    return tuple(None if value is None and name in OPTIONAL else checked(name, value)
                 for name, value in values.items())


def frames_to_draw(n_steps: int, n: int = 1, particles: int = 1) -> int:
    """``n_steps``, once the frames drawn at once (``n`` pieces of ``n_steps`` frames, each
    followed by ``particles`` particles) are known to fit: at most :data:`MAX_FRAMES` (17 hours
    of eighth notes at 120 bpm), checked before anything is allocated.

    >>> frames_to_draw(100_000_000)
    Traceback (most recent call last):
    ...
    ValueError: n_steps must be a whole number from 1 to 1,048,576 frames, got 100000000
    >>> frames_to_draw(600_000, n=2)
    Traceback (most recent call last):
    ...
    ValueError: n x n_steps = 2 x 600,000 frames is more than the 1,048,576 one call draws: ask for fewer pieces or shorter ones
    """
    n_steps, n, particles = check_all(n_steps=n_steps, n=n, particles=particles)
    if n * particles * n_steps > MAX_FRAMES:
        factors = f"{n} x {particles} particles x" if particles > 1 else f"{n} x"
        names = "n x particles x n_steps" if particles > 1 else "n x n_steps"
        raise ValueError(f"{names} = {factors} {n_steps:,} frames is more than the "
                         f"{MAX_FRAMES:,} one call draws: ask for fewer pieces or shorter ones")
    return n_steps


def argument_type(name: str) -> Callable[[str], object]:
    """The argparse ``type`` of a flag that sets argument ``name``: the text parsed, then
    checked by the flag's rule (:data:`CLI_RULES`, else :data:`RULES`); argparse prints the
    message after the flag's name."""
    rule = CLI_RULES.get(name) or RULES[name]

    def parse(text: str):
        try:
            return rule(rule.parse(text))
        except ValueError as error:   # said with the value as typed: "got 0", not "got 0.0"
            said, got, _ = str(error).rpartition(", got ")
            raise argparse.ArgumentTypeError(f"{said}, got {text}" if got else str(error)) \
                from None

    parse.__name__ = name   # argparse names the type in some messages
    return parse
