"""How harmonizations sound by the figures a musician checks: clashes against the melody, the
final chord, notes outside the key, notes per frame; the pretrained model's samplers beside
Bach's own settings. And whether long continuations drift.

    python benchmarks/harmony_quality.py [--melodies 30] [--seeds 0 1] [--particles 1 16]
        [--cadence 16] [--model PATH] [--name harmony_quality]
        [--continuations 0] [--continuation-models MODEL ...]

The melodies are the soprano parts of the chorales the pretrained model held out from its
training (``Corpus.from_music21("chorales").split(0.1, seed=2012)``, as docs/pretrained.md
trains it), the first MELODIES of them. Each is harmonized once per seed and per particle count
(1: frame by frame, each frame given the melody so far; more: the look-ahead of
:mod:`rnnrbm_music.engine.lookahead`), and with ``--cadence`` again with the tonic cadence
(``harmonize(cadence=True)``). Per harmonization, on eighth-note frames:

- clash frames: the share of frames where a harmony note lies a semitone, a major seventh or a
  minor ninth below a melody note;
- tonic ending: whether the last sounding chord is the tonic triad (root and third, with or
  without the fifth, nothing else; a major third in minor counts, Bach's tierce de Picardie);
- in key: the share of harmony notes in the key's scale (in minor with the raised 6th and 7th);
- notes per frame: harmony notes sounding per frame.

With ``--continuations N`` it first continues N held-out folk tunes (the Nottingham test split,
their first eight bars as primer) for 64 bars with each continuation model (default: the
Nottingham RNN-RBM and RNN-NADE of benchmarks/models) and reports, per eight-bar window, the
share of notes in the tune's scale and the notes per frame (NAME_drift.json).

Every melody is read in its chorale's key (as ``key=`` lets a user say it; the soprano alone can
suggest another). Bach's row takes the other three voices of the same chorales as the harmony.
Prints the table
(means over melodies and seeds, with the range over the melodies' means for Bach's row) and
writes benchmarks/results/NAME.json.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from common import DATA, report

from rnnrbm_music import Corpus, RnnRbmComposer, keys
from rnnrbm_music.composer import PRETRAINED
from rnnrbm_music.roll import PIANO_LOWEST

CLASH_INTERVALS = (1, 11, 13)
MAJOR, MINOR = {0, 2, 4, 5, 7, 9, 11}, {0, 2, 3, 5, 7, 8, 9, 10, 11}


def held_out_chorales(count: int) -> list[str]:
    """Paths of the first ``count`` chorales the pretrained model did not train on."""
    _, valid = Corpus.from_music21("chorales", progress=False).split(0.1, seed=2012)
    return valid.names[:count]


def figures(melody: np.ndarray, harmony: np.ndarray, key: str, transposition: int) -> dict:
    """The four figures of one harmonization: boolean (T, 88) melody and harmony frames (column
    0 is MIDI note 21) in the roll's pitch space (written + ``transposition``), in ``key``."""
    tonic, mode = keys.parse_key(key)
    tonic_pc = (tonic + transposition - PIANO_LOWEST) % 12       # of column 0
    scale = MAJOR if mode == "major" else MINOR
    sounding = melody.any(1)
    clashes = 0
    for m_row, h_row in zip(melody[sounding], harmony[sounding]):
        gaps = np.subtract.outer(np.flatnonzero(m_row), np.flatnonzero(h_row))
        clashes += bool(np.isin(gaps, CLASH_INTERVALS).any())
    notes = np.argwhere(harmony)
    in_key = np.isin((notes[:, 1] - tonic_pc) % 12, list(scale)).mean() if len(notes) else 1.0
    whole = melody | harmony
    last = whole[np.flatnonzero(whole.any(1))[-1]] if whole.any() else whole[0]
    classes = {int(p) for p in (np.flatnonzero(last) - tonic_pc) % 12}
    tonic_end = 0 in classes and classes <= {0, 3, 4, 7} and bool(classes & {3, 4})
    return {"clash frames": clashes / max(sounding.sum(), 1), "tonic ending": float(tonic_end),
            "in key": float(in_key), "notes per frame": float(harmony.sum(1).mean())}


def mean_row(name: str, rows: list[dict], seconds: float | None = None) -> dict:
    row = {"harmony": name, "harmonizations": len(rows)}
    for figure in ("clash frames", "tonic ending", "in key", "notes per frame"):
        row[figure] = float(np.mean([r[figure] for r in rows]))
    row["clash range"] = f"{min(r['clash frames'] for r in rows):.3f}-" \
                         f"{max(r['clash frames'] for r in rows):.3f}"
    if seconds is not None:
        row["s each"] = seconds / len(rows)
    return row


def drift(composer: RnnRbmComposer, tunes: list, bars: int = 64, window: int = 8) -> list[dict]:
    """Continue each of ``tunes`` (PianoRolls in C, 4/4 frames) from its first eight bars for
    ``bars`` bars; per ``window``-bar window, the share of notes in the tune's scale (C major or
    C minor, the mode detected from the primer) and the notes sounding per frame, averaged over
    the tunes."""
    per_window = []
    for i, tune in enumerate(tunes):
        bar = tune.frames_per_bar
        primer = tune[:8 * bar]
        mode = keys.parse_key(keys.apply_key(primer, False).key)[1]
        scale = MAJOR if mode == "major" else MINOR
        frames = composer.continue_roll(primer, n_bars=bars, seed=i, include_prime=False)[0].frames
        for w in range(bars // window):
            part = frames[w * window * bar:(w + 1) * window * bar]
            notes = np.argwhere(part)
            in_key = np.isin((notes[:, 1] + PIANO_LOWEST) % 12, list(scale)).mean() \
                if len(notes) else 1.0
            per_window.append((w, float(in_key), float(part.sum(1).mean())))
    rows = []
    for w in range(bars // window):
        values = [(k, n) for v, k, n in per_window if v == w]
        rows.append({"bars": f"{w * window + 1}-{(w + 1) * window}",
                     "in key": float(np.mean([k for k, _ in values])),
                     "notes per frame": float(np.mean([n for _, n in values]))})
    return rows


def name(run: tuple[int, bool]) -> str:
    particles, cadence = run
    sampler = "frame by frame" if particles == 1 else f"look-ahead, {particles} particles"
    return sampler + (", tonic cadence" if cadence else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--melodies", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--particles", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--cadence", type=int, nargs="*", default=[16],
                        help="particle counts to run again with the tonic cadence")
    parser.add_argument("--model", help="a model file (default: the pretrained model)")
    parser.add_argument("--continuations", type=int, default=0,
                        help="also continue this many Nottingham test tunes for 64 bars with "
                             "--continuation-models (files, or rbm / nade for the pretrained "
                             "ones) and report the drift by 8-bar window")
    parser.add_argument("--continuation-models", nargs="+",
                        default=["benchmarks/models/nottingham.safetensors",
                                 "benchmarks/models/nottingham_nade.safetensors"])
    parser.add_argument("--name", default="harmony_quality")
    args = parser.parse_args()
    from music21 import converter

    if args.continuations:
        tunes = [t for t in Corpus.from_benchmark(DATA / "benchmarks" / "nottingham.pickle", "test")
                 if len(t) >= 8 * t.frames_per_bar][:args.continuations]
        rows = [{"model": Path(m).stem, **row} for m in args.continuation_models
                for row in drift(RnnRbmComposer.pretrained(conditional=m) if m in PRETRAINED
                                 else RnnRbmComposer.load(m), tunes)]
        report(f"{args.name}_drift", ["model", "bars", "in key", "notes per frame"], rows,
               {"tunes": len(tunes), "bars": 64})
    if not args.melodies:
        return
    composer = RnnRbmComposer.load(args.model) if args.model else RnnRbmComposer.pretrained()
    pieces = held_out_chorales(args.melodies)
    runs = [(p, False) for p in args.particles] + [(p, True) for p in args.cadence]
    bach, ours = [], {run: [] for run in runs}
    seconds = {run: 0.0 for run in runs}
    for path in pieces:
        score = converter.parse(path)
        whole = composer.to_roll(score, "chorale")
        melody = composer.to_roll(score.parts[0], "melody", key=whole.key)    # the chorale's key
        bach.append(figures(melody.frames, whole.frames & ~melody.frames, whole.key,
                            whole.transposition))
        for run in runs:
            for seed in args.seeds:
                started = time.perf_counter()
                roll = composer.harmonize_roll(melody, seed=seed, particles=run[0],
                                               cadence=run[1])[0]
                seconds[run] += time.perf_counter() - started
                ours[run].append(figures(melody.frames, roll.frames & ~melody.frames,
                                         roll.key, roll.transposition))
        clashes = " ".join(f"{name(run)}: "
                           f"{np.mean([r['clash frames'] for r in ours[run][-len(args.seeds):]]):.3f}"
                           for run in runs)
        print(f"{Path(path).stem}: clash frames, Bach {bach[-1]['clash frames']:.3f}, {clashes}",
              flush=True)
    rows = [mean_row("Bach's own setting", bach)]
    rows += [mean_row(name(run), ours[run], seconds[run]) for run in runs]
    report(args.name, ["harmony", "harmonizations", "clash frames", "clash range", "tonic ending",
                       "in key", "notes per frame", "s each"], rows,
           {"model": args.model or "pretrained", "melodies": [Path(p).stem for p in pieces],
            "seeds": args.seeds})


if __name__ == "__main__":
    main()
