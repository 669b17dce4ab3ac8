"""Piano-roll pictures (matplotlib, Agg backend: no display needed).

Time runs in beats (quarter notes) with bar lines where the roll's bars fall (its pickup and
meter changes included); pitch names mark every C. Each note is one bar, a hair shorter than
its length, so a pitch struck again shows as two. Notes in the ``accent`` frames (a primer, or
a melody) are drawn in one colour, the rest in another.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .roll import PianoRoll, midi_pitch_name

ACCENT_COLOUR = "#1f77b4"   # primer / melody
OTHER_COLOUR = "#ff7f0e"    # continuation / harmony


def plot_roll(roll: PianoRoll, path: str | os.PathLike, accent: np.ndarray | None = None,
              labels: tuple[str, str] = ("primer", "continuation"),
              title: str | None = None) -> Path:
    """Draw ``roll`` (at its sounding pitches, i.e. moved back by ``-transposition``) to a PNG.

    ``accent`` is a boolean array of the roll's shape: the notes it covers get the first colour
    and the first label.

    >>> import tempfile, os
    >>> roll = PianoRoll.from_benchmark([(60, 64), (60, 64), (62,), (65, 69)], time_signature="2/4")
    >>> out = plot_roll(roll, os.path.join(tempfile.mkdtemp(), "r.png"))
    >>> out.read_bytes()[:4] == b"\\x89PNG"
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    shift = -roll.transposition
    accent = np.zeros_like(roll.frames) if accent is None else np.asarray(accent, bool)
    spq = roll.steps_per_quarter
    notes = roll.notes()
    gap = min(0.08, 0.25 / spq)   # beats left blank at the end of each note: re-strikes show
    pitches = [p + shift for _, _, p in notes] or [60]
    low, high = min(pitches) - 2, max(pitches) + 2
    beats = max(len(roll) / spq, 1)
    fig, ax = plt.subplots(figsize=(min(4 + beats * 0.25, 24), 1.5 + (high - low) * 0.12))
    for onset, duration, pitch in notes:
        accented = bool(accent[onset, pitch - roll.lowest])
        ax.broken_barh([(onset / spq, duration / spq - gap)], (pitch + shift - 0.4, 0.8),
                       facecolors=ACCENT_COLOUR if accented else OTHER_COLOUR,
                       edgecolor="black", linewidth=0.3)
    for start, _, _ in roll.measures()[1 if roll.pickup else 0:]:
        ax.axvline(start / spq, color="grey", linewidth=0.6, alpha=0.6)
    c_pitches = [p for p in range(low, high + 1) if p % 12 == 0]
    ax.set_yticks(c_pitches, [midi_pitch_name(p) for p in c_pitches])
    ax.set_ylim(low, high)
    ax.set_xlim(0, beats)
    ax.set_xlabel("beats (quarter notes)")
    ax.set_ylabel("pitch")
    ax.grid(axis="y", linewidth=0.3, alpha=0.5)
    ax.set_title(title or f"{roll.key or 'piano roll'}, {roll.time_signature}, {roll.bpm:g} bpm")
    if accent.any():
        ax.legend(handles=[Patch(color=ACCENT_COLOUR, label=labels[0]),
                           Patch(color=OTHER_COLOUR, label=labels[1])], loc="upper right")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
