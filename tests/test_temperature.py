"""``temperature`` against the exact distribution of a model small enough to enumerate.

A 5-unit RNN-RBM and RNN-NADE whose recurrent weights are zero: every frame is drawn from the
same conditional, whose 32 frames can be listed, so the composer's draws at each temperature
can be compared with the distribution they should follow, and its entropy with theirs. Below 1
the music is more predictable (lower entropy), above 1 more varied.
"""

import numpy as np
import pytest
import torch

from rnnrbm_music import RnnRbmComposer
from rnnrbm_music.engine import RnnRbmConfig, build, nade, rbm

UNITS = 5
FRAMES = torch.tensor([[(i >> j) & 1 for j in range(UNITS)] for i in range(2 ** UNITS)],
                      dtype=torch.float32)
#: 1,000 pieces of 8 frames: 8,000 independent draws (nothing carries from frame to frame).
PIECES, STEPS = 1000, 8


def composer_with(conditional: str) -> RnnRbmComposer:
    """A composer holding a 5-unit model with fixed random weights and no recurrence."""
    generator = torch.Generator().manual_seed(3)
    model = build(RnnRbmConfig(n_visible=UNITS, n_hidden=3, n_recurrent=2, conditional=conditional))
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            scale = 2.0 if name in ("W", "V", "bv", "bh") else 0.0
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)
    composer = RnnRbmComposer(n_hidden=3, n_recurrent=2, conditional=conditional, device="cpu")
    composer.model_ = model
    return composer


def exact_distribution(composer: RnnRbmComposer, temperature: float) -> np.ndarray:
    """P(frame) of each of the 32 frames at ``temperature``: an RBM's energies divided by it
    (as its Gibbs sampler draws), a NADE's log-odds divided by it (as its sampler draws)."""
    model = composer.model_
    bv, bh = model.frame_biases(model.initial_state(1))
    with torch.no_grad():
        if composer.conditional == "rbm":
            energies = rbm.free_energies(FRAMES, model.W / temperature, bv / temperature,
                                         bh / temperature)[0]
            return torch.softmax(-energies.double(), 0).numpy()
        logs = nade.unit_log_probs(FRAMES, model.W, model.V, bv.expand(len(FRAMES), -1),
                                   bh.expand(len(FRAMES), -1), temperature=temperature)
        return logs.sum(1).double().exp().numpy()


def drawn_distribution(composer: RnnRbmComposer, temperature: float) -> np.ndarray:
    """The share of each of the 32 frames among the composer's draws at ``temperature``."""
    frames = composer.sample_frames(STEPS, k=25, temperature=temperature, seed=0, n=PIECES)
    frames = frames.reshape(-1, UNITS)
    index = (frames.astype(int) * 2 ** np.arange(UNITS)).sum(1)
    return np.bincount(index, minlength=2 ** UNITS) / len(index)


def entropy(p: np.ndarray) -> float:
    """Entropy in nats of a distribution over frames."""
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


@pytest.mark.parametrize("conditional", ["rbm", "nade"])
def test_temperature_changes_the_distribution_as_it_should(conditional):
    composer = composer_with(conditional)
    entropies = []
    for temperature in (0.5, 1.0, 2.0):
        exact = exact_distribution(composer, temperature)
        drawn = drawn_distribution(composer, temperature)
        distance = 0.5 * np.abs(drawn - exact).sum()
        assert distance < 0.05, (f"at temperature {temperature} the draws are {distance:.3f} "
                                 "(total variation) from the distribution they should follow")
        entropies.append((entropy(exact), entropy(drawn)))
    (cold, cold_drawn), (plain, plain_drawn), (hot, hot_drawn) = entropies
    assert cold < plain - 0.3 and plain < hot - 0.3          # the model's: far apart
    assert cold_drawn < plain_drawn < hot_drawn, entropies  # the music's: in the same order
