import itertools
import math

import pytest
import torch

from rnnrbm_music.engine import rbm


def all_states(n, dtype=torch.float64):
    return torch.tensor(list(itertools.product([0, 1], repeat=n)), dtype=dtype)


@pytest.fixture
def tiny():
    g = torch.Generator().manual_seed(0)
    V, H = 5, 3
    return (torch.randn(V, H, generator=g, dtype=torch.float64),
            torch.randn(V, generator=g, dtype=torch.float64),
            torch.randn(H, generator=g, dtype=torch.float64))


def joint_energy(v, h, W, bv, bh):
    return -(v @ bv) - (h @ bh) - ((v @ W) * h).sum(-1)


def test_free_energy_and_conditionals_against_brute_force(tiny):
    W, bv, bh = tiny
    vs, hs = all_states(5), all_states(3)
    # F(v) = -log sum_h exp(-E(v, h))
    for v in vs:
        energies = joint_energy(v.expand(len(hs), -1), hs, W, bv, bh)
        assert torch.allclose(rbm.free_energy(v, W, bv, bh), -torch.logsumexp(-energies, 0))
    # P(h_j = 1 | v) and P(v_i = 1 | h) by summing the joint.
    v = vs[11]
    weights = torch.softmax(-joint_energy(v.expand(len(hs), -1), hs, W, bv, bh), 0)
    assert torch.allclose(rbm.hidden_probabilities(v, W, bh), (weights[:, None] * hs).sum(0))
    h = hs[5]
    weights = torch.softmax(-joint_energy(vs, h.expand(len(vs), -1), W, bv, bh), 0)
    assert torch.allclose(rbm.visible_probabilities(h, W, bv), (weights[:, None] * vs).sum(0))
    # Exact log Z by enumerating hidden units = by enumerating everything.
    everything = joint_energy(vs.repeat_interleave(len(hs), 0), hs.repeat(len(vs), 1), W, bv, bh)
    assert torch.allclose(rbm.exact_log_partition(W, bv, bh), torch.logsumexp(-everything, 0))


def test_log_pseudo_likelihood_against_brute_force(tiny):
    W, bv, bh = tiny
    vs = all_states(5)
    log_p = -rbm.free_energy(vs, W, bv, bh) - rbm.exact_log_partition(W, bv, bh)
    v = vs[19]
    expected = 0.0
    for i in range(5):
        flipped = v.clone()
        flipped[i] = 1 - flipped[i]
        a, b = log_p[int("".join(str(int(x)) for x in v), 2)], \
            log_p[int("".join(str(int(x)) for x in flipped), 2)]
        expected += float(a - torch.logaddexp(a, b))
    assert math.isclose(float(rbm.log_pseudo_likelihood(v, W, bv, bh)), expected, rel_tol=1e-9)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gibbs_samples_the_model_distribution(tiny, dtype):
    """A long chain's visible states follow p(v) (integer-uniform sampler in float32 too)."""
    W, bv, bh = (x.to(dtype) for x in tiny)
    vs = all_states(5, dtype)
    p = torch.softmax(-rbm.free_energy(vs, W, bv, bh), 0)
    g = torch.Generator().manual_seed(1)
    samples = rbm.gibbs(torch.zeros(20000, 5, dtype=dtype), W, bv, bh, k=30, generator=g)
    codes = (samples * 2 ** torch.arange(4, -1, -1, dtype=dtype)).sum(-1).long()
    empirical = torch.bincount(codes, minlength=32).to(dtype) / len(codes)
    assert (empirical - p).abs().max() < 0.012


def test_clamped_gibbs_samples_the_conditional(tiny):
    W, bv, bh = tiny
    vs = all_states(5)
    clamp_mask = torch.tensor([True, False, False, True, False])
    clamp_values = torch.tensor([1.0, 0, 0, 0, 0], dtype=torch.float64)
    allowed = (vs[:, 0] == 1) & (vs[:, 3] == 0)
    p = torch.softmax(-rbm.free_energy(vs, W, bv, bh).masked_fill(~allowed, float("inf")), 0)
    g = torch.Generator().manual_seed(2)
    samples = rbm.gibbs(torch.zeros(20000, 5, dtype=torch.float64), W, bv, bh, k=20, generator=g,
                        clamp_mask=clamp_mask, clamp_values=clamp_values)
    assert bool((samples[:, 0] == 1).all() and (samples[:, 3] == 0).all())
    codes = (samples * 2 ** torch.arange(4, -1, -1, dtype=torch.float64)).sum(-1).long()
    empirical = torch.bincount(codes, minlength=32).double() / len(codes)
    assert (empirical - p).abs().max() < 0.012


def test_cd_gradient_points_along_the_exact_gradient():
    g = torch.Generator().manual_seed(3)
    V, H = 8, 6
    W = (torch.randn(V, H, generator=g) * 0.5).requires_grad_()
    bv = (torch.randn(V, generator=g) * 0.5).requires_grad_()
    bh = (torch.randn(H, generator=g) * 0.5).requires_grad_()
    data = (torch.rand(12, V, generator=g) < 0.4).float()
    exact = rbm.free_energy(data, W, bv, bh).mean() + rbm.exact_log_partition(W, bv, bh)
    exact_grad = torch.cat([x.flatten() for x in torch.autograd.grad(exact, (W, bv, bh))])
    many = data.repeat(2000, 1)
    cd = rbm.cd_loss(many, W, bv, bh, k=50, generator=g)   # float32: the training sampler
    cd_grad = torch.cat([x.flatten() for x in torch.autograd.grad(cd, (W, bv, bh))])
    cosine = torch.nn.functional.cosine_similarity(cd_grad, exact_grad, dim=0)
    assert cosine > 0.9


def test_ais_matches_exact_log_partition_with_12_hidden_units():
    g = torch.Generator().manual_seed(4)
    V, H = 88, 12
    W = torch.randn(V, H, generator=g) * 0.3
    bv = torch.randn(16, V, generator=g) - 2.0      # 16 RBMs with their own biases
    bh = torch.randn(16, H, generator=g)
    exact = rbm.exact_log_partition(W.double(), bv.double(), bh.double())
    estimate = rbm.ais_log_partition(W, bv, bh, n_chains=100, n_betas=1000, generator=g)
    assert (estimate.log_z - exact).abs().max() < 0.05
    assert bool((estimate.std < 0.05).all())


def test_ais_schedules():
    assert rbm.ais_betas(3, "linear").tolist() == [0.0, 0.5, 1.0]
    betas = rbm.ais_betas(101, "sigmoid")
    assert betas[0] == 0 and betas[-1] == 1 and bool((betas.diff() > 0).all())
    with pytest.raises(ValueError, match="unknown AIS schedule"):
        rbm.ais_betas(10, "geometric")


def test_known_frames_rescue_log_z_where_ais_misses_every_mode():
    """Eight hidden units, each a three-note chord that its unit turns on: the mass sits on the
    2^8 unions of the chords, which AIS's chains (from the everything-off base) never reach."""
    g = torch.Generator().manual_seed(0)
    V, H = 88, 8
    chords = torch.zeros(H, V)
    for j in range(H):
        chords[j, torch.randperm(V, generator=g)[:3]] = 1
    W = chords.T * 24.0
    bv = torch.full((4, V), -12.0)
    bh = torch.full((4, H), -30.0) + torch.randn(4, H, generator=g) * 2
    exact = rbm.exact_log_partition(W.double(), bv.double(), bh.double())
    unions = (all_states(H, torch.float32) @ chords).clamp(max=1)
    ais = rbm.ais_log_partition(W, bv, bh, n_chains=20, n_betas=100, generator=g)
    assert bool(((exact - ais.log_z) > 50).all())                 # AIS alone: off by ~100 nats
    estimate = rbm.log_partition(W, bv, bh, unions, n_chains=20, n_betas=100, generator=g)
    assert (estimate.log_z - exact).abs().max() < 1e-3
    assert bool((estimate.known_share > 0.999).all())


def test_log_partition_with_known_frames_matches_exact_log_z():
    g = torch.Generator().manual_seed(4)
    V, H = 88, 12
    W = torch.randn(V, H, generator=g) * 0.3
    bv = torch.randn(8, V, generator=g) - 2.0
    bh = torch.randn(8, H, generator=g)
    exact = rbm.exact_log_partition(W.double(), bv.double(), bh.double())
    known = (torch.rand(300, V, generator=g) < 0.1).float()
    lower = torch.logsumexp(-rbm.free_energies(known, W, bv, bh).double(), -1)
    only_known = rbm.log_partition(W, bv, bh, known, n_chains=0)
    assert torch.allclose(only_known.log_z, lower) and bool((lower < exact).all())
    estimate = rbm.log_partition(W, bv, bh, known, n_chains=100, n_betas=1000, generator=g)
    assert (estimate.log_z - exact).abs().max() < 0.05
    assert bool((estimate.log_z >= lower).all())
    # The expectation of 1 is 1; of "is a known frame", the known frames' share.
    ones_known, ones_sampled = torch.ones(8, 300), torch.ones(8, 100)
    assert torch.allclose(estimate.expectation(ones_known, ones_sampled), torch.ones(8, dtype=torch.float64))
    assert torch.allclose(estimate.expectation(ones_known, 0 * ones_sampled), estimate.known_share)


def test_free_energies_of_many_frames_under_many_rbms(tiny):
    W, bv, bh = tiny
    frames = all_states(5)
    bvs, bhs = torch.stack([bv, -bv, 2 * bv]), torch.stack([bh, bh, -bh])
    expected = rbm.free_energy(frames[None], W, bvs[:, None], bhs[:, None])
    assert torch.allclose(rbm.free_energies(frames, W, bvs, bhs, max_elements=7), expected)
