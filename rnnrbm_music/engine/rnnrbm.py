"""The RNN-RBM of Boulanger-Lewandowski, Bengio & Vincent (ICML 2012) as a ``torch.nn.Module``.

A deterministic RNN summarises the history of binary frames v(1..t-1) in its state
``u(t-1)``, and the RBM of frame t takes its biases from it:

    bv(t) = bv + u(t-1) Wuv,    bh(t) = bh + u(t-1) Wuh
    u(t)  = tanh(bu + v(t) Wvu + u(t-1) Wuu),    u(0) = u0 (learned)

Given the data the RNN pass is deterministic, so every frame's RBM is known at once and the
CD-k cost runs on all frames of all sequences of a batch in parallel; its gradient reaches the
RNN through bv(t) and bh(t). Parameter names and shapes are those of the deeplearning.net
tutorial (and of the checkpoints).

>>> import torch
>>> model = RnnRbm(RnnRbmConfig(n_visible=88, n_hidden=150, n_recurrent=100))
>>> frames, state = model.sample(16, k=5, generator=torch.Generator().manual_seed(0))
>>> frames.shape, state.shape
(torch.Size([1, 16, 88]), torch.Size([1, 100]))
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from . import nade, rbm

# cuDNN warns, once per process, that the recurrence's weights are not one flat buffer and are
# copied into one on every call: they are the tutorial's parameters seen transposed (Wvu^T,
# Wuu^T), and the copy is a few kilobytes.
warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous")


@dataclass
class RnnRbmConfig:
    """Sizes of an RNN-RBM (the tutorial's defaults: 88 visible, 150 hidden, 100 recurrent) and
    its visible layout.

    With ``articulation`` the visible layer holds two units per pitch: the first ``n_pitches``
    say which pitches sound, the next ``n_pitches`` which are struck (onsets), so the model
    learns repeated notes; :meth:`RnnRbm.sample` keeps every sampled onset sounding. Without
    it (the benchmarks' layout) each unit is one sounding pitch.

    >>> RnnRbmConfig(n_visible=176, articulation=True).n_pitches
    88
    """

    n_visible: int = 88
    n_hidden: int = 150
    n_recurrent: int = 100
    articulation: bool = False
    #: Each frame's conditional: ``"rbm"`` (the RNN-RBM) or ``"nade"`` (the RNN-NADE, exact).
    conditional: str = "rbm"
    #: The RNN-NADE's unit order: ``"ascending"`` pitch, or ``"descending"`` (melody first).
    order: str = "ascending"

    def __post_init__(self) -> None:
        if self.articulation and self.n_visible % 2:
            raise ValueError(f"an articulation layout has two units per pitch: n_visible must be "
                             f"even, got {self.n_visible}")
        if self.conditional not in ("rbm", "nade"):
            raise ValueError(f"conditional must be 'rbm' or 'nade', got {self.conditional!r}")
        if self.order not in ("ascending", "descending"):
            raise ValueError(f"order must be 'ascending' or 'descending', got {self.order!r}")
        if self.order != "ascending" and self.conditional != "nade":
            raise ValueError("order is the RNN-NADE's unit order: it needs conditional='nade'")

    @property
    def n_pitches(self) -> int:
        """Pitches the visible layer covers."""
        return self.n_visible // 2 if self.articulation else self.n_visible

    @property
    def layout(self) -> str:
        """The visible layout in words, as the evaluator reports it."""
        return (f"{self.n_visible} units: {self.n_pitches} sounding + {self.n_pitches} onset"
                if self.articulation else f"{self.n_visible} sounding units")

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """The model in words: ``"RNN-RBM, 150 hidden, 100 recurrent, 88 sounding units"``."""
        kind = "RNN-NADE" if self.conditional == "nade" else "RNN-RBM"
        order = f", {self.order} order" if self.conditional == "nade" else ""
        return (f"{kind}, {self.n_hidden} hidden, {self.n_recurrent} recurrent, "
                f"{self.layout}{order}")


#: Parameter names and shapes, as functions of the config (checkpoints are checked against it).
def parameter_shapes(config: RnnRbmConfig) -> dict[str, tuple[int, ...]]:
    V, H, U = config.n_visible, config.n_hidden, config.n_recurrent
    shapes = {"W": (V, H), "bv": (V,), "bh": (H,), "Wuh": (U, H), "Wuv": (U, V),
              "Wvu": (V, U), "Wuu": (U, U), "bu": (U,), "u0": (U,)}
    if config.conditional == "nade":
        shapes["V"] = (V, H)     # the NADE's output weights, row i for unit i
    return shapes


def build(config: RnnRbmConfig, device=None, generator: torch.Generator | None = None):
    """The module a config describes: an :class:`RnnRbm` or an :class:`RnnNade`."""
    return (RnnNade if config.conditional == "nade" else RnnRbm)(config, device, generator)


class RnnRbm(nn.Module):
    """The RNN-RBM: ``forward`` is the CD-k training cost, ``sample`` generates frame by frame."""

    def __init__(self, config: RnnRbmConfig | None = None, device: str | torch.device | None = None,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.config = config or RnnRbmConfig()
        # The tutorial's initialisation: N(0, 0.01) for W, N(0, 0.0001) for the RNN, zero biases.
        # ``generator`` (on the CPU) makes it reproducible without touching torch's global seed.
        for name, shape in parameter_shapes(self.config).items():
            scale = 0.01 if name in ("W", "V") else 1e-4 if len(shape) == 2 else 0.0
            values = torch.randn(shape, generator=generator) * scale
            self.register_parameter(name, nn.Parameter(values.to(device)))
        # The distinct frames the model was trained on (K, V), where its sampler starts each
        # frame's Gibbs chain (:meth:`sample`); none until :meth:`remember_frames`.
        self.register_buffer("known_frames", torch.zeros(0, self.config.n_visible, device=device),
                             persistent=False)

    # --- the recurrence --------------------------------------------------------------------------
    def initial_state(self, batch: int = 1) -> Tensor:
        """u(0) for ``batch`` sequences."""
        return self.u0.expand(batch, -1)

    def recurrence(self, v: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Run the RNN over frames ``v`` (B, T, V) from ``state`` (B, U) (default u0).

        Returns the states *before* each frame, u(t-1) for t = 1..T, as (B, T, U) (they give the
        frames' biases), and the state after the last frame (B, U).
        """
        B, T, _ = v.shape
        u = self.initial_state(B) if state is None else state
        if T == 0:
            return v.new_zeros(B, 0, u.shape[-1]), u
        # torch's fused Elman RNN (cuDNN on a GPU, one native loop on the CPU) with our
        # parameters: w_ih = Wvu^T, w_hh = Wuu^T, b_ih = bu, b_hh = 0.
        start = u[None].contiguous()
        # cuDNN copies the weights into one buffer by views, so they must be contiguous; it
        # keeps what its backward pass needs only in training mode: ask for it when the graph
        # is being recorded.
        weights = [self.Wvu.T.contiguous(), self.Wuu.T.contiguous(), self.bu,
                   torch.zeros_like(self.bu)]
        after, last = torch.rnn_tanh(v.contiguous(), start, weights, True, 1, 0.0,
                                     torch.is_grad_enabled(), False, True)
        return torch.cat([start[0, :, None], after[:, :-1]], 1), last[0]

    def frame_biases(self, states: Tensor) -> tuple[Tensor, Tensor]:
        """bv(t), bh(t) of the RBMs that follow states u(t-1) (..., U)."""
        return self.bv + states @ self.Wuv, self.bh + states @ self.Wuh

    @torch.no_grad()
    def condition(self, v: Tensor, state: Tensor | None = None) -> Tensor:
        """The state after a history of frames ``v`` ((T, V) or (B, T, V)): seeds a primer."""
        batched = v.dim() == 3
        _, last = self.recurrence((v if batched else v[None]).to(self.W.dtype), state)
        return last

    @torch.no_grad()
    def remember_frames(self, frames: Tensor) -> None:
        """Keep the distinct rows of ``frames`` (N, V), the frames of the training data, as
        :attr:`known_frames`: :meth:`sample` starts its Gibbs chains from them.

        >>> model = RnnRbm(RnnRbmConfig(n_visible=3, n_hidden=2, n_recurrent=2))
        >>> model.remember_frames(torch.tensor([[1, 0, 1], [0, 0, 0], [1, 0, 1]]))
        >>> model.known_frames
        tensor([[0., 0., 0.],
                [1., 0., 1.]])
        """
        self.known_frames = torch.unique(frames.to(self.W.device, self.W.dtype), dim=0)

    @torch.no_grad()
    def sample_frame(self, bv: Tensor, bh: Tensor, k: int = 25,
                     generator: torch.Generator | None = None, temperature: float = 1.0,
                     mask: Tensor | None = None, values: Tensor | None = None) -> Tensor:
        """One frame from each of n frame RBMs (``bv`` (n, V), ``bh`` (n, H)): a ``k``-step
        Gibbs chain that starts from one of the :attr:`known_frames` drawn exactly from the
        RBM's distribution over them (those consistent with the clamp, clamped units set), or
        from an empty frame if the model knows none. Units where ``mask`` (n, V) is true are
        held at ``values``.

        >>> model = RnnRbm(RnnRbmConfig(n_visible=4, n_hidden=3, n_recurrent=2))
        >>> bv, bh = model.frame_biases(model.initial_state(5))
        >>> model.sample_frame(bv, bh, k=2, generator=torch.Generator().manual_seed(0)).shape
        torch.Size([5, 4])
        """
        return self._sample_frame(bv, bh, k, generator, temperature, mask, values, None)

    def _sample_frame(self, bv: Tensor, bh: Tensor, k: int, generator: torch.Generator | None,
                      temperature: float, mask: Tensor | None, values: Tensor | None,
                      known_input: Tensor | None) -> Tensor:
        """:meth:`sample_frame`, given ``known_frames @ W`` if the caller keeps it."""
        if mask is not None:
            return self.sample_clamped(bv, bh, mask, values, k, generator, temperature,
                                       known_input)[0]
        if not len(self.known_frames):
            start = torch.zeros_like(bv)
        else:
            start = rbm.draw_frames(self.known_frames, self.W, bv, bh, generator, temperature,
                                    known_input)
        return rbm.gibbs(start, self.W, bv, bh, k, generator, temperature)

    @torch.no_grad()
    def sample_clamped(self, bv: Tensor, bh: Tensor, mask: Tensor, values: Tensor, k: int = 25,
                       generator: torch.Generator | None = None, temperature: float = 1.0,
                       known_input: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """One frame from each of n frame RBMs (``bv`` (n, V), ``bh`` (n, H)) with the units
        where ``mask`` (n, V) is true held at ``values``, and the log probability (nats) the RBM
        gives those units, log p(clamp) = log Z(clamped) - log Z: what a look-ahead weighs a
        history by (:mod:`.lookahead`).

        The chain starts from one of the :attr:`known_frames` with the clamp applied, drawn
        exactly from the RBM's distribution over them (from the clamp alone if the model knows
        no frames), then runs ``k`` clamped Gibbs steps. log p(clamp) is those clamped frames'
        share of the mass of them and the known frames (:func:`.rbm.draw_clamped_frames`):
        both partition functions summed over known frames alone, exact where those hold the
        RBM's mass (on the benchmark models they hold 62 % on JSB Chorales, 96 % on
        Nottingham: docs/benchmarks.md); 0 when the model knows no frames (no information).
        ``known_input`` is ``known_frames @ W`` if the caller keeps it.
        """
        if not len(self.known_frames):
            start = torch.where(mask, values.to(bv.dtype), torch.zeros_like(bv))
            log_p = bv.new_zeros(len(bv))
        else:
            start, log_p = rbm.draw_clamped_frames(self.known_frames, self.W, bv, bh, mask,
                                                   values, generator, temperature, known_input)
        return rbm.gibbs(start, self.W, bv, bh, k, generator, temperature, mask, values), log_p

    def next_state(self, v: Tensor, u: Tensor) -> Tensor:
        """u(t) = tanh(bu + v(t) Wvu + u(t-1) Wuu) for frames ``v`` (n, V) and states ``u`` (n, U)."""
        return torch.tanh(self.bu + v @ self.Wvu + u @ self.Wuu)

    def sounding(self, v: Tensor) -> Tensor:
        """Frames ``v`` (n, V) as played: in the articulation layout every struck pitch sounds
        (in place); other layouts unchanged."""
        if self.config.articulation:
            pitches = self.config.n_pitches
            v[:, :pitches] = torch.maximum(v[:, :pitches], v[:, pitches:])
        return v

    # --- training --------------------------------------------------------------------------------
    def forward(self, v: Tensor, mask: Tensor | None = None, k: int = 15,
                generator: torch.Generator | None = None, dropout: float = 0.0) -> Tensor:
        """The CD-k cost of a batch of (padded) sequences ``v`` (B, T, V), averaged over the
        frames where ``mask`` (B, T) is true. Padded frames are left out of the Gibbs chains
        altogether, so padding changes nothing and costs nothing.

        ``dropout`` zeroes that fraction of the RNN state's units where they set the RBMs'
        biases (not in the recurrence itself: the non-recurrent dropout of Zaremba et al. 2014),
        the others scaled up to keep the expected biases; drawn from ``generator``.
        """
        v, bv, bh = self._training_frames(v, mask, generator, dropout)
        return rbm.cd_loss(v, self.W, bv, bh, k, generator)

    def _training_frames(self, v: Tensor, mask: Tensor | None, generator: torch.Generator | None,
                         dropout: float) -> tuple[Tensor, Tensor, Tensor]:
        """The real frames of a padded batch (N, V) with their conditionals' biases given the
        true history, the recurrent state dropped out as :meth:`forward` says."""
        states, _ = self.recurrence(v)
        if dropout:
            keep = torch.rand(states.shape, generator=generator, device=states.device) >= dropout
            states = states * keep / (1 - dropout)
        if mask is None:
            mask = torch.ones(v.shape[:2], dtype=torch.bool, device=v.device)
        bv, bh = self.frame_biases(states[mask])
        return v[mask], bv, bh

    def frame_rbms(self, v: Tensor) -> tuple[Tensor, Tensor]:
        """bv(t), bh(t) of every frame of sequences ``v`` (B, T, V) given the true history."""
        states, _ = self.recurrence(v)
        return self.frame_biases(states)

    # --- generation ------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n_steps: int, state: Tensor | None = None, k: int = 25,
               generator: torch.Generator | None = None, temperature: float = 1.0,
               clamp: tuple[Tensor, Tensor] | None = None, n: int = 1) -> tuple[Tensor, Tensor]:
        """Generate ``n_steps`` frames for ``n`` sequences (or for each state of ``state``).

        Each frame is drawn by :meth:`sample_frame` from the frame's RBM and fed back into the
        RNN. Its chain starts from a known frame drawn exactly from the RBM's distribution over
        the known frames, which on a trained model hold most of its mass, so the chain starts
        near the distribution and its Gibbs steps reach the frames outside them. From an empty
        frame (a model that knows no frames) the chains stay far from it: on Nottingham, 25
        steps from there predict the test frames with 19.5 % accuracy where the model's own
        distribution gives 64 % (docs/benchmarks.md). ``clamp = (mask, values)``, each
        (n_steps, V) or (n, n_steps, V), holds some units of each frame fixed (harmonization:
        the melody on, everything above it off). With the articulation layout every sampled onset
        unit turns its sounding unit on. Returns the frames (n, n_steps, V) and the final state.
        """
        u = self.initial_state(n) if state is None else state
        batch = u.shape[0]
        V = self.config.n_visible
        mask = values = None
        if clamp is not None:
            mask, values = (c.to(self.W.device).expand(batch, n_steps, V) for c in clamp)
        frames = torch.zeros(batch, n_steps, V, device=self.W.device, dtype=self.W.dtype)
        known_input = self.known_frames @ self.W           # where each frame's chain may start
        for t in range(n_steps):
            bv, bh = self.frame_biases(u)
            v = self._sample_frame(bv, bh, k, generator, temperature,
                                   None if mask is None else mask[:, t],
                                   None if values is None else values[:, t], known_input)
            frames[:, t] = self.sounding(v)
            u = self.next_state(frames[:, t], u)
        return frames, u


class RnnNade(RnnRbm):
    """The RNN-NADE (Boulanger-Lewandowski et al., ICML 2012): the RNN-RBM's recurrence and
    biases, with a NADE (:mod:`.nade`) as each frame's conditional instead of an RBM. Its
    likelihood is exact and a frame is drawn exactly in one pass, so ``forward`` is the exact
    NLL per frame (no CD) and sampling needs no Gibbs chain (``k`` is ignored). The extra
    parameter ``V`` (units, H) holds the output weights; ``config.order`` the unit order.

    >>> model = RnnNade(RnnRbmConfig(n_visible=88, n_hidden=8, n_recurrent=4, conditional="nade"))
    >>> with torch.no_grad():
    ...     _ = [p.zero_() for p in model.parameters()]
    >>> round(float(model(torch.zeros(1, 3, 88))) / 88, 6)     # zero weights: ln 2 a unit
    0.693147
    """

    def unit_order(self) -> Tensor | None:
        """The NADE's unit order, or None for ascending (no permutation needed). Descending
        visits the highest pitch first; in the articulation layout each pitch's onset unit and
        then its sounding unit, so that a melody on top and everything above it, struck or
        sounding, come first."""
        if self.config.order == "ascending":
            return None
        order = nade.unit_order(self.config.n_pitches, descending=True, device=self.W.device)
        if self.config.articulation:
            order = torch.stack([order + self.config.n_pitches, order], 1).flatten()
        return order

    def frame_log_probs(self, v: Tensor) -> Tensor:
        """log p(v(t) | v(<t)) in nats of every frame of sequences ``v`` (B, T, V): (B, T)."""
        bv, bh = self.frame_rbms(v)
        B, T, V = v.shape
        return nade.log_prob(v.reshape(B * T, V), self.W, self.V, bv.reshape(B * T, V),
                             bh.reshape(B * T, -1), self.unit_order()).reshape(B, T)

    def forward(self, v: Tensor, mask: Tensor | None = None, k: int = 15,
                generator: torch.Generator | None = None, dropout: float = 0.0) -> Tensor:
        """The exact NLL per frame of a batch of (padded) sequences ``v`` (B, T, V), averaged
        over the frames where ``mask`` (B, T) is true (``k`` is unused; ``dropout`` as for the
        RNN-RBM)."""
        v, bv, bh = self._training_frames(v, mask, generator, dropout)
        return -nade.log_prob(v, self.W, self.V, bv, bh, self.unit_order()).mean()

    def _sample_frame(self, bv: Tensor, bh: Tensor, k: int, generator: torch.Generator | None,
                      temperature: float, mask: Tensor | None, values: Tensor | None,
                      known_input: Tensor | None) -> Tensor:
        """One draw from each frame's NADE: exact (:func:`.nade.sample`), and given fixed units
        as :meth:`sample_clamped` draws it."""
        if mask is None:
            return nade.sample(self.W, self.V, bv, bh, generator, temperature,
                               order=self.unit_order())
        return self.sample_clamped(bv, bh, mask, values, k, generator, temperature)[0]

    @torch.no_grad()
    def sample_clamped(self, bv: Tensor, bh: Tensor, mask: Tensor, values: Tensor, k: int = 25,
                       generator: torch.Generator | None = None, temperature: float = 1.0,
                       known_input: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """One frame from each frame's NADE with the units where ``mask`` (n, V) is true held
        at ``values``, and log p(those units) in nats (:func:`.nade.sample_given`): both exact
        where the fixed units come first in the unit order (a melody on top, descending order),
        by importance resampling elsewhere. ``k`` and ``known_input`` are unused."""
        return nade.sample_given(self.W, self.V, bv, bh, mask, values, generator, temperature,
                                 self.unit_order())
