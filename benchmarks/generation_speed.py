"""Speed of endless generation (what live playing runs), RNN-RBM and RNN-NADE side by side, on
one torch thread and on all of them.

    python benchmarks/generation_speed.py [--chunks 20] [--repeats 3] [--busy N]

Generates CHUNKS one-bar chunks with each model's `stream_rolls`, frame by frame, alternating
the thread counts REPEATS times so that all cases see the same machine, and reports frames per
second for each (best of the repeats) and their ratio. The models: the pretrained RNN-RBM (25
Gibbs steps a frame), its chains started from the model's known frames (what generation does)
and from an empty frame (the tutorial's way, without the cost of drawing the start); and the
RNN-NADE of JSB Chorales (benchmarks/models/jsb_chorales_nade.safetensors), one exact pass a
frame. ``--busy N`` runs N processes that spin on the CPU meanwhile, as a DAW and an audio
server would on a live machine. The live player generates on one thread because of this table.
Writes benchmarks/results/generation_speed.json (generation_speed_busyN.json with --busy).
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import time

import torch
from common import ROOT, report

from rnnrbm_music import RnnRbmComposer


def frames_per_second(composer: RnnRbmComposer, threads: int, chunks: int) -> float:
    torch.set_num_threads(threads)
    stream = composer.stream_rolls(seed=0)
    started = time.perf_counter()
    frames = sum(len(roll) for roll in itertools.islice(stream, chunks))
    return frames / (time.perf_counter() - started)


def spin() -> None:
    while True:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--busy", type=int, default=0)
    args = parser.parse_args()
    rbm = RnnRbmComposer.pretrained()
    models = ROOT / "benchmarks" / "models"
    jsb_rbm = RnnRbmComposer.load(models / "jsb_chorales.safetensors")
    nade = RnnRbmComposer.load(models / "jsb_chorales_nade.safetensors")
    known = rbm.model_.known_frames
    cases = {("RNN-RBM, pretrained (onsets)", "known frame"): (rbm, known),
             ("RNN-RBM, pretrained (onsets)", "empty frame"): (rbm, known[:0]),
             ("RNN-RBM, JSB Chorales", "known frame"): (jsb_rbm, None),
             ("RNN-NADE, JSB Chorales", "exact, one pass"): (nade, None)}
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy)]
    for spinner in spinners:
        spinner.start()
    counts = sorted({1, torch.get_num_threads()})
    best = {(case, n): 0.0 for case in cases for n in counts}
    for _ in range(args.repeats):
        for case, n in best:
            composer, start = cases[case]
            if start is not None:
                composer.model_.known_frames = start
            best[case, n] = max(best[case, n], frames_per_second(composer, n, args.chunks))
    for spinner in spinners:
        spinner.terminate()
    rows = [{"model": model, "frame sampler": sampler, "torch threads": n,
             "frames/s": best[(model, sampler), n],
             "speed-up": best[(model, sampler), n] / best[(model, sampler), counts[-1]]}
            for (model, sampler), n in best]
    name = f"generation_speed_busy{args.busy}" if args.busy else "generation_speed"
    report(name, ["model", "frame sampler", "torch threads", "frames/s", "speed-up"], rows,
           {"chunks": args.chunks, "repeats": args.repeats, "busy_processes": args.busy,
            "known_frames": len(known)})


if __name__ == "__main__":
    main()
