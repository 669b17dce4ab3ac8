"""Helpers shared by the benchmark scripts: data paths, a table printer, the JSON writer."""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict:
    return {"python": sys.version.split()[0], "torch": torch.__version__,
            "cpu_threads": torch.get_num_threads(), "platform": platform.platform(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "date": time.strftime("%Y-%m-%d %H:%M")}


def report(name: str, columns: list[str], rows: list[dict], extra: dict | None = None) -> Path:
    """Print rows as a table and write them, with the machine, to results/NAME.json."""
    widths = [max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).ljust(w) for c, w in zip(columns, widths)))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps({"machine": machine(), "rows": rows, **(extra or {})}, indent=2) + "\n")
    print(f"\nwritten: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return out


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return "" if value is None else str(value)


def model_split_parser(doc: str) -> argparse.ArgumentParser:
    """The arguments of the scripts that study one model on a benchmark split: MODEL, --data
    (default Nottingham), --split (default valid)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data", default=str(DATA / "benchmarks" / "nottingham.pickle"))
    parser.add_argument("--split", default="valid")
    return parser


def model_and_split(args: argparse.Namespace) -> tuple:
    """The model of ``args.model`` (on the CPU) and the frame arrays of each piece of the split
    that ``model_split_parser``'s arguments name."""
    from rnnrbm_music import Corpus, RnnRbmComposer

    model = RnnRbmComposer.load(args.model, device="cpu").model_
    return model, [roll.frames for roll in Corpus.from_benchmark(args.data, args.split)]


def training_frames(pickle: str) -> torch.Tensor:
    """The distinct frames of a benchmark's training split (K, V)."""
    from rnnrbm_music import Corpus
    from rnnrbm_music.evaluate import distinct_frames

    return distinct_frames([roll.frames for roll in Corpus.from_benchmark(pickle, "train")])


def known_frames(training: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """The distinct frames of ``training`` (:func:`training_frames`) and of ``frames``: what
    `rnnrbm-music evaluate --known train` sums exactly."""
    return torch.unique(torch.cat([training, frames]), dim=0)
