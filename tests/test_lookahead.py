"""Look-ahead sampling against the exact posterior of a model small enough to enumerate."""

import itertools

import pytest
import torch

from rnnrbm_music.engine import RnnNade, RnnRbm, RnnRbmConfig
from rnnrbm_music.engine.lookahead import sample_given_clamps, systematic_resample

UNITS, STEPS = 4, 3
FREE = 2                       # units 0 and 1 are the harmony; 2 and 3 the melody, clamped


#: Weights under which the melody's next note depends much on the harmony now (found by trying
#: seeds): frame-by-frame sampling is far from the posterior there.
SEEDS = {"nade": 5, "rbm": 6}


def small_model(kind: str):
    config = RnnRbmConfig(n_visible=UNITS, n_hidden=3, n_recurrent=3, conditional=kind,
                          order="descending" if kind == "nade" else "ascending")
    model = (RnnNade if kind == "nade" else RnnRbm)(config).double()
    torch.manual_seed(SEEDS[kind])
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 3.0)
    if kind == "rbm":          # every frame known: the clamp's probability is summed exactly
        model.remember_frames(torch.tensor(list(itertools.product([0.0, 1.0], repeat=UNITS))))
    return model


def clamp():
    """The melody: unit 3, then unit 2, then unit 3; the other melody unit off."""
    mask = torch.zeros(STEPS, UNITS, dtype=torch.bool)
    mask[:, FREE:] = True
    values = torch.zeros(STEPS, UNITS, dtype=torch.float64)
    values[[0, 1, 2], [3, 2, 3]] = 1.0
    return mask, values


def posterior(model, mask, values):
    """p(harmony_1..T | melody_1..T) over every harmony, by enumeration: {harmony: p}."""
    harmonies = list(itertools.product(range(2 ** FREE), repeat=STEPS))
    sequences = values.repeat(len(harmonies), 1, 1)
    for i, harmony in enumerate(harmonies):
        for t, h in enumerate(harmony):
            sequences[i, t, :FREE] = torch.tensor([(h >> j) & 1 for j in range(FREE)])
    log_p = model.frame_log_probs(sequences).sum(1) if isinstance(model, RnnNade) else \
        exact_rbm_log_probs(model, sequences)
    return dict(zip(harmonies, torch.softmax(log_p, 0).tolist()))


def exact_rbm_log_probs(model, sequences):
    """log p of each sequence under the RNN-RBM: every frame's partition function enumerated."""
    from rnnrbm_music.engine import rbm

    every = torch.tensor(list(itertools.product([0.0, 1.0], repeat=UNITS)), dtype=torch.float64)
    bv, bh = model.frame_rbms(sequences)
    B, T, _ = sequences.shape
    own = rbm.free_energy(sequences.reshape(B * T, -1), model.W, bv.reshape(B * T, -1),
                          bh.reshape(B * T, -1))
    log_z = torch.logsumexp(-rbm.free_energies(every, model.W, bv.reshape(B * T, -1),
                                               bh.reshape(B * T, -1)), 1)
    return (-own - log_z).reshape(B, T).sum(1)


def frequencies(frames):
    counts = {}
    for sequence in frames:
        key = tuple(int(f[0] + 2 * f[1]) for f in sequence[:, :FREE].tolist())
        counts[key] = counts.get(key, 0) + 1
    return {key: c / len(frames) for key, c in counts.items()}


def total_variation(p, q):
    return 0.5 * sum(abs(p.get(key, 0.0) - q.get(key, 0.0)) for key in set(p) | set(q))


@pytest.mark.parametrize("kind", ["nade", "rbm"])
def test_look_ahead_follows_the_posterior_where_frame_by_frame_does_not(kind):
    model = small_model(kind)
    mask, values = clamp()
    exact = posterior(model, mask, values)
    n = 6000
    ahead = sample_given_clamps(model, mask, values, particles=64, n=n, k=1,
                                generator=torch.Generator().manual_seed(2))
    assert (ahead[:, mask] == values[mask].expand(n, -1)).all()
    per_frame = sample_given_clamps(model, mask, values, particles=1, n=n, k=1,
                                    generator=torch.Generator().manual_seed(3))
    assert total_variation(frequencies(per_frame), exact) > 0.1
    assert total_variation(frequencies(ahead), exact) < 0.05


def test_systematic_resampling_keeps_each_particle_in_proportion_to_its_weight():
    log_w = torch.log(torch.tensor([[0.5, 0.25, 0.125, 0.125]] * 2000))
    ancestors = systematic_resample(log_w, torch.Generator().manual_seed(0))
    counts = torch.stack([(ancestors == i).sum(1) for i in range(4)], 1).double()
    assert torch.allclose(counts.mean(0), torch.tensor([2.0, 1.0, 0.5, 0.5], dtype=torch.float64),
                          atol=0.05)
    assert (counts[:, 0] == 2).all()            # systematic: never more than one off its share


def test_over_a_longer_melody_resampled_particles_keep_their_histories():
    """Six frames: the particles are resampled on the way, and each must take its own history
    along. The first frame's harmony, which the whole melody after it decides, follows its exact
    posterior marginal; frame by frame it is far off."""
    model = small_model("rbm")
    steps = 6
    mask = torch.zeros(steps, UNITS, dtype=torch.bool)
    mask[:, FREE:] = True
    values = torch.zeros(steps, UNITS, dtype=torch.float64)
    values[torch.arange(steps), torch.tensor([3, 2] * 3)] = 1.0
    harmonies = list(itertools.product(range(2 ** FREE), repeat=steps))
    sequences = values.repeat(len(harmonies), 1, 1)
    for i, harmony in enumerate(harmonies):
        for t, h in enumerate(harmony):
            sequences[i, t, :FREE] = torch.tensor([h & 1, h >> 1])
    with torch.no_grad():
        p = torch.softmax(exact_rbm_log_probs(model, sequences), 0)
    first = torch.zeros(2 ** FREE, dtype=torch.float64).index_add_(
        0, torch.tensor([h[0] for h in harmonies]), p)

    def first_frame_distance(particles, seed):
        frames = sample_given_clamps(model, mask, values, particles=particles, n=4000, k=1,
                                     generator=torch.Generator().manual_seed(seed))
        codes = (frames[:, 0, 0] + 2 * frames[:, 0, 1]).long()
        drawn = torch.bincount(codes, minlength=2 ** FREE).double() / len(codes)
        return 0.5 * float((drawn - first).abs().sum())

    assert first_frame_distance(1, 3) > 0.1
    assert first_frame_distance(64, 2) < 0.05
