"""The piano-roll picture, read back from its matplotlib Figure (ticks, labels, boxes), not pixels."""

import numpy as np
import pytest
from music21 import corpus

from rnnrbm_music import PianoRoll, from_stream
from rnnrbm_music.plot import TONIC_COLOUR, plot_roll, roll_figure


@pytest.fixture(scope="module")
def chorale():
    """BWV 66.6 in F# minor (stored moved up 6 semitones to C minor), a quarter-note pickup,
    4/4, 36 quarter notes."""
    roll = from_stream(corpus.parse("bach/bwv66.6"))
    assert (roll.key, roll.transposition, roll.pickup, len(roll)) == ("F# minor", 6, 2, 72)
    return roll


def x_ticks(ax):
    return [(float(at), label.get_text()) for at, label in zip(ax.get_xticks(), ax.get_xticklabels())]


def test_bars_are_numbered_from_the_pickup_as_in_the_score(chorale):
    ax = roll_figure(chorale).axes[0]
    # Bar 0 is the quarter-note pickup; bars 1 to 8 are whole 4/4 bars; bar 9 the last, short one.
    assert x_ticks(ax) == [(0.0, "0"), *((1.0 + 4 * i, str(i + 1)) for i in range(9))]
    assert ax.get_xlim() == (0.0, 36.0) and ax.get_xlabel() == "bar"
    on_the_downbeat = roll_figure(chorale[2:]).axes[0]          # no pickup: bar 1 at the start
    assert x_ticks(on_the_downbeat)[:3] == [(0.0, "1"), (4.0, "2"), (8.0, "3")]


def test_a_meter_change_starts_a_bar_and_is_named_above(chorale):
    changed = chorale.replace(time_signature_changes=((34, "3/4"),), tempo_changes=((34, 80.0),))
    fig = roll_figure(changed)
    ax = fig.axes[0]
    # Bars of 4 quarters up to quarter 17 (bar 5), then of 3.
    assert x_ticks(ax)[4:8] == [(13.0, "4"), (17.0, "5"), (20.0, "6"), (23.0, "7")]
    top = [child for child in ax.child_axes][0]
    assert [(float(at), label.get_text()) for at, label in
            zip(top.get_xticks(), top.get_xticklabels())] == [(17.0, "3/4, 80 bpm")]


def test_pitches_sound_where_they_are_drawn_and_cs_and_the_tonic_are_named(chorale):
    ax = roll_figure(chorale).axes[0]
    drawn = sorted((round(bar.get_x() * 2), round(bar.get_y() + bar.get_height() / 2))
                   for bar in ax.patches)
    assert drawn == sorted((onset, pitch) for onset, _, pitch in chorale.sounding_notes())
    names = [(int(at), label.get_text(), label.get_fontweight(), label.get_color())
             for at, label in zip(ax.get_yticks(), ax.get_yticklabels())]
    # The bass goes down to F#2 (42) and the soprano up to A5 (81): F# is the tonic.
    tonic, c = ("bold", TONIC_COLOUR), ("normal", "black")
    assert names == [(42, "F#2", *tonic), (48, "C3", *c), (54, "F#3", *tonic), (60, "C4", *c),
                     (66, "F#4", *tonic), (72, "C5", *c), (78, "F#5", *tonic)]


def test_the_title_names_the_piece_then_key_meter_tempo_and_the_legend_is_off_the_notes(chorale):
    soprano = np.zeros_like(chorale.frames)
    for t, frame in enumerate(chorale.frames):
        soprano[t, np.flatnonzero(frame)[-1:]] = True
    fig = roll_figure(chorale, soprano, ("soprano", "lower voices"), title="BWV 66.6")
    ax = fig.axes[0]
    assert fig.get_suptitle() == "BWV 66.6" and ax.get_title() == "F# minor, 4/4, 96 bpm"
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend, notes = fig.legends[0].get_window_extent(renderer), ax.get_window_extent(renderer)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["soprano", "lower voices"]
    assert legend.x0 >= notes.x1 or legend.y0 >= notes.y1          # right of or above the notes
    figure = fig.bbox
    assert figure.x0 <= legend.x0 and legend.x1 <= figure.x1        # and inside the picture


def test_the_png_is_written(chorale, tmp_path):
    out = plot_roll(chorale, tmp_path / "sub" / "bwv66.6.png", title="BWV 66.6")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_roll_names_itself_and_notes_moved_out_of_range_fold_as_in_files(chorale):
    assert roll_figure(chorale).get_suptitle() == "bwv66.6"        # the score's own name
    low = PianoRoll.from_benchmark([(23, 60), (23, 60)], transposition=5)   # B0 -> MIDI 18
    with pytest.warns(UserWarning, match="moved by octaves"):
        heard = sorted(p for _, _, p in low.sounding_notes())
    ax = roll_figure(low).axes[0]
    drawn = sorted(round(bar.get_y() + bar.get_height() / 2) for bar in ax.patches)
    assert drawn == heard == [30, 55]
