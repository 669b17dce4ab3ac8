"""Batches of binary RBMs that share one weight matrix but each have their own biases.

In the RNN-RBM every time step t has its own RBM: the weights ``W`` (visible x hidden) are shared
and the biases ``bv[t]``, ``bh[t]`` come from the recurrent state. Every function here takes a
leading batch of such RBMs: ``v`` is ``(..., V)``, ``bv`` is ``(..., V)`` and ``bh`` is
``(..., H)``, broadcast together.

Bernoulli units are sampled as ``rand < p`` from one ``torch.Generator``: several times faster on
the CPU than ``torch.bernoulli``, and reproducible.

>>> import torch
>>> g = torch.Generator().manual_seed(0)
>>> W, bv, bh = torch.zeros(4, 3), torch.zeros(4), torch.zeros(3)
>>> round(float(exact_log_partition(W, bv, bh)), 4)   # 2^(4+3) states of equal weight: 7 ln 2
4.852
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


def free_energy(v: Tensor, W: Tensor, bv: Tensor, bh: Tensor) -> Tensor:
    """F(v) = -v.bv - sum_j softplus(bh_j + (vW)_j), one value per RBM of the batch.

    >>> float(free_energy(torch.ones(2), torch.zeros(2, 1), torch.ones(2), torch.zeros(1)))
    -2.6931471824645996
    """
    return -(v * bv).sum(-1) - F.softplus(v @ W + bh).sum(-1)


def hidden_probabilities(v: Tensor, W: Tensor, bh: Tensor, temperature: float = 1.0) -> Tensor:
    """P(h_j = 1 | v) = sigmoid((bh + vW) / temperature)."""
    return torch.sigmoid((v @ W + bh) / temperature)


def visible_probabilities(h: Tensor, W: Tensor, bv: Tensor, temperature: float = 1.0) -> Tensor:
    """P(v_i = 1 | h) = sigmoid((bv + h W^T) / temperature)."""
    return torch.sigmoid((h @ W.T + bv) / temperature)


class _Bernoulli:
    """Samples ``uniform < p`` into reusable buffers (large CPU allocations page-fault every time).

    On the CPU in float32 the uniforms are drawn as integers, ``64 / bits`` of them per 64-bit
    ``random_`` draw, and compared with p scaled to the integer range: with ``bits=32`` the same
    test as ``torch.rand(...) < p`` at float32's resolution, at a third of its cost; ``bits=16``
    halves that again and rounds p to the nearest multiple of 2^-16 (used for the CD-k negative
    phase in training, where such a rounding is far below the noise of the estimate). Elsewhere
    (GPU, float64) it is ``torch.rand(...) < p``.
    """

    def __init__(self, shape: torch.Size, dtype: torch.dtype, device: torch.device,
                 bits: int = 32):
        if bits not in (16, 32):
            raise ValueError("uniforms have 16 or 32 bits")
        self.integer = device.type == "cpu" and dtype == torch.float32
        size = math.prod(shape)
        self.shape = shape
        self.out = torch.empty(shape, dtype=dtype, device=device)
        if self.integer:
            per_draw = 64 // bits
            self.bits = torch.empty((size + per_draw - 1) // per_draw, dtype=torch.int64)
            view = torch.int32 if bits == 32 else torch.int16
            self.uniform = self.bits.view(view)[:size].view(shape)
            # uniform < scale * p - offset  <=>  (uniform + 2^(bits-1)) / 2^bits < p (rounded)
            self.scale = float(2 ** bits)
            self.offset = float(2 ** (bits - 1)) + (0.5 if bits == 16 else 0.0)
        else:
            self.uniform = torch.empty(shape, dtype=dtype, device=device)

    def __call__(self, p: Tensor, generator: torch.Generator | None) -> Tensor:
        """Samples for probabilities ``p``, which is overwritten. Returns a buffer reused next call."""
        if self.integer:
            self.bits.random_(-2 ** 63, 2 ** 63 - 1, generator=generator)
            p.mul_(self.scale).sub_(self.offset)
        else:
            torch.rand(self.shape, generator=generator, out=self.uniform)
        return torch.lt(self.uniform, p, out=self.out)


def _flatten(*tensors: Tensor) -> tuple[torch.Size, list[Tensor]]:
    """Broadcast the leading (batch) dimensions of ``tensors`` together and flatten them:
    returns the batch shape and each tensor as (batch size, its last dimension)."""
    batch = torch.broadcast_shapes(*(t.shape[:-1] for t in tensors))
    return batch, [t.expand(*batch, t.shape[-1]).reshape(-1, t.shape[-1]) for t in tensors]


@torch.no_grad()
def gibbs(v: Tensor, W: Tensor, bv: Tensor, bh: Tensor, k: int,
          generator: torch.Generator | None = None, temperature: float = 1.0,
          clamp_mask: Tensor | None = None, clamp_values: Tensor | None = None,
          uniform_bits: int = 32) -> Tensor:
    """``k`` steps of block Gibbs sampling v -> h -> v from ``v``; returns the last visible sample.

    Visible units where ``clamp_mask`` is true are held at ``clamp_values`` throughout (the
    chain then samples the others from their conditional given the clamped ones). Dividing the
    energies by ``temperature`` flattens (> 1) or sharpens (< 1) the distribution.

    >>> W = torch.zeros(3, 2); bv = torch.tensor([20., -20., 0.]); bh = torch.zeros(2)
    >>> g = torch.Generator().manual_seed(1)
    >>> gibbs(torch.zeros(4, 3), W, bv, bh, k=1, generator=g)[:, :2]
    tensor([[1., 0.],
            [1., 0.],
            [1., 0.],
            [1., 0.]])
    """
    V, H = W.shape
    batch, (v, bv, bh) = _flatten(v, bv, bh)
    n = math.prod(batch)
    if temperature != 1.0:
        W, bv, bh = W / temperature, bv / temperature, bh / temperature
    WT = W.T.contiguous()
    if clamp_mask is not None:
        clamp_mask, clamp_values = (c.expand(*batch, V).reshape(n, V)
                                    for c in (clamp_mask, clamp_values.to(v.dtype)))
        v = torch.where(clamp_mask, clamp_values, v)
    hidden, visible = torch.empty(n, H, dtype=v.dtype, device=v.device), torch.empty_like(v)
    sample_h = _Bernoulli(hidden.shape, v.dtype, v.device, uniform_bits)
    sample_v = _Bernoulli(visible.shape, v.dtype, v.device, uniform_bits)
    for _ in range(k):
        h = sample_h(torch.addmm(bh, v, W, out=hidden).sigmoid_(), generator)
        v = sample_v(torch.addmm(bv, h, WT, out=visible).sigmoid_(), generator)
        if clamp_mask is not None:
            v = torch.where(clamp_mask, clamp_values, v)
    return v.clone().reshape(*batch, V)


def cd_loss(v: Tensor, W: Tensor, bv: Tensor, bh: Tensor, k: int,
            generator: torch.Generator | None = None, weights: Tensor | None = None) -> Tensor:
    """The CD-k cost: mean of F(v) - F(v_k), with v_k a k-step Gibbs sample from v held constant.

    Its gradient is the CD-k estimate of the negative log-likelihood gradient with respect to
    ``W``, ``bv`` and ``bh`` (and, through the biases, anything they were computed from).
    ``weights`` (one per RBM, e.g. a padding mask) make the mean a weighted one. The chain
    draws 16-bit uniforms (see ``_Bernoulli``).
    """
    negative = gibbs(v.detach(), W.detach(), bv.detach(), bh.detach(), k, generator,
                     uniform_bits=16)
    cost = free_energy(v, W, bv, bh) - free_energy(negative, W, bv, bh)
    if weights is None:
        return cost.mean()
    return (cost * weights).sum() / weights.sum().clamp_min(1)


def log_pseudo_likelihood(v: Tensor, W: Tensor, bv: Tensor, bh: Tensor,
                          chunk: int = 256) -> Tensor:
    """Exact log pseudo-likelihood sum_i log P(v_i | v_-i) of each visible vector.

    Flipping unit i changes F by s_i bv_i + sum_j [softplus(a_j + s_i W_ij) - softplus(a_j)]
    with a = bh + vW and s_i = 1 - 2 v_i, computed for every unit at once.

    >>> W = torch.zeros(2, 1); v = torch.tensor([1., 0.])
    >>> float(log_pseudo_likelihood(v, W, torch.zeros(2), torch.zeros(1)))   # 2 fair coins
    -1.3862943649291992
    """
    shape, (v2, bv2, bh2) = _flatten(v, bv, bh)
    out = torch.empty(v2.shape[0], dtype=v.dtype, device=v.device)
    for start in range(0, v2.shape[0], chunk):
        vs, bvs, bhs = v2[start:start + chunk], bv2[start:start + chunk], bh2[start:start + chunk]
        a = vs @ W + bhs                                    # (n, H)
        s = 1 - 2 * vs                                      # (n, V)
        flipped = F.softplus(a[:, None, :] + s[:, :, None] * W[None])  # (n, V, H)
        delta = s * bvs + (flipped - F.softplus(a)[:, None, :]).sum(-1)
        out[start:start + chunk] = -F.softplus(delta).sum(-1)
    return out.reshape(shape)


def exact_log_partition(W: Tensor, bv: Tensor, bh: Tensor, chunk: int = 1 << 14) -> Tensor:
    """log Z of each RBM of the batch by enumerating the hidden units (H <= 24): the test oracle.

    log Z = logsumexp over h of [h.bh + sum_i softplus(bv_i + (W h)_i)].
    """
    H = W.shape[1]
    if H > 24:
        raise ValueError(f"exact log Z enumerates 2^H hidden states; H = {H} is too many (<= 24)")
    batch, (bv, bh) = _flatten(bv, bh)
    codes = torch.arange(2 ** H, device=W.device)
    parts = []
    for start in range(0, 2 ** H, chunk):
        c = codes[start:start + chunk]
        h = ((c[:, None] >> torch.arange(H, device=W.device)) & 1).to(W.dtype)   # (n, H)
        visible_input = h @ W.T                                                 # (n, V)
        terms = bh @ h.T + F.softplus(bv[:, None, :] + visible_input[None]).sum(-1)
        parts.append(torch.logsumexp(terms, dim=-1))
    return torch.logsumexp(torch.stack(parts, -1), -1).reshape(batch)


@dataclass
class AisResult:
    """An AIS estimate of log Z for each RBM, with the spread of the estimate, and the chains'
    final states: with their weights, a weighted sample of each RBM's own distribution."""

    log_z: Tensor       #: the estimate, one per RBM
    std: Tensor         #: its standard error (delta method over the chains), one per RBM
    log_weights: Tensor  #: (RBMs, chains) final log importance weights
    samples: Tensor     #: (RBMs, chains, V) each chain's final visible state


def ais_betas(n_betas: int, schedule: str = "sigmoid", device=None) -> Tensor:
    """Inverse temperatures from 0 to 1: ``"linear"``, or ``"sigmoid"`` (denser at both ends,
    where the distributions change fastest; Grosse et al. 2013's choice).

    >>> ais_betas(5, "linear").tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    if n_betas < 2:
        raise ValueError("AIS needs at least 2 inverse temperatures")
    if schedule == "linear":
        return torch.linspace(0, 1, n_betas, device=device, dtype=torch.float64)
    if schedule == "sigmoid":
        s = torch.sigmoid(torch.linspace(-4, 4, n_betas, device=device, dtype=torch.float64))
        return (s - s[0]) / (s[-1] - s[0])
    raise ValueError(f"unknown AIS schedule {schedule!r}: use 'linear' or 'sigmoid'")


@torch.no_grad()
def ais_log_partition(W: Tensor, bv: Tensor, bh: Tensor, n_chains: int = 100,
                      n_betas: int = 1000, schedule: str = "sigmoid",
                      generator: torch.Generator | None = None,
                      betas: Tensor | None = None, uniform_bits: int = 32,
                      on_step: Callable[[float], None] | None = None) -> AisResult:
    """Annealed importance sampling estimate of log Z for a batch of RBMs sharing ``W``.

    The base distribution of each RBM has its own visible biases and no weights, so
    log Z_0 = sum_i softplus(bv_i) + H log 2 and it is sampled exactly; the intermediate
    distributions scale the hidden units' input by beta: p_beta(v) ~ exp(v.bv) prod_j
    (1 + exp(beta (bh_j + (vW)_j))). Each RBM runs ``n_chains`` chains through ``n_betas``
    inverse temperatures (or the given ``betas``), all RBMs and chains at once, in reused
    buffers. ``on_step``, if given, hears the share of the temperatures done, a hundred times
    over the run (a progress display; it changes no draw).
    """
    V, H = W.shape
    batch, (bv, bh) = _flatten(bv, bh)
    n = bv.shape[0]
    rows = n * n_chains
    if betas is None:
        betas = ais_betas(n_betas, schedule, device=W.device)
    betas = betas.tolist()
    chain_bv = bv.repeat_interleave(n_chains, 0)          # (rows, V): each chain its RBM's biases
    chain_bh = bh.repeat_interleave(n_chains, 0)
    WT = W.T.contiguous()
    sample_h = _Bernoulli(torch.Size((rows, H)), W.dtype, W.device, uniform_bits)
    sample_v = _Bernoulli(torch.Size((rows, V)), W.dtype, W.device, uniform_bits)
    a = torch.empty(rows, H, dtype=W.dtype, device=W.device)
    scaled, gain = torch.empty_like(a), torch.empty_like(a)
    visible = torch.empty(rows, V, dtype=W.dtype, device=W.device)
    log_w = torch.zeros(rows, dtype=torch.float64, device=W.device)
    v = sample_v(torch.sigmoid(chain_bv), generator)
    torch.addmm(chain_bh, v, W, out=a)
    previous = betas[0]
    report_every = max(1, (len(betas) - 1) // 100)
    for step, beta in enumerate(betas[1:], 1):
        # log p*_beta(v) - log p*_previous(v) = sum_j softplus(beta a_j) - softplus(previous a_j)
        #   = -sum_j log1p(expm1(-(beta - previous) a_j) * sigmoid(beta a_j)),
        # which reuses the sigmoid the transition needs and is exact (no softplus: 4x faster).
        probabilities = torch.mul(a, beta, out=scaled).sigmoid_()
        log_w -= torch.mul(a, previous - beta, out=gain).expm1_().mul_(probabilities).log1p_().sum(-1)
        h = sample_h(probabilities, generator)
        visible.copy_(chain_bv).addmm_(h, WT, alpha=beta)
        v = sample_v(visible.sigmoid_(), generator)
        torch.addmm(chain_bh, v, W, out=a)
        previous = beta
        if on_step is not None and step % report_every == 0:
            on_step(step / (len(betas) - 1))
    log_w = log_w.reshape(n, n_chains)
    log_z0 = F.softplus(bv).sum(-1, dtype=torch.float64) + H * math.log(2)
    log_mean_w = torch.logsumexp(log_w, -1) - math.log(n_chains)
    # Delta method: sd(log mean r) ~ sd(r) / (sqrt(C) mean(r)), with r = w / max w.
    r = torch.exp(log_w - log_w.max(-1, keepdim=True).values)
    std = r.std(-1) / (r.mean(-1) * math.sqrt(n_chains))
    return AisResult((log_z0 + log_mean_w).reshape(batch), std.reshape(batch),
                     log_w.reshape(*batch, n_chains), v.reshape(*batch, n_chains, V))


def free_energies(frames: Tensor, W: Tensor, bv: Tensor, bh: Tensor,
                  max_elements: int = 1 << 25, hidden_input: Tensor | None = None) -> Tensor:
    """Free energy of each of the K ``frames`` (K, V) under each of n RBMs (``bv`` (n, V),
    ``bh`` (n, H)): an (n, K) tensor, computed in slices of at most ``max_elements`` hidden
    inputs at a time. ``hidden_input``, ``frames @ W`` if the caller has it, saves computing it.

    >>> free_energies(torch.eye(2), torch.zeros(2, 1), torch.tensor([[1., 2.]]), torch.zeros(1, 1))
    tensor([[-1.6931, -2.6931]])
    """
    if hidden_input is None:
        hidden_input = frames @ W                               # (K, H), shared by every RBM
    free = -(bv @ frames.T)                                     # (n, K)
    step = max(1, max_elements // max(1, frames.shape[0] * W.shape[1]))
    for i in range(0, len(bh), step):
        free[i:i + step] -= F.softplus(bh[i:i + step, None, :] + hidden_input).sum(-1)
    return free


def draw_frames(frames: Tensor, W: Tensor, bv: Tensor, bh: Tensor,
                generator: torch.Generator | None = None, temperature: float = 1.0,
                hidden_input: Tensor | None = None) -> Tensor:
    """For each of n RBMs (``bv`` (n, V), ``bh`` (n, H)), one of the K ``frames`` (K, V), drawn
    with probability exp(-F) normalized over them, F the free energy of the RBM at
    ``temperature`` (as :func:`gibbs` samples it): the RBM's distribution restricted to those
    frames, drawn exactly. ``hidden_input`` is ``frames @ W`` if the caller keeps it. Returns
    (n, V).

    >>> frames = torch.tensor([[1., 0], [0., 1]])
    >>> bv = torch.tensor([[9., -9], [-9., 9]]); bh = torch.zeros(2, 1)
    >>> draw_frames(frames, torch.zeros(2, 1), bv, bh, torch.Generator().manual_seed(0))
    tensor([[1., 0.],
            [0., 1.]])
    """
    if temperature != 1.0:
        W, bv, bh = W / temperature, bv / temperature, bh / temperature
        hidden_input = None if hidden_input is None else hidden_input / temperature
    log_w = -free_energies(frames, W, bv, bh, hidden_input=hidden_input)
    index = torch.multinomial(torch.softmax(log_w, -1), 1, generator=generator)[:, 0]
    return frames[index]


def draw_clamped_frames(frames: Tensor, W: Tensor, bv: Tensor, bh: Tensor, mask: Tensor,
                        values: Tensor, generator: torch.Generator | None = None,
                        temperature: float = 1.0, hidden_input: Tensor | None = None
                        ) -> tuple[Tensor, Tensor]:
    """For each of n RBMs (``bv`` (n, V), ``bh`` (n, H)) with a clamp (``values`` (n, V) where
    ``mask`` (n, V) is true): the K distinct ``frames`` (K, V) with the clamp applied, one of the
    distinct ones drawn exactly from the RBM's distribution over them; and log p(clamp),
    estimated over the frames and their clamped copies D as the clamped copies' share of D's
    mass,

        log p(clamp) ~ log sum_{d clamped} exp(-F(d)) - log sum_{d in D} exp(-F(d)),

    both sums lower bounds of their partition functions, exact where D holds the RBM's mass,
    never above 0. Rows with the same clamp share the work (a harmonization's particles).
    ``hidden_input`` is ``frames @ W`` if the caller keeps it. At ``temperature`` as
    :func:`draw_frames`. Returns (n, V) and (n,) nats.

    >>> frames = torch.tensor([[1., 0], [1., 1], [0., 1]])
    >>> mask = torch.tensor([[True, False]]); values = torch.tensor([[1., 0]])
    >>> start, log_p = draw_clamped_frames(frames, torch.zeros(2, 1), torch.zeros(1, 2),
    ...                                    torch.zeros(1, 1), mask, values)
    >>> bool(start[0, 0]), round(float(log_p.exp()), 4)     # 2 of 3 equally likely frames
    (True, 0.6667)
    """
    if hidden_input is None:
        hidden_input = frames @ W
    if temperature != 1.0:
        W, bv, bh = W / temperature, bv / temperature, bh / temperature
        hidden_input = hidden_input / temperature
    values = torch.where(mask, values.to(frames.dtype), torch.zeros_like(bv))
    starts, log_p = torch.empty_like(bv), bv.new_empty(len(bv))
    weights = _key_weights(frames.shape[1], frames.device)
    known_keys = (frames.to(torch.int64) * weights).sum(1)
    clamp_keys = _row_keys(torch.cat([mask.to(frames.dtype), values], 1))
    for key in torch.unique(clamp_keys):
        rows = clamp_keys == key
        fixed, value = mask[rows][0], values[rows][0][mask[rows][0]]
        b, c = bv[rows], bh[rows]
        # The clamped copy of a known frame differs from it in the fixed units only: its terms of
        # the free energy are the frame's, corrected there. A frame that equals its copy agrees
        # with the clamp; the copies of the others are new frames, each counted once.
        change = value - frames[:, fixed]                                     # (K, fixed)
        agrees = ~change.bool().any(1)
        visible = b @ frames.T                                                # (r, K)
        first = _first_of_each(known_keys + (change.to(torch.int64) * weights[fixed]).sum(1))
        clamped_free = -(visible[:, first] + b[:, fixed] @ change[first].T) - F.softplus(
            c[:, None, :] + hidden_input[first] + change[first] @ W[fixed]).sum(-1)
        outside_free = -visible[:, ~agrees] - F.softplus(
            c[:, None, :] + hidden_input[~agrees]).sum(-1)
        log_clamped = torch.logsumexp(-clamped_free, 1)
        log_p[rows] = log_clamped - torch.logaddexp(log_clamped, torch.logsumexp(-outside_free, 1))
        index = first[torch.multinomial(torch.softmax(-clamped_free, -1), 1, generator=generator)[:, 0]]
        start = frames[index]
        start[:, fixed] = value
        starts[rows] = start
    return starts, log_p


def _key_weights(width: int, device=None) -> Tensor:
    """The fixed random 64-bit weights of :func:`_row_keys`."""
    return torch.randint(-2 ** 62, 2 ** 62, (width,),
                         generator=torch.Generator().manual_seed(88)).to(device)


def _row_keys(rows: Tensor) -> Tensor:
    """A 64-bit hash of each binary row (m, V): equal rows, equal keys; different rows collide
    with probability about 2^-64 a pair (a fixed random linear map, wrapping)."""
    return (rows.to(torch.int64) * _key_weights(rows.shape[1], rows.device)).sum(1)


def _first_of_each(keys: Tensor) -> Tensor:
    """Indices of the first occurrence of each distinct key, in order of the keys."""
    order = torch.argsort(keys, stable=True)
    ordered = keys[order]
    new = torch.ones_like(ordered, dtype=torch.bool)
    new[1:] = ordered[1:] != ordered[:-1]
    return order[new]


@dataclass
class WeightedStates:
    """Each RBM's distribution as weighted visible states: ``known`` frames, weighted exactly by
    exp(-F), and AIS's final states, weighted by their importance weights (zero where a state is
    one of the known frames, which are already counted). Sums over both give log Z and
    expectations under each RBM (:meth:`expectation`)."""

    known: Tensor           #: (K, V) the frames summed exactly
    known_log_w: Tensor     #: (n, K) -F of each known frame under each RBM
    samples: Tensor         #: (n, C, V) AIS's final states
    samples_log_w: Tensor   #: (n, C) log(w_c / C), -inf where the state is a known frame
    log_z: Tensor           #: (n,) log of the sum of all weights
    std: Tensor             #: (n,) standard error of ``log_z`` (from the chains' spread)

    def expectation(self, of_known: Tensor, of_samples: Tensor) -> Tensor:
        """E[f] under each RBM, given f of each known frame (n, K) and of each sample (n, C)."""
        known = torch.exp(self.known_log_w - self.log_z[:, None]) * of_known
        sampled = torch.exp(self.samples_log_w - self.log_z[:, None]) * of_samples
        return known.sum(-1) + sampled.sum(-1)

    @property
    def known_share(self) -> Tensor:
        """(n,) the share of each estimated Z that the known frames carry exactly."""
        return torch.exp(torch.logsumexp(self.known_log_w, -1) - self.log_z)


@torch.no_grad()
def log_partition(W: Tensor, bv: Tensor, bh: Tensor, known: Tensor, n_chains: int = 20,
                  n_betas: int = 1000, schedule: str = "sigmoid",
                  generator: torch.Generator | None = None,
                  on_step: Callable[[float], None] | None = None) -> WeightedStates:
    """log Z of each RBM of a batch (``bv`` (n, V), ``bh`` (n, H)) as an exact sum over the
    ``known`` frames (K, V) plus an AIS estimate of the rest:

        Z = sum_{v in known} exp(-F(v)) + (1/C) sum_c w_c [x_c not in known],

    where (x_c, w_c) are AIS's final states and weights (:func:`ais_log_partition`). Both terms
    are unbiased, so the sum is, and the estimate never falls below the exact sum over the known
    frames (a certain lower bound on Z). On the sharp conditionals of a model trained on music
    most of the mass sits on a few hundred frames that the corpus contains: summed exactly, they
    leave AIS only the small remainder, where on its own it misses whole modes (too few of its
    chains reach them) and underestimates log Z by much more than its spread shows. With
    ``n_chains=0`` only the known frames are summed (the lower bound). ``on_step`` as for
    :func:`ais_log_partition`.

    >>> W = torch.zeros(3, 1); bv = torch.zeros(1, 3); bh = torch.zeros(1, 1)
    >>> every = torch.tensor([[a, b, c] for a in (0., 1) for b in (0., 1) for c in (0., 1)])
    >>> round(float(log_partition(W, bv, bh, every, n_chains=4, n_betas=2).log_z), 4)  # 2^4
    2.7726
    """
    n, V = bv.shape
    known = known.to(W.dtype)
    known_log_w = -free_energies(known, W, bv, bh)
    if n_chains:
        ais = ais_log_partition(W, bv, bh, n_chains, n_betas, schedule, generator,
                                on_step=on_step)
        samples = ais.samples
        is_known = _rows_in(samples.reshape(-1, V), known).reshape(n, n_chains)
        # Chain c adds Z_0 w_c / C to Z, where AIS's own estimate is Z_0 mean(w).
        log_z0 = ais.log_z - (torch.logsumexp(ais.log_weights, -1) - math.log(n_chains))
        samples_log_w = ais.log_weights + log_z0[:, None] - math.log(n_chains)
        samples_log_w = samples_log_w.masked_fill(is_known, -math.inf)
    else:
        samples = known.new_zeros(n, 0, V)
        samples_log_w = known_log_w.new_zeros(n, 0)
    samples_log_w = samples_log_w.to(known_log_w.dtype)
    log_z = torch.logsumexp(torch.cat([known_log_w, samples_log_w], -1).double(), -1)
    if n_chains > 1:
        # The sampled term is a mean over chains: its standard error, relative to Z.
        rest = torch.exp(samples_log_w.double() - log_z[:, None]) * n_chains
        std = rest.std(-1) / math.sqrt(n_chains)
    else:
        std = torch.zeros_like(log_z)
    return WeightedStates(known, known_log_w.double(), samples, samples_log_w.double(), log_z, std)


def _rows_in(rows: Tensor, table: Tensor) -> Tensor:
    """Whether each row of ``rows`` (m, V) is one of the rows of ``table`` (K, V), exactly."""
    if not len(table) or not len(rows):
        return torch.zeros(len(rows), dtype=torch.bool, device=rows.device)
    _, index = torch.unique(torch.cat([table, rows.to(table.dtype)]), dim=0, return_inverse=True)
    return torch.isin(index[len(table):], index[:len(table)])
