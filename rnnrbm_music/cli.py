"""The ``rnnrbm-music`` command: train, generate, continue, harmonize, evaluate, demo.

Output files are chosen by extension (``.mid``, ``.musicxml``, ``.png`` piano-roll plot), and
``--out`` may be given several times. ``--model`` defaults to the pretrained Bach-chorale RNN-RBM
(``--model nade``: the pretrained RNN-NADE).
Errors are one clear line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np

from .composer import HARMONY_PARTICLES
from .roll import PianoRoll

#: Exit status of a command ended by Ctrl+C or SIGTERM (128 + SIGINT, as shells report it).
INTERRUPTED = 130

CORPUS_HELP = ("files, folders or globs of MIDI/MusicXML/ABC/Humdrum; music21:QUERY for "
               "music21's corpus (music21:chorales, music21:bach); or a benchmark .pickle "
               "(split chosen with --split)")


def _corpus(items: list[str], split: str, steps_per_quarter: int | None = None,
            normalize_key: bool = True):
    from .corpus import Corpus

    corpora = []
    paths = []
    for item in items:
        if item.startswith("music21:"):
            corpora.append(Corpus.from_music21(item.split(":", 1)[1], normalize_key=normalize_key,
                                               steps_per_quarter=steps_per_quarter or 2))
        elif item.endswith((".pickle", ".pkl")):
            corpora.append(Corpus.from_benchmark(item, split, steps_per_quarter))
        else:
            paths.append(item)
    if paths:
        corpora.append(Corpus(paths, normalize_key=normalize_key,
                              steps_per_quarter=steps_per_quarter or 2))
    rolls = [roll for corpus in corpora for roll in corpus]
    return Corpus(rolls, progress=False)


def _load_composer(path: str | None, device: str):
    """The model of ``--model``: a file, or ``rbm`` / ``nade`` (default ``rbm``) for a
    pretrained one."""
    from .composer import PRETRAINED, RnnRbmComposer

    if path is None or path in PRETRAINED:
        return RnnRbmComposer.pretrained(device, path or "rbm")
    return RnnRbmComposer.load(path, device)


def write_outputs(roll: PianoRoll, outputs: list[str], accent: np.ndarray | None = None,
                  labels: tuple[str, str] = ("primer", "continuation")) -> list[Path]:
    """Write one roll to every requested file, by extension; returns the paths written."""
    from .music21_io import write

    return [write(roll, out, accent=accent, labels=labels) for out in outputs]


def _numbered(outputs: list[str], index: int, total: int) -> list[str]:
    if total == 1:
        return outputs
    return [str(Path(o).with_stem(f"{Path(o).stem}-{index + 1}")) for o in outputs]


def _whole_number(text: str) -> int:
    """An argparse type: a whole number of at least 1 (argparse names the flag on error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _length(args) -> tuple[int, int | None]:
    """(n_steps, n_bars) from --steps / --bars, which exclude each other."""
    if args.steps is not None and args.bars is not None:
        raise ValueError("give --steps or --bars, not both")
    return (64 if args.steps is None else args.steps), args.bars


def _sampling_arguments(parser: argparse.ArgumentParser, steps: bool = True) -> None:
    parser.add_argument("--model", help="model file (.safetensors), or 'rbm' / 'nade' for the "
                                        "pretrained RNN-RBM / RNN-NADE (default: rbm)")
    if steps:
        parser.add_argument("--steps", type=_whole_number, help="frames to compose (default 64)")
        parser.add_argument("--bars", type=_whole_number,
                            help="compose whole bars instead (a continuation first completes the "
                                 "primer's last bar)")
    parser.add_argument("--k", type=int, default=25, help="Gibbs steps per frame (default 25)")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, help="makes the output reproducible")
    parser.add_argument("-n", "--samples", type=int, default=1,
                        help="how many pieces (files are numbered -1, -2...)")
    parser.add_argument("--out", action="append", required=True,
                        help="output file: .mid, .musicxml or .png (repeat for several)")
    parser.add_argument("--device", default="auto")


def _key_argument(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--key", help=f"the {what}'s key: a name ('D major', 'f# minor') or "
                                      "'trust' for its key signature (default: detected from "
                                      "its notes)")


def cmd_train(args) -> int:
    from .composer import RnnRbmComposer
    from .train import TrainConfig

    settings = json.loads(Path(args.config).read_text()) if args.config else {}
    training = {f.name: settings[f.name] for f in fields(TrainConfig) if f.name in settings}
    for f in fields(TrainConfig):
        value = getattr(args, f.name, None)
        if value is not None:
            training[f.name] = value
    model_fields = ("n_hidden", "n_recurrent", "steps_per_quarter", "articulation", "conditional",
                    "order")
    model_settings = {k: settings[k] for k in model_fields if k in settings}
    for name in model_fields:
        if getattr(args, name) is not None:
            model_settings[name] = getattr(args, name)
    composer = RnnRbmComposer(**model_settings, normalize_key=not args.no_normalize_key,
                              device=args.device, **training)
    spq = model_settings.get("steps_per_quarter")
    corpus = _corpus(args.corpus, "train", spq, composer.normalize_key)
    if not spq and corpus.rolls:   # a benchmark split brings its own frame rate
        composer.steps_per_quarter = corpus.rolls[0].steps_per_quarter
    valid = None
    if args.valid:
        valid = _corpus(args.valid, "valid", composer.steps_per_quarter, composer.normalize_key)
    elif args.valid_fraction:
        corpus, valid = corpus.split(args.valid_fraction, seed=composer.training.seed)
    print(f"training on {len(corpus)} pieces ({corpus.n_frames} frames)"
          + (f", validating on {len(valid)} ({valid.n_frames} frames)" if valid else ""))
    composer.fit(corpus, valid=valid, checkpoint_path=args.out, resume_from=args.resume)
    result = composer.fit_result_
    composer.save(args.out)
    best = f", best validation {result.best_valid:.4f} at epoch {result.best_epoch}" \
        if result.best_valid is not None else ""
    print(f"{result.epochs_trained} epochs{best}; the model of epoch {result.model_epoch} "
          f"written to {args.out}")
    return INTERRUPTED if result.interrupted else 0


def cmd_generate(args) -> None:
    composer = _load_composer(args.model, args.device)
    n_steps, n_bars = _length(args)
    rolls = composer.generate_roll(n_steps, args.k, args.temperature, args.seed, args.key,
                                   args.time_signature, args.bpm, args.samples, n_bars)
    for i, roll in enumerate(rolls):
        for path in write_outputs(roll, _numbered(args.out, i, len(rolls))):
            print(path)


def cmd_continue(args) -> None:
    composer = _load_composer(args.model, args.device)
    prime = composer.to_roll(args.primer, "primer", args.key)
    n_steps, n_bars = _length(args)
    rolls = composer.continue_roll(prime, n_steps, args.k, args.temperature, args.seed,
                                   not args.no_prime, args.samples, n_bars=n_bars,
                                   cadence=args.cadence)
    for i, roll in enumerate(rolls):
        accent = np.zeros_like(roll.frames)
        if not args.no_prime:
            accent[:len(prime)] = True
        for path in write_outputs(roll, _numbered(args.out, i, len(rolls)), accent):
            print(path)


def cmd_harmonize(args) -> None:
    composer = _load_composer(args.model, args.device)
    melody = composer.to_roll(_part(args.melody, args.part), "melody", args.key)
    rolls = composer.harmonize_roll(melody, args.k, args.temperature, args.seed, args.samples,
                                    args.particles, cadence=args.cadence)
    for i, roll in enumerate(rolls):
        for path in write_outputs(roll, _numbered(args.out, i, len(rolls)), melody.frames,
                                  ("melody", "harmony")):
            print(path)


def _part(path: str, part: int | None):
    """The file, or its part number ``part`` (0: the first, usually the top) as a music21
    Part."""
    if part is None:
        return path
    from music21 import converter

    if not Path(path).is_file():
        raise ValueError(f"{path}: no such file")
    parts = converter.parse(path).parts
    if not 0 <= part < len(parts):
        raise ValueError(f"{path}: --part {part}: it has {len(parts)} part(s), numbered from 0")
    return parts[part]


def cmd_evaluate(args) -> None:
    composer = _load_composer(args.model, args.device)
    corpus = _corpus(args.data, args.split, composer.steps_per_quarter, composer.normalize_key)
    known = None
    if args.valid_fraction:   # the same hold-out as `train --valid-fraction` with that seed
        training, corpus = corpus.split(args.valid_fraction, args.split_seed)
        known = training if args.known else None
    elif args.known:   # e.g. the training split of the same benchmark pickles
        known = _corpus(args.data, args.known, composer.steps_per_quarter, composer.normalize_key)
    figures = composer.evaluate(corpus, n_chains=args.chains, n_betas=args.betas,
                                seed=args.seed, known=known)
    print(f"{len(corpus)} pieces, {figures['frames']} frames")
    if composer.conditional == "nade":
        print(f"NLL per frame      {figures['nll']:.4f} nats (exact: RNN-NADE)")
        print("frame accuracy     not estimated (--chains 0)" if figures["accuracy"] is None else
              f"frame accuracy     {100 * figures['accuracy']:.2f} % "
              f"(expected, from {args.chains} exact draws per frame)")
    else:
        print(f"NLL per frame      {figures['nll']:.4f} ± {figures['nll_std']:.4f} nats "
              f"({figures['known_frames']} distinct frames summed exactly, "
              f"{100 * figures['known_share']:.2f} % of the mass; AIS for the rest, "
              f"{args.chains} chains x {args.betas} temperatures)")
        print(f"frame accuracy     {100 * figures['accuracy']:.2f} %")
        print(f"pseudo-NLL         {figures['pseudo_nll']:.4f}")
    if args.json:
        record = {**figures, "model": args.model or "pretrained", "data": args.data,
                  "split": args.split, "known": args.known,
                  "valid_fraction": args.valid_fraction, "split_seed": args.split_seed,
                  "seed": args.seed}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
        print(f"written: {args.json}")


def cmd_ports(args) -> None:
    from .live import list_ports

    for api, ports in list_ports(args.api).items():
        if "error" in ports:
            print(f"{api}: unavailable ({ports['error']})")
            continue
        print(f"{api} inputs (for --in):")
        print("".join(f"  {name}\n" for name in ports["inputs"]) or "  (none)\n", end="")
        print(f"{api} outputs (for --port / --out):")
        print("".join(f"  {name}\n" for name in ports["outputs"]) or "  (none)\n", end="")


def cmd_play(args) -> None:
    from .live import LivePlayer

    composer = _load_composer(args.model, args.device)
    with LivePlayer(args.port, args.virtual, bpm=args.bpm, channel=args.channel - 1,
                    velocity=args.velocity, program=args.program, api=args.api,
                    clock=args.clock) as player:
        where = args.port or f"virtual port {args.virtual!r}"
        print(f"playing on {where} at {args.bpm:g} bpm"
              + ("" if args.bars else "; Ctrl+C to stop"), flush=True)
        schedule = player.play_forever(composer, prime=args.prime, bars=args.bars, k=args.k,
                                       temperature=args.temperature, seed=args.seed)
    print(f"played {schedule.frames_played} frames")


def cmd_live(args) -> None:
    from .live import LiveSession

    composer = _load_composer(args.model, args.device)
    with LiveSession(args.in_port, args.out, composer, bpm=args.bpm, virtual_name=args.virtual,
                     silence_bars=args.silence_bars, controller=args.controller,
                     answer_bars=args.answer_bars, k=args.k, temperature=args.temperature,
                     seed=args.seed, api=args.api, channel=args.channel - 1) as session:
        print(f"listening on {args.in_port!r}; play a phrase, then stay silent for "
              f"{args.silence_bars:g} bar(s); Ctrl+C to stop", flush=True)
        answered = session.run(args.phrases)
    print(f"answered {answered} phrase(s)")


def cmd_demo(args) -> None:
    from .demo import run_demo

    for path in run_demo(args.out_dir, seed=args.seed):
        print(path)


def build_parser() -> argparse.ArgumentParser:
    from .train import TrainConfig

    parser = argparse.ArgumentParser(
        prog="rnnrbm-music",
        description="Learn polyphonic music with an RNN-RBM and compose with it.",
        epilog="Distributed training: start `train` under torchrun, e.g. "
               "torchrun --nproc_per_node=4 -m rnnrbm_music.cli train ...")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="train a model on a corpus",
                           description="Train an RNN-RBM on a corpus and write it to --out.")
    train.add_argument("corpus", nargs="+", help=CORPUS_HELP)
    train.add_argument("--out", required=True, help="model file to write (.safetensors)")
    train.add_argument("--config", help="JSON file of settings (a recipe); flags override it")
    train.add_argument("--valid", nargs="+", help="validation corpus (benchmark: valid split)")
    train.add_argument("--valid-fraction", type=float, help="hold out this fraction for validation")
    train.add_argument("--resume", help="checkpoint to resume from")
    train.add_argument("--hidden", dest="n_hidden", type=int)
    train.add_argument("--recurrent", dest="n_recurrent", type=int)
    train.add_argument("--steps-per-quarter", type=int)
    train.add_argument("--conditional", choices=("rbm", "nade"),
                       help="each frame's conditional: rbm (the RNN-RBM, default) or nade (the "
                            "RNN-NADE: exact likelihood, exact sampling)")
    train.add_argument("--order", choices=("ascending", "descending"),
                       help="the RNN-NADE's unit order (default ascending; descending puts the "
                            "melody first, which makes harmonizing exact)")
    train.add_argument("--articulation", action="store_const", const=True,
                       help="learn where notes are struck too (an onset unit per pitch), so "
                            "repeated notes survive (default: off, the benchmarks' layout)")
    train.add_argument("--no-normalize-key", action="store_true",
                       help="keep every piece in its own key")
    train.add_argument("--device", default="auto")
    for f in fields(TrainConfig):
        flag = f"--{f.name.replace('_', '-')}"
        if isinstance(f.default, bool):
            train.add_argument(flag, dest=f.name, action="store_const", const=True,
                               help=f"(default {f.default})")
            continue
        kind = {"clip_grad": float, "patience": int, "decay_epochs": int}.get(f.name, type(f.default))
        train.add_argument(flag, dest=f.name, type=kind, help=f"(default {f.default})")
    train.set_defaults(func=cmd_train)

    generate = sub.add_parser("generate", help="compose from scratch")
    _sampling_arguments(generate)
    generate.add_argument("--key", default="C major", help='e.g. "D major", "F# minor"')
    generate.add_argument("--time-signature", default="4/4")
    generate.add_argument("--bpm", type=float, default=120)
    generate.set_defaults(func=cmd_generate)

    cont = sub.add_parser("continue", help="continue a primer (MIDI, MusicXML, ABC... file)")
    cont.add_argument("primer")
    _sampling_arguments(cont)
    cont.add_argument("--no-prime", action="store_true", help="write the continuation alone")
    _key_argument(cont, "primer")
    cont.add_argument("--cadence", action="store_true",
                      help="end on the tonic chord of the key, led into by the look-ahead")
    cont.set_defaults(func=cmd_continue)

    harmonize = sub.add_parser("harmonize", help="harmonize a melody file")
    harmonize.add_argument("melody")
    _sampling_arguments(harmonize, steps=False)
    _key_argument(harmonize, "melody")
    harmonize.add_argument("--particles", type=_whole_number, default=HARMONY_PARTICLES,
                           help="harmonies followed at once, so that each chord knows where the "
                                f"melody goes next (default {HARMONY_PARTICLES}; 1: frame by "
                                "frame)")
    harmonize.add_argument("--part", type=int,
                           help="harmonize this part of the file alone (0: the first); by "
                                "default every part of the file is the melody")
    harmonize.add_argument("--cadence", action="store_true",
                           help="end on the tonic chord of the key, the tonic in the bass")
    harmonize.set_defaults(func=cmd_harmonize)

    evaluate = sub.add_parser("evaluate", help="NLL and frame accuracy of a model on data")
    evaluate.add_argument("model", nargs="?",
                          help="model file, or 'rbm' / 'nade' for a pretrained one (default: rbm)")
    evaluate.add_argument("--data", nargs="+", required=True, help=CORPUS_HELP)
    evaluate.add_argument("--split", default="test", help="benchmark split (default test)")
    evaluate.add_argument("--valid-fraction", type=float,
                          help="evaluate on the pieces `train --valid-fraction` held out")
    evaluate.add_argument("--split-seed", type=int, default=0,
                          help="the seed of that split (the training seed)")
    evaluate.add_argument("--chains", type=int, default=20,
                          help="AIS chains per frame (default 20: see benchmarks/nll_accuracy.py); "
                               "for an RNN-NADE, exact draws per frame for the accuracy")
    evaluate.add_argument("--betas", type=int, default=1000, help="AIS temperatures")
    evaluate.add_argument("--known", metavar="SPLIT",
                          help="also sum this split's distinct frames exactly in every frame's "
                               "partition function (benchmark pickles: --known train; with "
                               "--valid-fraction any value means the pieces trained on; default: "
                               "the evaluated pieces' frames and the training frames that the "
                               "model file keeps)")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--json", help="also write the figures and settings to this file")
    evaluate.add_argument("--device", default="auto")
    evaluate.set_defaults(func=cmd_evaluate)

    def live_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model",
                       help="model file, or 'rbm' / 'nade' for a pretrained one (default: rbm)")
        p.add_argument("--bpm", type=float, default=100)
        p.add_argument("--virtual", default="rnnrbm-music",
                       help="name of the virtual output port to create (default rnnrbm-music)")
        p.add_argument("--channel", type=int, default=1, help="MIDI channel 1-16")
        p.add_argument("--api", choices=["jack", "alsa", "coremidi", "windows"],
                       help="rtmidi backend (default: the first that works)")
        p.add_argument("--k", type=int, default=25)
        p.add_argument("--temperature", type=float, default=1.0)
        p.add_argument("--seed", type=int)
        p.add_argument("--device", default="auto")

    play = sub.add_parser("play", help="play endless music to a MIDI port, live")
    live_arguments(play)
    play.add_argument("--port", help="an existing output port (exact name, see `ports`)")
    play.add_argument("--prime", help="a file to continue")
    play.add_argument("--bars", type=int, help="stop after N bars (default: until Ctrl+C)")
    play.add_argument("--velocity", type=int, default=80)
    play.add_argument("--program", type=int, help="General MIDI program to select first")
    play.add_argument("--clock", action="store_true", help="also send MIDI clock, Start, Stop")
    play.set_defaults(func=cmd_play)

    live = sub.add_parser("live", help="call and response: answer what a player plays")
    live_arguments(live)
    live.add_argument("--in", dest="in_port", required=True, help="input port (exact name)")
    live.add_argument("--out", help="an existing output port (default: a virtual one)")
    live.add_argument("--silence-bars", type=float, default=1.0,
                      help="bars of silence that end a phrase")
    live.add_argument("--controller", type=int,
                      help="a controller that ends a phrase when pressed, e.g. 64 (sustain)")
    live.add_argument("--answer-bars", type=int, help="length of answers (default: the phrase's)")
    live.add_argument("--phrases", type=int, help="stop after N answers")
    live.set_defaults(func=cmd_live)

    ports = sub.add_parser("ports", help="list MIDI input and output ports")
    ports.add_argument("--api", choices=["jack", "alsa", "coremidi", "windows"])
    ports.set_defaults(func=cmd_ports)

    demo = sub.add_parser("demo", help="continue and harmonize a well-known tune")
    demo.add_argument("--out-dir", default="demo-output")
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``rnnrbm-music``."""
    from .checkpoint import CheckpointError
    from .composer import NotFittedError
    from .live import LiveMidiError
    from .music21_io import ReadError

    args = build_parser().parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        status = args.func(args)
    except (ReadError, CheckpointError, NotFittedError, LiveMidiError, ValueError, OSError,
            TypeError) as error:
        print(f"rnnrbm-music: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnnrbm-music: interrupted", file=sys.stderr)
        return INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
    return status or 0


def _terminate_as_interrupt(signum, frame) -> None:
    """SIGTERM (``kill``, a job scheduler, a closed terminal's session) ends a command as Ctrl+C
    does: training keeps the model so far, live playing silences every note."""
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
