"""The ``rnnrbm-music`` command: train, generate, continue, harmonize, evaluate, demo.

Output files are chosen by extension (``.mid``, ``.musicxml``, ``.png`` piano-roll plot), and
``--out`` may be given several times. ``--model`` defaults to the pretrained Bach-chorale RNN-RBM
(``--model nade``: the pretrained RNN-NADE). Every value is checked by the rules of
:mod:`rnnrbm_music.checks`, as the Python API checks it; a bad one, like any other error, is one
line on stderr and exit status 2. Warnings are one line each, ``rnnrbm-music: warning: ...``.
"""

from __future__ import annotations

import argparse
import errno
import glob
import json
import tempfile
import signal
import sys
import warnings
from dataclasses import fields
from pathlib import Path

import numpy as np

from . import __version__, checks
from .composer import HARMONY_PARTICLES
from .music21_io import OUTPUT_FORMATS, is_music_text, write_all
from .parts import melody_source
from .train import OPTIMIZERS, SCHEDULES

#: Exit status of a command ended by Ctrl+C or SIGTERM (128 + SIGINT, as shells report it).
INTERRUPTED = 130

CORPUS_HELP = ("files, folders or globs of MIDI/MusicXML/ABC/Humdrum; music21:QUERY for "
               "music21's corpus (music21:chorales, music21:bach); or a benchmark .pickle "
               "(split chosen with --split)")


def _corpus(items: list[str], split: str, steps_per_quarter: int | None, normalize_key: bool):
    """The corpus the command line names, read; ValueError if it holds no music (a path that
    names nothing is an error here, not a piece skipped: it is a typo)."""
    from .corpus import MUSIC21_CORPUS, Corpus

    corpora = []
    paths = []
    for item in items:
        path = Path(item).expanduser()
        if not (item.startswith(MUSIC21_CORPUS) or path.exists() or glob.has_magic(item)):
            raise ValueError(f"{item}: no such file or folder")
        if item.endswith((".pickle", ".pkl")):
            corpora.append(Corpus.from_benchmark(item, split, steps_per_quarter))
        else:
            paths.append(item)
    if paths:
        corpora.append(Corpus(paths, normalize_key=normalize_key,
                              steps_per_quarter=steps_per_quarter or 2))
    rolls = [roll for corpus in corpora for roll in corpus]
    if not rolls:
        raise ValueError(f"{' '.join(items)}: no music could be read there")
    return Corpus(rolls, progress=False)


def _split(items: list[str], given: str | None, default: str) -> str:
    """The benchmark split to read: ``--split`` if given (ValueError when no item is a benchmark
    .pickle: it would change nothing), else ``default``."""
    if given is not None and not any(item.endswith((".pickle", ".pkl")) for item in items):
        raise ValueError(f"--split {given}: only a benchmark .pickle has splits, and "
                         f"{' '.join(items)} is none")
    return given or default


def _load_composer(path: str | None, device: str):
    """The model of ``--model``: a file, or ``rbm`` / ``nade`` (None: ``rbm``) for a
    pretrained one."""
    from .composer import PRETRAINED, RnnRbmComposer

    if path is None or path in PRETRAINED:
        return RnnRbmComposer.pretrained(device, path or "rbm")
    return RnnRbmComposer.load(path, device)


def write_outputs(roll, outputs: list[str], accent=None,
                  labels: tuple[str, str] = ("primer", "continuation")) -> None:
    """Write one roll to every ``--out`` file and print each path."""
    for path in write_all(roll, outputs, accent, labels):
        print(path)


def _count(n: int, noun: str) -> str:
    """``"1 piece"``, ``"3 pieces"``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _numbered(outputs: list[str], index: int, total: int) -> list[str]:
    if total == 1:
        return outputs
    return [str(Path(o).with_stem(f"{Path(o).stem}-{index + 1}")) for o in outputs]


def _length(args) -> tuple[int, int | None]:
    """(n_steps, n_bars) from --steps / --bars, which exclude each other."""
    if args.steps is not None and args.bars is not None:
        raise ValueError("give --steps or --bars, not both")
    return (64 if args.steps is None else args.steps), args.bars


def _check_writable(path: str) -> None:
    """OSError naming the folder unless ``path`` can be written there (made if missing)."""
    folder = Path(path).parent
    try:
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "a file, not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise OSError(error.errno, f"cannot write a file in this folder ({error.strerror})",
                      str(folder)) from None


#: The settings a recipe may hold besides the training ones (TrainConfig's).
MODEL_SETTINGS = ("n_hidden", "n_recurrent", "steps_per_quarter", "articulation", "conditional",
                  "order")


def _recipe(path: str) -> dict:
    """A recipe's settings, each checked by its rule; ValueError naming the file if it is not
    a JSON object, has a setting no model or training knows (a typo), or a value out of range."""
    from .train import TrainConfig

    try:
        settings = json.loads(Path(path).expanduser().read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not a JSON recipe ({error})") from None
    if not isinstance(settings, dict):
        raise ValueError(f"{path}: a recipe is a JSON object of settings")
    known = {*MODEL_SETTINGS, *(f.name for f in fields(TrainConfig)), "description"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(f"{path}: unknown setting(s) {', '.join(map(repr, unknown))}; a recipe "
                         f"takes {', '.join(sorted(known))}")
    try:
        for name, value in settings.items():
            if name in checks.RULES and value is not None:
                checks.checked(name, value)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    return settings


def _resumed(path: str) -> tuple[dict, dict, bool | None]:
    """What a training resumed from the checkpoint at ``path`` keeps unless a flag or the
    recipe says otherwise: its model settings, its training settings (optimizer, learning rate,
    seed: the seed also picks the pieces ``--valid-fraction`` holds out) and whether it moved
    the pieces to C (None where the checkpoint does not say)."""
    from .checkpoint import load
    from .train import TrainConfig

    saved = load(path)
    config = saved.model.config
    data = saved.config.get("data", {})
    model = {"n_hidden": config.n_hidden, "n_recurrent": config.n_recurrent,
             "articulation": config.articulation, "conditional": config.conditional,
             "order": config.order, "steps_per_quarter": data.get("steps_per_quarter")}
    names = {f.name for f in fields(TrainConfig)}
    training = {k: v for k, v in saved.config.get("training", {}).items() if k in names}
    return model, training, data.get("normalize_key")


def cmd_train(args) -> int:
    from .composer import RnnRbmComposer
    from .train import TrainConfig

    _check_writable(args.out)   # before an hour of training, not after
    settings = _recipe(args.config) if args.config else {}
    resumed_model, training, resumed_key = _resumed(args.resume) if args.resume else ({}, {}, None)
    training.update({f.name: settings[f.name] for f in fields(TrainConfig) if f.name in settings})
    for f in fields(TrainConfig):
        value = getattr(args, f.name, None)
        if value is not None:
            training[f.name] = value
    if args.epochs is not None and args.decay_epochs is None and training.get("decay_epochs"):
        # A shorter run of a recipe (--epochs 1 for a try) decays over what there is of it.
        training["decay_epochs"] = min(training["decay_epochs"], args.epochs)
    model_settings = {k: settings[k] for k in MODEL_SETTINGS if k in settings}
    for name in MODEL_SETTINGS:
        if getattr(args, name) is not None:
            model_settings[name] = getattr(args, name)
    if args.resume:   # the checkpoint's model, unless a flag or the recipe says otherwise
        resumed = {k: v for k, v in resumed_model.items() if v is not None}
        model_settings = {**resumed, **model_settings}
        print(f"resuming from {args.resume}")
    composer = RnnRbmComposer(**model_settings,
                              normalize_key=not args.no_normalize_key and resumed_key is not False,
                              device=args.device, **training)
    spq = model_settings.get("steps_per_quarter")
    corpus = _corpus(args.corpus, _split(args.corpus, args.split, "train"), spq,
                     composer.normalize_key)
    if not spq and corpus.rolls:   # a benchmark split brings its own frame rate
        composer.steps_per_quarter = corpus.rolls[0].steps_per_quarter
    valid = None
    if args.valid:
        valid = _corpus(args.valid, "valid", composer.steps_per_quarter, composer.normalize_key)
    elif args.valid_fraction:
        corpus, valid = corpus.split(args.valid_fraction, seed=composer.training.seed)
    print(f"training on {_count(len(corpus), 'piece')} ({corpus.n_frames} frames)"
          + (f", validating on {_count(len(valid), 'piece')} ({valid.n_frames} frames)"
             if valid else ""))
    composer.fit(corpus, valid=valid, checkpoint_path=args.out, resume_from=args.resume)
    result = composer.fit_result_
    composer.save(args.out)
    figure = "NLL" if composer.conditional == "nade" else "pseudo-NLL"
    best = (f", best valid {figure} per frame {result.best_valid:.4f} nats at epoch "
            f"{result.best_epoch}") \
        if result.best_valid is not None else ""
    print(f"{_count(result.epochs_trained, 'epoch')}{best}; the model of epoch {result.model_epoch} "
          f"written to {args.out}")
    return INTERRUPTED if result.interrupted else 0


def _check_outputs(outputs: list[str]) -> None:
    """Every ``--out`` can be written: found out before the work, not after it."""
    for output in outputs:
        _check_writable(output)


def cmd_generate(args) -> None:
    _check_outputs(args.out)
    composer = _load_composer(args.model, args.device)
    n_steps, n_bars = _length(args)
    rolls = composer.generate_roll(n_steps, args.k, args.temperature, args.seed, args.key,
                                   args.time_signature, args.bpm, args.samples, n_bars)
    for i, roll in enumerate(rolls):
        write_outputs(roll, _numbered(args.out, i, len(rolls)))


def cmd_continue(args) -> None:
    _check_outputs(args.out)
    n_steps, n_bars = _length(args)
    composer = _load_composer(args.model, args.device)
    prime = composer.to_roll(args.primer, "primer", args.key)
    rolls = composer.continue_roll(prime, n_steps, args.k, args.temperature, args.seed,
                                   not args.no_prime, args.samples, n_bars=n_bars,
                                   cadence=args.cadence, particles=args.particles)
    for i, roll in enumerate(rolls):
        accent = np.zeros_like(roll.frames)
        if not args.no_prime:
            accent[:len(prime)] = True
        write_outputs(roll, _numbered(args.out, i, len(rolls)), accent)


def cmd_harmonize(args) -> None:
    _check_outputs(args.out)
    composer = _load_composer(args.model, args.device)
    with melody_source(args.melody, args.part, how="--part N") as source:
        melody = composer.to_roll(source, "melody", args.key)
    if melody.title is None and not is_music_text(args.melody):   # a part of an untitled file
        melody = melody.replace(title=Path(args.melody).stem)
    rolls = composer.harmonize_roll(melody, args.k, args.temperature, args.seed, args.samples,
                                    args.particles, cadence=args.cadence)
    for i, roll in enumerate(rolls):
        write_outputs(roll, _numbered(args.out, i, len(rolls)), melody.frames,
                      ("melody", "harmony"))


def cmd_evaluate(args) -> None:
    if args.model_file and args.model and args.model_file != args.model:
        raise ValueError(f"two models: {args.model_file} and --model {args.model}; give one")
    args.model = args.model_file or args.model
    if args.json:
        args.json = str(Path(args.json).expanduser())
        _check_writable(args.json)
    composer = _load_composer(args.model, args.device)
    args.split = _split(args.data, args.split, "test")
    corpus = _corpus(args.data, args.split, composer.steps_per_quarter, composer.normalize_key)
    known = None
    if args.valid_fraction:   # the same hold-out as `train --valid-fraction` with that seed
        if args.split_seed is None:   # the model's training seed, which made the split
            args.split_seed = composer.training.seed
        training, corpus = corpus.split(args.valid_fraction, args.split_seed)
        known = training if args.known else None
    elif args.known:   # e.g. the training split of the same benchmark pickles
        known = _corpus(args.data, args.known, composer.steps_per_quarter, composer.normalize_key)
    figures = composer.evaluate(corpus, n_chains=args.chains, n_betas=args.betas,
                                seed=args.seed, known=known)
    print(f"{_count(len(corpus), 'piece')}, {figures['frames']} frames")
    if composer.conditional == "nade":
        print(f"NLL per frame      {figures['nll']:.4f} nats (exact: RNN-NADE)")
        print("frame accuracy     not estimated (--chains 0)" if figures["accuracy"] is None else
              f"frame accuracy     {100 * figures['accuracy']:.2f} % "
              f"(expected, from {args.chains} exact draws per frame)")
    elif args.chains == 0:   # the known frames alone: Z from below, the NLL from below
        print(f"NLL per frame      at least {figures['nll']:.4f} nats (a lower bound: "
              f"{figures['known_frames']} distinct frames summed exactly, no AIS for the rest "
              "with --chains 0)")
        print(f"pseudo-NLL         {figures['pseudo_nll']:.4f} nats per frame")
    else:
        print(f"NLL per frame      {figures['nll']:.4f} ± {figures['nll_std']:.4f} nats "
              f"({figures['known_frames']} distinct frames summed exactly, "
              f"{100 * figures['known_share']:.2f} % of the mass; AIS for the rest, "
              f"{args.chains} chains x {args.betas} temperatures)")
        print(f"frame accuracy     {100 * figures['accuracy']:.2f} %")
        print(f"pseudo-NLL         {figures['pseudo_nll']:.4f} nats per frame")
    if args.json:
        benchmark = any(item.endswith((".pickle", ".pkl")) for item in args.data)
        record = {**figures, "model": args.model or "pretrained", "data": args.data,
                  "split": args.split if benchmark else None, "known": args.known,
                  "valid_fraction": args.valid_fraction, "split_seed": args.split_seed,
                  "seed": args.seed}
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
        print(f"written: {args.json}")


def cmd_ports(args) -> int:
    """Print every backend's ports; exit status 1 when no backend answers."""
    from .midi_ports import list_ports

    found = list_ports(args.api)
    if all("error" in ports for ports in found.values()):
        print("rnnrbm-music: no MIDI backend answers: "
              + "; ".join(f"{api}: {ports['error']}" for api, ports in found.items()),
              file=sys.stderr)
        return 1
    for api, ports in found.items():
        if "error" in ports:
            print(f"{api}: unavailable ({ports['error']})")
            continue
        print(f"{api} inputs (for --in, --clock-in):")
        print("".join(f"  {name}\n" for name in ports["inputs"]) or "  (none)\n", end="")
        print(f"{api} outputs (for --port / --out):")
        print("".join(f"  {name}\n" for name in ports["outputs"]) or "  (none)\n", end="")
    return 0


def cmd_play(args) -> None:
    from .live import LivePlayer

    composer = _load_composer(args.model, args.device)
    prime = composer.to_roll(args.prime, "primer") if args.prime else None   # before playing
    with LivePlayer(args.port, args.virtual, bpm=args.bpm, channel=args.channel - 1,
                    velocity=args.velocity,
                    program=None if args.program is None else args.program - 1, api=args.api,
                    clock=args.clock, clock_in=args.clock_in) as player:
        where = args.port or f"virtual port {args.virtual!r}"
        tempo = (f"following the clock on {player.follower.input.name!r} (waiting for its Start)"
                 if player.follower else f"at {args.bpm:g} bpm")
        print(f"playing on {where} {tempo}" + ("" if args.bars else "; Ctrl+C to stop"),
              flush=True)
        schedule = player.play_forever(composer, prime=prime, bars=args.bars, k=args.k,
                                       temperature=args.temperature, seed=args.seed)
    print(f"played {schedule.frames_played} frames "
          f"({schedule.frames_played / composer.steps_per_quarter:g} quarter notes)")


def cmd_live(args) -> None:
    from .live import LiveSession

    composer = _load_composer(args.model, args.device)
    with LiveSession(args.in_port, args.out, composer, bpm=args.bpm, virtual_name=args.virtual,
                     silence_bars=args.silence_bars, controller=args.controller,
                     answer_bars=args.answer_bars, k=args.k, temperature=args.temperature,
                     seed=args.seed, api=args.api, channel=args.channel - 1,
                     in_channels=None if args.in_channel is None else
                     [c - 1 for c in args.in_channel], sustain=not args.no_sustain,
                     clock_in=args.clock_in) as session:
        clock = (f", on the bars of the clock on {session.follower.input.name!r}"
                 if session.follower else "")
        print(f"listening on {args.in_port!r}{clock}; play a phrase, then stay silent for "
              f"{args.silence_bars:g} bar(s); Ctrl+C to stop", flush=True)
        answered = session.run(args.phrases)
    print(f"answered {answered} phrase(s)")


def cmd_demo(args) -> None:
    from .demo import describe, run_demo

    print(describe(run_demo(args.out_dir, seed=args.seed)))


class _Parser(argparse.ArgumentParser):
    """argparse with the house rules: a bad value is one line on stderr and exit status 2, and
    ``--help`` shows every default."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _DefaultsFormatter(argparse.HelpFormatter):
    """Each option's help ends with its default, unless it has none (a flag, a required
    option) or the help says it in words (a default chosen at run time)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (default is None or default is False or default is argparse.SUPPRESS
                or "default" in text
                or not action.option_strings and action.nargs not in ("?", "*")):
            return text
        shown = " ".join(default) if isinstance(default, list) else default
        return f"{text} (default: {shown})".lstrip()


def _checked(name: str):
    """The argparse type of a flag setting API argument ``name`` (:mod:`.checks`)."""
    return checks.argument_type(name)


def _output_file(kinds: tuple[str, ...], what: str):
    """An argparse type: a path (``~`` expanded) whose extension is one of ``kinds``."""

    def parse(text: str) -> str:
        path = Path(text).expanduser()
        if path.suffix.lower() not in kinds:
            raise argparse.ArgumentTypeError(
                f"{text}: {what} ends in {', '.join(kinds[:-1])} or {kinds[-1]}"
                if len(kinds) > 1 else f"{text}: {what} ends in {kinds[0]}")
        return str(path)

    return parse


MUSIC_OUT = _output_file((*OUTPUT_FORMATS, ".png"), "an output file")
MODEL_OUT = _output_file((".safetensors",), "a model file")
MODEL_HELP = "model file (.safetensors), or 'rbm' / 'nade' for the pretrained RNN-RBM / RNN-NADE"


def _sampling_arguments(parser: argparse.ArgumentParser, steps: str | None = None,
                        model: str = "rbm") -> None:
    """The options of every composing command; ``steps`` says what ``--bars`` counts from (None:
    no length options); ``model`` is the command's default model."""
    parser.add_argument("--model", default=model, help=MODEL_HELP)
    if steps:
        parser.add_argument("--steps", type=_checked("n_steps"),
                            help="frames to compose, each an eighth note at the pretrained "
                                 "models' 2 frames per quarter (default: 64, 8 bars of 4/4)")
        parser.add_argument("--bars", type=_checked("n_bars"),
                            help=f"compose whole bars instead ({steps})")
    parser.add_argument("--k", type=_checked("k"), default=25,
                        help="Gibbs steps per frame (an RNN-RBM's sampler; an RNN-NADE draws "
                             "exactly and ignores it)")
    parser.add_argument("--temperature", type=_checked("temperature"), default=1.0,
                        help="above 1: bolder, below 1: safer")
    parser.add_argument("--seed", type=_checked("seed"),
                        help="makes the output reproducible (default: a new piece each time)")
    parser.add_argument("-n", "--samples", type=_checked("n"), default=1,
                        help="how many pieces (files are numbered -1, -2...)")
    parser.add_argument("--out", action="append", required=True, type=MUSIC_OUT,
                        help="output file: .mid, .musicxml (.xml, .mxl) or .png (repeat for "
                             "several)")
    _device_argument(parser)


def _device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", type=_checked("device"),
                        help="where to compute: auto (a GPU if there is one), cpu, cuda, cuda:1, "
                             "mps")


def _key_or_trust(text: str) -> str:
    """An argparse type: a key name, checked, or ``trust``."""
    return text if text == "trust" else _checked("key")(text)


def _key_argument(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--key", type=_key_or_trust,
                        help=f"the {what}'s key: a name ('D major', 'f# minor') or 'trust' for "
                             "its key signature (default: detected from its notes)")


def _train_parser(sub) -> None:
    from .train import TrainConfig

    train = sub.add_parser("train", help="train a model on a corpus",
                           description="Train an RNN-RBM (or RNN-NADE) on a corpus and write it "
                                       "to --out.")
    train.add_argument("corpus", nargs="+", help=CORPUS_HELP)
    train.add_argument("--out", required=True, type=MODEL_OUT,
                       help="model file to write (.safetensors)")
    train.add_argument("--split", help="the split of a benchmark .pickle (default: train)")
    train.add_argument("--config", help="JSON file of settings (a recipe); flags override it")
    train.add_argument("--valid", nargs="+",
                       help="validation corpus (a benchmark .pickle: its valid split)")
    train.add_argument("--valid-fraction", type=_checked("valid_fraction"),
                       help="hold out this fraction of the corpus for validation")
    train.add_argument("--resume", help="checkpoint to resume from")
    train.add_argument("--hidden", dest="n_hidden", type=_checked("n_hidden"),
                       help="hidden units of each frame's RBM or NADE (default: 150)")
    train.add_argument("--recurrent", dest="n_recurrent", type=_checked("n_recurrent"),
                       help="recurrent units (default: 100)")
    train.add_argument("--steps-per-quarter", type=_checked("steps_per_quarter"),
                       help="frames per quarter note (default: 2, or a benchmark's own)")
    train.add_argument("--conditional", choices=("rbm", "nade"),
                       help="each frame's conditional: rbm (the RNN-RBM, default) or nade (the "
                            "RNN-NADE: exact likelihood, exact sampling)")
    train.add_argument("--order", choices=("ascending", "descending"),
                       help="the RNN-NADE's unit order (default: ascending; descending puts the "
                            "melody first, which makes harmonizing exact)")
    train.add_argument("--articulation", action="store_const", const=True,
                       help="learn where notes are struck too (an onset unit per pitch), so "
                            "repeated notes survive (default: off, the benchmarks' layout)")
    train.add_argument("--no-normalize-key", action="store_true",
                       help="keep every piece in its own key (default: all moved to C)")
    _device_argument(train)
    settings = train.add_argument_group("training settings (a recipe's keys; flags override it)")
    for f in fields(TrainConfig):
        flag = f"--{f.name.replace('_', '-')}"
        note = TRAINING_HELP.get(f.name, "")
        if isinstance(f.default, bool):
            settings.add_argument(flag, dest=f.name, action="store_const", const=True,
                                  help=f"{note} (default: {'on' if f.default else 'off'})")
            continue
        if f.default is not None and "default" not in note:
            note = f"{note} (default: {f.default})".lstrip()
        kind = _checked(f.name) if f.name in checks.RULES else type(f.default)
        choices = {"optimizer": OPTIMIZERS, "lr_schedule": SCHEDULES}.get(f.name)
        settings.add_argument(flag, dest=f.name, type=kind, choices=choices, help=note)
    train.set_defaults(func=cmd_train)


#: What each training setting means, for ``train --help`` (TrainConfig documents them too).
TRAINING_HELP = {
    "epochs": "passes over the corpus", "batch_size": "subsequences per batch",
    "seq_len": "frames per subsequence", "k": "Gibbs steps of CD-k (RNN-RBM)",
    "optimizer": "the gradient step", "lr": "learning rate", "momentum": "for nesterov",
    "weight_decay": "L2 penalty", "dropout": "of the RNN state where it sets the biases",
    "transpose": "shift each subsequence by a random -N..N semitones per epoch",
    "clip_grad": "maximum gradient norm (default: none)",
    "lr_schedule": "how the learning rate goes over the epochs",
    "lr_decay": "per epoch, for exponential", "decay_epochs":
        "cosine decay over the last N epochs only (default: all)",
    "pretrain_epochs": "plain-RBM pretraining epochs", "pretrain_lr": "its learning rate",
    "patience": "stop after N epochs without a better validation figure (default: never)",
    "valid_accuracy": "also report expected frame accuracy on validation",
    "grad_accumulation": "batches per optimizer step",
    "max_nonfinite": "consecutive non-finite batches before giving up",
    "seed": "of the initial weights, the batches and every draw",
    "checkpoint_every": "epochs between checkpoints (0: only at the end)",
    "keep_checkpoints": "keep each periodic checkpoint as NAME-epochNNNN.safetensors",
}


def _live_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="rbm", help=MODEL_HELP)
    p.add_argument("--bpm", type=_checked("bpm"), default=100, help="tempo, quarter notes per minute")
    p.add_argument("--virtual", default="rnnrbm-music",
                   help="name of the virtual output port to create")
    p.add_argument("--channel", type=_checked("channel"), default=1,
                   help="MIDI channel, counted 1-16 as DAWs count them")
    p.add_argument("--api", choices=["jack", "alsa", "coremidi", "windows"],
                   help="rtmidi backend (default: the first that works)")
    p.add_argument("--k", type=_checked("k"), default=25, help="Gibbs steps per frame")
    p.add_argument("--temperature", type=_checked("temperature"), default=1.0,
                   help="above 1: bolder, below 1: safer")
    p.add_argument("--seed", type=_checked("seed"), help="makes the music reproducible")
    _device_argument(p)


def _port_name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must be a port's exact name (see `rnnrbm-music ports`), "
                                         "got an empty one")
    return text


def _clock_in_argument(p) -> None:
    p.add_argument("--clock-in", nargs="?", const=True, type=_port_name, metavar="PORT",
                   help="follow the MIDI clock a DAW sends to input PORT (exact name; alone: a "
                        "new virtual input VIRTUAL-clock): wait for its Start, play on its "
                        "pulses at its tempo (--bpm unused), stop with it and continue with it")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rnnrbm-music",
        description="Learn polyphonic music with an RNN-RBM and compose with it.",
        epilog="Distributed training: start `train` under torchrun, e.g. "
               "torchrun --nproc_per_node=4 -m rnnrbm_music.cli train ...")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _train_parser(sub)

    generate = sub.add_parser("generate", help="compose from scratch")
    _sampling_arguments(generate, steps="of --time-signature")
    generate.add_argument("--key", type=_checked("key"), default="C major",
                          help='the tonic and key signature, e.g. "D major", "F# minor" (the model '
                               'composes in C and is moved there; major or minor is its choice)')
    generate.add_argument("--time-signature", type=_checked("time_signature"), default="4/4",
                          help="e.g. 3/4, 6/8")
    generate.add_argument("--bpm", type=_checked("bpm"), default=120,
                          help="tempo, quarter notes per minute")
    generate.set_defaults(func=cmd_generate)

    cont = sub.add_parser("continue", help="continue a primer (MIDI, MusicXML, ABC... file)")
    cont.add_argument("primer", help="a music file, or music as text ('tinyNotation: 4/4 c4 d e')")
    _sampling_arguments(cont, steps="after completing the primer's last bar")
    cont.add_argument("--no-prime", action="store_true", help="write the continuation alone")
    _key_argument(cont, "primer")
    cont.add_argument("--cadence", action="store_true",
                      help="end on the tonic chord of the key, led into by the look-ahead")
    cont.add_argument("--particles", type=_checked("particles"), default=HARMONY_PARTICLES,
                      help="with --cadence: continuations followed at once, so that the music "
                           "knows where it must arrive (1: frame by frame)")
    cont.set_defaults(func=cmd_continue)

    harmonize = sub.add_parser("harmonize", help="harmonize a melody file")
    harmonize.add_argument("melody",
                           help="a music file, or music as text ('tinyNotation: 4/4 c4 d e')")
    _sampling_arguments(harmonize, model="nade")
    _key_argument(harmonize, "melody")
    harmonize.add_argument("--particles", type=_checked("particles"), default=HARMONY_PARTICLES,
                           help="harmonies followed at once, so that each chord knows where the "
                                "melody goes next (1: frame by frame)")
    harmonize.add_argument("--part", type=_checked("part"),
                           help="harmonize this part of the file alone (0: the first); by "
                                "default every part of the file is the melody")
    harmonize.add_argument("--cadence", action="store_true",
                           help="end on the tonic chord of the key, the tonic in the bass")
    harmonize.set_defaults(func=cmd_harmonize)

    evaluate = sub.add_parser("evaluate", help="NLL and frame accuracy of a model on data")
    evaluate.add_argument("model_file", nargs="?", metavar="MODEL",
                          help="model file, or 'rbm' / 'nade' (as --model)")
    evaluate.add_argument("--model", help=MODEL_HELP + " (default: rbm)")
    evaluate.add_argument("--data", nargs="+", required=True, help=CORPUS_HELP)
    evaluate.add_argument("--split", help="the split of a benchmark .pickle (default: test)")
    evaluate.add_argument("--valid-fraction", type=_checked("valid_fraction"),
                          help="evaluate on the pieces `train --valid-fraction` held out")
    evaluate.add_argument("--split-seed", type=_checked("seed"),
                          help="the seed of that split (default: the model's training seed)")
    evaluate.add_argument("--chains", type=_checked("n_chains"), default=20,
                          help="AIS chains per frame (see benchmarks/nll_accuracy.py); for an "
                               "RNN-NADE, exact draws per frame for the accuracy")
    evaluate.add_argument("--betas", type=_checked("n_betas"), default=1000,
                          help="AIS temperatures")
    evaluate.add_argument("--known", metavar="SPLIT",
                          help="also sum this split's distinct frames exactly in every frame's "
                               "partition function (benchmark pickles: --known train; with "
                               "--valid-fraction any value means the pieces trained on; default: "
                               "the evaluated pieces' frames and the training frames that the "
                               "model file keeps)")
    evaluate.add_argument("--seed", type=_checked("seed"), default=0, help="of the AIS chains")
    evaluate.add_argument("--json", help="also write the figures and settings to this file")
    _device_argument(evaluate)
    evaluate.set_defaults(func=cmd_evaluate)

    play = sub.add_parser("play", help="play endless music to a MIDI port, live")
    _live_arguments(play)
    play.add_argument("--port", help="an existing output port (exact name, see `ports`)")
    play.add_argument("--prime", help="a file to continue")
    play.add_argument("--bars", type=_checked("bars"),
                      help="stop after N bars (default: until Ctrl+C)")
    play.add_argument("--velocity", type=_checked("velocity"), default=80, help="1-127")
    play.add_argument("--program", type=_checked("program"),
                      help="General MIDI program to select first, counted 1-128 as the GM list "
                           "counts them (1: acoustic grand piano; default: none sent)")
    timing = play.add_mutually_exclusive_group()
    timing.add_argument("--clock", action="store_true",
                        help="also send MIDI clock, Start, Stop (be the master: a DAW follows)")
    _clock_in_argument(timing)
    play.set_defaults(func=cmd_play)

    live = sub.add_parser("live", help="call and response: answer what a player plays")
    _live_arguments(live)
    live.add_argument("--in", dest="in_port", required=True, help="input port (exact name)")
    live.add_argument("--out", help="an existing output port (default: a virtual one)")
    live.add_argument("--silence-bars", type=_checked("silence_bars"), default=1.0,
                      help="bars of silence that end a phrase")
    live.add_argument("--controller", type=_checked("controller"),
                      help="a controller that ends a phrase when pressed, e.g. 67 (the soft "
                           "pedal); 64 makes the sustain pedal end phrases instead of holding "
                           "notes")
    live.add_argument("--in-channel", type=_checked("channel"), action="append",
                      help="a channel to listen to, 1-16 (repeat for several; default: every "
                           "one but 10, the drums)")
    live.add_argument("--no-sustain", action="store_true",
                      help="end notes when their key is released, even under the sustain pedal "
                           "(default: the pedal holds them, as on a piano)")
    live.add_argument("--answer-bars", type=_checked("answer_bars"),
                      help="length of answers (default: the phrase's)")
    live.add_argument("--phrases", type=_checked("phrases"),
                      help="stop after N answers (default: until Ctrl+C)")
    _clock_in_argument(live)
    live.set_defaults(func=cmd_live)

    ports = sub.add_parser("ports", help="list MIDI input and output ports")
    ports.add_argument("--api", choices=["jack", "alsa", "coremidi", "windows"],
                       help="one rtmidi backend (default: every one this system may have)")
    ports.set_defaults(func=cmd_ports)

    demo = sub.add_parser("demo", help="continue and harmonize a well-known tune")
    demo.add_argument("--out-dir", default="demo-output", help="where the six files go")
    demo.add_argument("--seed", type=_checked("seed"), default=7, help="of both pieces")
    demo.set_defaults(func=cmd_demo)
    for choice in sub._choices_actions:   # each command's --help opens with what it does
        command = sub.choices[choice.dest]
        command.description = command.description or f"{choice.help[0].upper()}{choice.help[1:]}."
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``rnnrbm-music``: the exit status (0 done, 1 no MIDI backend for
    ``ports``, 2 an error, 130 interrupted)."""
    from .checkpoint import CheckpointError
    from .composer import NotFittedError
    from .midi_ports import LiveMidiError
    from .errors import ReadError

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit:   # --help, --version (0) or a bad value, already said (2)
        return exit.code
    previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    shown = warnings.showwarning
    warnings.showwarning = _one_line_warning
    try:
        status = args.func(args)
    except OSError as error:   # a file that cannot be read or written: its name and why
        where = f"{error.filename}: " if error.filename else ""
        print(f"rnnrbm-music: error: {where}{error.strerror or error}", file=sys.stderr)
        return 2
    except (ReadError, CheckpointError, NotFittedError, LiveMidiError, ValueError,
            TypeError) as error:
        print(f"rnnrbm-music: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnnrbm-music: interrupted", file=sys.stderr)
        return INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
        warnings.showwarning = shown
    return status or 0


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as the command line shows it: ``rnnrbm-music: warning: ...``, without the
    source line Python adds (a list in the message keeps its own lines)."""
    print(f"rnnrbm-music: warning: {message}", file=file or sys.stderr)


def _terminate_as_interrupt(signum, frame) -> None:
    """SIGTERM (``kill``, a job scheduler, a closed terminal's session) ends a command as Ctrl+C
    does: training keeps the model so far, live playing silences every note."""
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
