"""How well a model predicts music: NLL per frame (AIS), expected frame accuracy, pseudo-likelihood.

All figures are pooled over every frame of every sequence (long pieces weigh more), as the
benchmarks of Boulanger-Lewandowski et al. (2012) report them. Each frame's RBM is conditioned
on the true history.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .engine import RnnRbm, rbm


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
    for padded, mask, bv, bh in _padded_groups(model, sequences, batch):
        yield padded[mask], bv[mask], bh[mask]


def _padded_groups(model: RnnRbm, sequences: Sequence, batch: int
                   ) -> Iterator[tuple[Tensor, Tensor, Tensor, Tensor]]:
    """(padded frames, mask of real frames, bv, bh) for groups of up to ``batch`` sequences."""
    seqs = [s for s in _as_tensors(sequences, model.W.device) if len(s)]
    for start in range(0, len(seqs), batch):
        group = seqs[start:start + batch]
        padded = torch.nn.utils.rnn.pad_sequence(group, batch_first=True)
        bv, bh = model.frame_rbms(padded)
        mask = torch.nn.utils.rnn.pad_sequence(
            [torch.ones(len(s), dtype=torch.bool, device=padded.device) for s in group],
            batch_first=True)
        yield padded, mask, bv, bh


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
class NllResult:
    """Negative log-likelihood per frame (nats), pooled, and the AIS settings behind it."""

    nll: float          #: mean over all frames of -log p(v_t | history)
    std: float          #: standard error of the mean, from AIS's spread on each frame's log Z
    frames: int
    n_chains: int
    n_betas: int
    schedule: str


@torch.no_grad()
def nll(model: RnnRbm, sequences: Sequence, n_chains: int = 20, n_betas: int = 1000,
        schedule: str = "sigmoid", frames_per_batch: int = 1000,
        generator: torch.Generator | None = None) -> NllResult:
    """-log p(v_t | v_<t) per frame averaged over every frame: F(v_t) + log Z_t, each frame's
    log Z_t by annealed importance sampling, many frames at once on the model's device.

    >>> from rnnrbm_music.engine import RnnRbmConfig
    >>> model = RnnRbm(RnnRbmConfig(n_hidden=4, n_recurrent=3))
    >>> for p in model.parameters(): _ = torch.nn.init.zeros_(p)
    >>> result = nll(model, [np.zeros((5, 88))], n_chains=10, n_betas=10)
    >>> round(result.nll, 4), round(88 * float(np.log(2)), 4)
    (60.997, 60.997)
    """
    total, variance, count = 0.0, 0.0, 0
    for v, bv, bh in frame_rbms(model, sequences):
        for start in range(0, len(v), frames_per_batch):
            vs, bvs, bhs = v[start:start + frames_per_batch], bv[start:start + frames_per_batch], \
                bh[start:start + frames_per_batch]
            estimate = rbm.ais_log_partition(model.W, bvs, bhs, n_chains, n_betas, schedule,
                                             generator)
            free = rbm.free_energy(vs, model.W, bvs, bhs).double()
            total += float((free + estimate.log_z).sum())
            variance += float((estimate.std ** 2).sum())
            count += len(vs)
    return NllResult(total / max(count, 1), variance ** 0.5 / max(count, 1), count, n_chains,
                     n_betas, schedule)


def accuracy(predicted: Tensor, target: Tensor) -> Tensor:
    """Bay et al.'s frame accuracy TP / (TP + FP + FN) of each frame; 1 where both are silent.

    >>> accuracy(torch.tensor([[1., 1, 0], [0, 0, 0]]), torch.tensor([[1., 0, 1], [0, 0, 0]]))
    tensor([0.3333, 1.0000])
    """
    tp = (predicted * target).sum(-1)
    fp = (predicted * (1 - target)).sum(-1)
    fn = ((1 - predicted) * target).sum(-1)
    denominator = tp + fp + fn
    return torch.where(denominator > 0, tp / denominator.clamp_min(1), torch.ones_like(tp))


@torch.no_grad()
def frame_accuracy(model: RnnRbm, sequences: Sequence, samples: int = 10, k: int = 25,
                   generator: torch.Generator | None = None) -> float:
    """Expected frame accuracy of predicting each frame from the true history: each frame is
    sampled ``samples`` times from its RBM, and the accuracy is averaged over samples and pooled
    over frames.

    Each ``k``-step Gibbs chain starts from the previous true frame (part of the history; an
    empty frame at a piece's start). A chain from an empty frame does not reach the model's
    distribution in any affordable number of steps on a sharp model: on Nottingham it gave 34 %
    after 25 steps and was still climbing at 1,000 (52 %), while chains from the previous frame
    give the same 66 % at 25 and at 1,000 steps, the figure that chains from any start approach
    after 10,000 (docs/benchmarks.md)."""
    total, count = 0.0, 0
    for padded, mask, bv, bh in _padded_groups(model, sequences, batch=64):
        v, bv, bh = padded[mask], bv[mask], bh[mask]
        previous = torch.cat([torch.zeros_like(padded[:, :1]), padded[:, :-1]], dim=1)[mask]
        for _ in range(samples):
            predicted = rbm.gibbs(previous, model.W, bv, bh, k, generator)
            total += float(accuracy(predicted, v).sum())
        count += len(v)
    return total / max(count * samples, 1)
