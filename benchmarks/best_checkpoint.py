"""The best checkpoint of one or more searches (benchmarks/search.py) by validation NLL.

    python benchmarks/best_checkpoint.py RUNS GRID [GRID ...] [--copy-to FOLDER]

Reads benchmarks/results/GRID.json of each search (whose models are in RUNS/GRID/), prints the
path of the checkpoint with the lowest validation NLL of them all, and with ``--copy-to`` copies
each variant's best checkpoint there.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

from common import RESULTS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path)
    parser.add_argument("grids", nargs="+")
    parser.add_argument("--copy-to", type=Path)
    args = parser.parse_args()
    scored = sorted((row["valid NLL"], args.runs / grid / row["checkpoint"]) for grid in args.grids
                    for row in json.loads((RESULTS / f"{grid}.json").read_text())["rows"])
    if args.copy_to:
        args.copy_to.mkdir(parents=True, exist_ok=True)
        best_of_variant = {}
        for _, path in scored:
            best_of_variant.setdefault(re.sub(r"-epoch\d+$", "", path.stem), path)
        for path in best_of_variant.values():
            shutil.copy(path, args.copy_to / path.name)
    print(scored[0][1])


if __name__ == "__main__":
    main()
