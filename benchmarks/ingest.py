"""Reading speed of MIDI corpora: music21's parser, the mido fast path, and the on-disk cache.

    python benchmarks/ingest.py [--files 200]

Reads the first N Nottingham MIDI files of ../shared/data/nottingham_midi in one process (one
worker, so the figures compare the readers, not the cores), prints files per second and the
speed-up of each path over music21's, and writes benchmarks/results/ingest.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from common import DATA, report

from rnnrbm_music import Corpus


def timed(files, **options) -> tuple[float, Corpus]:
    start = time.perf_counter()
    corpus = Corpus(files, workers=1, progress=False, strict=True, **options)
    return time.perf_counter() - start, corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()
    files = sorted((DATA / "nottingham_midi").glob("*.mid"))[: args.files]
    timed(files[:2], cache=False)  # import and warm up both readers
    timed(files[:2], cache=False, reader="music21")
    with tempfile.TemporaryDirectory() as cache_dir:
        music21_s, slow = timed(files, cache=False, reader="music21")
        mido_s, fast = timed(files, cache=False)
        assert fast.rolls == slow.rolls, "the two readers disagree"
        timed(files, cache_dir=cache_dir)
        cached_s, cached = timed(files, cache_dir=cache_dir)
        assert cached.rolls == fast.rolls
    rows = [{"path": name, "seconds": s, "files/s": len(files) / s, "speed-up": music21_s / s}
            for name, s in (("music21", music21_s), ("mido", mido_s), ("cache", cached_s))]
    print(f"{len(files)} Nottingham MIDI files, {fast.n_frames} frames, one process\n")
    report("ingest", ["path", "seconds", "files/s", "speed-up"], rows,
           {"files": len(files), "frames": fast.n_frames})


if __name__ == "__main__":
    main()
