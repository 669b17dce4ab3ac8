import warnings

import numpy as np
import pytest
import torch
from music21 import converter, corpus, stream

from conftest import CASES
from rnnrbm_music import PianoRoll, RangeError, ReadError, RnnRbmComposer, from_stream
from rnnrbm_music.checkpoint import CheckpointError
from rnnrbm_music.composer import NotFittedError

D_MAJOR = {2, 4, 6, 7, 9, 11, 1}


@pytest.fixture(scope="module")
def small(chorales):
    composer = RnnRbmComposer(n_hidden=40, n_recurrent=20, seed=0, epochs=2, k=3,
                              batch_size=8, optimizer="adam", lr=0.01)
    assert composer.fit(chorales[:40], progress=False) is composer
    return composer


@pytest.fixture(scope="module")
def pretrained():
    return RnnRbmComposer.pretrained(device="cpu")


def test_generate_gives_a_score_of_the_asked_length_meter_and_tempo(small):
    score = small.generate(n_steps=24, time_signature="3/4", bpm=96, key="A major", seed=1)
    assert score.highestTime == 24 / 2
    assert score.recurse().getElementsByClass("TimeSignature").first().ratioString == "3/4"
    assert score.recurse().getElementsByClass("MetronomeMark").first().getQuarterBPM() == 96
    scores = small.generate(n_steps=8, seed=1, n=3)
    assert isinstance(scores, list) and len(scores) == 3


def test_same_seed_same_music_and_save_load_keeps_it(small, tmp_path):
    a = small.generate_roll(n_steps=16, seed=5)[0]
    b = small.generate_roll(n_steps=16, seed=5)[0]
    assert a == b
    path = small.save(tmp_path / "small.safetensors")
    loaded = RnnRbmComposer.load(path, device="cpu")
    assert loaded.generate_roll(n_steps=16, seed=5)[0] == a
    assert loaded.history_ == small.history_
    seeded = RnnRbmComposer(n_hidden=40, n_recurrent=20, seed=9)
    seeded.model_ = loaded.model_
    again = RnnRbmComposer(n_hidden=40, n_recurrent=20, seed=9)
    again.model_ = loaded.model_
    assert seeded.generate_roll(8)[0] == again.generate_roll(8)[0]   # composer seed drives calls


def test_continuation_starts_with_the_primer_exactly(small):
    primer = corpus.parse("bach/bwv66.6").measures(0, 3)
    prime_roll = from_stream(primer)
    score = small.continue_sequence(primer, n_steps=16, seed=2)
    back = from_stream(score)
    assert back.key == prime_roll.key
    assert np.array_equal(back.frames[:len(prime_roll)], prime_roll.frames)
    alone = small.continue_roll(primer, n_steps=16, seed=2, include_prime=False)[0]
    assert len(alone) == 16 and alone.key == prime_roll.key
    assert alone.transposition == prime_roll.transposition


def test_a_d_major_primer_continued_stays_in_d_major(pretrained):
    primer = corpus.parse("bach/bwv80.8").measures(0, 4)      # Ein feste Burg, D major
    in_scale = total = 0
    for seed in range(4):
        roll = pretrained.continue_roll(primer, n_steps=64, seed=seed, include_prime=False)[0]
        for _, duration, pitch in roll.notes():
            total += duration
            in_scale += duration * (((pitch - roll.transposition) % 12) in D_MAJOR)
    assert total > 100 and in_scale / total > 0.8


def test_harmonize_keeps_every_melody_note_and_nothing_above(pretrained):
    melody = corpus.parse("bach/bwv269").parts[0]
    melody_roll = from_stream(melody)
    result = pretrained.harmonize_roll(melody, seed=4, particles=4)[0]
    assert np.array_equal(result.frames & melody_roll.frames, melody_roll.frames)
    for t in range(len(result)):
        top = np.flatnonzero(melody_roll.frames[t])
        if top.size:
            assert not result.frames[t, top[-1] + 1:].any()
    harmony = result.frames & ~melody_roll.frames
    assert harmony.sum() > len(result)            # real harmony, not a bare melody
    score = pretrained.harmonize(melody, seed=4, particles=4)
    assert score.analyze("key").tonic.name == melody.analyze("key").tonic.name


def test_a_melody_is_read_in_the_key_given_or_written(pretrained):
    """Ein feste Burg's soprano alone suggests G major; the chorale and its signature say D."""
    melody = corpus.parse("bach/bwv80.8").parts[0]
    assert pretrained.to_roll(melody, "melody").key == "G major"
    for key in ("trust", "D major", "d major"):
        roll = pretrained.to_roll(melody, "melody", key=key)
        assert roll.key == "D major" and roll.transposition == -2
    harmonized = pretrained.harmonize(melody.measures(0, 2), key="trust", seed=1, particles=2)
    assert harmonized.recurse().getElementsByClass("KeySignature").first().sharps == 2
    with pytest.warns(UserWarning, match="a score of 4 parts: all of them are taken as the melody"):
        pretrained.harmonize_roll(corpus.parse("bach/bwv80.8").measures(0, 1), particles=1)
    with pytest.raises(ValueError, match="cannot read key 'H dur'"):
        pretrained.harmonize(melody, key="H dur")


def test_a_cadence_ends_on_the_tonic_triad_with_the_tonic_in_the_bass():
    nade = RnnRbmComposer.pretrained(device="cpu", conditional="nade")
    assert nade.conditional == "nade" and nade.model_.config.order == "descending"
    melody = corpus.parse("bach/bwv269").parts[0]                   # G major
    for seed in range(3):
        roll = nade.harmonize_roll(melody, seed=seed, cadence=True)[0]
        last = roll.frames[np.flatnonzero(roll.frames.any(1))[-1]]
        pitches = np.flatnonzero(last) + 21 - roll.transposition     # as written
        classes = {int(p) % 12 for p in pitches}
        assert classes <= {7, 11, 2} and {7, 11} <= classes, (seed, pitches)
        assert pitches[0] % 12 == 7                                  # G in the bass
    # A continuation ends on the tonic chord of its primer's key, for a half note.
    primer = corpus.parse("bach/bwv80.8").measures(0, 4)            # D major
    for seed in range(2):
        roll = nade.continue_roll(primer, n_bars=2, key="trust", cadence=True, seed=seed,
                                  include_prime=False)[0]
        for frame in roll.frames[-4:]:
            pitches = np.flatnonzero(frame) + 21 - roll.transposition
            assert {int(p) % 12 for p in pitches} == {2, 6, 9} and pitches[0] % 12 == 2


def test_the_cadence_covers_the_last_note_only_and_keeps_a_sung_third():
    from rnnrbm_music.composer import melody_clamp, tonic_cadence

    # E D C C: the last C repeats the one before; only the last is the final chord.
    roll = from_stream(converter.parse("tinyNotation: 4/4 e'4 d'4 c'4 c'4"), normalize_key=False)
    mask, values = tonic_cadence(*melody_clamp(roll.frames), roll.frames, 0, "major",
                                 roll.note_starts())
    d = 62 - 21                                            # D: off in the final chord only
    assert [bool(m) for m in mask[:, d]] == [False] * 6 + [True] * 2
    # A minor ending on C# (a major third): no C clamped under it, C itself off.
    melody = np.zeros((4, 88), bool)
    melody[:, 61 - 21] = True
    mask, values = tonic_cadence(*melody_clamp(melody), melody, 9, "minor")
    final = np.flatnonzero(values[-1]) + 21
    assert 61 in final and not {48, 60} & set(final) and mask[-1, 60 - 21]
    # A major ending on its tonic A5: C#5 (the major third) under it, A3 in the bass, no C.
    melody = np.zeros((2, 88), bool)
    melody[:, 81 - 21] = True
    mask, values = tonic_cadence(*melody_clamp(melody), melody, 9, "major")
    assert (np.flatnonzero(values[-1]) + 21).tolist() == [57, 73, 81] and mask[-1, 72 - 21]
    # A melody too low for a bass under it: nothing is clamped above it.
    melody = np.zeros((2, 88), bool)
    melody[:, 23 - 21] = True
    mask, values = tonic_cadence(*melody_clamp(melody), melody, 0, "major")
    assert np.flatnonzero(values[-1]).tolist() == [2] and not values[:, 3:].any()


def test_a_piano_roll_melody_takes_the_key_given_and_harmonizes_to_a_cadence(small):
    melody = PianoRoll.from_benchmark([(62,), (66,), (69,), (74,)])
    assert small.to_roll(melody, "melody", key="D major").key == "D major"
    for key in ("D major", None):            # without a key it is detected for the cadence
        harmony = small.harmonize_roll(melody, key=key, cadence=True, particles=2, seed=1)[0]
        assert harmony.frames[-1, 50 - 21]                  # D3 in the bass


def test_whole_bars_end_on_a_bar_line(small):
    roll = small.generate_roll(n_bars=3, time_signature="3/4", seed=1)[0]
    assert len(roll) == 3 * 6 and roll.measures()[-1] == (12, 18, "3/4")
    # A primer ending inside its second bar: the continuation completes it, then two bars more.
    primer = PianoRoll.from_benchmark([(62, 66, 69)] * 7, time_signature="3/4")
    whole = small.continue_roll(primer, n_bars=2, seed=1)[0]
    assert len(whole) == 24 and [end - start for start, end, _ in whole.measures()] == [6] * 4
    with pytest.raises(ValueError, match="n_bars must be a whole number from 1 to 100,000 bars, got 0"):
        small.generate(n_bars=0)
    with pytest.raises(ValueError, match="n_bars must be a whole number"):
        small.generate(n_bars=2.5)
    with pytest.raises(ValueError, match="particles must be a whole number from 1 to 4,096"):
        small.harmonize(primer, particles=0)
    with pytest.raises(ValueError, match="order is the RNN-NADE's unit order"):
        RnnRbmComposer(order="descending").fit(primer, progress=False)
    # A meter change where the primer ends: the bars that follow are in the new meter.
    primer = PianoRoll(np.ones((8, 88), bool), time_signature="4/4",
                       time_signature_changes=[(8, "3/4")])
    assert len(small.continue_roll(primer, n_bars=2, seed=1, include_prime=False)[0]) == 12


def test_bad_input_is_a_clear_error(small, tmp_path):
    with pytest.raises(ReadError, match="no pitched notes"):
        small.continue_sequence(stream.Score())
    with pytest.raises(RangeError, match="note 120"):
        small.continue_sequence(converter.parse("tinyNotation: 4/4 c4 c'''''4"))
    with pytest.raises(ReadError, match="no such file"):
        small.continue_sequence(tmp_path / "missing.mid")
    with pytest.raises(ReadError, match="no notes"):
        small.harmonize(PianoRoll(np.zeros((8, 88), bool)))
    foreign = tmp_path / "foreign.safetensors"
    from safetensors.torch import save_file
    save_file({"weights": torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="not an rnnrbm-music model"):
        RnnRbmComposer.load(foreign)
    with pytest.raises(NotFittedError, match="no model yet"):
        RnnRbmComposer().generate()
    with pytest.raises(TypeError, match="unknown setting"):
        RnnRbmComposer(learning_rate=0.1)
    with pytest.raises(ValueError, match=r"\[1\] frames per quarter"):
        from rnnrbm_music import Corpus
        from conftest import JSB
        small.fit(Corpus.from_benchmark(JSB, "valid"))


def test_evaluate_reports_the_figures(jsb_valid):
    from rnnrbm_music.engine import rbm
    from rnnrbm_music.evaluate import frame_rbms
    composer = RnnRbmComposer(n_hidden=8, n_recurrent=4, steps_per_quarter=1, epochs=3, k=1,
                              lr=0.01, seed=0).fit(jsb_valid[:10], progress=False)
    figures = composer.evaluate(jsb_valid[:3], n_chains=10, n_betas=200, known=jsb_valid[3:6])
    frames = [r.frames for r in jsb_valid[:3]]
    exact, count = 0.0, 0
    model = composer.model_
    with torch.no_grad():
        for v, bv, bh in frame_rbms(model, frames):
            exact += float((rbm.free_energy(v, model.W, bv, bh)
                            + rbm.exact_log_partition(model.W, bv, bh)).sum())
            count += len(v)
    assert figures["frames"] == count
    assert abs(figures["nll"] - exact / count) < 0.05
    assert 0 <= figures["accuracy"] <= 1 and figures["pseudo_nll"] > 0
    assert figures["known_frames"] > 0 and 0 < figures["known_share"] <= 1


def test_continuations_and_harmonizations_keep_pickup_bar_lines_meter_and_tempo(pretrained):
    tune = pretrained.to_roll(CASES / "pickup_anacrusis_3-4.musicxml")   # a one-beat pickup
    prime = tune[:10]                                                     # ends inside bar 2
    assert (prime.pickup, prime.time_signature) == (2, "3/4")
    prime = prime.replace(tempo_changes=((8, 66.0),))                  # slower from the 2nd bar
    alone = pretrained.continue_roll(prime, n_steps=12, seed=1, include_prime=False)[0]
    # Bars go on where the primer's fall: 4 frames left of the bar the primer ends in.
    assert (alone.pickup, alone.time_signature, alone.bpm) == (4, "3/4", 66.0)
    whole = pretrained.continue_roll(prime, n_steps=12, seed=1)[0]
    assert (whole.pickup, whole.tempo_changes, len(whole)) == (2, ((8, 66.0),), 22)
    bars = list(pretrained.continue_sequence(prime, n_steps=12, seed=1).parts[0]
                .getElementsByClass("Measure"))
    assert bars[0].number == 0 and bars[0].duration.quarterLength == 1
    assert [b.duration.quarterLength for b in bars[1:]] == [3, 3, 3, 1]    # ends with the music
    harmonized = pretrained.harmonize_roll(prime, seed=1, particles=2)[0]
    assert (harmonized.pickup, harmonized.tempo_changes) == (2, ((8, 66.0),))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """The cosine of the angle between two pitch-class histograms (1: the same proportions)."""
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_a_continuation_follows_its_own_primer(pretrained):
    """Two primers, one in D major, one in F# minor (each moved to the model's C major / C minor),
    continued with the same seeds: the continuations differ, and the pitch content of each (in
    the model's C) is closer to its own primer's than to the other's."""
    major = pretrained.to_roll(corpus.parse("bach/bwv80.8").measures(0, 4))
    minor = pretrained.to_roll(corpus.parse("bach/bwv66.6").measures(0, 4))
    assert (major.key, minor.key) == ("D major", "F# minor")
    sounded = {}
    for name, primer in (("major", major), ("minor", minor)):
        rolls = [pretrained.continue_roll(primer, n_steps=16, seed=seed, include_prime=False)[0]
                 for seed in range(3)]
        sounded[name] = [roll.frames for roll in rolls], sum(r.pitch_class_histogram() for r in rolls)
    same = [np.array_equal(a, b) for a, b in zip(sounded["major"][0], sounded["minor"][0])]
    assert not any(same), f"the same continuation after either primer (seeds {same}): primer ignored"
    own = {name: primer.pitch_class_histogram() for name, primer in (("major", major), ("minor", minor))}
    for name, other in (("major", "minor"), ("minor", "major")):
        histogram = sounded[name][1]
        assert cosine(histogram, own[name]) > cosine(histogram, own[other]) + 0.1, name


@pytest.mark.parametrize("key", ["A major", "E- major", "G minor", "F# minor", "D- major"])
def test_generate_sounds_in_the_key_asked_for(pretrained, key):
    """music21's key analysis of each score finds the key asked for, mode and all (D- major is
    music21's C# major), over several seeds; the key signature and the title are the key's."""
    from music21 import key as m21key

    tonic, mode = key.split()
    for seed in range(3):
        score = pretrained.generate(n_steps=64, key=key, seed=seed)
        found = score.analyze("key")
        assert (found.tonic.name, found.mode) in ((tonic, mode), ("C#", "major")), (seed, found)
        signature = score.recurse().getElementsByClass("KeySignature").first()
        assert signature.sharps == m21key.Key(tonic, mode).sharps
        assert score.metadata.title == f"Study in {tonic.replace('-', '♭').replace('#', '♯')} {mode}"


def test_a_piece_that_never_comes_out_in_the_mode_asked_for_is_named_for_its_own(
        pretrained, monkeypatch):
    """Every draw in C major while C minor is asked for: the first is kept, titled and signed
    in its own mode, with a warning."""
    import rnnrbm_music.composer as composer_module

    monkeypatch.setattr(composer_module.RnnRbmComposer, "_mode_of", lambda self, frames: "major")
    with pytest.warns(UserWarning, match="came out in A major, not A minor, in 8 tries"):
        roll, = pretrained.generate_roll(n_steps=16, key="A minor", seed=0)
    assert (roll.key, roll.title) == ("A major", "Study in A major")


def test_each_seed_its_own_music_and_no_seed_a_new_piece_each_time():
    """generate, continue_sequence and harmonize: the same seed gives the same music, another
    seed other music; without a seed every call composes anew."""
    nade = RnnRbmComposer.pretrained(device="cpu", conditional="nade")
    primer = corpus.parse("bach/bwv80.8").measures(0, 2)
    melody = corpus.parse("bach/bwv269").parts[0].measures(0, 2)
    composing = {
        "generate": lambda seed: nade.generate_roll(n_steps=16, seed=seed)[0],
        "continue": lambda seed: nade.continue_roll(primer, n_steps=16, seed=seed,
                                                    include_prime=False)[0],
        "harmonize": lambda seed: nade.harmonize_roll(melody, seed=seed, particles=2)[0],
    }
    for name, compose in composing.items():
        first = compose(1)
        assert compose(1) == first, name
        assert compose(2) != first, f"{name}: seeds 1 and 2 give the same music"
        assert compose(None) != compose(None), f"{name}: two unseeded calls give the same music"


@pytest.fixture(scope="module")
def nade():
    return RnnRbmComposer.pretrained(device="cpu", conditional="nade")


D_MAJOR_TUNE = "tinyNotation: 4/4 d4 f# a d'"


def test_each_call_names_a_bad_count_in_one_line(nade):
    calls = {
        r"^n must be a whole number from 1 to 1,000 pieces, got 0$": (
            lambda: nade.continue_roll(D_MAJOR_TUNE, n_steps=8, n=0),
            lambda: nade.harmonize_roll(D_MAJOR_TUNE, n=0)),
        r"^n_steps must be a whole number from 1 to 1,048,576 frames, got 0$": (
            lambda: nade.continue_roll(D_MAJOR_TUNE, n_steps=0),),
        r"^n_bars must be a whole number from 1 to 100,000 bars, got 0$": (
            lambda: nade.continue_roll(D_MAJOR_TUNE, n_bars=0),),
        r"^the melody is an empty path$": (lambda: nade.harmonize(""),),
        r"^the primer is an empty path$": (lambda: nade.continue_sequence(" "),),
    }
    for message, failing in calls.items():
        for call in failing:
            with pytest.raises(ValueError, match=message):
                call()


def test_the_score_calls_give_the_rolls_first_piece_or_all_n(nade):
    """continue_sequence and harmonize are their _roll calls as scores: one piece by default
    (the same piece as n=1's), a list of n with n."""
    def notes(score):
        return from_stream(score, normalize_key=False).sounding_notes()

    piece = nade.continue_sequence(D_MAJOR_TUNE, n_steps=8, seed=3)
    assert notes(piece) == nade.continue_roll(D_MAJOR_TUNE, n_steps=8, seed=3)[0].sounding_notes()
    harmony = nade.harmonize(D_MAJOR_TUNE, seed=1)
    assert isinstance(harmony, stream.Score)
    assert notes(harmony) == nade.harmonize_roll(D_MAJOR_TUNE, seed=1)[0].sounding_notes()
    several = nade.harmonize(D_MAJOR_TUNE, seed=1, n=2)
    assert isinstance(several, list) and len(several) == 2
    assert [notes(s) for s in several] == [
        r.sounding_notes() for r in nade.harmonize_roll(D_MAJOR_TUNE, seed=1, n=2)]
    assert notes(several[0]) != notes(several[1])


def test_a_harmonization_is_written_in_the_key_given(nade):
    for given, sharps in (("G major", 1), (None, 2)):       # the tune alone reads as D major
        score = nade.harmonize(D_MAJOR_TUNE, key=given, seed=1)
        assert score.flatten().getElementsByClass("KeySignature").first().sharps == sharps, given


def test_generate_plays_at_120_bpm_unless_told(nade):
    marks = nade.generate(n_steps=8, seed=0).recurse().getElementsByClass("MetronomeMark")
    assert marks.first().getQuarterBPM() == 120


def test_a_cadence_under_a_melody_ending_off_the_tonic_triad_warns_naming_the_key(nade):
    """D major: a tune ending on E (no note of D-F#-A) warns; one ending on F# does not."""
    with pytest.warns(UserWarning, match=r"^the melody ends on E, no note of the D major triad: "
                                         r"the tonic cadence clashes with it$"):
        nade.harmonize_roll("tinyNotation: 4/4 d4 f# a e", key="D major", cadence=True, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nade.harmonize_roll("tinyNotation: 4/4 d4 e g f#", key="D major", cadence=True, seed=0)


def test_the_defaults_are_the_tutorials():
    """150 hidden units, 100 recurrent, 25 Gibbs steps a frame (the deeplearning.net RNN-RBM
    tutorial's settings): a default draw is the draw with k=25."""
    assert (RnnRbmComposer().n_hidden, RnnRbmComposer().n_recurrent) == (150, 100)
    composer = RnnRbmComposer.pretrained(device="cpu")
    assert np.array_equal(composer.sample_frames(6, seed=4), composer.sample_frames(6, k=25, seed=4))
    assert not np.array_equal(composer.sample_frames(6, seed=4), composer.sample_frames(6, k=1, seed=4))


def same_model(composer: RnnRbmComposer, **settings) -> RnnRbmComposer:
    """A new composer with ``settings`` and ``composer``'s model."""
    made = RnnRbmComposer(articulation=composer.articulation, conditional=composer.conditional,
                          order=composer.order, **settings)
    made.model_ = composer.model_
    return made


def test_the_composers_seed_drives_the_calls_without_one(nade):
    def composer(seed):
        return same_model(nade, seed=seed)

    first, again, other = composer(9), composer(9), composer(10)
    pieces = [c.generate_roll(n_steps=8)[0] for c in (first, again, other)]
    assert pieces[0] == pieces[1] and pieces[0] != pieces[2]
    assert first.generate_roll(n_steps=8)[0] != pieces[0]             # the next call: new music
    # A seeded composer draws each call's seed from the whole 62-bit range, as does an
    # unseeded one.
    for seeded in (composer(9), composer(None)):
        seeds = {seeded._generator(None).initial_seed() for _ in range(20)}
        assert len(seeds) == 20 and max(seeds) > 2 ** 40


def test_harmonizing_one_particle_at_a_time_keeps_the_melody_on_top(nade):
    melody = from_stream(converter.parse(D_MAJOR_TUNE))
    for particles in (1, 2):
        for harmony in nade.harmonize_roll(D_MAJOR_TUNE, particles=particles, seed=0, n=2):
            assert set(melody.notes()) <= set(harmony.notes())
            top = [max(np.flatnonzero(frame)) for frame in harmony.frames]
            assert top == [max(np.flatnonzero(frame)) for frame in melody.frames], particles


def test_the_look_ahead_says_how_far_it_has_got(nade, monkeypatch, capsys):
    from rnnrbm_music import progress

    monkeypatch.setattr(progress, "PERIOD", 0.0)
    nade.harmonize_roll(D_MAJOR_TUNE, particles=2, seed=0)
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1].startswith("composing with the look-ahead: 8/8 frames (100 %)")
    assert len(lines) >= 8


def test_music_in_is_named_where_it_does_not_fit(nade):
    tune = PianoRoll.from_benchmark([(62,), (66,)])
    assert nade.to_roll(tune, "melody", key="D major").key == "D major"
    narrow = PianoRoll(np.ones((2, 12), bool), lowest=60)
    with pytest.raises(ValueError, match=r"^the melody covers pitches 60..71; the model covers "
                                         r"21..108$"):
        nade.to_roll(narrow, "melody")
    with pytest.raises(ReadError, match=r"^primer: it has no notes to start from$"):
        nade.to_roll(PianoRoll(np.zeros((2, 88), bool)), "primer")


def test_each_generate_argument_is_named_where_it_is_wrong(nade):
    for arguments, message in (({"n_steps": 0}, "n_steps"), ({"n_bars": 0}, "n_bars"),
                               ({"k": 0}, "k"), ({"n": 0}, "n")):
        with pytest.raises(ValueError, match=f"^{message} must be"):
            nade.generate_roll(**arguments)


def test_music_from_scratch_is_moved_from_c_only_where_the_model_normalizes_keys(nade):
    assert nade.generate_roll(n_steps=8, key="D major", seed=0)[0].transposition == -2
    roll = same_model(nade, normalize_key=False).generate_roll(n_steps=8, key="D major", seed=0)[0]
    assert (roll.transposition, roll.key) == (0, "D major")


def test_a_model_file_without_data_or_training_settings_loads_with_the_defaults(nade, tmp_path):
    from rnnrbm_music import checkpoint

    path = checkpoint.save(tmp_path / "bare.safetensors", nade.model_, {})
    loaded = RnnRbmComposer.load(path, device="cpu")
    assert (loaded.steps_per_quarter, loaded.normalize_key, loaded.history_) == (2, True, [])
    assert loaded.training.epochs == RnnRbmComposer().training.epochs


def test_the_arguments_are_checked_before_the_music_is_read(nade, tmp_path):
    missing = tmp_path / "missing.mid"
    for call, message in ((lambda: nade.continue_roll(missing, n_steps=8, n=0), "n must"),
                          (lambda: nade.continue_roll(missing, n_steps=0), "n_steps must"),
                          (lambda: nade.continue_roll(missing, n_bars=0), "n_bars must"),
                          (lambda: nade.harmonize_roll(missing, n=0), "n must")):
        with pytest.raises(ValueError, match=f"^{message}"):
            call()


def test_a_look_ahead_too_large_to_draw_is_refused_before_it_starts(nade):
    from rnnrbm_music.composer import melody_clamp

    melody = from_stream(converter.parse(D_MAJOR_TUNE))
    with pytest.raises(ValueError, match=r"^n x particles x n_steps = 300 x 4096 particles x 8 "
                                         r"frames is more than the 1,048,576 one call draws"):
        nade.sample_frames(8, clamp=melody_clamp(nade.encode(melody)), particles=4096, n=300)
