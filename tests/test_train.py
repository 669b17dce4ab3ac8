import re

import numpy as np
import pytest
import torch

from rnnrbm_music import checkpoint
from rnnrbm_music.engine import RnnNade, RnnRbm, RnnRbmConfig
from rnnrbm_music.evaluate import pseudo_likelihood
from rnnrbm_music.train import TrainConfig, TrainingDiverged, train, transpose_frames


def frames(corpus):
    return [roll.frames for roll in corpus]


def small_model(seed=0):
    torch.manual_seed(seed)
    return RnnRbm(RnnRbmConfig(n_hidden=50, n_recurrent=30))


def test_a_few_epochs_on_jsb_lower_the_validation_monitor(jsb_train, jsb_valid):
    model = small_model()
    valid = frames(jsb_valid)
    before = -pseudo_likelihood(model, valid)
    result = train(model, frames(jsb_train), valid,
                   TrainConfig(epochs=4, k=5, batch_size=16, optimizer="adam", lr=0.01,
                               pretrain_epochs=1, valid_accuracy=True), progress=False)
    assert result.history[-1]["valid"] < before - 5
    assert result.best_valid == min(r["valid"] for r in result.history)
    assert result.history[-1]["frames_per_second"] > 0 and result.skipped_batches == 0
    assert result.history[-1]["valid_accuracy"] > result.history[0]["valid_accuracy"] > 0
    distinct = np.unique(np.concatenate(frames(jsb_train)).astype(np.float32), axis=0)
    assert np.array_equal(model.known_frames.numpy(), distinct)   # where its sampler starts


def test_same_seed_same_parameters(jsb_train):
    data = frames(jsb_train)[:40]
    config = TrainConfig(epochs=2, k=3, batch_size=8, optimizer="nesterov", lr=0.01,
                         clip_grad=5.0, lr_schedule="cosine", seed=11)
    a, b = small_model(), small_model()
    train(a, data, config=config, progress=False)
    train(b, data, config=config, progress=False)
    for (name, x), (_, y) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(x, y), name
    c = small_model()
    train(c, data, config=TrainConfig(**{**config.__dict__, "seed": 12}), progress=False)
    assert not torch.equal(a.W, c.W)


def test_checkpoint_resume_continues_exactly(jsb_train, tmp_path):
    data = frames(jsb_train)[:30]
    config = TrainConfig(epochs=3, k=2, batch_size=8, optimizer="adam", lr=0.01,
                         checkpoint_every=1)
    straight = small_model()
    train(straight, data, config=config, progress=False)
    first = small_model()
    path = tmp_path / "run.safetensors"
    train(first, data, config=TrainConfig(**{**config.__dict__, "epochs": 2}),
          checkpoint_path=path, progress=False)
    assert checkpoint.load(path).config["epochs_trained"] == 2
    resumed = small_model(seed=99)
    result = train(resumed, data, config=config, resume_from=path, checkpoint_path=path,
                   progress=False)
    assert result.epochs_trained == 3 and len(result.history) == 3 and result.model_epoch == 3
    for (name, x), (_, y) in zip(straight.named_parameters(), resumed.named_parameters()):
        assert torch.allclose(x, y, atol=1e-6), name


@pytest.mark.parametrize("conditional, cost, valid_figure", [
    ("rbm", "CD-2 cost per frame", "valid pseudo-NLL per frame"),
    ("nade", "train NLL per frame", "valid NLL per frame")])
def test_epoch_lines_name_each_figure(conditional, cost, valid_figure, jsb_train, jsb_valid,
                                      capsys):
    torch.manual_seed(0)
    config = RnnRbmConfig(n_hidden=20, n_recurrent=10, conditional=conditional)
    model = RnnNade(config) if conditional == "nade" else RnnRbm(config)
    result = train(model, frames(jsb_train)[:16], frames(jsb_valid)[:4],
                   TrainConfig(epochs=3, k=2, batch_size=8, optimizer="adam", lr=0.3,
                               valid_accuracy=conditional == "rbm"))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    best = {}
    for line, record in zip(lines, result.history):
        if best.get("valid", np.inf) > record["valid"]:
            best = record
        expected = (f"epoch {record['epoch']}/3  {cost} {record['loss']:.4f} nats  "
                    f"{valid_figure} {record['valid']:.4f} nats  "
                    + (f"valid frame accuracy {100 * record['valid_accuracy']:.2f} %  "
                       if conditional == "rbm" else "")
                    + f"(best {best['valid']:.4f} at epoch {best['epoch']})  ")
        assert line.startswith(expected)
        timing = r"\d+:\d\d elapsed" + (r", ~\d+:\d\d left" if record["epoch"] < 3 else "")
        assert re.fullmatch(timing, line[len(expected):])


def test_early_stopping_restores_the_best_model(jsb_train, jsb_valid):
    model = small_model()
    valid = frames(jsb_valid)[:20]
    # A learning rate this large makes training worse after the first epochs.
    result = train(model, frames(jsb_train)[:60], valid,
                   TrainConfig(epochs=30, k=1, batch_size=8, optimizer="adam", lr=0.3, patience=2),
                   progress=False)
    assert result.stopped_early and result.epochs_trained < 30
    assert result.model_epoch == result.best_epoch < result.epochs_trained
    assert -pseudo_likelihood(model, valid) == pytest.approx(result.best_valid)


def test_ctrl_c_keeps_the_model_trained_so_far(jsb_train, monkeypatch, tmp_path):
    import rnnrbm_music.train as train_module
    calls = {"n": 0}
    real = train_module.monitor

    def interrupt_on_second_epoch(model, valid):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(model, valid)
    monkeypatch.setattr(train_module, "monitor", interrupt_on_second_epoch)
    model = small_model()
    initial = model.W.detach().clone()
    path = tmp_path / "interrupted.safetensors"
    result = train(model, frames(jsb_train)[:20], frames(jsb_train)[20:25],
                   TrainConfig(epochs=10, k=1, batch_size=8, lr=0.01), checkpoint_path=path,
                   progress=False)
    assert result.interrupted and result.epochs_trained == 1
    assert not torch.equal(model.W, initial)
    assert torch.equal(checkpoint.load(path).model.W, model.W)


def test_non_finite_batches_are_skipped_then_training_stops():
    model = small_model()
    with torch.no_grad():
        model.Wuu.fill_(float("nan"))
    data = [np.random.default_rng(0).random((500, 88)) < 0.05]
    with pytest.raises(TrainingDiverged, match="3 consecutive batches"):
        train(model, data, config=TrainConfig(epochs=1, k=1, batch_size=1, max_nonfinite=3),
              progress=False)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="batch_size must be a whole number from 1"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="decay_epochs .* needs lr_schedule 'cosine'"):
        TrainConfig(decay_epochs=10)
    with pytest.raises(ValueError, match="decay_epochs"):
        TrainConfig(epochs=20, lr_schedule="cosine", decay_epochs=30)


def test_kept_checkpoints_are_named_by_epoch(jsb_train, tmp_path):
    path = tmp_path / "run.safetensors"
    train(small_model(), frames(jsb_train)[:10],
          config=TrainConfig(epochs=3, k=1, batch_size=8, checkpoint_every=1, keep_checkpoints=True),
          checkpoint_path=path, progress=False)
    kept = sorted(p.name for p in tmp_path.glob("run-epoch*.safetensors"))
    assert kept == ["run-epoch0001.safetensors", "run-epoch0002.safetensors",
                    "run-epoch0003.safetensors"]
    assert checkpoint.load(tmp_path / kept[1]).config["epochs_trained"] == 2
    assert checkpoint.load(path).config["epochs_trained"] == 3


def test_transposition_shifts_notes_and_drops_those_off_the_keyboard():
    v = torch.zeros(2, 3, 88)
    v[:, :, [0, 40, 87]] = 1
    shifted = transpose_frames(v, torch.tensor([2, -1]))
    assert shifted[0].nonzero()[:, 1].unique().tolist() == [2, 42]        # 87 + 2 is off the top
    assert shifted[1].nonzero()[:, 1].unique().tolist() == [39, 86]       # 0 - 1 is off the bottom


def test_dropout_and_transposition_are_seeded_and_change_training(jsb_train):
    data = frames(jsb_train)[:20]
    config = TrainConfig(epochs=2, k=2, batch_size=8, optimizer="adam", lr=0.01, seed=3)
    augmented = TrainConfig(**{**config.__dict__, "dropout": 0.5, "transpose": 3})
    plain, a, b = small_model(), small_model(), small_model()
    for model, settings in ((plain, config), (a, augmented), (b, augmented)):
        train(model, data, config=settings, progress=False)
    assert torch.equal(a.W, b.W) and torch.equal(a.Wuv, b.Wuv)
    assert not torch.allclose(a.W, plain.W) and not torch.allclose(a.Wuv, plain.Wuv)


def test_regularization_settings_are_checked():
    with pytest.raises(ValueError, match="dropout must be a number at least 0 and below 1, got 1.0"):
        TrainConfig(dropout=1.0)
    with pytest.raises(ValueError, match="transpose must be a whole number from 0 to 12 semitones"):
        TrainConfig(transpose=-2)


def test_a_model_trained_with_transpose_knows_the_music_in_other_keys(jsb_train):
    """Transposing by up to 3 semitones: the exact NLL of the training pieces moved 2 or 3
    semitones up or down comes near that of the pieces as they are; trained without it, the
    moved pieces cost well over a nat a frame more (an RNN-NADE: its NLL is exact)."""
    from rnnrbm_music.evaluate import exact_nll

    data = frames(jsb_train)[:8]
    gaps = {}
    for transpose in (0, 3):
        torch.manual_seed(0)
        model = RnnNade(RnnRbmConfig(n_hidden=16, n_recurrent=8, conditional="nade"))
        train(model, data, config=TrainConfig(epochs=15, batch_size=4, optimizer="adam", lr=0.02,
                                              transpose=transpose, seed=1), progress=False)
        # np.roll: no chorale note lies within 3 semitones of the keyboard's ends.
        moved = [exact_nll(model, [np.roll(piece, shift, axis=1) for piece in data], samples=0).nll
                 for shift in (-3, -2, 2, 3)]
        gaps[transpose] = np.mean(moved) - exact_nll(model, data, samples=0).nll
    assert gaps[0] > 1.5 and gaps[3] < gaps[0] - 1.5, gaps
