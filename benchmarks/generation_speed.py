"""Speed of endless generation (what live playing runs) on one torch thread and on all of them.

    python benchmarks/generation_speed.py [--chunks 20] [--repeats 3] [--busy N]

Generates CHUNKS one-bar chunks with the pretrained model's `stream_rolls` (frame by frame,
25 Gibbs steps each), alternating the thread counts REPEATS times so that both see the same
machine, and reports frames per second for each (best of the repeats) and their ratio. Each
count runs twice: with the chains started from the model's known frames (what generation does)
and from an empty frame (the tutorial's way, without the cost of drawing the start). ``--busy
N`` runs N processes that spin on the CPU meanwhile, as a DAW and an audio server would on a
live machine. The live player generates on one thread because of this table. Writes
benchmarks/results/generation_speed.json (generation_speed_busyN.json with --busy).
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import time

import torch
from common import report

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
    composer = RnnRbmComposer.pretrained()
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy)]
    for spinner in spinners:
        spinner.start()
    counts = sorted({1, torch.get_num_threads()})
    known = composer.model_.known_frames
    starts = {"known frame": known, "empty frame": known[:0]}
    best = {(start, n): 0.0 for start in starts for n in counts}
    for _ in range(args.repeats):
        for start, n in best:
            composer.model_.known_frames = starts[start]
            best[start, n] = max(best[start, n], frames_per_second(composer, n, args.chunks))
    for spinner in spinners:
        spinner.terminate()
    rows = [{"chain start": start, "torch threads": n, "frames/s": best[start, n],
             "speed-up": best[start, n] / best[start, counts[-1]]} for start, n in best]
    name = f"generation_speed_busy{args.busy}" if args.busy else "generation_speed"
    report(name, ["chain start", "torch threads", "frames/s", "speed-up"], rows,
           {"chunks": args.chunks, "repeats": args.repeats, "busy_processes": args.busy,
            "known_frames": len(known)})


if __name__ == "__main__":
    main()
