"""Piano-roll pictures a musician reads (matplotlib's Agg canvas: no display needed).

Time runs in bars: a line and a tick at every bar line, numbered as a score numbers its bars (a
pickup is bar 0, the first full bar is bar 1; in a long piece every 2nd, 5th, 10th... bar, and
only those get lines), meter changes included; later meters and tempos
are named above the plot where they start. Pitch runs at the notes' sounding pitches (the roll
moved back by ``-transposition``): every C is named (C4 is middle C) and so is the key's tonic
in every octave, in bold and in its own colour. The title names the piece, then its key, meter
and tempo; the legend stands to the right of the notes, never on them. Each note is one bar, a
hair shorter than its length, so a pitch struck again shows as two. Notes in the ``accent``
frames (a primer, or a melody) are drawn in one colour, the rest in another.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .keys import key_name, parse_key
from .roll import PianoRoll, fold_into_range, midi_pitch_name

ACCENT_COLOUR = "#1f77b4"   # primer / melody
OTHER_COLOUR = "#ff7f0e"    # continuation / harmony
TONIC_COLOUR = "#b22222"    # the key's tonic on the pitch axis
#: Most bar numbers per inch of time axis; beyond, every 2nd, 5th, 10th... bar is numbered.
BAR_NUMBERS_PER_INCH = 2


def bar_numbers(roll: PianoRoll) -> list[tuple[float, int]]:
    """(quarter notes from the start, bar number) of every bar: a pickup is bar 0, the first
    full bar bar 1; a meter change starts a new bar.

    >>> roll = PianoRoll(np.zeros((16, 88), bool), time_signature="3/4", pickup=2,
    ...                  time_signature_changes=[(8, "2/4")])
    >>> bar_numbers(roll)
    [(0.0, 0), (1.0, 1), (4.0, 2), (6.0, 3)]
    """
    first = 0 if roll.pickup else 1
    return [(start / roll.steps_per_quarter, first + i)
            for i, (start, _, _) in enumerate(roll.measures())]


def pitch_names(roll: PianoRoll, low: int, high: int) -> list[tuple[int, str, bool]]:
    """(MIDI pitch, name, whether it is the tonic) of the pitches named on the pitch axis from
    ``low`` to ``high``: every C, and the tonic of the roll's key (spelled as the key spells
    it, flats as "b") in every octave.

    >>> pitch_names(PianoRoll(np.zeros((1, 88), bool), key="B- major"), 55, 72)
    [(58, 'Bb3', True), (60, 'C4', False), (70, 'Bb4', True), (72, 'C5', False)]
    """
    tonic, spelling = None, None
    if roll.key:
        tonic, mode = parse_key(roll.key)
        spelling = key_name(tonic, mode).split()[0].replace("-", "b")
    names = []
    for pitch in range(low, high + 1):
        if pitch % 12 == tonic:
            names.append((pitch, f"{spelling}{pitch // 12 - 1}", True))
        elif pitch % 12 == 0:
            names.append((pitch, midi_pitch_name(pitch), False))
    return names


def _context(roll: PianoRoll) -> str:
    """"F# minor, 4/4, 96 bpm": the key (if known, flats written as musicians write them:
    "Eb major", not music21's "E- major"), the first meter and tempo."""
    return ", ".join(([roll.key.replace("-", "b")] if roll.key else [])
                     + [roll.time_signature, f"{roll.bpm:g} bpm"])


def roll_figure(roll: PianoRoll, accent: np.ndarray | None = None,
                labels: tuple[str, str] = ("primer", "continuation"), title: str | None = None):
    """The matplotlib Figure of ``roll`` that :func:`plot_roll` writes (arguments as there)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    shift = -roll.transposition
    accent = np.zeros_like(roll.frames) if accent is None else np.asarray(accent, bool)
    spq = roll.steps_per_quarter
    # (onset, duration, stored pitch, sounding pitch): moved back, folded into the range as the
    # files and ports have it (roll.fold_into_range).
    notes = [(onset, duration, pitch, fold_into_range(pitch + shift, roll.lowest, roll.highest))
             for onset, duration, pitch in roll.notes()]
    gap = min(0.08, 0.25 / spq)   # quarters left blank at the end of each note: re-strikes show
    pitches = [sounding for *_, sounding in notes] or [60]
    low, high = min(pitches) - 2, max(pitches) + 2
    quarters = max(len(roll) / spq, 1)
    width = min(4 + quarters * 0.25, 24)
    fig = Figure(figsize=(width, 1.8 + (high - low) * 0.12), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for accented, colour in ((True, ACCENT_COLOUR), (False, OTHER_COLOUR)):
        chosen = [(onset, duration, sounding) for onset, duration, pitch, sounding in notes
                  if bool(accent[onset, pitch - roll.lowest]) == accented]
        if chosen:
            onsets, durations, sounding = np.array(chosen, float).T
            ax.barh(sounding, durations / spq - gap, left=onsets / spq, height=0.8,
                    align="center", color=colour, edgecolor="black", linewidth=0.3)

    bars = bar_numbers(roll)
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
                if len(bars) / s <= BAR_NUMBERS_PER_INCH * width) if bars else 1
    numbered = [(at, n) for at, n in bars if n % step == 0 or n == bars[0][1]]
    ax.set_xticks([at for at, _ in numbered], [str(n) for _, n in numbered])
    # A line where each full bar starts (the pickup has none); where bars are closer than a
    # quarter of an inch, at the numbered ones alone.
    lined = bars if len(bars) <= 4 * width else numbered
    ax.set_xticks([at for at, _ in lined], minor=True)
    for at, number in lined:
        if number:
            ax.axvline(at, color="grey", linewidth=0.6, alpha=0.6)
    ax.set_xlim(0, quarters)
    ax.set_xlabel("bar")

    changes: dict[int, list[str]] = {}   # later meters and tempos, named above the plot
    for frame, signature in roll.time_signature_changes:
        changes.setdefault(frame, []).append(signature)
    for frame, bpm in roll.tempo_changes:
        changes.setdefault(frame, []).append(f"{bpm:g} bpm")
    if changes:
        ax.secondary_xaxis("top").set_xticks([frame / spq for frame in sorted(changes)],
                                             [", ".join(changes[f]) for f in sorted(changes)])

    named = pitch_names(roll, low, high)
    ax.set_yticks([pitch for pitch, _, _ in named], [name for _, name, _ in named])
    for label, (_, _, tonic) in zip(ax.get_yticklabels(), named):
        if tonic:
            label.set_fontweight("bold")
            label.set_color(TONIC_COLOUR)
    ax.set_ylim(low, high)
    ax.set_ylabel("pitch (C4 = middle C)")
    ax.grid(axis="y", linewidth=0.3, alpha=0.5)

    ax.set_title(_context(roll))
    if title or roll.title:
        fig.suptitle(title or roll.title, fontweight="bold")
    if accent.any():
        fig.legend(handles=[Patch(color=ACCENT_COLOUR, label=labels[0]),
                            Patch(color=OTHER_COLOUR, label=labels[1])],
                   loc="outside right upper")
    return fig


def plot_roll(roll: PianoRoll, path: str | os.PathLike, accent: np.ndarray | None = None,
              labels: tuple[str, str] = ("primer", "continuation"),
              title: str | None = None) -> Path:
    """Draw ``roll`` (at its sounding pitches, i.e. moved back by ``-transposition``) to a PNG.

    ``accent`` is a boolean array of the roll's shape: the notes it covers get the first colour
    and the first label. ``title`` (the piece's name) heads the picture, above its key, meter
    and tempo.

    >>> import tempfile, os
    >>> roll = PianoRoll.from_benchmark([(60, 64), (60, 64), (62,), (65, 69)], time_signature="2/4")
    >>> out = plot_roll(roll, os.path.join(tempfile.mkdtemp(), "r.png"))
    >>> out.read_bytes()[:4] == b"\\x89PNG"
    True
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    roll_figure(roll, accent, labels, title).savefig(path, dpi=110)
    return path
