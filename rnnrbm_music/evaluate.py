"""How well a model predicts music: NLL per frame (AIS), expected frame accuracy, pseudo-likelihood.

All figures are pooled over every frame of every sequence (long pieces weigh more), as the
benchmarks of Boulanger-Lewandowski et al. (2012) report them. Each frame's RBM is conditioned
on the true history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .engine import RnnRbm, nade, rbm
from .progress import Progress


def _as_tensors(sequences: Sequence, device) -> list[Tensor]:
    """Each sequence (a PianoRoll, an array or a tensor on any device) as a float tensor."""
    frames = (getattr(s, "frames", s) for s in sequences)
    return [torch.as_tensor(f if torch.is_tensor(f) else np.asarray(f), dtype=torch.float32,
                            device=device) for f in frames]


@torch.no_grad()
def frame_rbms(model: RnnRbm, sequences: Sequence, batch: int = 64
               ) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
    """(frames, bv, bh) of every real frame, in groups of up to ``batch`` sequences: each frame
    with the biases of its RBM given the true history. Accepts PianoRolls or (T, V) arrays."""
    seqs = [s for s in _as_tensors(sequences, model.W.device) if len(s)]
    for start in range(0, len(seqs), batch):
        group = seqs[start:start + batch]
        padded = torch.nn.utils.rnn.pad_sequence(group, batch_first=True)
        bv, bh = model.frame_rbms(padded)
        mask = torch.nn.utils.rnn.pad_sequence(
            [torch.ones(len(s), dtype=torch.bool, device=padded.device) for s in group],
            batch_first=True)
        yield padded[mask], bv[mask], bh[mask]


@torch.no_grad()
def pseudo_likelihood(model: RnnRbm, sequences: Sequence) -> float:
    """Mean exact log pseudo-likelihood per frame, sum_i log P(v_i | v_-i, history): the
    training monitor (cheap and deterministic; an upper bound on nothing, but it tracks fit).

    >>> from rnnrbm_music.engine import RnnRbmConfig
    >>> model = RnnRbm(RnnRbmConfig(n_hidden=4, n_recurrent=3))
    >>> for p in (model.W, model.bv): _ = torch.nn.init.zeros_(p)
    >>> round(pseudo_likelihood(model, [np.zeros((5, 88))]), 4)    # 88 fair coins
    -60.997
    """
    total, count = 0.0, 0
    for v, bv, bh in frame_rbms(model, sequences):
        total += float(rbm.log_pseudo_likelihood(v, model.W, bv, bh).sum())
        count += len(v)
    return total / max(count, 1)


@dataclass
class Evaluation:
    """NLL per frame (nats) and expected frame accuracy, pooled over every frame, with the
    settings of the estimate behind them."""

    nll: float          #: mean over all frames of -log p(v_t | history)
    std: float          #: standard error of the mean, from the spread of each frame's log Z
    accuracy: float | None  #: mean over all frames of E[TP / (TP + FP + FN)] under p(v_t | history)
    frames: int
    known_frames: int   #: distinct frames summed exactly in every frame's Z
    known_share: float  #: mean share of Z those frames carry (the rest is AIS's estimate)
    n_chains: int
    n_betas: int
    schedule: str


@torch.no_grad()
def nll(model: RnnRbm, sequences: Sequence, n_chains: int = 20, n_betas: int = 1000,
        schedule: str = "sigmoid", frames_per_batch: int = 1000,
        generator: torch.Generator | None = None, known: Sequence = (),
        progress: bool = False) -> Evaluation:
    """-log p(v_t | v_<t) per frame averaged over every frame, F(v_t) + log Z_t, and the
    expected frame accuracy, from one estimate of each frame's distribution, many frames at
    once on the model's device.

    Each frame's Z_t sums the distinct frames of ``sequences``, of the model's own
    :attr:`~rnnrbm_music.engine.RnnRbm.known_frames` (its training frames) and of the optional
    ``known`` sequences (e.g. a training split) exactly and adds an annealed importance sampling estimate
    of the rest (:func:`rbm.log_partition`): AIS alone misses the sharp modes of a model trained
    on a corpus and underestimates the NLL (docs/benchmarks.md). The accuracy is the expectation
    over the same weighted states. ``progress`` shows the frames done with an estimate of the
    time left (:class:`~rnnrbm_music.progress.Progress`).

    >>> from rnnrbm_music.engine import RnnRbmConfig
    >>> model = RnnRbm(RnnRbmConfig(n_hidden=4, n_recurrent=3))
    >>> for p in model.parameters(): _ = torch.nn.init.zeros_(p)
    >>> result = nll(model, [np.zeros((5, 88))], n_chains=10, n_betas=10)
    >>> round(result.nll, 4), round(88 * float(np.log(2)), 4)
    (60.997, 60.997)

    An RNN-NADE's NLL is exact (:func:`exact_nll`; ``n_chains`` exact draws per frame give its
    accuracy, ``n_betas`` and ``known`` are not needed).
    """
    if model.config.conditional == "nade":
        return exact_nll(model, sequences, n_chains, frames_per_batch, generator, progress)
    dictionary = distinct_frames([*sequences, *known, model.known_frames], model.W.device)
    total, variance, correct, share, count = 0.0, 0.0, 0.0, 0.0, 0
    for v, bv, bh, partly_done in _frame_batches(model, sequences, frames_per_batch, progress):
        states = rbm.log_partition(model.W, bv, bh, dictionary, n_chains, n_betas, schedule,
                                   generator, on_step=partly_done)
        free = rbm.free_energy(v, model.W, bv, bh).double()
        total += float((free + states.log_z).sum())
        variance += float((states.std ** 2).sum())
        correct += float(states.expectation(pairwise_accuracy(dictionary, v).double(),
                                            accuracy(states.samples, v[:, None]).double()).sum())
        share += float(states.known_share.sum())
        count += len(v)
    n = max(count, 1)
    return Evaluation(total / n, variance ** 0.5 / n, correct / n, count, len(dictionary),
                      share / n, n_chains, n_betas, schedule)


def distinct_frames(sequences: Sequence, device=None) -> Tensor:
    """The distinct frames of ``sequences`` (PianoRolls or (T, V) arrays), one per row.

    >>> distinct_frames([np.array([[0, 1], [0, 1], [1, 0]])]).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    frames = [s for s in _as_tensors(sequences, device) if len(s)]
    if not frames:
        raise ValueError("no frames to evaluate")
    return torch.unique(torch.cat(frames), dim=0)


def _accuracy_of_counts(tp: Tensor, predicted: Tensor, target: Tensor) -> Tensor:
    """TP / (TP + FP + FN) from TP and the sizes of both frames; 1 where both are silent."""
    denominator = predicted + target - tp
    return torch.where(denominator > 0, tp / denominator.clamp_min(1), torch.ones_like(tp))


def accuracy(predicted: Tensor, target: Tensor) -> Tensor:
    """Bay et al.'s frame accuracy TP / (TP + FP + FN) of each frame; 1 where both are silent.

    >>> accuracy(torch.tensor([[1., 1, 0], [0, 0, 0]]), torch.tensor([[1., 0, 1], [0, 0, 0]]))
    tensor([0.3333, 1.0000])
    """
    return _accuracy_of_counts((predicted * target).sum(-1), predicted.sum(-1), target.sum(-1))


def pairwise_accuracy(predicted: Tensor, target: Tensor) -> Tensor:
    """The accuracy of each of K predicted frames (K, V) against each of n targets (n, V): (n, K).

    >>> pairwise_accuracy(torch.tensor([[1., 1, 0], [0, 0, 0]]), torch.tensor([[1., 0, 1]]))
    tensor([[0.3333, 0.0000]])
    """
    return _accuracy_of_counts(target @ predicted.T, predicted.sum(-1)[None], target.sum(-1)[:, None])


def _frame_batches(model: RnnRbm, sequences: Sequence, frames_per_batch: int, progress: bool
                   ) -> Iterator[tuple[Tensor, Tensor, Tensor, Callable[[float], None]]]:
    """The (frames, bv, bh) of :func:`frame_rbms` in groups of up to ``frames_per_batch``
    frames, each with a callback that hears the share of the group's work done (AIS's
    temperatures); with ``progress`` the frames count as done by those shares, and wholly when
    the next group is asked for."""
    total = sum(len(getattr(s, "frames", s)) for s in sequences)
    with Progress("evaluating", total, "frames", enabled=progress) as shown:
        for v, bv, bh in frame_rbms(model, sequences):
            for start in range(0, len(v), frames_per_batch):
                part = slice(start, start + frames_per_batch)
                before, size = shown.count, len(v[part])

                def partly_done(share: float, before=before, size=size) -> None:
                    shown.advance(before + int(share * size) - shown.count)

                yield v[part], bv[part], bh[part], partly_done
                shown.advance(before + size - shown.count)


@torch.no_grad()
def exact_nll(model, sequences: Sequence, samples: int = 20, frames_per_batch: int = 1000,
              generator: torch.Generator | None = None, progress: bool = False) -> Evaluation:
    """An RNN-NADE's -log p(v_t | v_<t) per frame, exact, and its expected frame accuracy
    estimated from ``samples`` exact draws of each frame's distribution (0: none, None);
    ``progress`` as for :func:`nll`.

    >>> from rnnrbm_music.engine import RnnNade, RnnRbmConfig
    >>> model = RnnNade(RnnRbmConfig(n_hidden=4, n_recurrent=3, conditional="nade"))
    >>> for p in model.parameters(): _ = torch.nn.init.zeros_(p)
    >>> round(exact_nll(model, [np.zeros((5, 88))], samples=0).nll, 3)     # 88 fair coins
    60.997
    """
    order = model.unit_order()
    total, correct, count = 0.0, 0.0, 0
    for v, bv, bh, _ in _frame_batches(model, sequences, frames_per_batch, progress):
        total -= float(nade.log_prob(v, model.W, model.V, bv, bh, order).sum())
        if samples:
            draws = nade.sample(model.W, model.V, bv.repeat_interleave(samples, 0),
                                bh.repeat_interleave(samples, 0), generator,
                                order=order).view(len(v), samples, -1)
            correct += float(accuracy(draws, v[:, None]).double().mean(1).sum())
        count += len(v)
    n = max(count, 1)
    return Evaluation(total / n, 0.0, correct / n if samples else None, count, 0, 1.0, samples, 0,
                      "exact")


def monitor(model, sequences: Sequence) -> float:
    """The per-epoch validation figure, lower is better: the exact NLL per frame for an
    RNN-NADE, the negative log pseudo-likelihood per frame for an RNN-RBM (whose NLL needs an
    estimate)."""
    if model.config.conditional == "nade":
        return exact_nll(model, sequences, samples=0).nll
    return -pseudo_likelihood(model, sequences)


def frame_accuracy(model: RnnRbm, sequences: Sequence, samples: int = 20, n_betas: int = 1000,
                   generator: torch.Generator | None = None, known: Sequence = ()) -> float:
    """Expected frame accuracy of predicting each frame from the true history: the mean over
    frames of E[TP / (TP + FP + FN)] under the frame's distribution, estimated as in :func:`nll`
    (the distinct frames of ``sequences`` and ``known`` exactly, ``samples`` AIS chains per
    frame for the rest; ``samples=0`` sums the known frames alone, a cheap approximation).

    Gibbs chains do not sample these distributions: on the Nottingham v3 model, chains from the
    previous frame still returned it in 96 % of the draws after 25 steps and 57 % after 5,000,
    where the model gives it about 37 % (docs/benchmarks.md)."""
    return nll(model, sequences, samples, n_betas, generator=generator, known=known).accuracy
