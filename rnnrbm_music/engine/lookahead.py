"""Sampling the free units of a sequence of clamped frames given the *whole* clamp: a melody's
harmony that knows where the melody goes next.

Frame by frame, a clamped sampler draws frame t's free units from p(free_t | clamp_t, history),
so it may commit to a chord that the next melody note contradicts. The posterior over the
free units given every frame's clamp,

    p(free_1..T | clamp_1..T)  proportional to  prod_t p(v_t | v_<t),

is sampled here by sequential Monte Carlo (the fully adapted particle filter of Pitt & Shephard,
JASA 1999): P particles, each a history with its own recurrent state. At frame t each particle
is weighted by p(clamp_t | its history), the probability its frame conditional gives the clamped
units (``model.sample_clamped``: exact for an RNN-NADE with the clamped units first in its unit
order, estimated over the known frames for an RNN-RBM), and draws its free units from
p(free_t | clamp_t, history); particles are resampled (systematically) when the weights'
effective sample size falls below P / 2, so histories that the coming melody makes unlikely
give way to those it favours. At the end one particle is drawn by its weight. As P grows the
draw tends to the posterior; with P = 1 it is the frame-by-frame sampler.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def systematic_resample(log_w: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Ancestor indices (n, P) for n groups of P particles with log weights ``log_w`` (n, P):
    one uniform per group, P evenly spaced points through the cumulative weights (systematic
    resampling: unbiased, less noise than P independent draws).

    >>> systematic_resample(torch.tensor([[0.0, -float("inf"), 0.0, -float("inf")]])).tolist()
    [[0, 0, 2, 2]]
    """
    n, P = log_w.shape
    cumulative = torch.softmax(log_w, 1).cumsum(1)
    cumulative[:, -1] = 1.0                                 # no index past the end by rounding
    offset = torch.rand(n, 1, generator=generator, device=log_w.device, dtype=cumulative.dtype)
    points = (offset + torch.arange(P, device=log_w.device, dtype=cumulative.dtype)) / P
    return torch.searchsorted(cumulative, points.contiguous())


@torch.no_grad()
def sample_given_clamps(model, mask: Tensor, values: Tensor, particles: int = 32, n: int = 1,
                        k: int = 25, generator: torch.Generator | None = None,
                        temperature: float = 1.0, state: Tensor | None = None,
                        on_frame: Callable[[], None] | None = None) -> Tensor:
    """``n`` sequences of T frames whose units where ``mask`` (T, V) is true are ``values``
    (T, V), the others drawn from the model's posterior given every frame's clamp, by
    sequential Monte Carlo with ``particles`` particles per sequence (see the module). ``k``:
    Gibbs steps per frame for an RNN-RBM; ``state`` (U,) or (n, U): the recurrent state to start
    from (default u0); ``on_frame``, if given, is called after each frame (a progress
    display). Returns (n, T, V) frames on the model's device.
    """
    T, V = mask.shape
    P = max(1, particles)
    device = model.W.device
    mask, values = mask.to(device).bool(), values.to(device, model.W.dtype)
    u = model.initial_state(n * P) if state is None else (
        state.expand(n, -1).repeat_interleave(P, 0))
    frames = torch.zeros(n * P, T, V, device=device, dtype=model.W.dtype)
    log_w = torch.zeros(n, P, device=device, dtype=torch.float64)
    group = torch.arange(n, device=device)[:, None] * P
    known_input = model.known_frames @ model.W
    for t in range(T):
        bv, bh = model.frame_biases(u)
        v, log_p = model.sample_clamped(bv, bh, mask[t].expand(n * P, V),
                                        values[t].expand(n * P, V), k, generator, temperature,
                                        known_input)
        log_w = log_w + log_p.double().view(n, P)
        # A frame none of a sequence's particles can give its clamp tells nothing between them.
        hopeless = torch.isneginf(log_w).all(1)
        log_w[hopeless] = 0.0
        frames[:, t] = model.sounding(v)
        u = model.next_state(frames[:, t], u)
        weights = torch.softmax(log_w, 1)
        if t < T - 1 and P > 1:
            low = 1.0 / (weights ** 2).sum(1) < P / 2      # effective sample size
            if low.any():
                ancestors = torch.where(low[:, None], systematic_resample(log_w, generator),
                                        torch.arange(P, device=device)) + group
                frames, u = frames[ancestors.flatten()], u[ancestors.flatten()]
                log_w = torch.where(low[:, None], torch.zeros_like(log_w), log_w)
        if on_frame is not None:
            on_frame()
    chosen = torch.multinomial(torch.softmax(log_w, 1).float(), 1, generator=generator)[:, 0]
    return frames.view(n, P, T, V)[torch.arange(n, device=device), chosen]
