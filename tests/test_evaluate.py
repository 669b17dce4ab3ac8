import math

import numpy as np
import pytest
import torch

from rnnrbm_music.engine import RnnRbm, RnnRbmConfig, rbm
from rnnrbm_music.evaluate import accuracy, frame_accuracy, frame_rbms, nll, pseudo_likelihood


def test_a_model_with_all_weights_zero_has_nll_88_ln_2(jsb_valid):
    model = RnnRbm(RnnRbmConfig(n_hidden=150, n_recurrent=100))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    data = [roll.frames for roll in jsb_valid[:4]]
    result = nll(model, data, n_chains=10, n_betas=50)
    assert result.frames == sum(len(d) for d in data)
    assert result.nll == pytest.approx(88 * math.log(2), abs=1e-4)
    assert pseudo_likelihood(model, data) == pytest.approx(-88 * math.log(2), abs=1e-4)


def test_nll_matches_the_exact_value_on_a_small_model(jsb_valid):
    torch.manual_seed(0)
    model = RnnRbm(RnnRbmConfig(n_hidden=10, n_recurrent=8))
    with torch.no_grad():
        model.W.normal_(0, 0.5)
        model.bv.fill_(-2)
        model.Wuv.normal_(0, 0.5)
        model.Wvu.normal_(0, 0.5)
    data = [roll.frames for roll in jsb_valid[:6]]
    exact, count = 0.0, 0
    with torch.no_grad():
        for v, bv, bh in frame_rbms(model, data):
            exact += float((rbm.free_energy(v, model.W, bv, bh)
                            + rbm.exact_log_partition(model.W, bv, bh)).sum())
            count += len(v)
    estimate = nll(model, data, n_chains=50, n_betas=500, generator=torch.Generator().manual_seed(1))
    assert abs(estimate.nll - exact / count) < 0.01
    assert estimate.std < 0.01


def test_accuracy_formula_on_hand_made_predictions():
    predicted = torch.tensor([[1., 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    target = torch.tensor([[1., 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]])
    # TP/(TP+FP+FN): 1/3, 1/1, 0/1, and both silent counts as right.
    assert accuracy(predicted, target).tolist() == pytest.approx([1 / 3, 1.0, 0.0, 1.0])


def copy_previous_frame_model(V=6) -> RnnRbm:
    """u(t) = sign of v(t); frame t's visible biases +20 where frame t-1 sounded, else -20."""
    model = RnnRbm(RnnRbmConfig(n_visible=V, n_hidden=3, n_recurrent=V))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.Wvu.copy_(torch.eye(V) * 40)
        model.bu.fill_(-20)                 # u = tanh(40 v - 20) = +-1
        model.u0.fill_(-1)                  # nothing sounded before the first frame
        model.Wuv.copy_(torch.eye(V) * 20)  # bias +-20
    return model


def test_a_model_that_copies_the_previous_frame():
    frames = np.array([[1, 1, 0, 0, 0, 0],
                       [1, 0, 1, 0, 0, 0],
                       [1, 0, 1, 0, 0, 0],
                       [0, 0, 0, 0, 0, 1]], bool)
    # Predictions: silence, frame 0, frame 1, frame 2. By hand:
    # t=0: TP 0, FN 2 -> 0; t=1: TP 1 (0), FP 1 (1), FN 1 (2) -> 1/3; t=2: TP 2 -> 1;
    # t=3: TP 0, FP 2, FN 1 -> 0. Mean over frames: (0 + 1/3 + 1 + 0) / 4.
    model = copy_previous_frame_model()
    result = frame_accuracy(model, [frames], samples=3, k=5, generator=torch.Generator().manual_seed(0))
    assert result == pytest.approx((1 / 3 + 1) / 4)


def test_accuracy_chains_start_from_the_previous_true_frame_and_from_silence_per_piece():
    frames = np.array([[1, 1, 0, 0, 0, 0],
                       [1, 0, 1, 0, 0, 0],
                       [1, 0, 1, 0, 0, 0],
                       [0, 0, 0, 0, 0, 1]], bool)
    # With k=0 the prediction is the chain's start: the first piece scores as above; the second
    # (frames 2 and 3) starts again from silence: 0 against frame 2, frame 2 against frame 3: 0.
    model = RnnRbm(RnnRbmConfig(n_visible=6, n_hidden=3, n_recurrent=4))
    result = frame_accuracy(model, [frames, frames[2:]], samples=2, k=0)
    assert result == pytest.approx((1 / 3 + 1) / 6)
