import torch

from rnnrbm_music.engine import RnnRbm, RnnRbmConfig, rbm


def model_with_random_weights(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    model = RnnRbm(RnnRbmConfig(n_visible=88, n_hidden=20, n_recurrent=12)).to(dtype)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.3)
    return model


def test_parameters_are_named_and_shaped_as_the_tutorial():
    model = RnnRbm()
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    assert shapes == {"W": (88, 150), "bv": (88,), "bh": (150,), "Wuh": (100, 150),
                      "Wuv": (100, 88), "Wvu": (88, 100), "Wuu": (100, 100), "bu": (100,),
                      "u0": (100,)}


def test_batched_recurrence_equals_the_equations_step_by_step():
    model = model_with_random_weights()
    v = (torch.rand(3, 17, 88, generator=torch.Generator().manual_seed(1)) < 0.1).double()
    bv, bh = model.frame_rbms(v)
    for b in range(3):
        u = model.u0
        for t in range(17):
            assert torch.allclose(bv[b, t], model.bv + u @ model.Wuv, atol=1e-6)
            assert torch.allclose(bh[b, t], model.bh + u @ model.Wuh, atol=1e-6)
            u = torch.tanh(model.bu + v[b, t] @ model.Wvu + u @ model.Wuu)
        assert torch.allclose(model.condition(v[b]), u, atol=1e-6)


def test_padding_changes_nothing():
    model = model_with_random_weights(dtype=torch.float32)
    g = torch.Generator().manual_seed(2)
    v = (torch.rand(2, 40, 88, generator=g) < 0.1).float()
    mask = torch.ones(2, 40, dtype=torch.bool)
    mask[1, 25:] = False
    zero_padded, junk_padded = v.clone(), v.clone()
    zero_padded[1, 25:] = 0
    junk_padded[1, 25:] = 1
    results = []
    for batch in (zero_padded, junk_padded):
        model.zero_grad()
        loss = model(batch, mask, k=5, generator=torch.Generator().manual_seed(3))
        loss.backward()
        results.append((loss.detach(), [p.grad.clone() for p in model.parameters()]))
    assert torch.equal(results[0][0], results[1][0])
    for a, b in zip(results[0][1], results[1][1]):
        assert torch.equal(a, b)
    # The biases of the real frames do not depend on what follows them.
    alone_bv, _ = model.frame_rbms(v[1:2, :25])
    padded_bv, _ = model.frame_rbms(junk_padded[1:2])
    assert torch.allclose(alone_bv, padded_bv[:, :25])


def test_loss_is_the_mean_cd_cost_over_real_frames():
    model = model_with_random_weights(dtype=torch.float32)
    v = (torch.rand(2, 10, 88, generator=torch.Generator().manual_seed(4)) < 0.1).float()
    mask = torch.ones(2, 10, dtype=torch.bool)
    mask[0, 6:] = False
    bv, bh = model.frame_rbms(v)
    expected = rbm.cd_loss(v[mask], model.W, bv[mask], bh[mask], 3, torch.Generator().manual_seed(5))
    got = model(v, mask, 3, torch.Generator().manual_seed(5))
    assert torch.allclose(got, expected)


def test_sampling_is_reproducible_and_respects_clamps():
    model = model_with_random_weights(dtype=torch.float32)
    a, _ = model.sample(12, k=5, generator=torch.Generator().manual_seed(6), n=3)
    b, _ = model.sample(12, k=5, generator=torch.Generator().manual_seed(6), n=3)
    assert torch.equal(a, b) and a.shape == (3, 12, 88)
    mask = torch.zeros(12, 88, dtype=torch.bool)
    mask[:, 40:] = True
    values = torch.zeros(12, 88)
    values[:, 50] = 1
    c, _ = model.sample(12, k=5, generator=torch.Generator().manual_seed(7), clamp=(mask, values), n=2)
    assert torch.equal(c[:, :, 40:], values[None, :, 40:].expand(2, -1, -1))


def two_mode_model():
    """Six visible units and one hidden unit that switches them all on: the full frame has free
    energy -12 and the empty one about 0, so the full frame holds almost all the mass, but a
    Gibbs chain from the empty frame almost never turns the hidden unit on."""
    model = RnnRbm(RnnRbmConfig(n_visible=6, n_hidden=1, n_recurrent=2))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.W.fill_(6.0)
        model.bv.fill_(-1.0)
        model.bh.fill_(-18.0)
    return model


def frame_distribution(frames):
    """Empirical probability of each of the 2^6 frames, indexed by the frame's bits."""
    index = (frames.long() * 2 ** torch.arange(6)).sum(-1)
    return torch.bincount(index, minlength=64).double() / len(index)


def test_chains_start_from_known_frames_drawn_from_the_model():
    model = two_mode_model()
    states = torch.tensor([[(i >> j) & 1 for j in range(6)] for i in range(64)], dtype=torch.float32)
    exact = torch.softmax(-rbm.free_energies(states, model.W, model.bv[None], model.bh[None])[0]
                          .double(), 0)
    frames, _ = model.sample(1, k=1, generator=torch.Generator().manual_seed(0), n=4000)
    from_empty = frame_distribution(frames[:, 0])
    assert 0.5 * (from_empty - exact).abs().sum() > 0.9          # the chain never found the mode

    model.remember_frames(states[[0, 63, 5]])                  # e.g. frames of a training corpus
    frames, _ = model.sample(1, k=1, generator=torch.Generator().manual_seed(0), n=4000)
    assert 0.5 * (frame_distribution(frames[:, 0]) - exact).abs().sum() < 0.03

    mask = torch.zeros(1, 6, dtype=torch.bool)
    mask[0, 0] = True                                          # unit 0 held off: a harmonization
    frames, _ = model.sample(1, k=1, generator=torch.Generator().manual_seed(1),
                             clamp=(mask, torch.zeros(1, 6)), n=4000)
    assert not frames[:, 0, 0].any()
    conditional = exact * (states[:, 0] == 0)
    conditional /= conditional.sum()                           # the full frame without unit 0
    assert 0.5 * (frame_distribution(frames[:, 0]) - conditional).abs().sum() < 0.03


def test_every_method_follows_the_device_of_the_model():
    model = model_with_random_weights(dtype=torch.float32).to("meta")
    frames, state = model.sample(2, k=1, generator=None)
    assert frames.device.type == "meta" and state.device.type == "meta"


def test_recurrence_gradients_equal_the_step_by_step_equations():
    model = model_with_random_weights()
    v = (torch.rand(3, 9, 88, generator=torch.Generator().manual_seed(8)) < 0.1).double()
    weights = torch.randn(3, 9, 12, generator=torch.Generator().manual_seed(9), dtype=torch.float64)

    def objective(states, last):
        return (states * weights).sum() + last.square().sum()

    states, last = model.recurrence(v)
    fused = torch.autograd.grad(objective(states, last), [model.Wvu, model.Wuu, model.bu, model.u0])
    u, before = model.u0.expand(3, -1), []
    for t in range(9):
        before.append(u)
        u = torch.tanh(model.bu + v[:, t] @ model.Wvu + u @ model.Wuu)
    by_hand = torch.autograd.grad(objective(torch.stack(before, 1), u),
                                  [model.Wvu, model.Wuu, model.bu, model.u0])
    for a, b in zip(fused, by_hand):
        assert torch.allclose(a, b, atol=1e-10)


def test_dropout_zeroes_state_units_where_they_set_the_biases():
    model = model_with_random_weights(dtype=torch.float32)
    v = (torch.rand(2, 10, 88, generator=torch.Generator().manual_seed(10)) < 0.1).float()
    generator = torch.Generator().manual_seed(11)
    states, _ = model.recurrence(v)
    keep = torch.rand(states.shape, generator=generator) >= 0.4
    bv, bh = model.frame_biases(states * keep / 0.6)
    expected = rbm.cd_loss(v.reshape(-1, 88), model.W, bv.reshape(-1, 88), bh.reshape(-1, 20),
                           3, generator)
    got = model(v, None, 3, torch.Generator().manual_seed(11), dropout=0.4)
    assert torch.allclose(got, expected)
    assert not torch.allclose(got, model(v, None, 3, torch.Generator().manual_seed(11)))
