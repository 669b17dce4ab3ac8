"""``RnnRbmComposer``: what a music21 user touches. Learn from a corpus, then compose.

It is shaped like a scikit-learn estimator: the constructor takes hyperparameters, ``fit``
returns the composer, and what fitting learns ends with an underscore (``model_``,
``history_``). Everything it composes comes back as a ``music21.stream.Score`` in the user's
key and meter; one sampler (:meth:`RnnRbm.sample <rnnrbm_music.engine.RnnRbm.sample>`) serves
``generate``, ``continue_sequence`` and ``harmonize``.

>>> from rnnrbm_music import RnnRbmComposer
>>> composer = RnnRbmComposer.pretrained()
>>> score = composer.generate(n_steps=16, key="G major", time_signature="3/4", seed=1)
>>> score.recurse().getElementsByClass("TimeSignature").first().ratioString
'3/4'
"""

from __future__ import annotations

import os
import warnings
from dataclasses import asdict, fields
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from . import checkpoint, keys
from .checks import check_all, checked, frames_to_draw
from .corpus import Corpus, as_corpus
from .engine import RnnRbm, RnnRbmConfig, build
from .engine.lookahead import sample_given_clamps
from .evaluate import nll, pseudo_likelihood
from .errors import ReadError
from .music21_io import read, to_stream
from .parts import warn_if_several_parts
from .progress import Progress
from .score_reading import from_stream
from .roll import MAX_FRAMES, PIANO_LOWEST, PianoRoll, RangeError, bar_frames
from .train import TrainConfig, TrainResult, train

#: The models that ship with the package, by conditional (docs/pretrained.md).
PRETRAINED = {"rbm": Path(__file__).with_name("models") / "bach_chorales.safetensors",
              "nade": Path(__file__).with_name("models") / "bach_chorales_nade.safetensors"}
#: How files credit what the model composed.
CREDIT = "rnnrbm-music"
#: Draws of a piece from scratch before one in the mode asked for is given up (``generate``).
MODE_TRIES = 8
#: Harmonies a harmonization follows at once (its look-ahead): benchmarks/harmony_quality.py.
HARMONY_PARTICLES = 16
_TRAINING_FIELDS = {f.name for f in fields(TrainConfig)}


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` is the GPU when there is one, else the CPU."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class NotFittedError(RuntimeError):
    """The composer has no model yet: fit it, load one, or use ``pretrained()``."""


class RnnRbmComposer:
    """Learns polyphonic music from a corpus with an RNN-RBM and composes with it.

    Parameters: the model's sizes (``n_hidden``, ``n_recurrent``), how music becomes frames
    (``steps_per_quarter``, ``normalize_key``: every piece moved to C major / C minor, as the
    benchmarks), whether the model learns where notes are struck (``articulation``: an onset
    unit beside each pitch's sounding unit, so repeated notes survive; see
    :class:`~rnnrbm_music.engine.RnnRbmConfig`), each frame's conditional (``conditional``:
    ``"rbm"``, the RNN-RBM, or ``"nade"``, the RNN-NADE with exact likelihood and exact sampling,
    whose units it visits in ``order``: ``"ascending"`` pitch or ``"descending"``, the melody
    first, which makes harmonizing exact), where to compute (``device``: ``"auto"``,
    ``"cpu"``, ``"cuda"``...), a ``seed`` for everything random, and any
    :class:`~rnnrbm_music.train.TrainConfig` setting (``epochs``, ``lr``, ``optimizer``, ``k``,
    ``batch_size``, ``patience``...).
    """

    def __init__(self, n_hidden: int = 150, n_recurrent: int = 100, steps_per_quarter: int = 2,
                 normalize_key: bool = True, articulation: bool = False, conditional: str = "rbm",
                 order: str = "ascending", device: str = "auto", seed: int | None = None,
                 **training_settings: Any):
        unknown = set(training_settings) - _TRAINING_FIELDS
        if unknown:
            raise TypeError(f"unknown setting(s) {sorted(unknown)}; training settings are "
                            f"{sorted(_TRAINING_FIELDS)}")
        (self.n_hidden, self.n_recurrent, self.steps_per_quarter, seed, device, normalize_key,
         articulation) = check_all(
            n_hidden=n_hidden, n_recurrent=n_recurrent, steps_per_quarter=steps_per_quarter,
            seed=seed, device=device, normalize_key=normalize_key, articulation=articulation)
        self.normalize_key = normalize_key
        self.articulation = articulation
        RnnRbmConfig(conditional=conditional, order=order)   # checks both settings
        self.conditional, self.order = conditional, order
        self.device = device
        self.seed = seed
        self.training = TrainConfig(**{**training_settings,
                                       **({"seed": seed} if seed is not None else {})})
        self._rng = torch.Generator().manual_seed(seed) if seed is not None else None
        self.model_: RnnRbm | None = None
        self.history_: list[dict] = []
        self.fit_result_: TrainResult | None = None

    def __repr__(self) -> str:
        fitted = "fitted" if self.model_ is not None else "not fitted"
        return (f"RnnRbmComposer(n_hidden={self.n_hidden}, n_recurrent={self.n_recurrent}, "
                f"steps_per_quarter={self.steps_per_quarter}, articulation={self.articulation}, "
                f"conditional={self.conditional!r}"
                + (f", order={self.order!r}" if self.conditional == "nade" else "")
                + f", {fitted})")

    # --- the model's frames ---------------------------------------------------------------------
    def encode(self, roll: PianoRoll) -> np.ndarray:
        """A roll as the model's visible frames (T, V): its sounding frames, and with
        ``articulation`` its note starts beside them (T, 2 x pitches)."""
        if not self.articulation:
            return roll.frames
        return np.concatenate([roll.frames, roll.note_starts()], axis=1)

    def decode(self, frames: np.ndarray, like: PianoRoll) -> PianoRoll:
        """Visible frames (T, V) back into a roll with ``like``'s context (and, with
        ``articulation``, the sampled onsets; without, notes are runs)."""
        if not self.articulation:
            return like.replace(frames=frames, onsets=None)
        pitches = frames.shape[1] // 2
        onsets = frames[:, pitches:]
        return like.replace(frames=frames[:, :pitches] | onsets, onsets=onsets)

    # --- learning -------------------------------------------------------------------------------
    def _corpus(self, data) -> Corpus:
        corpus = as_corpus(data, steps_per_quarter=self.steps_per_quarter,
                           normalize_key=self.normalize_key)
        rates = {roll.steps_per_quarter for roll in corpus}
        if rates - {self.steps_per_quarter}:
            raise ValueError(f"the corpus has {sorted(rates)} frames per quarter note but the "
                             f"composer uses {self.steps_per_quarter}: make the composer with "
                             f"steps_per_quarter={min(rates)}")
        if len(corpus) == 0:
            raise ValueError("the corpus holds no music to learn from")
        return corpus

    def fit(self, corpus, epochs: int | None = None, valid=None, *,
            checkpoint_path: str | os.PathLike | None = None,
            resume_from: str | os.PathLike | None = None, progress: bool = True) -> RnnRbmComposer:
        """Train a new model on ``corpus`` (anything :class:`~rnnrbm_music.Corpus` takes: music21
        streams, an Opus, files, folders, a music21 corpus query via ``Corpus.from_music21``, a
        benchmark split via ``Corpus.from_benchmark``); returns the composer.

        ``valid`` (same kinds) gives the per-epoch validation figure for early stopping
        (``patience``). Ctrl+C stops training and keeps the model trained so far.
        """
        train_corpus = self._corpus(corpus)
        valid_corpus = self._corpus(valid) if valid is not None else None
        config = self.training if epochs is None else TrainConfig(
            **{**asdict(self.training), "epochs": epochs})
        device = resolve_device(self.device)
        init = torch.Generator().manual_seed(self.seed) if self.seed is not None else None
        units = _pitch_columns(train_corpus) * (2 if self.articulation else 1)
        model = build(RnnRbmConfig(units, self.n_hidden, self.n_recurrent, self.articulation,
                                   self.conditional, self.order), device=device, generator=init)
        self.fit_result_ = train(
            model, [self.encode(roll) for roll in train_corpus],
            [self.encode(roll) for roll in valid_corpus] if valid_corpus else None, config,
            checkpoint_path=checkpoint_path, checkpoint_config=self._data_config(),
            resume_from=resume_from, progress=progress)
        self.model_ = model
        self.history_ = self.fit_result_.history
        return self

    def _data_config(self) -> dict:
        return {"data": {"lowest": PIANO_LOWEST, "steps_per_quarter": self.steps_per_quarter,
                         "normalize_key": self.normalize_key}}

    def _model(self) -> RnnRbm:
        if self.model_ is None:
            raise NotFittedError("this composer has no model yet: call fit(corpus), "
                                 "RnnRbmComposer.load(path) or RnnRbmComposer.pretrained()")
        return self.model_

    # --- music in -------------------------------------------------------------------------------
    def to_roll(self, music, what: str = "primer", key: str | None = None) -> PianoRoll:
        """A primer or melody as this composer's frames: a music21 Stream or a file is read and,
        with ``normalize_key``, moved from its key to C; a PianoRoll is taken as it is.

        ``key``: the music's key, a name ("D major", "f# minor"), or ``"trust"`` for the key
        signature written in the score (music21's ``Key``, or a bare signature read as major or
        relative minor by the notes); default: detected from the notes (Krumhansl-Schmuckler),
        which a lone melody can mislead (a D major chorale tune read as G major). Raises
        ValueError for a key name it cannot read.
        """
        given = None if key in (None, "trust") else checked("key", key)
        if isinstance(music, (str, os.PathLike)) and not str(music).strip():
            raise ValueError(f"the {what} is an empty path")
        options = dict(steps_per_quarter=self.steps_per_quarter, normalize_key=False,
                       trust_key=key == "trust")
        if isinstance(music, PianoRoll):
            roll = music
        elif isinstance(music, (str, os.PathLike)):
            roll = read(music, **options)
        elif hasattr(music, "recurse"):
            roll = from_stream(music, **options)
        else:
            raise TypeError(f"the {what} must be a music21 Stream, a file path or a PianoRoll, "
                            f"not {type(music).__name__}")
        if roll is music:          # taken as it is; a key given is recorded, not moved to
            if given:
                roll = roll.replace(key=given)
        elif given or roll.key:
            try:
                roll = keys.apply_key(roll, self.normalize_key, explicit_key=given or roll.key)
            except RangeError as error:   # wider than the model's range once moved to C
                source = str(music) if isinstance(music, (str, os.PathLike)) else what
                raise ReadError(source, f"{error}, moved from {given or roll.key} to the "
                                        "model's C: it spans too much of the keyboard") from None
        if roll.steps_per_quarter != self.steps_per_quarter:
            raise ValueError(f"the {what} has {roll.steps_per_quarter} frames per quarter note, "
                             f"the model {self.steps_per_quarter}")
        pitches = self._model().config.n_pitches
        if roll.n_pitches != pitches or roll.lowest != PIANO_LOWEST:
            raise ValueError(f"the {what} covers pitches {roll.lowest}..{roll.highest}; the model "
                             f"covers {PIANO_LOWEST}..{PIANO_LOWEST + pitches - 1}")
        if not roll.frames.any():
            raise ReadError(what, "it has no notes to start from")
        return roll

    def _frames_of_bars(self, n_bars: int, meter: str, lead: int = 0) -> int:
        """Frames in ``lead`` frames and ``n_bars`` bars of ``meter``; ValueError (naming
        ``n_bars``) where that is more than one call draws."""
        n_steps = lead + checked("n_bars", n_bars) * bar_frames(meter, self.steps_per_quarter)
        if n_steps > MAX_FRAMES:
            raise ValueError(f"n_bars: {n_bars:,} bars of {meter} are {n_steps:,} frames, more "
                             f"than the {MAX_FRAMES:,} one call draws")
        return n_steps

    # --- the one sampler ------------------------------------------------------------------------
    def _generator(self, seed: int | None) -> torch.Generator:
        device = self._model().W.device
        seed, = check_all(seed=seed)   # a numpy integer as an int, as torch wants it
        if seed is None and self._rng is not None:
            seed = int(torch.randint(0, 2 ** 62, (1,), generator=self._rng))
        generator = torch.Generator(device)
        return generator.manual_seed(seed) if seed is not None else generator.manual_seed(
            int(torch.seed() % 2 ** 62))

    def _checked_model(self, n_steps: int, k: int, temperature: float, n: int,
                       particles: int = 1) -> RnnRbm:
        """The model, once the sampling settings are checked (:mod:`rnnrbm_music.checks`): the
        frames to draw fit in memory, ``k`` and ``temperature`` are in range."""
        frames_to_draw(n_steps, n, particles)
        check_all(k=k, temperature=temperature)
        return self._model()

    def _torch_clamp(self, clamp) -> tuple[torch.Tensor, torch.Tensor] | None:
        """A (mask, values) clamp of arrays as boolean and float tensors on the model's device."""
        if clamp is None:
            return None
        mask, values = (torch.as_tensor(np.asarray(c), device=self._model().W.device)
                        for c in clamp)
        return mask.bool(), values.float()

    def _draw(self, n_steps: int, state: torch.Tensor | None, generator: torch.Generator,
              k: int, temperature: float, clamp=None, n: int = 1
              ) -> tuple[np.ndarray, torch.Tensor]:
        """The one sampler: ``n`` x ``n_steps`` boolean frames from ``state``, and the new state."""
        model = self._checked_model(n_steps, k, temperature, n)
        frames, state = model.sample(n_steps, state, k, generator, temperature,
                                     self._torch_clamp(clamp), n)
        return frames.bool().cpu().numpy(), state

    def _state_after(self, prime: PianoRoll | None, n: int = 1) -> torch.Tensor | None:
        if prime is None:
            return None
        model = self._model()
        history = torch.as_tensor(self.encode(prime), dtype=torch.float32, device=model.W.device)
        return model.condition(history).expand(n, -1)

    def sample_frames(self, n_steps: int, prime: PianoRoll | None = None, k: int = 25,
                      temperature: float = 1.0, seed: int | None = None,
                      clamp: tuple[np.ndarray, np.ndarray] | None = None,
                      n: int = 1, particles: int = 1) -> np.ndarray:
        """``n`` x ``n_steps`` x units boolean frames, after ``prime``'s frames if given;
        ``clamp = (mask, values)`` ((n_steps, units) each) holds chosen units of each frame
        fixed. With ``particles`` > 1 the free units are drawn given the clamps of *all* frames,
        later ones too, by sequential Monte Carlo (:mod:`.engine.lookahead`); with 1, each frame
        given its own clamp and the past."""
        if clamp is None or checked("particles", particles) == 1:
            frames, _ = self._draw(n_steps, self._state_after(prime, n), self._generator(seed), k,
                                   temperature, clamp, n)
            return frames
        model = self._checked_model(n_steps, k, temperature, n, particles)
        state = self._state_after(prime, 1)
        # The look-ahead of an RNN-RBM takes minutes on a long melody: say how far it has got.
        with Progress("composing with the look-ahead", n_steps, "frames") as shown:
            frames = sample_given_clamps(model, *self._torch_clamp(clamp), particles, n, k,
                                         self._generator(seed), temperature,
                                         None if state is None else state[0], shown.advance)
        return frames.bool().cpu().numpy()

    def stream_rolls(self, prime=None, chunk_steps: int = 16, k: int = 25,
                     temperature: float = 1.0, seed: int | None = None, key: str = "C major",
                     time_signature: str = "4/4", bpm: float = 120) -> Iterator[PianoRoll]:
        """An endless continuation (of ``prime``, or from scratch in ``key``), ``chunk_steps``
        frames at a time; only the recurrent state is kept between chunks, so memory stays
        bounded however long it runs. Used by live playing."""
        check_all(k=k, temperature=temperature, seed=seed)
        if prime is not None:
            context = self.to_roll(prime, "primer")
        else:
            context = self._scratch_context(key, time_signature, bpm)
        state = self._state_after(context if prime is not None else self._tonic_chord(context.key))
        generator = self._generator(seed)
        while True:
            frames, state = self._draw(chunk_steps, state, generator, k, temperature)
            yield self.decode(frames[0], context)

    # --- composing ------------------------------------------------------------------------------
    def generate_roll(self, n_steps: int = 64, k: int = 25, temperature: float = 1.0,
                      seed: int | None = None, key: str = "C major", time_signature: str = "4/4",
                      bpm: float = 120, n: int = 1, n_bars: int | None = None) -> list[PianoRoll]:
        """Like :meth:`generate`, as PianoRolls."""
        # The counts, k, temperature and seed are checked where the frames are drawn.
        context = self._scratch_context(key, time_signature, bpm)
        if n_bars is not None:
            n_steps = self._frames_of_bars(n_bars, context.time_signature)
        pieces = self._in_mode(n_steps, k, temperature, seed, n, context.key)
        return [self.decode(frames, context).replace(
                    key=found, title=f"Study in {keys.display_name(found)}"
                    + (f" no. {i + 1}" if n > 1 else ""))
                for i, (frames, found) in enumerate(pieces)]

    def _scratch_context(self, key: str, time_signature: str, bpm: float) -> PianoRoll:
        """An empty roll in ``key`` (moved to C where the model normalizes keys), meter and tempo,
        credited to the model: what music composed from scratch is decoded into. ValueError for
        a key, meter or tempo it cannot take."""
        name, time_signature, bpm = check_all(key=key, time_signature=time_signature, bpm=bpm)
        return PianoRoll(np.zeros((0, self._model().config.n_pitches), bool),
                         steps_per_quarter=self.steps_per_quarter, time_signature=time_signature,
                         bpm=bpm, key=name, composer=CREDIT,
                         transposition=keys.normalizing_interval(name) if self.normalize_key else 0)

    def _tonic_chord(self, key: str) -> PianoRoll | None:
        """Two frames of the tonic chord of C in ``key``'s mode (C3, E or E-flat 4, G4, C5), to
        start the model's recurrent state from, where it composes in C (``normalize_key``)."""
        if not self.normalize_key:
            return None
        third = 64 if keys.parse_key(key)[1] == "major" else 63
        frames = np.zeros((2, self._model().config.n_pitches), bool)
        frames[:, [pitch - PIANO_LOWEST for pitch in (48, third, 67, 72)]] = True
        return PianoRoll(frames, steps_per_quarter=self.steps_per_quarter)

    def _in_mode(self, n_steps: int, k: int, temperature: float, seed: int | None, n: int,
                 key: str) -> list[tuple[np.ndarray, str]]:
        """``n`` pieces of ``n_steps`` frames from scratch in ``key``'s mode, each with the
        name of its key.

        The model, which learned every piece moved to C major or C minor, composes after the
        tonic chord of the mode (:meth:`_tonic_chord`), which it mostly follows (the pretrained
        model: 17 of 20 pieces after C minor's, 20 of 20 after C major's). A piece music21's
        key algorithm finds in the other mode is drawn again, up to ``MODE_TRIES`` times in all
        (the retries' seeds derived from ``seed``), then kept with its key named for the mode it
        is in, and a warning. A model without ``normalize_key`` composes in any key: its pieces
        are kept as drawn, under ``key``."""
        prime = self._tonic_chord(key)
        drawn = self.sample_frames(n_steps, prime, k, temperature, seed, None, n)
        if prime is None:
            return [(frames, key) for frames in drawn]
        tonic, mode = keys.parse_key(key)
        pieces = []
        for i, first in enumerate(drawn):
            frames, found = first, self._mode_of(first)
            for tries in range(1, MODE_TRIES):
                if found in (None, mode):
                    break
                retry = None if seed is None else seed + 1_000_003 * tries + i
                frames = self.sample_frames(n_steps, prime, k, temperature, retry)[0]
                found = self._mode_of(frames)
            if found in (None, mode):
                pieces.append((frames, key))
                continue
            named = keys.key_name(tonic, self._mode_of(first))
            warnings.warn(f"piece {i + 1} came out in {named}, not {key}, in {MODE_TRIES} "
                          "tries: it is named and written in its own mode", stacklevel=4)
            pieces.append((first, named))
        return pieces

    def _mode_of(self, frames: np.ndarray) -> str | None:
        """"major" or "minor": the mode of the key music21's algorithm finds in frames the model
        drew (in C); None for silence."""
        roll = PianoRoll(frames[:, :self._model().config.n_pitches],
                         steps_per_quarter=self.steps_per_quarter)
        found = keys.detect_key(roll.pitch_class_histogram())
        return found and found.split()[1]

    def generate(self, n_steps: int = 64, k: int = 25, temperature: float = 1.0,
                 seed: int | None = None, key: str = "C major", time_signature: str = "4/4",
                 bpm: float = 120, n: int | None = None, n_bars: int | None = None):
        """Compose ``n_steps`` frames from scratch, or with ``n_bars`` that many whole bars of
        ``time_signature`` (then ``n_steps`` is ignored); a music21 Score (a list of ``n`` if
        given).

        The model composes in C (as it learned, with keys normalized); ``key`` moves the result
        to that tonic. For the mode, the model starts after the tonic chord of ``key``'s mode
        and a piece that comes out in the other mode is drawn again (see ``MODE_TRIES``); the
        title names the key as musicians write it ("Study in D♭ major").
        """
        check_all(n=1 if n is None else n)
        rolls = self.generate_roll(n_steps, k, temperature, seed, key, time_signature, bpm, n or 1,
                                   n_bars)
        return _one_or_list([to_stream(r) for r in rolls], n)

    def continue_roll(self, prime, n_steps: int = 64, k: int = 25, temperature: float = 1.0,
                      seed: int | None = None, include_prime: bool = True,
                      n: int = 1, key: str | None = None,
                      n_bars: int | None = None, cadence: bool = False,
                      particles: int = HARMONY_PARTICLES) -> list[PianoRoll]:
        """Like :meth:`continue_sequence`, as PianoRolls."""
        check_all(**({"n_bars": n_bars} if n_bars is not None else {"n_steps": n_steps}), k=k,
                  temperature=temperature, seed=seed, n=n, particles=particles)
        prime_roll = self.to_roll(prime, "primer", key)
        if n_bars is not None:   # to the primer's next bar line, then whole bars of its meter
            end = len(prime_roll)
            meter = prime_roll.time_signature_at(end)
            n_steps = self._frames_of_bars(n_bars, meter, prime_roll.downbeat_after(end) - end)
        if cadence:
            frames = self.sample_frames(n_steps, prime_roll, k, temperature, seed,
                                        self._final_tonic_chord(prime_roll, n_steps), n, particles)
        else:
            frames = self.sample_frames(n_steps, prime_roll, k, temperature, seed, None, n)
        # From the primer's end: its last meter and tempo, its bar lines (a pickup if it ends
        # inside a bar).
        after = prime_roll[len(prime_roll):]
        continuations = [self.decode(f, after) for f in frames]
        credits = _credits("Continuation", "continued", prime_roll)
        return [(prime_roll.concat(c) if include_prime else c).replace(**credits)
                for c in continuations]

    def continue_sequence(self, prime, n_steps: int = 64, k: int = 25, temperature: float = 1.0,
                          seed: int | None = None, include_prime: bool = True,
                          n: int | None = None, key: str | None = None,
                          n_bars: int | None = None, cadence: bool = False,
                          particles: int = HARMONY_PARTICLES):
        """Continue a primer (a music21 Stream, a file or a PianoRoll) for ``n_steps`` frames,
        or with ``n_bars`` to the end of the primer's last bar and ``n_bars`` whole bars more
        (then ``n_steps`` is ignored). With ``cadence`` it ends on the tonic chord of the
        primer's key for its last half note (the tonic on top and in the bass, the third
        between: :func:`tonic_cadence`), which the continuation is drawn to lead into by the
        look-ahead with ``particles`` particles (see :meth:`harmonize`).

        The primer's key (``key``: a name, ``"trust"`` for its key signature, or detected: see
        :meth:`to_roll`) is moved to the model's C; the recurrent state is
        seeded by running the RNN over the primer's frames; the continuation is sampled from
        there and moved back to the primer's key, in the primer's last meter and tempo, its bar
        lines going on where the primer's fall. With
        ``include_prime`` the score starts with the primer (as read onto the frame grid).
        """
        check_all(n=1 if n is None else n)
        rolls = self.continue_roll(prime, n_steps, k, temperature, seed, include_prime, n or 1,
                                   key, n_bars, cadence, particles)
        return _one_or_list([to_stream(r) for r in rolls], n)

    def harmonize_roll(self, melody, k: int = 25, temperature: float = 1.0,
                       seed: int | None = None, n: int = 1,
                       particles: int = HARMONY_PARTICLES,
                       key: str | None = None, cadence: bool = False) -> list[PianoRoll]:
        """Like :meth:`harmonize`, as PianoRolls (melody and harmony together)."""
        check_all(k=k, temperature=temperature, seed=seed, n=n, particles=particles)
        if hasattr(melody, "recurse"):   # a music21 stream (a path's .parts are not parts)
            warn_if_several_parts(len(getattr(melody, "parts", ())))
        melody_roll = self.to_roll(melody, "melody", key)
        mask, values = melody_clamp(melody_roll.frames)
        if cadence:
            tonic, mode = _key_of(melody_roll)
            _warn_if_no_tonic_ending(melody_roll, tonic, mode)
            mask, values = tonic_cadence(mask, values, melody_roll.frames,
                                         (tonic + melody_roll.transposition) % 12, mode,
                                         melody_roll.note_starts())
        clamp = self._clamp_units(mask, values, melody_roll.frames, melody_roll.note_starts())
        frames = self.sample_frames(len(melody_roll), None, k, temperature, seed, clamp, n,
                                    particles)
        credits = _credits("Harmonization", "harmonized", melody_roll)
        if self.articulation:
            return [self.decode(f, melody_roll).replace(**credits) for f in frames]
        # Every melody note is struck as in the melody, even where the harmony held its pitch.
        return [melody_roll.replace(frames=f, onsets=melody_roll.note_starts(), **credits)
                for f in frames]

    def _clamp_units(self, mask: np.ndarray, values: np.ndarray, melody: np.ndarray,
                     starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A clamp on pitches ((T, pitches) each) as the model's units: in the articulation
        layout the melody's onsets (``starts``) are held too and nothing is struck above it; a
        cadence's added notes sound, struck where the model strikes them."""
        if not self.articulation:
            return mask, values
        added = values & ~melody
        return (np.concatenate([mask, mask & ~added], axis=1),
                np.concatenate([values, starts], axis=1))

    def _final_tonic_chord(self, context: PianoRoll, n_steps: int
                           ) -> tuple[np.ndarray, np.ndarray]:
        """The clamp that ends ``n_steps`` frames after ``context`` on its key's tonic chord for
        a half note: the tonic on top (from G4 up), in the bass, and the third between."""
        tonic, mode = _key_of(context)
        tonic = (tonic + context.transposition) % 12
        final = min(n_steps, 2 * self.steps_per_quarter)
        top = 67 + (tonic - 67) % 12 - PIANO_LOWEST
        melody = np.zeros((n_steps, self._model().config.n_pitches), bool)
        melody[-final:, top] = True
        starts = np.zeros_like(melody)
        starts[-final, top] = True
        mask, values = melody_clamp(melody[-final:])
        mask, values = tonic_cadence(mask, values, melody[-final:], tonic, mode)
        whole_mask, whole_values = np.zeros_like(melody), np.zeros_like(melody)
        whole_mask[-final:], whole_values[-final:] = mask, values
        return self._clamp_units(whole_mask, whole_values, melody, starts)

    def harmonize(self, melody, k: int = 25, temperature: float = 1.0, seed: int | None = None,
                  n: int | None = None, particles: int = HARMONY_PARTICLES,
                  key: str | None = None, cadence: bool = False):
        """Harmonize a melody: its notes are held in every frame, nothing sounds above it, and
        the other notes are drawn from the model given the whole melody, where it goes next as
        well as where it has been: sequential Monte Carlo with ``particles`` harmonies followed
        at once (:mod:`.engine.lookahead`; 1: frame by frame, each frame given the melody so
        far). ``key``: the melody's key, a name or ``"trust"`` for its key signature (default:
        detected from its notes; see :meth:`to_roll`). With ``cadence`` the last melody note is
        harmonized by the tonic triad of the key, the tonic in the bass (:func:`tonic_cadence`),
        and the look-ahead leads into it. Every part of a score counts as melody: pass the one
        part (``score.parts[0]``) to harmonize it alone. Returns the melody with its harmony, in
        the melody's key and meter."""
        check_all(n=1 if n is None else n)
        rolls = self.harmonize_roll(melody, k, temperature, seed, n or 1, particles, key, cadence)
        return _one_or_list([to_stream(r) for r in rolls], n)

    # --- judging --------------------------------------------------------------------------------
    def evaluate(self, corpus, n_chains: int = 20, n_betas: int = 1000, seed: int = 0,
                 known=None, progress: bool = True) -> dict:
        """NLL per frame, expected frame accuracy and pseudo-likelihood on ``corpus``.

        Each frame's partition function sums the distinct frames of ``corpus`` (and of
        ``known``, e.g. the training corpus, which makes the estimate tighter) exactly, and
        ``n_chains`` AIS chains through ``n_betas`` temperatures estimate the rest
        (:func:`rnnrbm_music.evaluate.nll`). An RNN-NADE's NLL is exact, its accuracy comes
        from ``n_chains`` exact draws per frame, and it has no pseudo-NLL (None). With
        ``n_chains=0`` an RNN-RBM's NLL is a lower bound (the known frames alone in Z:
        ``nll_is_lower_bound``), and the figures that need the rest of Z (``nll_std``,
        ``accuracy``, ``known_share``, ``ais``) are None. ``progress`` shows the frames done
        with an estimate of the time left.

        >>> composer = RnnRbmComposer.pretrained()
        >>> figures = composer.evaluate(Corpus.from_music21("bach/bwv66.6"), n_chains=2, n_betas=20)
        >>> sorted(figures)[:5]
        ['accuracy', 'ais', 'frames', 'known_frames', 'known_share']
        >>> figures["layout"]              # the pretrained model learns onsets too
        '176 units: 88 sounding + 88 onset'
        """
        n_chains, n_betas, seed = check_all(n_chains=n_chains, n_betas=n_betas, seed=seed)
        data = [self.encode(roll) for roll in self._corpus(corpus)]
        known_data = [self.encode(roll) for roll in self._corpus(known)] if known is not None else []
        model = self._model()
        result = nll(model, data, n_chains=n_chains, n_betas=n_betas, known=known_data,
                     generator=torch.Generator(model.W.device).manual_seed(seed), progress=progress)
        rbm, bound = self.conditional == "rbm", self.conditional == "rbm" and n_chains == 0
        return {"layout": model.config.layout, "nll": result.nll,
                "nll_is_lower_bound": bound, "nll_std": None if bound else result.std,
                "frames": result.frames,
                "accuracy": None if bound else result.accuracy,
                "known_frames": result.known_frames,
                "known_share": None if bound else result.known_share,
                "pseudo_nll": -pseudo_likelihood(model, data) if rbm else None,
                "ais": {"n_chains": result.n_chains, "n_betas": result.n_betas,
                        "schedule": result.schedule} if not bound else None}

    # --- files ----------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the model to a ``.safetensors`` file (its settings in the metadata)."""
        result = self.fit_result_
        return checkpoint.save(path, self._model(), {
            **self._data_config(), "training": asdict(self.training),
            "epochs_trained": result.epochs_trained if result else None,
            "best_valid": result.best_valid if result else None,
            "history": self.history_})

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "auto") -> RnnRbmComposer:
        """A composer with the model of a file written by :meth:`save` (never unpickled)."""
        saved = checkpoint.load(path, resolve_device(checked("device", device)))
        data = saved.config.get("data", {})
        training = {k: v for k, v in saved.config.get("training", {}).items()
                    if k in _TRAINING_FIELDS}
        composer = cls(n_hidden=saved.model.config.n_hidden,
                       n_recurrent=saved.model.config.n_recurrent,
                       steps_per_quarter=int(data.get("steps_per_quarter", 2)),
                       normalize_key=bool(data.get("normalize_key", True)),
                       articulation=saved.model.config.articulation,
                       conditional=saved.model.config.conditional, order=saved.model.config.order,
                       device=device, **training)
        composer.model_ = saved.model
        composer.history_ = saved.config.get("history") or []
        return composer

    @classmethod
    def pretrained(cls, device: str = "auto", conditional: str = "rbm") -> RnnRbmComposer:
        """A small model that ships with the package, trained on music21's Bach chorales: the
        RNN-RBM (``conditional="rbm"``, the default) or the RNN-NADE (``"nade"``: exact, and
        harmonizes a hundred times as fast). Raises ValueError for another conditional."""
        if conditional not in PRETRAINED:
            raise ValueError(f"conditional must be one of {sorted(PRETRAINED)}, got {conditional!r}")
        return cls.load(PRETRAINED[conditional], device)


def _pitch_columns(corpus: Corpus) -> int:
    """Pitch columns of a corpus's rolls (all the same)."""
    widths = {roll.n_pitches for roll in corpus}
    if len(widths) != 1:
        raise ValueError(f"the corpus mixes pitch ranges of {sorted(widths)} columns")
    return widths.pop()


def melody_clamp(melody: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clamp for harmonizing: the melody's notes on, every pitch above the melody off.

    Above means above the highest melody note sounding in the frame or, in a rest, the last one
    that sounded (the first one before the melody starts).

    >>> melody = np.zeros((3, 6), bool); melody[0, 4] = melody[2, 2] = True
    >>> mask, values = melody_clamp(melody)
    >>> mask.astype(int)
    array([[0, 0, 0, 0, 1, 1],
           [0, 0, 0, 0, 0, 1],
           [0, 0, 1, 1, 1, 1]])
    >>> values.astype(int)[0]
    array([0, 0, 0, 0, 1, 0])
    """
    melody = np.asarray(melody, bool)
    T, P = melody.shape
    sounding = melody.any(axis=1)
    top = np.where(sounding, P - 1 - np.argmax(melody[:, ::-1], axis=1), -1)
    first = top[sounding][0] if sounding.any() else P - 1
    ceiling = np.maximum.accumulate(np.where(sounding, np.arange(T), -1))
    ceiling_pitch = np.where(ceiling >= 0, top[np.maximum(ceiling, 0)], first)
    above = np.arange(P)[None, :] > ceiling_pitch[:, None]
    mask = above | melody
    return mask, melody.copy()


def tonic_cadence(mask: np.ndarray, values: np.ndarray, melody: np.ndarray, tonic: int,
                  mode: str, starts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A harmonization clamp (``mask``, ``values``: (T, pitches) boolean, column 0 = MIDI note
    21) with its last melody note harmonized by the tonic triad: from that note's first frame to
    its last, every pitch outside the triad off, the tonic on in the bass (the octave from MIDI
    48 up, or the one below the melody's; none if the melody is too low for one) with nothing
    under it, and the third on below the melody note unless the melody sings a third (a major
    third in minor makes the chord major, Bach's tierce de Picardie). ``tonic``: the tonic's
    pitch class in the frames' pitch space (0 = C); ``mode``: "major" or "minor"; ``starts``
    (T, pitches): the melody's onsets, so that a last note repeating the one before begins where
    it is struck (default: where the pitch begins to sound). The frames before are left to the
    model, which (with the look-ahead) leads into the chord. Returns new arrays.

    >>> melody = np.zeros((4, 88), bool); melody[:2, 67 - 21] = True; melody[2:, 72 - 21] = True
    >>> mask, values = tonic_cadence(*melody_clamp(melody), melody, 0, "major")
    >>> [int(n) + 21 for n in np.flatnonzero(values[3])]   # C3, E4 under the melody's C5
    [48, 64, 72]
    >>> bool(mask[3, 62 - 21]), bool(mask[1, 62 - 21])     # a D is off in the final chord only
    (True, False)
    """
    mask, values = mask.copy(), values.copy()
    sounding = np.flatnonzero(melody.any(1))
    if not len(sounding):
        return mask, values
    last = sounding[-1]
    top = int(np.flatnonzero(melody[last])[-1])
    first = last
    while first > 0 and melody[first - 1, top] and not (starts is not None and starts[first, top]):
        first -= 1
    classes = (np.arange(melody.shape[1]) + PIANO_LOWEST) % 12
    sung = int(classes[top])
    thirds = {(tonic + 3) % 12, (tonic + 4) % 12}
    third = sung if sung in thirds else (tonic + (4 if mode == "major" else 3)) % 12
    outside = ~np.isin(classes, [tonic, third, (tonic + 7) % 12])
    bass = 48 + (tonic - 48) % 12 - PIANO_LOWEST           # the tonic from MIDI 48 up ...
    while bass >= top and bass >= 12:                       # ... or below the melody
        bass -= 12
    if bass >= top:                                         # no room for a bass under it
        bass = -1
    below = [c for c in range(top - 1, bass, -1) if classes[c] == third]
    for t in range(first, last + 1):
        mask[t] |= outside
        values[t] = melody[t].copy()
        if bass >= 0:
            mask[t, :bass + 1] = True
            values[t, bass] = True
        if sung not in thirds and below:
            mask[t, below[0]] = values[t, below[0]] = True
    return mask, values


def _key_of(roll: PianoRoll) -> tuple[int, str]:
    """(tonic pitch class as written, mode) of a roll's key; a roll without one (a PianoRoll
    built by hand) has it detected from its notes."""
    return keys.parse_key(roll.key or keys.apply_key(roll, False).key)


def _warn_if_no_tonic_ending(melody: PianoRoll, tonic: int, mode: str) -> None:
    """Warn where a melody's last note is no note of the tonic triad: a tonic cadence under it
    clashes."""
    sounding = np.flatnonzero(melody.frames.any(1))
    if not len(sounding):
        return
    from music21 import pitch

    written = int(np.flatnonzero(melody.frames[sounding[-1]])[-1]) + melody.lowest \
        - melody.transposition
    if (written - tonic) % 12 not in (0, 3, 4, 7):
        warnings.warn(f"the melody ends on {pitch.Pitch(midi=written).name}, no note of the "
                      f"{keys.key_name(tonic, mode)} triad: the tonic cadence clashes with it",
                      stacklevel=3)


def _credits(work: str, verb: str, source: PianoRoll) -> dict:
    """The title and composer of a piece made from ``source``: "Continuation of bwv66.6",
    "J.S. Bach, continued by rnnrbm-music"."""
    return {"title": f"{work} of {source.title}" if source.title else work,
            "composer": f"{source.composer}, {verb} by {CREDIT}" if source.composer else
            f"{verb.capitalize()} by {CREDIT}"}


def _one_or_list(items: list, n: int | None):
    return items if n is not None else items[0]
