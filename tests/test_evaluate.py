import itertools
import math

import numpy as np
import pytest
import torch

import rnnrbm_music.progress as progress_module
from rnnrbm_music.engine import RnnNade, RnnRbm, RnnRbmConfig, rbm
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


@pytest.mark.parametrize("model", [RnnRbm(RnnRbmConfig(n_hidden=8, n_recurrent=4)),
                                   RnnNade(RnnRbmConfig(n_hidden=8, n_recurrent=4,
                                                        conditional="nade"))])
def test_evaluating_off_a_terminal_writes_the_frames_done_and_the_time_left(
        model, jsb_valid, monkeypatch, capsys):
    monkeypatch.setattr(progress_module, "PERIOD", 0.0)    # a line for every group of frames
    data = [roll.frames for roll in jsb_valid[:3]]
    total = sum(len(d) for d in data)
    result = nll(model, data, n_chains=2, n_betas=10, frames_per_batch=50, progress=True)
    lines = capsys.readouterr().err.splitlines()
    done = [*range(50, total, 50), total]
    counts = [int(line.split(": ")[1].split("/")[0]) for line in lines]
    assert all(line.startswith("evaluating: ") and f"/{total} frames" in line for line in lines)
    assert counts == sorted(set(counts)) and set(done) <= set(counts) and result.frames == total
    if isinstance(model, RnnNade):    # exact: a line per group of frames
        assert counts == done
    else:                             # AIS: lines within each group too, as its steps go by
        assert len(counts) > 2 * len(done)
    assert all(" elapsed, ~" in line and line.endswith(" left") for line in lines[:-1])
    nll(model, data, n_chains=2, n_betas=10, frames_per_batch=50)       # silent by default
    assert capsys.readouterr().err == ""


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
    # t=3: TP 0, FP 2, FN 1 -> 0. Mean over frames: (0 + 1/3 + 1 + 0) / 4. Silence, the first
    # prediction, is not one of the piece's frames: AIS's chains must find it.
    model = copy_previous_frame_model()
    result = frame_accuracy(model, [frames], samples=3, n_betas=50,
                            generator=torch.Generator().manual_seed(0))
    assert result == pytest.approx((1 / 3 + 1) / 4)
    # The first frame's mass is all on silence, found by AIS; the others' on known frames.
    share = nll(model, [frames], n_chains=3, n_betas=50).known_share
    assert share == pytest.approx(3 / 4, abs=1e-6)


def small_visible_model(V=10) -> RnnRbm:
    torch.manual_seed(3)
    model = RnnRbm(RnnRbmConfig(n_visible=V, n_hidden=6, n_recurrent=5))
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 1.5)
    return model


def exact_figures(model, sequences) -> tuple[float, float]:
    """NLL and expected accuracy by enumerating all 2^V frames of each frame's RBM."""
    V = model.W.shape[0]
    every = torch.tensor(list(itertools.product([0., 1.], repeat=V)))
    total_nll, total_accuracy, count = 0.0, 0.0, 0
    for v, bv, bh in frame_rbms(model, sequences):
        minus_f = -rbm.free_energy(every[None], model.W.detach(), bv[:, None], bh[:, None]).double()
        log_z = torch.logsumexp(minus_f, -1)
        p = torch.exp(minus_f - log_z[:, None])
        total_nll += float((rbm.free_energy(v, model.W.detach(), bv, bh) + log_z).sum())
        total_accuracy += float((p * accuracy(every[None], v[:, None])).sum())
        count += len(v)
    return total_nll / count, total_accuracy / count


def test_nll_and_accuracy_against_enumeration_of_every_frame():
    model = small_visible_model()
    g = torch.Generator().manual_seed(0)
    sequences = [(torch.rand(30, 10, generator=g) < 0.3).numpy(),
                 (torch.rand(12, 10, generator=g) < 0.5).numpy()]
    exact_nll, exact_accuracy = exact_figures(model, sequences)
    # Every frame known: the sum is exact and AIS has nothing left to add.
    every = np.array(list(itertools.product([0, 1], repeat=10)))
    result = nll(model, sequences, n_chains=5, n_betas=20, known=[every])
    assert result.known_frames == 1024 and result.known_share == pytest.approx(1)
    assert result.nll == pytest.approx(exact_nll, abs=1e-5)
    assert result.accuracy == pytest.approx(exact_accuracy, abs=1e-5)
    # Only the pieces' own frames known: AIS estimates the rest, within its spread.
    result = nll(model, sequences, n_chains=200, n_betas=300, generator=g)
    assert result.known_frames < 42 and result.known_share < 0.5
    assert result.nll == pytest.approx(exact_nll, abs=max(0.02, 3 * result.std))
    assert result.accuracy == pytest.approx(exact_accuracy, abs=0.01)
    # Nothing but the known frames: a lower bound on every frame's Z, so on the NLL.
    assert nll(model, sequences, n_chains=0).nll < exact_nll
    # The frames a model keeps from its training data are summed as if passed as known.
    model.remember_frames(torch.as_tensor(every))
    assert nll(model, sequences, n_chains=0).nll == pytest.approx(exact_nll, abs=1e-5)
