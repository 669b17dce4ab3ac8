"""Timing of live playing: note-on arrival at a second JACK client against the grid it is due on.

    python benchmarks/live_timing.py [--frames 500] [--bpm 480] [--steps-per-quarter 4]
    python benchmarks/live_timing.py --clock-in [--frames 500] [--bpm 240]

Starts a private JACK server (dummy driver, 48 kHz, 128-frame periods: 2.67 ms) and plays a roll
with a new note on every frame through a LivePlayer's virtual port; a separate process
(tests/midi_peer.py) records the note-ons, each stamped by JACK on arrival.

- Own clock (default): each note-on against its frame's deadline on the player's schedule.
- ``--clock-in``: the peer is a DAW sending MIDI clock (a beat before Start, then Start and
  pulses at ``--bpm``) that the player follows; each note-on against the sending time of the
  pulse its frame is due on (every sixth pulse for sixteenth-note frames).

Each mode runs under three loads: an idle machine; a training job running beside it
(``rnnrbm-music train`` on JSB Chorales, torch on every core); and a large heap, as in a music21
script holding a corpus: 60 parsed chorales in the player's process (about 640,000 objects), and
a full garbage collection every 2 s (about 0.3 s each over that heap) as Python makes them. The heap
runs twice, with the player's ``gc.freeze()`` and without it (``gc.freeze`` made a no-op for the
run), to measure what the freeze is for. Reports the p50, p99 and worst error, and the drift
over the run (slope of a straight-line fit of the error, times the run's length). Target: p99 within one JACK period plus 1 ms, no drift, idle. Writes
benchmarks/results/live_timing.json (live_timing_clock_in.json with ``--clock-in``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import subprocess
import sys
import tempfile
import threading
import time
from unittest import mock
from pathlib import Path

import numpy as np
from common import DATA, ROOT, report

sys.path.insert(0, str(ROOT / "tests"))
from jack import JackServer  # noqa: E402

from rnnrbm_music import PianoRoll  # noqa: E402
from rnnrbm_music.live import LivePlayer  # noqa: E402
from rnnrbm_music.midi_clock import PULSES_PER_QUARTER  # noqa: E402

PEER = ROOT / "tests" / "midi_peer.py"


def start_peer(*args) -> subprocess.Popen:
    peer = subprocess.Popen([sys.executable, str(PEER), *map(str, args)], stdout=subprocess.PIPE,
                            text=True)
    assert peer.stdout.readline().strip() == "ready"
    return peer


@contextlib.contextmanager
def training_job(running: bool, workdir: Path):
    """A real training run beside the measurement (torch on every core), or nothing."""
    if not running:
        yield
        return
    job = subprocess.Popen([sys.executable, "-m", "rnnrbm_music.cli", "train",
                            str(DATA / "benchmarks" / "jsb_chorales.pickle"), "--epochs", "1000",
                            "--out", str(workdir / "busy.safetensors")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(5)          # past reading the data: training proper
        yield
    finally:
        job.terminate()
        job.wait(30)


@contextlib.contextmanager
def large_heap(holding: bool, frozen: bool = True):
    """Hold 60 parsed chorales in this process (about 640,000 objects in all) and run a full garbage
    collection every 2 s until the block ends (``holding``). Python runs one by itself whenever
    the objects that lasted since the last reach a quarter of the older ones, which a script
    building scores meets often; here they are made to come during the performance. With
    ``frozen`` False, the player's ``gc.freeze()`` does nothing."""
    if not holding:
        yield
        return
    from music21 import corpus

    chorales = [corpus.parse(path) for path in corpus.getComposer("bach")[:60]]
    done = threading.Event()

    def collect():
        while not done.wait(2.0):
            gc.collect()

    collector = threading.Thread(target=collect)
    patch = contextlib.nullcontext() if frozen else mock.patch.object(gc, "freeze", lambda: None)
    try:
        with patch:
            collector.start()
            yield
    finally:
        done.set()
        collector.join()
        del chorales


def own_clock(roll: PianoRoll, bpm: float, workdir: Path) -> tuple[np.ndarray, np.ndarray]:
    """(note-on arrivals, their frames' deadlines), seconds."""
    out = workdir / "received.json"
    with LivePlayer(virtual_name="rnnrbm-timing", bpm=bpm, api="jack") as player:
        receiver = start_peer("receive", "rnnrbm-timing:rnnrbm-timing", out)
        schedule = player.play(roll, lead=0.2)
        receiver.wait(60)
    messages = json.loads(out.read_text())["messages"]
    arrivals = np.array([t for t, m in messages if m["type"] == "note_on"])
    if len(arrivals) != len(roll):     # on its own clock a late frame is sent late, not skipped
        sys.exit(f"received {len(arrivals)} note-ons of {len(roll)}")
    return arrivals, schedule.start + np.arange(len(roll)) * schedule.frame_seconds


def clock_in(roll: PianoRoll, bpm: float, workdir: Path) -> tuple[np.ndarray, np.ndarray]:
    """(note-on arrivals, the sending times of their frames' pulses), seconds. A frame whose
    pulse has passed is skipped, not sent late: each note-on is the frame of its pitch (frame i
    plays 60 + i % 24) whose pulse is nearest, so a note up to 12 frames late is still seen
    late."""
    out = workdir / "clock.json"
    per_frame = PULSES_PER_QUARTER // roll.steps_per_quarter
    beats = len(roll) / roll.steps_per_quarter + 0.5
    master = start_peer("master", "bench-daw", "rnnrbm-timing:rnnrbm-timing", out, "--steps",
                        f"clock:1@{bpm} start clock:{beats}@{bpm} stop")
    with LivePlayer(virtual_name="rnnrbm-timing", api="jack", clock_in="bench-daw:bench-daw") \
            as player:
        player.play(roll)
    master.wait(60)
    record = json.loads(out.read_text())
    grid = {position: sent for position, sent in record["pulses"] if position is not None}
    ons = [(t, m["note"]) for t, m in record["messages"] if m["type"] == "note_on"]
    due = np.array([grid[per_frame * i] for i in range(len(roll))])
    pitches = 60 + np.arange(len(roll)) % 24
    matched = [due[pitches == pitch][np.abs(due[pitches == pitch] - t).argmin()]
               for t, pitch in ons]
    return np.array([t for t, _ in ons]), np.array(matched)


def figures(arrivals: np.ndarray, due: np.ndarray, frames: int, period_ms: float) -> dict:
    """Each note-on against the time its frame was due; frames that sent none are skipped."""
    if not len(arrivals):
        sys.exit(f"received no note-on of {frames}")
    error_ms = (arrivals - due) * 1000
    slope = np.polyfit(due - due[0], error_ms, 1)[0]
    return {"skipped": frames - len(arrivals), "p50 ms": float(np.percentile(error_ms, 50)),
            "p99 ms": float(np.percentile(error_ms, 99)), "max ms": float(error_ms.max()),
            "min ms": float(error_ms.min()), "drift ms": float(slope * (due[-1] - due[0])),
            "frame ms": float(np.median(np.diff(due)) * 1000), "JACK period ms": period_ms,
            "target p99 ms": period_ms + 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--bpm", type=float, help="default: 480, or 240 with --clock-in")
    parser.add_argument("--steps-per-quarter", type=int, default=4, choices=[1, 2, 3, 4, 6, 8])
    parser.add_argument("--clock-in", action="store_true",
                        help="follow a DAW's MIDI clock instead of keeping time")
    args = parser.parse_args()
    bpm = args.bpm or (240 if args.clock_in else 480)
    steps = [(60 + i % 24,) for i in range(args.frames)]   # a new note on every frame
    roll = PianoRoll.from_benchmark(steps, steps_per_quarter=args.steps_per_quarter)
    measure = clock_in if args.clock_in else own_clock
    rows = []
    server = JackServer("rnnrbm-timing-server").start()   # not the client's name: JACK mixes them up
    try:
        for load in ("idle", "training", "large heap", "large heap, no gc.freeze"):
            with tempfile.TemporaryDirectory() as tmp, training_job(load == "training", Path(tmp)), \
                    large_heap(load.startswith("large heap"), frozen=load == "large heap"):
                arrivals, due = measure(roll, bpm, Path(tmp))
            rows.append({"load": load, "frames": args.frames,
                         **figures(arrivals, due, args.frames, server.period_seconds * 1000)})
    finally:
        server.stop()
    mode = "following a DAW's clock" if args.clock_in else "own clock"
    print(f"{mode}: {args.frames} frames at {bpm:g} bpm, {args.steps_per_quarter} per quarter\n")
    idle = rows[0]
    report("live_timing_clock_in" if args.clock_in else "live_timing", list(rows[0]), rows,
           {"mode": mode, "bpm": bpm, "steps_per_quarter": args.steps_per_quarter,
            "p99_within_target_idle": idle["p99 ms"] <= idle["target p99 ms"]})


if __name__ == "__main__":
    main()
