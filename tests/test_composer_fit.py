"""What RnnRbmComposer.fit, save and load promise, each checked by its value on a tiny model
trained for a second on JSB Chorales' validation split (one frame a quarter note)."""
import numpy as np
import pytest
import torch
from music21 import corpus

from rnnrbm_music import PianoRoll, RnnRbmComposer
from rnnrbm_music.checkpoint import load as load_checkpoint

TINY = dict(n_hidden=8, n_recurrent=4, k=1, batch_size=2, lr=0.01, steps_per_quarter=1)


@pytest.fixture(scope="module")
def pieces(jsb_valid):
    return jsb_valid[:6]


def weights(composer: RnnRbmComposer) -> dict:
    return {name: tensor.clone() for name, tensor in composer.model_.state_dict().items()}


def test_fit_trains_for_the_epochs_given_to_it_else_for_the_composers(pieces):
    composer = RnnRbmComposer(**TINY, epochs=3, seed=0)
    assert len(composer.fit(pieces, epochs=1, progress=False).history_) == 1
    assert len(composer.fit(pieces, progress=False).history_) == 3
    assert composer.training.epochs == 3                  # fit(epochs=) does not change it


def test_the_seed_makes_the_model_and_another_seed_another(pieces):
    def trained(seed):
        return weights(RnnRbmComposer(**TINY, epochs=1, seed=seed).fit(pieces, progress=False))

    first, again, other = trained(0), trained(0), trained(1)
    assert all(torch.equal(first[name], again[name]) for name in first)
    assert not torch.equal(first["W"], other["W"])


def test_a_validation_corpus_gives_each_epoch_its_figure(pieces, jsb_valid):
    composer = RnnRbmComposer(**TINY, epochs=2, seed=0).fit(pieces, valid=jsb_valid[6:9],
                                                            progress=False)
    figures = [record["valid"] for record in composer.history_]    # nats per frame
    assert len(figures) == 2 and all(0 < figure < 88 * np.log(2) for figure in figures)
    alone = RnnRbmComposer(**TINY, epochs=2, seed=0).fit(pieces, progress=False)
    assert ["valid" in record for record in alone.history_] == [False, False]


def test_a_checkpoint_keeps_the_data_settings_and_training_resumes_from_it(pieces, tmp_path):
    path = tmp_path / "run.safetensors"
    first = RnnRbmComposer(**TINY, normalize_key=False, epochs=2, seed=0)
    first.fit(pieces, checkpoint_path=path, progress=False)
    saved = load_checkpoint(path, "cpu")
    assert saved.config["data"] == {"lowest": 21, "steps_per_quarter": 1, "normalize_key": False}
    assert saved.config["epochs_trained"] == 2
    loaded = RnnRbmComposer.load(path, device="cpu")
    assert (loaded.steps_per_quarter, loaded.normalize_key) == (1, False)
    resumed = RnnRbmComposer(**TINY, normalize_key=False, epochs=3, seed=0)
    resumed.fit(pieces, resume_from=path, progress=False)
    assert [r["epoch"] for r in resumed.history_] == [1, 2, 3]
    assert resumed.history_[:2] == first.history_


def test_save_and_load_keep_the_model_its_settings_and_its_history(pieces, tmp_path):
    composer = RnnRbmComposer(**TINY, normalize_key=False, epochs=2, seed=0).fit(pieces, progress=False)
    loaded = RnnRbmComposer.load(composer.save(tmp_path / "tiny.safetensors"), device="cpu")
    assert loaded.history_ == composer.history_ and len(loaded.history_) == 2
    assert (loaded.steps_per_quarter, loaded.normalize_key, loaded.training.epochs) == (1, False, 2)
    assert all(torch.equal(weights(loaded)[name], tensor) for name, tensor in weights(composer).items())
    assert loaded.generate_roll(n_steps=8, seed=3)[0] == composer.generate_roll(n_steps=8, seed=3)[0]


def test_the_corpus_is_read_with_the_composers_key_setting():
    chorale = corpus.parse("bach/bwv66.6")                            # F# minor
    assert RnnRbmComposer()._corpus([chorale])[0].transposition == 6     # to C minor
    assert RnnRbmComposer(normalize_key=False)._corpus([chorale])[0].transposition == 0


def test_a_corpus_the_composer_cannot_learn_is_named_in_one_line(pieces):
    with pytest.raises(ValueError, match=r"^the corpus has \[1\] frames per quarter note but the "
                                         r"composer uses 2: make the composer with "
                                         r"steps_per_quarter=1$"):
        RnnRbmComposer(n_hidden=8, n_recurrent=4).fit(pieces, progress=False)
    narrow = PianoRoll(np.ones((4, 12), bool), lowest=60, steps_per_quarter=1)
    with pytest.raises(ValueError, match=r"^the corpus mixes pitch ranges of \[12, 88\] columns$"):
        RnnRbmComposer(**TINY).fit([pieces[0], narrow], progress=False)


def test_decode_turns_drawn_units_into_the_roll_with_or_without_onsets():
    frames = np.zeros((3, 176), bool)
    frames[:, 39] = True                                  # C4 held three frames ...
    frames[2, 88 + 39] = True                             # ... struck again at frame 2
    frames[1, 88 + 43] = True                             # E4: an onset alone is a struck note
    like = PianoRoll(np.zeros((0, 88), bool), key="D major", bpm=90)
    articulated = RnnRbmComposer(articulation=True).decode(frames, like)
    assert articulated.notes() == [(0, 2, 60), (1, 1, 64), (2, 1, 60)]
    assert (articulated.key, articulated.bpm) == ("D major", 90)
    plain = RnnRbmComposer().decode(frames[:, :88], like)
    assert plain.notes() == [(0, 3, 60)] and plain.onsets is None and plain.bpm == 90


def test_a_composer_shows_its_model_and_whether_it_is_fitted(pieces):
    composer = RnnRbmComposer(**TINY, epochs=1)
    assert repr(composer) == ("RnnRbmComposer(n_hidden=8, n_recurrent=4, steps_per_quarter=1, "
                              "articulation=False, conditional='rbm', not fitted)")
    composer.fit(pieces, progress=False)
    assert repr(composer).endswith("conditional='rbm', fitted)")
    nade = RnnRbmComposer(conditional="nade", order="descending")
    assert repr(nade).endswith("conditional='nade', order='descending', not fitted)")
