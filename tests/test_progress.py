import io

import pytest

import rnnrbm_music.progress as progress_module
from rnnrbm_music.progress import Progress


@pytest.fixture
def seconds(monkeypatch):
    """A clock the test sets: ``seconds[0]`` is the time now."""
    now = [0.0]
    monkeypatch.setattr(progress_module, "monotonic", lambda: now[0])
    return now


def test_off_a_terminal_a_line_every_period_with_the_count_and_the_time_left(seconds, capsys):
    shown = Progress("reading corpus", 8, "files")
    for _ in range(8):            # 3 s a file: lines after 12 s (10 s passed), 24 s (the end)
        seconds[0] += 3
        shown.advance()
    shown.close()
    assert capsys.readouterr().err.splitlines() == [
        "reading corpus: 4/8 files (50 %), 0:12 elapsed, ~0:12 left",
        "reading corpus: 8/8 files (100 %), 0:24 elapsed"]
    quick = Progress("reading corpus", 2, "files")   # done within the period: nothing to say
    seconds[0] += 1
    quick.advance(2)
    assert capsys.readouterr().err == ""


def test_a_resumed_count_estimates_from_this_run_alone(seconds):
    shown = Progress("training", 200, "epochs", done=100, status_lines=False, stream=io.StringIO())
    seconds[0] = 30
    shown.advance(10)             # 10 epochs in 30 s: 90 left take 4:30
    assert shown.timing() == "0:30 elapsed, ~4:30 left"
    assert shown.status() == "training: 110/200 epochs (55 %), 0:30 elapsed, ~4:30 left"


def test_written_lines_and_silence(seconds):
    stream = io.StringIO()
    shown = Progress("training", 2, "epochs", status_lines=False, stream=stream)
    shown.advance(2)
    shown.write("epoch 2/2")
    assert stream.getvalue() == "epoch 2/2\n"          # its own lines only, no status line
    quiet = io.StringIO()
    silenced = Progress("training", 2, "epochs", enabled=False, stream=quiet)
    silenced.advance(2)
    silenced.write("epoch 2/2")
    assert quiet.getvalue() == ""


def test_a_terminal_gets_a_bar():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    with Progress("evaluating", 10, "frames", stream=stream) as shown:
        shown.advance(5)
    assert "evaluating:  50%" in stream.getvalue() and "5/10" in stream.getvalue()
