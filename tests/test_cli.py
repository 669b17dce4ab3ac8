import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import JSB
from rnnrbm_music import checkpoint
from rnnrbm_music.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    assert main(["train", "music21:bach/bwv66.6", "music21:bach/bwv80.8", "--epochs", "2",
                 "--hidden", "16", "--recurrent", "8", "--k", "2", "--out", str(out)]) == 0
    return out


def test_train_then_generate_continue_harmonize(model, tmp_path, capsys):
    outs = [str(tmp_path / f"gen.{x}") for x in ("mid", "musicxml", "png")]
    assert main(["generate", "--model", str(model), "--steps", "16", "--seed", "1",
                 *sum((["--out", o] for o in outs), [])]) == 0
    assert all(Path(o).stat().st_size > 0 for o in outs)
    primer = ROOT.parent / "shared" / "data" / "nottingham_midi" / "ashover1.mid"
    assert main(["continue", str(primer), "--model", str(model), "--steps", "8", "-n", "2",
                 "--out", str(tmp_path / "cont.mid"), "--out", str(tmp_path / "cont.png")]) == 0
    assert (tmp_path / "cont-1.mid").is_file() and (tmp_path / "cont-2.png").is_file()
    assert main(["harmonize", str(primer), "--model", str(model), "--seed", "3", "--particles",
                 "2", "--out", str(tmp_path / "harm.musicxml")]) == 0
    printed = capsys.readouterr().out
    assert "harm.musicxml" in printed and "cont-2.png" in printed


def test_evaluate_on_a_benchmark_split(tmp_path, capsys):
    model = tmp_path / "jsb.safetensors"
    assert main(["train", str(JSB), "--epochs", "1", "--hidden", "8", "--recurrent", "4",
                 "--k", "1", "--out", str(model)]) == 0
    printed = capsys.readouterr().out
    assert "\n1 epoch" in printed and "1 epochs" not in printed
    report = tmp_path / "figures.json"
    assert main(["evaluate", str(model), "--data", str(JSB), "--split", "valid", "--chains", "4",
                 "--betas", "20", "--known", "train", "--json", str(report)]) == 0
    figures = json.loads(report.read_text())
    assert figures["frames"] > 3000 and figures["split"] == "valid" and figures["known"] == "train"
    assert figures["known_frames"] > 2000     # JSB's training and validation frames
    # A hold-out of the validation split: the model's own training frames (the training split)
    # are always summed, and --known adds the other half of the split to them.
    held_out = []
    for known in ([], ["--known", "train"]):
        assert main(["evaluate", str(model), "--data", str(JSB), "--split", "valid",
                     "--valid-fraction", "0.5", "--chains", "2", "--betas", "10", *known,
                     "--json", str(report)]) == 0
        held_out.append(json.loads(report.read_text()))
    assert held_out[0]["frames"] == held_out[1]["frames"] < figures["frames"]
    trained_on = len(checkpoint.load(model).model.known_frames)
    assert trained_on < held_out[0]["known_frames"] < held_out[1]["known_frames"]
    assert held_out[1]["known_frames"] == figures["known_frames"]   # training + validation frames
    printed = capsys.readouterr().out
    assert "NLL per frame" in printed
    assert f"\nframe accuracy     {100 * figures['accuracy']:.2f} %\n" in printed
    # Files have no benchmark split: the record names none, only the fraction held out.
    tunes = sorted((ROOT.parent / "shared" / "data" / "nottingham_midi").glob("ashover*.mid"))[:4]
    assert main(["evaluate", str(model), "--data", *map(str, tunes), "--valid-fraction", "0.5",
                 "--chains", "0", "--json", str(report)]) == 0
    record = json.loads(report.read_text())
    assert (record["split"], record["valid_fraction"]) == (None, 0.5)
    # Without AIS (--chains 0) the NLL is a lower bound, and what needs the rest of Z is absent.
    assert record["nll_is_lower_bound"] and record["nll"] > 0
    assert [record[name] for name in ("nll_std", "accuracy", "known_share", "ais")] == [None] * 4
    assert not held_out[0]["nll_is_lower_bound"] and held_out[0]["ais"]["n_chains"] == 2


def test_an_rnn_nade_trains_evaluates_exactly_and_harmonizes(tmp_path, capsys):
    from rnnrbm_music import Corpus
    from rnnrbm_music.evaluate import exact_nll

    model = tmp_path / "nade.safetensors"
    assert main(["train", str(JSB), "--epochs", "1", "--hidden", "8", "--recurrent", "4",
                 "--conditional", "nade", "--order", "descending", "--out", str(model)]) == 0
    report = tmp_path / "figures.json"
    assert main(["evaluate", str(model), "--data", str(JSB), "--split", "valid", "--chains", "3",
                 "--json", str(report)]) == 0
    figures = json.loads(report.read_text())
    loaded = checkpoint.load(model).model
    valid = [roll.frames for roll in Corpus.from_benchmark(JSB, "valid")]
    assert figures["ais"] == {"n_chains": 3, "n_betas": 0, "schedule": "exact"}
    assert abs(figures["nll"] - exact_nll(loaded, valid, samples=0).nll) < 1e-9
    assert figures["pseudo_nll"] is None and 0 < figures["accuracy"] < 1
    assert "(exact: RNN-NADE)" in capsys.readouterr().out
    primer = ROOT.parent / "shared" / "data" / "nottingham_midi" / "ashover1.mid"
    assert main(["harmonize", str(primer), "--model", str(model), "--seed", "3",
                 "--out", str(tmp_path / "harm.mid")]) == 0
    assert (tmp_path / "harm.mid").stat().st_size > 0


def test_key_and_bars_on_the_command_line(tmp_path, capsys):
    primer = ROOT.parent / "shared" / "data" / "nottingham_midi" / "ashover1.mid"
    out = tmp_path / "cont.mid"
    assert main(["continue", str(primer), "--bars", "2", "--key", "D major", "--no-prime",
                 "--seed", "1", "--model", "nade", "--cadence", "--out", str(out)]) == 0
    import mido

    from rnnrbm_music import RnnRbmComposer, read

    prime = RnnRbmComposer.pretrained().to_roll(str(primer), key="D major")
    expected = prime.downbeat_after(len(prime)) - len(prime) + 2 * prime.frames_per_bar
    written = read(out, normalize_key=False)
    assert len(written) == expected
    last = {(int(p) + 21) % 12 for p in np.flatnonzero(written.frames[-1])}
    assert last == {2, 6, 9}                                     # D major, --cadence
    keys = [m.key for track in mido.MidiFile(out).tracks for m in track
            if m.type == "key_signature"]
    assert keys == ["D"]
    assert main(["harmonize", str(primer), "--key", "nonsense key", "--out",
                 str(tmp_path / "h.mid")]) == 2
    assert "cannot read key" in capsys.readouterr().err
    assert main(["generate", "--bars", "2", "--steps", "8", "--out", str(tmp_path / "g.mid")]) == 2
    assert "give --steps or --bars, not both" in capsys.readouterr().err
    # One part of a two-track file (the Nottingham tune's melody without its chords).
    harmonized = tmp_path / "part.mid"
    assert main(["harmonize", str(primer), "--model", "nade", "--part", "0", "--seed", "2",
                 "--out", str(harmonized)]) == 0
    melody = read(primer, normalize_key=False)
    assert main(["harmonize", str(primer), "--part", "2", "--out", str(harmonized)]) == 2
    assert "part 2: it has 2 track(s) with notes" in capsys.readouterr().err
    # The melody track's last note ends a quarter note before the chords' (188 frames, not 190),
    # and every melody note is in the harmonization.
    written = read(harmonized, normalize_key=False)
    assert (len(written), len(melody)) == (188, 190)
    alone = mido.MidiFile(primer)
    alone.tracks = alone.tracks[:1]                       # the melody's track: track 0
    alone.save(tmp_path / "melody.mid")
    assert set(read(tmp_path / "melody.mid", normalize_key=False).notes()) <= set(written.notes())


def test_errors_are_one_line_and_non_zero(tmp_path, capsys):
    assert main(["continue", str(tmp_path / "none.mid"), "--out", str(tmp_path / "x.mid")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rnnrbm-music: error:") and "no such file" in err[0]
    assert main(["generate", "--model", str(tmp_path / "none.safetensors"),
                 "--out", str(tmp_path / "x.mid")]) == 2
    assert main(["generate", "--out", str(tmp_path / "x.wav")]) == 2
    assert "an output file ends in .mid" in capsys.readouterr().err


def test_demo_writes_its_six_files(tmp_path, capsys):
    from music21 import converter

    assert main(["demo", "--out-dir", str(tmp_path)]) == 0
    said = capsys.readouterr().out.splitlines()
    files = dict(line.strip().split(" — ") for line in said if line.startswith("  "))
    assert sorted(Path(p).name for p in files) == sorted(
        f"{kind}.{x}" for kind in ("continuation", "harmonization") for x in ("mid", "musicxml", "png"))
    # Each piece is said to be what it is, each file how to open it.
    assert "MuseScore" in files[str(tmp_path / "continuation.musicxml")]
    assert said[0].startswith("Bach's opening") and "continued for eight bars" in said[0]
    for kind in ("continuation", "harmonization"):     # Ein feste Burg is in D major
        score = converter.parse(tmp_path / f"{kind}.musicxml")
        assert score.recurse().getElementsByClass("KeySignature").first().sharps == 2, kind
    # The primer (its first bars, repeats played out) completed to a bar line, and eight whole
    # bars of 4/4 more: the piece ends on a bar line, a quarter-note pickup before the first.
    from music21 import corpus

    from rnnrbm_music import RnnRbmComposer
    from rnnrbm_music.demo import TUNE
    primer = RnnRbmComposer.pretrained().to_roll(corpus.parse(TUNE).measures(0, 4))
    bar_line = primer.downbeat_after(len(primer)) / primer.steps_per_quarter
    continuation = converter.parse(tmp_path / "continuation.musicxml")
    assert continuation.highestTime == bar_line + 8 * 4 and (bar_line - 1) % 4 == 0


def test_help_lists_the_commands():
    done = subprocess.run([sys.executable, "-m", "rnnrbm_music.cli", "--help"],
                          capture_output=True, text=True)
    assert done.returncode == 0
    for command in ("train", "generate", "continue", "harmonize", "evaluate", "demo"):
        assert command in done.stdout


@pytest.mark.parametrize("script, args", [
    ("fit_bach.py", ["--pieces", "6", "--epochs", "1", "--hidden", "16"]),
    ("continue_melody.py", ["--steps", "8"]),
    ("harmonize.py", []),
])
def test_examples_run_as_they_are(script, args, tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "examples" / script), *args,
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert any(p.suffix == ".mid" for p in tmp_path.iterdir())


def test_sigterm_during_training_keeps_the_model_so_far(tmp_path):
    out = tmp_path / "terminated.safetensors"
    training = subprocess.Popen(
        [sys.executable, "-m", "rnnrbm_music.cli", "train", str(JSB), "--epochs", "1000",
         "--hidden", "8", "--recurrent", "4", "--k", "1", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in training.stdout:        # "training on ...", then a line per epoch
        if line.startswith("epoch "):
            break
    training.terminate()
    assert training.wait(60) == 130
    assert "keeping the model so far" in training.stdout.read()
    trained = checkpoint.load(out).config["epochs_trained"]
    assert 1 <= trained < 1000


def test_generate_options_change_the_written_music(tmp_path):
    """--key: music21's key analysis of the written score finds that tonic; --steps: the
    written piece lasts that many frames; --seed: the same seed writes the same notes, another
    seed other notes (the pretrained RNN-NADE, which is fast)."""
    from music21 import converter

    from rnnrbm_music import read

    def generate(name, *options):
        out = tmp_path / name
        assert main(["generate", "--model", "nade", *options, "--out", str(out)]) == 0
        return out

    for key, tonic in (("A major", "A"), ("F minor", "F")):
        score = converter.parse(generate(f"{tonic}.musicxml", "--key", key, "--steps", "64",
                                         "--seed", "0"))
        assert score.analyze("key").tonic.name == tonic, key
    notes = {}
    for steps, seed in ((24, 1), (24, 1), (40, 1), (24, 2)):
        path = generate(f"g{steps}-{seed}-{len(notes)}.mid", "--steps", str(steps), "--seed", str(seed))
        roll = read(path, normalize_key=False)
        assert roll.quarters == steps / 2, (steps, roll.quarters)
        notes.setdefault((steps, seed), []).append(roll.notes())
    assert notes[24, 1][0] == notes[24, 1][1]                  # the same seed: the same music
    assert notes[24, 2][0] != notes[24, 1][0]                  # another seed: other music


def test_continue_options_change_the_written_music(tmp_path):
    """continue --steps N --no-prime writes N frames; --seed as for generate."""
    from rnnrbm_music import read

    primer = ROOT.parent / "shared" / "data" / "nottingham_midi" / "ashover1.mid"
    written = {}
    for steps, seed in ((16, 1), (16, 1), (32, 1), (16, 2)):
        out = tmp_path / f"c{len(written)}.mid"
        assert main(["continue", str(primer), "--model", "nade", "--no-prime", "--steps",
                     str(steps), "--seed", str(seed), "--out", str(out)]) == 0
        roll = read(out, normalize_key=False)
        written[len(written)] = (len(roll), roll.notes())
    assert [length for length, _ in written.values()] == [16, 16, 32, 16]
    assert written[0][1] == written[1][1] and written[3][1] != written[0][1]


def test_train_validates_on_a_held_out_fraction_or_on_other_music(tmp_path, capsys):
    from rnnrbm_music import Corpus, RnnRbmComposer
    from rnnrbm_music.train import TrainConfig

    tiny = ["--epochs", "1", "--hidden", "8", "--recurrent", "4", "--k", "1"]
    model = tmp_path / "held_out.safetensors"
    assert main(["train", str(JSB), *tiny, "--valid-fraction", "0.25", "--out", str(model)]) == 0
    kept, held = Corpus.from_benchmark(JSB, "train").split(0.25, seed=TrainConfig().seed)
    out = capsys.readouterr().out
    assert (f"training on {len(kept)} pieces ({kept.n_frames} frames), validating on "
            f"{len(held)} pieces ({held.n_frames} frames)\n") in out
    assert "1 epoch, best valid pseudo-NLL per frame " in out
    assert "valid" in RnnRbmComposer.load(model).history_[0]
    other = tmp_path / "other.safetensors"
    assert main(["train", str(JSB), *tiny, "--valid", str(JSB), "--out", str(other)]) == 0
    valid = Corpus.from_benchmark(JSB, "valid")
    assert f", validating on {len(valid)} pieces ({valid.n_frames} frames)\n" in capsys.readouterr().out
    assert "valid" in RnnRbmComposer.load(other).history_[0]


def test_a_resumed_training_keeps_the_checkpoints_frame_rate(tmp_path):
    from rnnrbm_music import RnnRbmComposer

    first, again = tmp_path / "first.safetensors", tmp_path / "again.safetensors"
    assert main(["train", "music21:bach/bwv66.6", "--epochs", "1", "--hidden", "8", "--recurrent",
                 "4", "--steps-per-quarter", "1", "--out", str(first)]) == 0
    assert main(["train", "music21:bach/bwv66.6", "--epochs", "2", "--resume", str(first),
                 "--out", str(again)]) == 0
    resumed = RnnRbmComposer.load(again)
    assert (resumed.steps_per_quarter, len(resumed.history_)) == (1, 2)


def test_generate_writes_64_frames_unless_told(tmp_path):
    from rnnrbm_music import read

    out = tmp_path / "default.mid"
    assert main(["generate", "--model", "nade", "--seed", "0", "--out", str(out)]) == 0
    assert read(out, normalize_key=False).quarters == 32


def test_harmonize_options_change_the_written_music(tmp_path, monkeypatch):
    """--particles: the one-particle harmony of the API with the same seed; -n 2: two files,
    numbered; the picture's legend names the melody and the harmony."""
    from rnnrbm_music import RnnRbmComposer, cli, read

    tune = "tinyNotation: 4/4 d'4 f#' a' d''"
    written = {}
    for particles in ("1", "2"):
        out = tmp_path / f"p{particles}.mid"
        assert main(["harmonize", tune, "--model", "nade", "--seed", "3", "--particles", particles,
                     "--out", str(out)]) == 0
        written[particles] = read(out, normalize_key=False).notes()
    api = RnnRbmComposer.pretrained(conditional="nade").harmonize_roll(tune, seed=3, particles=1)[0]
    assert written["1"] == api.sounding_notes() and written["2"] != written["1"]
    labels = []
    real_write_all = cli.write_all
    monkeypatch.setattr(cli, "write_all", lambda *args: labels.append(args[3]) or real_write_all(*args))
    assert main(["harmonize", tune, "--model", "nade", "-n", "2", "--out",
                 str(tmp_path / "h.mid")]) == 0
    assert (tmp_path / "h-1.mid").is_file() and (tmp_path / "h-2.mid").is_file()
    assert labels == [("melody", "harmony")] * 2


def test_evaluate_prints_and_records_what_it_measured(tmp_path, capsys):
    tune = ROOT.parent / "shared" / "data" / "nottingham_midi" / "ashover1.mid"
    report = tmp_path / "figures.json"
    assert main(["evaluate", "--data", str(tune), "--chains", "0", "--json", str(report)]) == 0
    text = report.read_text()
    record = json.loads(text)
    assert text.startswith('{\n  "') and text.endswith("}\n")            # indented, one per line
    assert (record["model"], record["seed"], record["data"]) == ("pretrained", 0, [str(tune)])
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"1 piece, {record['frames']} frames"
    assert printed[-1] == f"written: {report}"
    nade = tmp_path / "nade.json"
    assert main(["evaluate", "--model", "nade", "--data", str(tune), "--chains", "2",
                 "--json", str(nade)]) == 0
    accuracy = json.loads(nade.read_text())["accuracy"]
    assert (f"frame accuracy     {100 * accuracy:.2f} % (expected, from 2 exact draws per frame)"
            in capsys.readouterr().out)


def test_help_shows_each_default_but_none_for_flags():
    from rnnrbm_music.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices
    text = " ".join(commands["harmonize"].format_help().split())
    assert "(default: 25)" in text                                       # --k
    assert "--cadence" in text                                           # a flag: False
    assert "(default: False)" not in text and "(default: None)" not in text


def test_outputs_go_into_new_folders_and_training_flags_switch_settings_on(tmp_path):
    from rnnrbm_music import read

    nested = tmp_path / "new" / "deeper" / "g.mid"
    assert main(["generate", "--model", "nade", "--steps", "4", "--out", str(nested)]) == 0
    assert len(read(nested, normalize_key=False)) == 4
    model = tmp_path / "runs" / "m.safetensors"
    assert main(["train", str(JSB), "--epochs", "2", "--hidden", "8", "--recurrent", "4", "--k", "1",
                 "--checkpoint-every", "1", "--keep-checkpoints", "--out", str(model)]) == 0
    assert sorted(p.name for p in model.parent.iterdir()) == [
        "m-epoch0001.safetensors", "m-epoch0002.safetensors", "m.safetensors"]


def test_continue_takes_its_particles_and_a_benchmark_is_read_at_the_models_rate(tmp_path, capsys):
    primer = ROOT.parent / "shared" / "data" / "nottingham_midi" / "ashover1.mid"
    assert main(["continue", str(primer), "--model", "nade", "--steps", "8", "--cadence",
                 "--particles", "2", "--seed", "1", "--out", str(tmp_path / "c.mid")]) == 0
    capsys.readouterr()
    # The pretrained model counts two frames a quarter; JSB's pickle, read at that rate, is
    # evaluated rather than refused for its own one frame a quarter.
    assert main(["evaluate", "--model", "nade", "--data", str(JSB), "--split", "valid", "--chains",
                 "0"]) == 0
    assert capsys.readouterr().out.startswith("76 pieces, ")


def test_the_live_commands_take_their_options_as_given():
    from rnnrbm_music.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["live", "--in", "keys", "--api", "alsa", "--in-channel", "1",
                              "--in-channel", "2", "--bpm", "90", "--k", "5"])
    assert (args.api, args.in_channel, args.bpm, args.k) == ("alsa", [1, 2], 90, 5)
    for bad in (["play", "--bpm", "0"], ["play", "--k", "0"], ["live", "--k", "x"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)


def test_training_resumes_from_a_checkpoint_the_engine_wrote(tmp_path):
    """A checkpoint of rnnrbm_music.train.train has no data settings: resuming it from the
    command line takes the corpus's frame rate."""
    from rnnrbm_music import RnnRbmComposer
    from rnnrbm_music.engine import RnnRbmConfig, build
    from rnnrbm_music.train import TrainConfig, train

    engine = tmp_path / "engine.safetensors"
    train(build(RnnRbmConfig(88, 8, 4)), [np.ones((8, 88), bool)], None, TrainConfig(epochs=1),
          checkpoint_path=engine, progress=False)
    again = tmp_path / "again.safetensors"
    assert main(["train", "music21:bach/bwv66.6", "--epochs", "2", "--resume", str(engine),
                 "--out", str(again)]) == 0
    assert len(RnnRbmComposer.load(again).history_) == 2


def test_a_resumed_training_keeps_its_settings_and_its_held_out_pieces(tmp_path, capsys):
    """--resume keeps the optimizer, learning rate, seed (which picks the pieces
    --valid-fraction holds out) and key setting of the checkpoint; evaluate --valid-fraction
    holds out the same pieces, by the model's seed."""
    from rnnrbm_music import RnnRbmComposer

    chorales = [f"music21:bach/{name}" for name in ("bwv66.6", "bwv269", "bwv80.8", "bwv4.8")]
    first, again = tmp_path / "first.safetensors", tmp_path / "again.safetensors"
    assert main(["train", *chorales, "--valid-fraction", "0.25", "--hidden", "8", "--recurrent",
                 "4", "--epochs", "1", "--optimizer", "adam", "--lr", "0.01", "--seed", "5",
                 "--no-normalize-key", "--out", str(first)]) == 0
    split = capsys.readouterr().out.splitlines()[0]
    assert main(["train", *chorales, "--valid-fraction", "0.25", "--resume", str(first),
                 "--epochs", "2", "--out", str(again)]) == 0
    assert split in capsys.readouterr().out.splitlines()        # the same pieces held out
    resumed = RnnRbmComposer.load(again)
    assert (resumed.training.optimizer, resumed.training.lr, resumed.training.seed,
            resumed.normalize_key, len(resumed.history_)) == ("adam", 0.01, 5, False, 2)
    report = tmp_path / "held_out.json"
    assert main(["evaluate", str(first), "--data", *chorales, "--valid-fraction", "0.25",
                 "--chains", "0", "--json", str(report)]) == 0
    record = json.loads(report.read_text())
    held_out_frames = int(split.split("validating on 1 piece (")[1].split(" frames")[0])
    assert (record["split_seed"], record["frames"]) == (5, held_out_frames)
