"""The NADE conditional against brute force on a NADE small enough to enumerate, and the
RNN-NADE built on it."""

import itertools
import math

import numpy as np
import pytest
import torch

from rnnrbm_music.checkpoint import load, save
from rnnrbm_music.engine import RnnNade, RnnRbm, RnnRbmConfig, nade

UNITS, HIDDEN = 6, 4


@pytest.fixture()
def small():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(UNITS, HIDDEN, generator=g, dtype=torch.float64) * 1.5
    V = torch.randn(UNITS, HIDDEN, generator=g, dtype=torch.float64) * 1.5
    bv = torch.randn(1, UNITS, generator=g, dtype=torch.float64)
    bh = torch.randn(1, HIDDEN, generator=g, dtype=torch.float64)
    frames = torch.tensor(list(itertools.product([0.0, 1.0], repeat=UNITS)), dtype=torch.float64)
    return W, V, bv, bh, frames


def exact(W, V, bv, bh, frames, order=None):
    n = len(frames)
    return nade.log_prob(frames, W, V, bv.expand(n, -1), bh.expand(n, -1), order).exp()


def reference_log_prob(v, W, V, bv, bh, order):
    """The product of conditionals, written out unit by unit as the formula says."""
    total, seen = 0.0, []
    for i in order:
        h = torch.sigmoid(bh[0] + sum((v[j] * W[j] for j in seen), torch.zeros_like(bh[0])))
        p = torch.sigmoid(bv[0, i] + V[i] @ h)
        total += math.log(p if v[i] else 1 - p)
        seen.append(i)
    return total


@pytest.mark.parametrize("descending", [False, True])
def test_probabilities_sum_to_one_and_match_the_formula(small, descending):
    W, V, bv, bh, frames = small
    order = nade.unit_order(UNITS, descending)
    p = exact(W, V, bv, bh, frames, order)
    assert abs(float(p.sum()) - 1) < 1e-9
    for v in frames[::7]:
        ours = float(nade.log_prob(v[None], W, V, bv, bh, order))
        assert abs(ours - reference_log_prob(v, W, V, bv, bh, order.tolist())) < 1e-9


def reference_sample(uniforms, W, V, bv, bh, order, temperature=1.0, mask=None, values=None):
    """Ancestral sampling unit by unit, as the formula says, from the given uniforms (N, units):
    unit i is on when u_i < sigmoid(logit_i / T)."""
    frame = torch.zeros_like(bv)
    running = bh.clone()
    for i in order:
        p = torch.sigmoid((bv[:, i] + torch.sigmoid(running) @ V[i]) / temperature)
        unit = (uniforms[:, i] < p).to(bv.dtype)
        if mask is not None:
            unit = torch.where(mask[:, i], values[:, i], unit)
        frame[:, i] = unit
        running = running + unit[:, None] * W[i]
    return frame


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("clamped", [False, True])
def test_fast_sampling_makes_the_unit_by_unit_draws(descending, clamped):
    """The sampler jumps from note to note; given the same uniforms it must draw exactly the
    frames that visiting every unit in turn draws, at any temperature and with fixed units
    anywhere in the order."""
    g = torch.Generator().manual_seed(4)
    n, units, hidden = 300, 88, 20
    W = torch.randn(units, hidden, generator=g, dtype=torch.float64)
    V = torch.randn(units, hidden, generator=g, dtype=torch.float64)
    bv = torch.randn(n, units, generator=g, dtype=torch.float64) - 3     # a few notes a frame
    bh = torch.randn(n, hidden, generator=g, dtype=torch.float64)
    mask = values = None
    if clamped:
        mask = torch.rand(n, units, generator=g) < 0.1
        values = (torch.rand(n, units, generator=g) < 0.5).double()
    order = nade.unit_order(units, descending)
    for temperature in (1.0, 0.7):
        fast = nade.sample(W, V, bv, bh, torch.Generator().manual_seed(9), temperature, mask,
                           values, order if descending else None)
        uniforms = torch.rand(n, units, generator=torch.Generator().manual_seed(9),
                              dtype=torch.float64)
        if descending:      # the sampler draws its uniforms in visiting order
            uniforms = uniforms[:, torch.argsort(order)]
        slow = reference_sample(uniforms, W, V, bv, bh, order.tolist(), temperature, mask, values)
        assert torch.equal(fast, slow)
        assert 1 < float(fast.sum(1).mean()) < 20


def test_log_prob_of_real_frames_matches_the_formula(jsb_train):
    """Chorale frames (four notes, sometimes fewer) in one batch: each frame's exact log p,
    whatever the number of notes of the others."""
    frames = torch.as_tensor(np.concatenate([r.frames for r in jsb_train[:3]]), dtype=torch.float64)
    g = torch.Generator().manual_seed(6)
    W = torch.randn(88, 12, generator=g, dtype=torch.float64) * 0.5
    V = torch.randn(88, 12, generator=g, dtype=torch.float64) * 0.5
    bv = torch.randn(1, 88, generator=g, dtype=torch.float64) - 2
    bh = torch.randn(1, 12, generator=g, dtype=torch.float64)
    for descending in (False, True):
        order = nade.unit_order(88, descending)
        batched = nade.log_prob(frames, W, V, bv.expand(len(frames), -1),
                                bh.expand(len(frames), -1), order)
        for i in range(0, len(frames), 17):
            assert abs(float(batched[i]) - reference_log_prob(frames[i], W, V, bv, bh,
                                                              order.tolist())) < 1e-9


def test_zero_weights_give_units_ln2_per_frame():
    v = torch.randint(0, 2, (5, 88)).double()
    zeros = torch.zeros(88, 10, dtype=torch.float64)
    nll = -nade.log_prob(v, zeros, zeros, torch.zeros(5, 88, dtype=torch.float64),
                         torch.zeros(5, 10, dtype=torch.float64))
    assert torch.allclose(nll, torch.full((5,), 88 * math.log(2), dtype=torch.float64))


def total_variation(samples, frames, p):
    index = {tuple(f.tolist()): i for i, f in enumerate(frames)}
    counts = torch.zeros(len(frames), dtype=torch.float64)
    for s in samples:
        counts[index[tuple(s.tolist())]] += 1
    return 0.5 * float((counts / len(samples) - p).abs().sum())


def test_samples_follow_the_exact_distribution(small):
    W, V, bv, bh, frames = small
    p = exact(W, V, bv, bh, frames)
    n = 40_000
    samples = nade.sample(W, V, bv.expand(n, -1), bh.expand(n, -1), torch.Generator().manual_seed(1))
    assert total_variation(samples, frames, p) < 0.03
    # A temperature below 1 sharpens: the most probable frame gets more of the draws.
    cold = nade.sample(W, V, bv.expand(n, -1), bh.expand(n, -1), torch.Generator().manual_seed(2),
                       temperature=0.5)
    top = frames[int(p.argmax())]
    assert float((cold == top).all(1).double().mean()) > float(p.max()) + 0.05


def test_units_fixed_first_in_the_order_give_the_exact_conditional(small):
    """Descending order, the two highest units fixed (a melody note and the silence above it):
    the rest is drawn from p(rest | fixed) exactly."""
    W, V, bv, bh, frames = small
    order = nade.unit_order(UNITS, descending=True)
    mask = torch.zeros(UNITS, dtype=torch.bool)
    mask[-2:] = True
    values = torch.zeros(UNITS, dtype=torch.float64)
    values[-2] = 1.0                                   # unit 4 on, unit 5 (above it) off
    p = exact(W, V, bv, bh, frames, order)
    consistent = (frames[:, mask] == values[mask]).all(1)
    conditional = torch.where(consistent, p, torch.zeros_like(p))
    conditional /= conditional.sum()
    n = 40_000
    samples = nade.sample(W, V, bv.expand(n, -1), bh.expand(n, -1),
                          torch.Generator().manual_seed(3), mask=mask.expand(n, -1),
                          values=values.expand(n, -1), order=order)
    assert (samples[:, mask] == values[mask]).all()
    assert total_variation(samples, frames, conditional) < 0.03


def test_units_fixed_last_in_the_order_are_resampled_to_the_conditional(small):
    """Ascending order with the melody on top: the fixed units come last, so the units drawn
    before them cannot know them; importance resampling brings the draw to p(rest | fixed)."""
    W, V, bv, bh, frames = small
    mask = torch.zeros(UNITS, dtype=torch.bool)
    mask[-2:] = True
    values = torch.zeros(UNITS, dtype=torch.float64)
    values[-2] = 1.0
    assert not nade.fixed_units_first(mask[None]) and nade.fixed_units_first(
        mask[None], nade.unit_order(UNITS, descending=True))
    p = exact(W, V, bv, bh, frames)
    consistent = (frames[:, mask] == values[mask]).all(1)
    conditional = torch.where(consistent, p, torch.zeros_like(p))
    conditional /= conditional.sum()
    n = 20_000
    args = (W, V, bv.expand(n, -1), bh.expand(n, -1))
    fixed = (mask.expand(n, -1), values.expand(n, -1))
    proposal = nade.sample(*args, torch.Generator().manual_seed(3), mask=fixed[0], values=fixed[1])
    resampled, log_marginal = nade.sample_given(*args, *fixed, torch.Generator().manual_seed(3))
    assert (resampled[:, mask] == values[mask]).all()
    assert total_variation(proposal, frames, conditional) > 0.1      # what the proposal misses
    assert total_variation(resampled, frames, conditional) < 0.03
    # The mean importance weight estimates p(fixed) without bias.
    p_fixed = float(p[consistent].sum())
    assert abs(float(log_marginal.exp().mean()) / p_fixed - 1) < 0.01
    # With the fixed units first it is exact, for every row.
    order = nade.unit_order(UNITS, descending=True)
    _, exact_marginal = nade.sample_given(*args, *fixed, torch.Generator().manual_seed(4),
                                          order=order)
    p_first = float(exact(W, V, bv, bh, frames, order)[consistent].sum())
    assert torch.allclose(exact_marginal.exp(), torch.tensor(p_first, dtype=torch.float64))


def test_unit_log_probs_are_each_units_conditional(small):
    W, V, bv, bh, frames = small
    order = nade.unit_order(UNITS, descending=True)
    units = nade.unit_log_probs(frames, W, V, bv.expand(len(frames), -1),
                                bh.expand(len(frames), -1), order)
    assert torch.allclose(units.sum(1), exact(W, V, bv, bh, frames, order).log())
    # The highest unit comes first in descending order: its conditional is its marginal.
    p = exact(W, V, bv, bh, frames, order)
    top_on = float(p[frames[:, -1] == 1].sum())
    assert torch.allclose(units[frames[:, -1] == 1, -1].exp(),
                          torch.tensor(top_on, dtype=torch.float64))


# --- the RNN-NADE: the RNN-RBM's recurrence with a NADE per frame --------------------------------


@pytest.fixture()
def rnn_nade():
    torch.manual_seed(0)
    model = RnnNade(RnnRbmConfig(n_visible=UNITS, n_hidden=HIDDEN, n_recurrent=3,
                                 conditional="nade", order="descending"))
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.5)
    return model


def test_batched_recurrence_equals_a_step_by_step_reference(rnn_nade):
    m = rnn_nade
    v = torch.randint(0, 2, (2, 5, UNITS)).float()
    batched = m.frame_log_probs(v)
    for b in range(2):
        u = m.u0
        for t in range(5):
            bv, bh = m.bv + u @ m.Wuv, m.bh + u @ m.Wuh
            step = nade.log_prob(v[b, t][None], m.W, m.V, bv[None], bh[None], m.unit_order())
            assert torch.allclose(batched[b, t], step[0], atol=1e-5)
            u = torch.tanh(m.bu + v[b, t] @ m.Wvu + u @ m.Wuu)
    # The training cost is the mean exact NLL per frame; padding (masked frames) changes nothing.
    assert torch.allclose(m(v), -batched.mean())
    padded = torch.cat([v, torch.ones(2, 3, UNITS)], 1)
    mask = torch.arange(8)[None].expand(2, -1) < 5
    assert torch.allclose(m(padded, mask), m(v))


def test_an_rnn_nade_and_an_rnn_rbm_file_each_load_as_what_they_are(rnn_nade, tmp_path):
    nade_file = save(tmp_path / "nade.safetensors", rnn_nade)
    rbm_file = save(tmp_path / "rbm.safetensors", RnnRbm(RnnRbmConfig(UNITS, HIDDEN, 3)))
    loaded = load(nade_file).model
    assert type(loaded) is RnnNade and loaded.config.order == "descending"
    assert all(torch.equal(a, b) for a, b in zip(loaded.parameters(), rnn_nade.parameters()))
    assert type(load(rbm_file).model) is RnnRbm
    # Sampling is the NADE's, exact and seeded.
    one, _ = loaded.sample(4, generator=torch.Generator().manual_seed(5))
    two, _ = rnn_nade.sample(4, generator=torch.Generator().manual_seed(5))
    assert torch.equal(one, two) and one.shape == (1, 4, UNITS)


def test_a_few_epochs_on_jsb_lower_the_exact_validation_nll_and_it_composes(jsb_train, jsb_valid):
    from rnnrbm_music import RnnRbmComposer

    composer = RnnRbmComposer(n_hidden=32, n_recurrent=16, steps_per_quarter=1, conditional="nade",
                              order="descending", seed=0, epochs=3, batch_size=16,
                              optimizer="adam", lr=0.01)
    composer.fit(jsb_train[:60], valid=jsb_valid[:10], progress=False)
    figures = [epoch["valid"] for epoch in composer.history_]
    assert figures[-1] < figures[0] < 88 * math.log(2)            # exact NLL per frame, falling
    evaluation = composer.evaluate(jsb_valid[:10], n_chains=4)
    assert abs(evaluation["nll"] - figures[-1]) < 1e-3 and evaluation["ais"]["schedule"] == "exact"
    assert 0 < evaluation["accuracy"] < 1
    melody = jsb_valid[0][:16]
    top = np.zeros_like(melody.frames)
    highest = melody.frames.shape[1] - 1 - np.argmax(melody.frames[:, ::-1], axis=1)
    top[np.arange(len(top)), highest] = melody.frames.any(axis=1)
    harmonized = composer.harmonize_roll(melody.replace(frames=top), seed=1)[0]
    assert (harmonized.frames >= top).all()                          # the melody is kept
    assert len(composer.generate_roll(n_steps=8, seed=2)[0]) == 8


def test_descending_order_puts_a_melody_clamp_first_in_either_layout():
    """Harmonizing clamps the melody note and every pitch above it (struck and sounding in the
    articulation layout): in descending order those units come first, so harmonization is exact."""
    from rnnrbm_music.composer import melody_clamp

    melody = np.zeros((3, 88), bool)
    melody[[0, 1, 2], [60, 64, 40]] = True
    mask, _ = melody_clamp(melody)
    for articulation in (False, True):
        config = RnnRbmConfig(n_visible=176 if articulation else 88, n_hidden=4, n_recurrent=2,
                              articulation=articulation, conditional="nade", order="descending")
        order = RnnNade(config).unit_order()
        full = torch.as_tensor(np.concatenate([mask, mask], 1) if articulation else mask)
        assert sorted(order.tolist()) == list(range(config.n_visible))
        assert nade.fixed_units_first(full, order)
        assert not nade.fixed_units_first(full)               # ascending: the clamp comes last
