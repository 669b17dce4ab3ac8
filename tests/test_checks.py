"""One validation layer (rnnrbm_music.checks) behind the command line and the Python API: every
bad value is one line naming the flag or argument, exit status 2, before anything is computed."""

import subprocess
import sys

import mido
import numpy as np
import pytest
from music21 import converter, corpus

from rnnrbm_music import Corpus, PianoRoll, RnnRbmComposer, read
from rnnrbm_music.cli import build_parser, main
from rnnrbm_music.live import LivePlayer
from rnnrbm_music.train import TrainConfig

from conftest import JSB

# (command line, what its one line of error says)
BAD_VALUES = [
    (["generate", "--bpm", "0"], "argument --bpm: must be a number from 4 to 1000 quarter notes "
                                 "per minute, got 0"),
    (["generate", "--bpm", "-60"], "argument --bpm: must be a number from 4 to 1000"),
    (["generate", "--bpm", "fast"], "argument --bpm: must be a number from 4 to 1000"),
    (["generate", "--time-signature", "7/0"], "impossible time signature '7/0'"),
    (["generate", "--time-signature", "abc"], "cannot read time signature 'abc'"),
    (["generate", "--time-signature", "4/4/4"], "cannot read time signature '4/4/4'"),
    (["generate", "--k", "0"], "argument --k: must be a whole number from 1 to 10,000 Gibbs "
                               "steps, got 0"),
    (["generate", "--k", "-3"], "argument --k: must be a whole number from 1"),
    (["generate", "--k", "2.5"], "argument --k: must be a whole number from 1"),
    (["generate", "-n", "0"], "argument -n/--samples: must be a whole number from 1 to 1,000"),
    (["generate", "--steps", "100000000"], "argument --steps: must be a whole number from 1 to "
                                           "1,048,576 frames, got 100000000"),
    (["generate", "--steps", "0"], "argument --steps: must be a whole number from 1"),
    (["generate", "--temperature", "0"], "argument --temperature: must be a number from 0.01 to 100"),
    (["generate", "--temperature", "nan"], "argument --temperature: must be a number from 0.01 to 100"),
    (["generate", "--key", "H major"], "argument --key: cannot read key 'H major'"),
    (["generate", "--seed", "-1"], "argument --seed: must be a whole number from 0"),
    (["generate", "--bars", "2", "--steps", "8"], "give --steps or --bars, not both"),
    (["generate", "--out", "x.wav"], "argument --out: x.wav: an output file ends in .mid, .midi, "
                                      ".musicxml, .xml, .mxl or .png"),
    (["harmonize", "m.mid", "--particles", "0"], "argument --particles: must be a whole number"),
    (["train", "m.mid", "--out", "model.mid"], "argument --out: model.mid: a model file ends in "
                                               ".safetensors"),
    (["train", "m.mid", "--epochs", "0"], "argument --epochs: must be a whole number from 1"),
    (["train", "m.mid", "--hidden", "-5"], "argument --hidden: must be a whole number from 1"),
    (["train", "m.mid", "--lr", "-0.1"], "argument --lr: must be a number above 0"),
    (["train", "m.mid", "--dropout", "1"], "argument --dropout: must be a number at least 0 and "
                                           "below 1"),
    (["train", "m.mid", "--optimizer", "sdg"], "argument --optimizer: invalid choice: 'sdg'"),
    (["train", "m.mid", "--valid-fraction", "1.5"], "argument --valid-fraction: must be a number"),
    (["evaluate", "--data", "x.pickle", "--chains", "-1"], "argument --chains: must be a whole"),
    (["play", "--channel", "17"], "argument --channel: must be a whole number from 1 to 16, "
                                  "got 17"),
    (["play", "--channel", "0"], "argument --channel: must be a whole number from 1 to 16"),
    (["play", "--program", "0"], "argument --program: must be a whole number from 1 to 128"),
    (["play", "--velocity", "128"], "argument --velocity: must be a whole number from 1 to 127"),
    (["play", "--bars", "0"], "argument --bars: must be a whole number from 1"),
    (["play", "--clock-in="], "argument --clock-in: must be a port's exact name"),
    (["play", "--clock", "--clock-in", "daw:daw"], "argument --clock-in: not allowed with "
                                                  "argument --clock"),
    (["live", "--in", "kb", "--clock-in", " "], "argument --clock-in: must be a port's exact"),
    (["live", "--in", "kb", "--in-channel", "17"], "argument --in-channel: must be a whole number "
                                                   "from 1 to 16, got 17"),
    (["live", "--in", "kb", "--silence-bars", "0"], "argument --silence-bars: must be a number "
                                                    "above 0"),
    (["train", "no/such/corpus", "--out", "m.safetensors"], "no/such/corpus: no such file or "
                                                            "folder"),
    (["continue", "no/such/tune.mid", "--out", "x.mid"], "no/such/tune.mid: no such file"),
    (["generate", "--model", "no/such/model.safetensors", "--out", "x.mid"],
     "no/such/model.safetensors: no such model file"),
    (["generate", "--device", "tpu"], "argument --device: must be auto, cpu, cuda, cuda:N or mps"),
    (["continue", "tune.mid", "--key", "X minor"], "argument --key: cannot read key 'X minor'"),
    (["continue", "", "--out", "x.mid"], "the primer is an empty path"),
    (["generate", "--temperature", "1e-40"], "argument --temperature: must be a number from 0.01"),
    (["train", "m.mid", "--hidden", "100000"], "argument --hidden: must be a whole number from 1 "
                                               "to 10,000"),
    (["harmonize", "m.mid", "--part", "1.5"], "argument --part: must be a whole number from 0"),
    (["train", "music21:bach/bwv66.6", "--split", "valid", "--out", "m.safetensors"],
     "--split valid: only a benchmark .pickle has splits"),
    (["generate", "--bars", "100000", "--time-signature", "64/1"],
     "n_bars: 100,000 bars of 64/1 are 51,200,000 frames, more than the 1,048,576 one call"),
]


@pytest.mark.parametrize("argv, said", BAD_VALUES, ids=[" ".join(a) for a, _ in BAD_VALUES])
def test_a_bad_value_is_one_line_and_exit_status_2(argv, said, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if "--out" not in argv and argv[0] in ("generate", "harmonize", "continue"):
        argv = [*argv, "--out", "x.mid"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("rnnrbm-music") and "error: " in lines[0]
    assert said in lines[0]
    assert not list(tmp_path.iterdir()), "nothing is written for a bad value"


def test_an_unwritable_output_names_the_path_without_errno(tmp_path, capsys):
    blocked = tmp_path / "file"
    blocked.write_text("a file, not a folder")
    assert main(["generate", "--steps", "2", "--out", str(blocked / "x.mid")]) == 2
    line, = capsys.readouterr().err.strip().splitlines()
    assert str(blocked) in line and "Errno" not in line
    # Training finds out before it trains, and a recipe that is not JSON is named.
    assert main(["train", "music21:bach/bwv66.6", "--out", str(blocked / "m.safetensors")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"rnnrbm-music: error: {blocked}: cannot write a file in this folder (a file, not a folder)")
    recipe = tmp_path / "recipe.json"
    recipe.write_text('{"epochs": 3,')
    assert main(["train", "music21:bach/bwv66.6", "--config", str(recipe),
                 "--out", str(tmp_path / "m.safetensors")]) == 2
    assert f"{recipe}: not a JSON recipe" in capsys.readouterr().err


@pytest.fixture(scope="module")
def pretrained():
    return RnnRbmComposer.pretrained(device="cpu", conditional="nade")


@pytest.mark.parametrize("call, said", [
    (lambda c: c.generate(n_steps="16"), "n_steps must be a whole number from 1 to 1,048,576 "
                                         "frames, got '16'"),
    (lambda c: c.generate(k=2.5), "k must be a whole number from 1 to 10,000 Gibbs steps, got "
                                  "2.5"),
    (lambda c: c.generate(bpm=0), "bpm must be a number from 4 to 1000"),
    (lambda c: c.generate(n_steps=600_000, n=2), "n x n_steps = 2 x 600,000 frames is more than "
                                                 "the 1,048,576 one call draws"),
    (lambda c: c.generate(time_signature="7/0"), "time_signature: impossible time signature"),
    (lambda c: c.harmonize("tinyNotation: 4/4 c4 d e f", particles=0), "particles must be"),
    (lambda c: c.continue_sequence("tinyNotation: 4/4 c4 d e f", temperature=-1),
     "temperature must be a number from 0.01 to 100"),
    (lambda c: c.evaluate([], n_betas=1), "n_betas must be a whole number from 2"),
    (lambda c: RnnRbmComposer(n_hidden=0), "n_hidden must be a whole number from 1"),
    (lambda c: TrainConfig(epochs=0), "epochs must be a whole number from 1"),
    (lambda c: TrainConfig(k=True), "k must be a whole number"),
    (lambda c: c.save("model.mid"), "model.mid: a model file ends in .safetensors"),
    (lambda c: c.generate(n_steps=2, n=0), "n must be a whole number from 1 to 1,000"),
    (lambda c: c.generate(n_steps=4, k=None), "k must be a whole number from 1"),
    (lambda c: c.generate(n_steps=4, temperature=None), "temperature must be a number from 0.01"),
    (lambda c: c.generate(n_steps=4, key=5), "key: cannot read key 5"),
    (lambda c: c.generate(n_steps=4, bpm=None), "bpm must be a number from 4 to 1000"),
    (lambda c: RnnRbmComposer(device="tpu"), "device must be auto, cpu, cuda, cuda:N or mps"),
    (lambda c: TrainConfig(keep_checkpoints="no"),
     "keep_checkpoints must be true or false, got 'no'"),
])
def test_the_api_checks_its_arguments_by_name(pretrained, call, said):
    with pytest.raises(ValueError) as raised:
        call(pretrained)
    assert said in str(raised.value)


def test_live_arguments_are_checked_before_a_port_is_opened():
    with pytest.raises(ValueError, match="channel must be a whole number from 0 to 15, got 16"):
        LivePlayer(channel=16, api="jack")
    with pytest.raises(ValueError, match="bpm must be a number from 4 to 1000"):
        LivePlayer(bpm=-60, api="jack")
    with pytest.raises(ValueError, match="clock_in must be an input port's exact name, or True"):
        LivePlayer(clock_in="", api="jack")
    with pytest.raises(ValueError, match="a player sends the clock .* or follows a master's"):
        LivePlayer(clock=True, clock_in="daw:daw", api="jack")


def test_help_shows_every_default_once():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name, command in commands.items():
        text = command.format_help()
        for action in command._actions:
            said = command._get_formatter()._get_help_string(action)
            assert said.count("(default") <= 1 and "(default: None)" not in said, said
            if action.default is None or action.default is False or action.dest == "help":
                continue
            assert "default" in said, (name, action.dest)
        assert "default: 25" in text or name in ("train", "evaluate", "ports", "demo")
        assert command.description, name
    assert "of the AIS chains (default: 0)" in " ".join(commands["evaluate"].format_help().split())
    assert "counted 1-16" in commands["play"].format_help()
    assert "counted 1-128" in commands["play"].format_help()


def test_train_takes_a_benchmark_split(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert main(["train", str(JSB), "--split", "valid", "--epochs", "1", "--hidden", "8",
                 "--recurrent", "4", "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith("training on 76 pieces")
    assert out.exists()


def test_paths_with_a_tilde_are_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "reels").mkdir()
    corpus.parse("bach/bwv66.6").write("musicxml", fp=str(tmp_path / "reels" / "tune.musicxml"))
    pieces = Corpus("~/reels/", progress=False, cache=False)
    assert len(pieces) == 1 and not pieces.errors
    assert read("~/reels/tune.musicxml").notes() == pieces.rolls[0].notes()


def test_music_as_text_is_read_as_music21_reads_it(pretrained):
    melody = "tinyNotation: 4/4 d4 e f# g a2 f#2 e4 d e c#8 B8 d1"
    harmonized = pretrained.harmonize_roll(melody, seed=1, key="D major")[0]
    given = converter.parse(melody).flatten().notes
    assert len(harmonized) == 32                       # 16 quarter notes
    top = [int(np.flatnonzero(f)[-1]) + 21 - harmonized.transposition
           for f in harmonized.frames]
    assert top[0] == given[0].pitch.midi and top[-1] == given[-1].pitch.midi
    assert harmonized.title == "Harmonization"


def test_files_carry_the_title_and_composer_of_their_source(pretrained, tmp_path):
    chorale = corpus.parse("bach/bwv80.8")            # composer J.S. Bach, named "bwv80.8"
    continuation = pretrained.continue_roll(chorale.measures(0, 2), n_steps=8, seed=1)[0]
    assert continuation.title == "Continuation of bwv80.8"
    from rnnrbm_music import write
    score = converter.parse(write(continuation, tmp_path / "c.musicxml"))
    assert score.metadata.bestTitle == "Continuation of bwv80.8"
    assert score.metadata.composer == "J.S. Bach, continued by rnnrbm-music"
    assert score.parts[0].partName == "Piano"
    assert score.parts[0].getInstrument().instrumentName == "Piano"
    midi = mido.MidiFile(write(continuation, tmp_path / "c.mid"))
    names = [m.name for track in midi.tracks for m in track if m.type == "track_name"]
    kinds = {m.type for track in midi.tracks for m in track}
    assert names == ["Continuation of bwv80.8", "Piano"]
    assert {"set_tempo", "time_signature", "key_signature", "program_change"} <= kinds


def test_ports_without_a_server_say_so_in_one_line(tmp_path):
    env = {"JACK_DEFAULT_SERVER": f"rnnrbm-none-{tmp_path.name}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "rnnrbm_music.cli", "ports", "--api", "jack"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "rnnrbm-music: no MIDI backend answers: jack: no JACK server is running (start one: "
        "jackd, QjackCtl, or your DAW's audio settings)"]


def test_a_range_fold_is_the_same_in_a_file_as_on_input():
    roll = PianoRoll.from_benchmark([(23, 60)], transposition=5)     # B0 moved back to MIDI 18
    with pytest.warns(UserWarning, match="moved by octaves"):
        assert sorted(p for _, _, p in roll.sounding_notes()) == [30, 55]


def test_a_recipe_with_an_unknown_setting_or_a_bad_value_is_named(tmp_path, capsys):
    from dataclasses import fields

    from rnnrbm_music.cli import MODEL_SETTINGS
    known = sorted({*MODEL_SETTINGS, *(f.name for f in fields(TrainConfig)), "description"})
    for text, said in [('{"epochz": 3}', f"unknown setting(s) 'epochz'; a recipe takes "
                                         f"{', '.join(known)}"),
                       ('{"epochs": "x"}', "epochs must be a whole number")]:
        recipe = tmp_path / "recipe.json"
        recipe.write_text(text)
        assert main(["train", "music21:bach/bwv66.6", "--config", str(recipe),
                     "--out", str(tmp_path / "m.safetensors")]) == 2
        line, = capsys.readouterr().err.strip().splitlines()
        assert line.startswith(f"rnnrbm-music: error: {recipe}: ") and said in line


def test_resuming_takes_the_checkpoints_model_and_a_mismatch_is_one_line(tmp_path, capsys):
    from rnnrbm_music.checkpoint import CheckpointError
    from rnnrbm_music.engine import RnnRbmConfig, build
    from rnnrbm_music.train import train

    first = tmp_path / "first.safetensors"
    assert main(["train", "music21:bach/bwv66.6", "--epochs", "1", "--hidden", "8",
                 "--recurrent", "4", "--out", str(first)]) == 0
    again = tmp_path / "again.safetensors"
    assert main(["train", "music21:bach/bwv66.6", "--epochs", "2", "--resume", str(first),
                 "--out", str(again)]) == 0                  # no --hidden 8 --recurrent 4 again
    out = capsys.readouterr().out
    assert f"resuming from {first}" in out and "epoch 2/2" in out
    assert RnnRbmComposer.load(again).model_.config.n_hidden == 8
    other = build(RnnRbmConfig(88, 16, 4))
    with pytest.raises(CheckpointError, match="its model .RNN-RBM, 8 hidden, 4 recurrent, 88 "
                                              "sounding units. is not the one to train"):
        train(other, [np.ones((8, 88), bool)], TrainConfig(epochs=2), resume_from=first,
              progress=False)


def test_every_output_is_checked_before_the_work(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "text.mid").write_text("a file where a folder is asked for")
    assert main(["generate", "--steps", "4", "--out", "ok.mid", "--out", "text.mid/x.png"]) == 2
    assert "text.mid: cannot write a file in this folder (a file, not a folder)" in \
        capsys.readouterr().err
    assert not (tmp_path / "ok.mid").exists()


def test_evaluate_without_chains_reports_a_lower_bound_and_writes_json_under_home(
        tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["evaluate", "rbm", "--data", "music21:bach/bwv66.6", "--chains", "0",
                 "--json", "~/figures/e.json"]) == 0
    out = capsys.readouterr().out
    assert "NLL per frame      at least " in out and "a lower bound" in out
    assert (tmp_path / "figures" / "e.json").exists()


def test_a_part_of_a_score_or_of_text_is_harmonized_and_credited(tmp_path, capsys):
    chorale = corpus.getWork("bach/bwv269")
    out = tmp_path / "h.musicxml"
    assert main(["harmonize", str(chorale), "--part", "0", "--seed", "1", "--out", str(out)]) == 0
    score = converter.parse(out)
    assert score.metadata.bestTitle == "Harmonization of bwv269"
    assert score.metadata.composer == "J.S. Bach, harmonized by rnnrbm-music"
    assert main(["harmonize", "tinyNotation: 4/4 c4 d e f g1", "--part", "0", "--seed", "1",
                 "--out", str(tmp_path / "t.mid")]) == 0
    capsys.readouterr()
    assert main(["harmonize", str(chorale), "--seed", "1", "--out", str(tmp_path / "all.mid")]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines()
                if " elapsed" not in line]       # progress, on a machine slow enough to show it
    assert warnings == [
        "rnnrbm-music: warning: the melody is a score of 4 parts: all of them are taken as the "
        "melody; pass one part (--part N) to harmonize it alone"]


def test_generated_pieces_are_titled_by_their_key(pretrained):
    rolls = pretrained.generate_roll(4, key="D major", seed=1, n=2)
    assert [r.title for r in rolls] == ["Study in D major no. 1", "Study in D major no. 2"]
    assert [r.composer for r in rolls] == ["rnnrbm-music"] * 2


def test_holding_out_from_one_piece_says_it_needs_two():
    with pytest.raises(ValueError, match="cannot hold out 0.5 of 1 piece.s. for validation"):
        Corpus.from_music21("bach/bwv66.6").split(0.5)


def test_numpy_integers_are_whole_numbers(pretrained):
    one = pretrained.generate_roll(np.int64(4), k=np.int64(2), seed=np.int64(5))[0]
    again = pretrained.generate_roll(4, k=2, seed=5)[0]
    assert one == again and len(one) == 4


def test_a_path_is_not_a_score_of_parts(pretrained, recwarn):
    melody = corpus.getWork("bach/bwv66.6")      # a Path has .parts too: no false warning
    from pathlib import Path
    pretrained.harmonize_roll(Path(melody), seed=1, particles=1)
    assert not [w for w in recwarn if "parts" in str(w.message)]


def test_a_recipe_tried_for_fewer_epochs_decays_over_them(tmp_path, capsys):
    from pathlib import Path as P
    recipe = P(__file__).resolve().parents[1] / "recipes" / "jsb_chorales_nade.json"
    assert main(["train", "music21:bach/bwv66.6", "--config", str(recipe), "--epochs", "1",
                 "--hidden", "8", "--recurrent", "4", "--out", str(tmp_path / "m.safetensors")]) == 0
    assert RnnRbmComposer.load(tmp_path / "m.safetensors").training.decay_epochs == 1


def test_a_midi_part_is_read_by_the_packages_reader(tmp_path, capsys):
    from conftest import CASES
    melody_only = tmp_path / "melody.mid"
    assert main(["harmonize", str(CASES / "hanging_note_no_noteoff.mid"), "--part", "0",
                 "--seed", "1", "--out", str(melody_only)]) == 0
    written = read(melody_only, normalize_key=False)
    given = read(CASES / "hanging_note_no_noteoff.mid", normalize_key=False)
    assert set(given.notes()) <= set(written.notes())   # no note of the melody lost
    assert main(["harmonize", str(CASES / "type2_two_sequences.mid"), "--part", "0",
                 "--out", str(tmp_path / "x.mid")]) == 2
    line, = capsys.readouterr().err.strip().splitlines()
    assert line.endswith("type2_two_sequences.mid: MIDI type 2 (independent sequences) is not "
                         "supported: only types 0 and 1 are")


def test_warnings_of_files_read_in_parallel_reach_the_reader(tmp_path):
    from conftest import CASES
    import shutil
    for name in ("tempo_zero.mid", "timesig_numerator_zero.mid", "type1_two_tracks.mid",
                 "type0_two_channels.mid", "overlapping_same_pitch.mid", "zero_length_note.mid",
                 "running_status_across_meta.mid", "noteon_velocity0_as_noteoff.mid"):
        shutil.copy(CASES / name, tmp_path / name)
    with pytest.warns(UserWarning) as caught:
        Corpus(tmp_path, workers=2, cache=False, progress=False)
    said = " ".join(str(w.message) for w in caught)
    assert "tempo of 0" in said and "time signature 0/4" in said


def test_music_as_text_makes_a_corpus_and_music21_placeholders_are_no_titles(tmp_path):
    pieces = Corpus(["tinyNotation: 4/4 c4 d e f", "tinyNotation: 3/4 g4 a b"], progress=False)
    assert len(pieces) == 2 and not pieces.errors
    stream = converter.parse("tinyNotation: 4/4 c4 d e f")
    stream.write("musicxml", fp=str(tmp_path / "untitled.musicxml"))
    assert read(tmp_path / "untitled.musicxml").title == "untitled"     # not "Music21 Fragment"
    from rnnrbm_music import write
    midi = mido.MidiFile(write(corpus.parse("bach/bwv66.6"), tmp_path / "b.mid"))
    assert midi.tracks[0][0].name == "bwv66.6"


def test_music_too_wide_to_move_to_c_is_named(pretrained, tmp_path, capsys):
    from rnnrbm_music import ReadError
    wide = converter.parse("tinyNotation: 4/4 g4 b d' g'")
    wide.flatten().notes[0].pitch.midi, wide.flatten().notes[-1].pitch.midi = 21, 108  # A0, C8
    path = tmp_path / "wide.musicxml"
    wide.write("musicxml", fp=str(path))
    with pytest.raises(ReadError, match="wide.musicxml: transposing by .* out of the range "
                                        "21..108 .*, moved from G major to the model's C"):
        pretrained.to_roll(str(path), key="G major")
    assert main(["continue", str(path), "--key", "G major", "--out", str(tmp_path / "c.mid")]) == 2
    line, = capsys.readouterr().err.strip().splitlines()
    assert "wide.musicxml: transposing by" in line and "spans too much of the keyboard" in line


def test_trusting_a_key_signature_that_is_not_there_says_so():
    with pytest.warns(UserWarning, match="no key signature to trust: the key is detected"):
        read("tinyNotation: 4/4 d4 e f# g a2", trust_key=True)
