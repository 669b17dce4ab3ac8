"""The NADE (Larochelle & Murray, AISTATS 2011) as the conditional of one frame, pure torch.

A NADE over V binary units factors a frame's probability in a unit order o(1..V):

    h_i = sigmoid(bh + sum_{j<i} v_j W_j),      p(v_i = 1 | v_<i) = sigmoid(bv_i + V_i . h_i)

with input weights ``W`` (V, H) and output weights ``V`` (V, H), row i for unit i, and biases
``bv`` (V) and ``bh`` (H) that the RNN-NADE of Boulanger-Lewandowski et al. (ICML 2012) takes
from its recurrent state, frame by frame. The hidden pre-activation is carried as a running
sum, so a frame costs O(V H) (the "running-sum trick" of the NADE paper), whether its
probability is computed or the frame sampled, and both are exact: no partition function, no
Gibbs chain. Every function takes a batch of N frames, each with its own biases.

The order is a permutation of the units: ascending pitch by default; descending puts the
highest pitch first, so that a melody on top and the silence above it (the units a
harmonization fixes) come first and the harmony is sampled exactly from its conditional.

>>> import torch
>>> W, V = torch.zeros(4, 3), torch.zeros(4, 3)
>>> log_prob(torch.tensor([[1., 0, 1, 1]]), W, V, torch.zeros(1, 4), torch.zeros(1, 3))
tensor([-2.7726])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def unit_order(n_units: int, descending: bool = False, device=None) -> Tensor:
    """The units in the order the NADE visits them: 0..n-1, or n-1..0 with ``descending``.

    >>> unit_order(4, descending=True).tolist()
    [3, 2, 1, 0]
    """
    order = torch.arange(n_units, device=device)
    return order.flip(0) if descending else order


def log_prob(v: Tensor, W: Tensor, V: Tensor, bv: Tensor, bh: Tensor,
             order: Tensor | None = None) -> Tensor:
    """log p(v) in nats of frames ``v`` (N, units) under NADEs with biases ``bv`` (N, units) and
    ``bh`` (N, H), weights ``W`` and ``V`` (units, H), visiting units in ``order`` (default
    ascending). Returns (N,). Differentiable in every argument but ``v``.
    """
    return unit_log_probs(v, W, V, bv, bh, order).sum(1)


def unit_log_probs(v: Tensor, W: Tensor, V: Tensor, bv: Tensor, bh: Tensor,
                   order: Tensor | None = None, temperature: float = 1.0) -> Tensor:
    """log p(v_i | v_<i) in nats of every unit of frames ``v`` (N, units), "<" in ``order``,
    with each log-odds divided by ``temperature``: (N, units), in unit (pitch) order; their
    sum over units is :func:`log_prob`.

    The hidden layer h_i changes only after a unit that is on, so a frame with k notes has
    k + 1 distinct hidden vectors, one per run of units between notes ("segments"). They are
    computed once each, as a batch of matrix products: O(k V H) per frame instead of the
    sequential O(V H) of V small steps, which on music (a handful of notes among 88 units) is
    both fewer operations and a few large ones. Exact for any frame.
    """
    if order is not None:
        v, W, V, bv = v[:, order], W[order], V[order], bv[:, order]
    # Frames with the same number of notes have as many segments: computed together, no frame
    # pays for the segments of a fuller one.
    counts = v.sum(1).long()
    logs = torch.empty_like(bv)
    for count in torch.unique(counts).tolist():
        rows = torch.nonzero(counts == count)[:, 0]
        logs = logs.index_put((rows,), _segment_log_probs(v[rows], count, W, V, bv[rows],
                                                          bh[rows], temperature))
    return logs if order is None else logs[:, torch.argsort(order)]


def _segment_log_probs(v: Tensor, count: int, W: Tensor, V: Tensor, bv: Tensor, bh: Tensor,
                       temperature: float) -> Tensor:
    """:func:`unit_log_probs` of frames ``v`` (N, units) with ``count`` notes each, already in
    visiting order."""
    notes = torch.nonzero(v)[:, 1].view(len(v), count)            # (N, count), in order
    # Segment s's hidden input sums the W rows of the first s notes: a running sum over notes.
    running = torch.cat([torch.zeros_like(bh)[:, None], W[notes].cumsum(1)], 1)
    hidden = torch.sigmoid(bh[:, None, :] + running)              # (N, count + 1, H)
    segment = (v.cumsum(1) - v).long()                            # notes before each unit
    out = (hidden @ V.T).gather(1, segment[:, None, :])[:, 0]     # V_i . h_i  (N, units)
    return -F.binary_cross_entropy_with_logits((bv + out) / temperature, v, reduction="none")


@torch.no_grad()
def sample(W: Tensor, V: Tensor, bv: Tensor, bh: Tensor, generator: torch.Generator | None = None,
           temperature: float = 1.0, mask: Tensor | None = None, values: Tensor | None = None,
           order: Tensor | None = None) -> Tensor:
    """One frame from each of N NADEs (biases ``bv`` (N, units), ``bh`` (N, H)), drawn unit by
    unit in ``order`` (ancestral sampling: exact, one pass). ``temperature`` divides every
    unit's log-odds. Units where ``mask`` (N, units) is true are set to ``values`` instead of
    drawn; the units after them are drawn given them. So the draw is exactly from the
    conditional given the fixed units when these come first in the order; a fixed unit later in
    the order is not taken into account by the units drawn before it. Returns (N, units).

    Each unit i is on when its uniform u_i < p_i. Until a unit turns on, the hidden layer, hence
    every later unit's p_i, stays what it is; so one matrix product gives p for all the units
    left, the first unit past the last note with u_i < p_i (or fixed on) is the next note, and
    those between are off, as unit-by-unit sampling with the same uniforms would have set them.
    A frame costs one product per note plus one, not one step per unit.
    """
    n, units = bv.shape
    if order is not None:
        W, V, bv = W[order], V[order], bv[:, order]
    # u < sigmoid(x / T)  <=>  x > T logit(u): each unit's threshold on its logit, drawn once;
    # a fixed unit's is -inf (on) or +inf (off).
    uniforms = torch.rand(n, units, generator=generator, device=bv.device, dtype=bv.dtype)
    threshold = temperature * (uniforms.log() - (-uniforms).log1p())
    if mask is not None:
        fixed = mask if order is None else mask[:, order]
        fixed_on = (values if order is None else values[:, order]).bool()
        threshold = torch.where(fixed, torch.where(fixed_on, -torch.inf, torch.inf), threshold)
    frame = bv.new_zeros(n, units)
    running = bh
    positions = torch.arange(units, device=bv.device)
    output_weights = V.T.contiguous()
    while True:
        logits = torch.addmm(bv, torch.sigmoid(running), output_weights)
        found, note = torch.max(logits > threshold, 1)       # the first unit that turns on
        if not found.any():
            break
        struck = torch.zeros_like(frame).scatter_(1, note[:, None], found[:, None].to(frame.dtype))
        frame += struck
        running = torch.addmm(running, struck, W)
        # The units up to the new note are decided: none of them can turn on any more.
        threshold = torch.where(positions <= note[:, None], torch.inf, threshold)
    return frame if order is None else frame[:, torch.argsort(order)]


def fixed_units_first(mask: Tensor, order: Tensor | None = None) -> bool:
    """Whether the units where ``mask`` (N, units) is true come before all the others in
    ``order`` (default ascending), in every row: then :func:`sample` draws the rest exactly from
    their conditional given them."""
    ordered = mask if order is None else mask[:, order]
    return bool((ordered[:, 1:] <= ordered[:, :-1]).all())


@torch.no_grad()
def sample_given(W: Tensor, V: Tensor, bv: Tensor, bh: Tensor, mask: Tensor, values: Tensor,
                 generator: torch.Generator | None = None, temperature: float = 1.0,
                 order: Tensor | None = None, proposals: int = 64) -> tuple[Tensor, Tensor]:
    """One frame from each of N NADEs given the units where ``mask`` (N, units) is true, set
    to ``values``: a draw from p(rest | fixed), and log p(fixed) in nats, the probability the
    NADE gives the fixed units (what a look-ahead weighs a history by). Both exact where the
    fixed units come first in the order (:func:`fixed_units_first`, e.g. a melody on top and
    the silence above it in descending order), where :func:`sample` is exact.

    Elsewhere a unit drawn before a fixed one does not know it, so :func:`sample` is only a
    proposal q; this draws ``proposals`` frames from it and keeps one with probability
    proportional to p(v) / q(v), the product of the fixed units' conditionals p(v_i | v_<i)
    (sampling-importance-resampling, Rubin 1988), and the mean of those weights is an unbiased
    estimate of p(fixed). The draw tends to the exact conditional as ``proposals`` grows; its
    bias is of order 1 / ``proposals`` times the variance of the weights. Returns the frames
    (N, units) and log p(fixed) (N,).
    """
    if fixed_units_first(mask, order):
        drawn = sample(W, V, bv, bh, generator, temperature, mask, values, order)
        return drawn, (unit_log_probs(drawn, W, V, bv, bh, order, temperature) * mask).sum(1)
    n = bv.shape[0]
    repeat = [t.repeat_interleave(proposals, 0) for t in (bv, bh, mask, values)]
    drawn = sample(W, V, repeat[0], repeat[1], generator, temperature, repeat[2], repeat[3], order)
    weights = (unit_log_probs(drawn, W, V, repeat[0], repeat[1], order, temperature)
               * repeat[2]).sum(1).view(n, proposals)
    chosen = torch.multinomial(torch.softmax(weights, 1), 1, generator=generator)[:, 0]
    log_marginal = torch.logsumexp(weights, 1) - math.log(proposals)
    return drawn.view(n, proposals, -1)[torch.arange(n, device=bv.device), chosen], log_marginal
