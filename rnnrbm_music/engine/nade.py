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
    order = unit_order(v.shape[-1], device=v.device) if order is None else order
    total = v.new_zeros(v.shape[0])
    running = bh
    for i in order.tolist():
        logit = bv[:, i] + torch.sigmoid(running) @ V[i]
        total = total - F.binary_cross_entropy_with_logits(logit, v[:, i], reduction="none")
        running = running + v[:, i, None] * W[i]
    return total


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
    """
    n, units = bv.shape
    order = unit_order(units, device=bv.device) if order is None else order
    frame = bv.new_zeros(n, units)
    running = bh
    for i in order.tolist():
        p = torch.sigmoid((bv[:, i] + torch.sigmoid(running) @ V[i]) / temperature)
        unit = (torch.rand(n, generator=generator, device=bv.device, dtype=bv.dtype) < p).to(bv.dtype)
        if mask is not None:
            unit = torch.where(mask[:, i], values[:, i].to(bv.dtype), unit)
        frame[:, i] = unit
        running = running + unit[:, None] * W[i]
    return frame
