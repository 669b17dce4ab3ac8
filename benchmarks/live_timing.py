"""Timing of live playing: note-on arrival at a second JACK client against the schedule.

    python benchmarks/live_timing.py [--frames 500] [--bpm 480] [--steps-per-quarter 4]

Starts a private JACK server (dummy driver, 48 kHz, 128-frame periods: 2.67 ms), plays a roll
with a new note on every frame through a LivePlayer's virtual port, and records arrival times in
a separate receiving process (tests/midi_peer.py) on the same monotonic clock. Reports the p50,
p99 and worst error of note-on arrival against each frame's deadline, and the drift over the run
(slope of a straight-line fit of the error, times the run's length). Target: p99 within one JACK
period plus 1 ms, no drift. Writes benchmarks/results/live_timing.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import ROOT, report

sys.path.insert(0, str(ROOT / "tests"))
from jack import JackServer  # noqa: E402

from rnnrbm_music import PianoRoll  # noqa: E402
from rnnrbm_music.live import LivePlayer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--bpm", type=float, default=480)
    parser.add_argument("--steps-per-quarter", type=int, default=4)
    args = parser.parse_args()
    steps = [(60 + i % 12,) for i in range(args.frames)]   # a new note on every frame
    roll = PianoRoll.from_benchmark(steps, steps_per_quarter=args.steps_per_quarter)
    server = JackServer("rnnrbm-timing-server").start()   # not the client's name: JACK mixes them up
    try:
        with tempfile.TemporaryDirectory() as tmp, \
                LivePlayer(virtual_name="rnnrbm-timing", bpm=args.bpm, api="jack") as player:
            out = Path(tmp) / "received.json"
            receiver = subprocess.Popen(
                [sys.executable, str(ROOT / "tests" / "midi_peer.py"), "receive",
                 "rnnrbm-timing:rnnrbm-timing", str(out)], stdout=subprocess.PIPE, text=True)
            assert receiver.stdout.readline().strip() == "ready"
            schedule = player.play(roll, lead=0.2)
            receiver.wait(60)
            messages = json.loads(out.read_text())["messages"]
    finally:
        server.stop()
    arrivals = np.array([t for t, m in messages if m["type"] == "note_on"])
    if len(arrivals) != args.frames:
        sys.exit(f"received {len(arrivals)} note-ons of {args.frames}")
    scheduled = schedule.start + np.arange(args.frames) * schedule.frame_seconds
    error_ms = (arrivals - scheduled) * 1000
    slope = np.polyfit(scheduled - scheduled[0], error_ms, 1)[0]
    run_seconds = scheduled[-1] - scheduled[0]
    period_ms = server.period_seconds * 1000
    row = {"frames": args.frames, "frame ms": schedule.frame_seconds * 1000,
           "p50 ms": float(np.percentile(error_ms, 50)),
           "p99 ms": float(np.percentile(error_ms, 99)), "max ms": float(error_ms.max()),
           "min ms": float(error_ms.min()), "drift ms": float(slope * run_seconds),
           "JACK period ms": period_ms, "target p99 ms": period_ms + 1}
    print(f"{args.frames} frames at {args.bpm:g} bpm, {args.steps_per_quarter} per quarter, "
          f"{run_seconds:.1f} s\n")
    report("live_timing", list(row), [row], {"bpm": args.bpm,
                                             "steps_per_quarter": args.steps_per_quarter,
                                             "p99_within_target": row["p99 ms"] <= period_ms + 1})


if __name__ == "__main__":
    main()
