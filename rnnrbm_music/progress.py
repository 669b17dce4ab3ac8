"""How far long work has got (reading a corpus, training, evaluating), with the time elapsed and
an estimate of the time left.

On a terminal it is a tqdm bar. Anywhere else (a log file, a pipe, a batch job) it is a plain
line every :data:`PERIOD` seconds and one at the end (none for work done within the period),
e.g.::

    reading corpus: 120/371 files (32 %), 0:14 elapsed, ~0:29 left
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from time import monotonic
from typing import TextIO, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")

#: Seconds between two plain lines where the stream is not a terminal.
PERIOD = 10.0


def clock(seconds: float) -> str:
    """A duration as m:ss, or h:mm:ss from an hour on.

    >>> clock(14.2), clock(750), clock(3723)
    ('0:14', '12:30', '1:02:03')
    """
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Counts ``total`` pieces of work (in ``unit``, a plural noun) done one step at a time.

    ``done`` were done before (a resumed training): the estimate of the time left comes from
    the rate of this run alone. Where ``stream`` (standard error by default) is not a terminal,
    a plain line (:meth:`status`) comes every :data:`PERIOD` seconds and at the end, unless
    ``status_lines`` is false: for work that writes its own lines (:meth:`write`). Nothing at
    all is shown unless ``enabled``.
    """

    def __init__(self, what: str, total: int, unit: str, *, done: int = 0, enabled: bool = True,
                 stream: TextIO | None = None, status_lines: bool = True):
        self.what, self.total, self.unit = what, total, unit
        self.count = self.start_count = done
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.status_lines = status_lines
        self.started = self.last_line = monotonic()
        self.lines_shown = 0
        terminal = enabled and self.stream.isatty()
        self.bar = tqdm(total=total, initial=done, desc=what, unit=unit.rstrip("s"),
                        file=self.stream, dynamic_ncols=True) if terminal else None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def advance(self, n: int = 1) -> None:
        """``n`` more pieces of work done (none: nothing to show)."""
        if not n:
            return
        self.count += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.enabled and self.status_lines:
            now = monotonic()
            ended = self.count >= self.total and self.lines_shown
            if now - self.last_line >= PERIOD or ended:
                self.last_line = now
                self.lines_shown += 1
                print(self.status(), file=self.stream, flush=True)

    def track(self, items: Iterable[T]) -> Iterator[T]:
        """``items``, each counted as one piece of work done when it arrives."""
        for item in items:
            self.advance()
            yield item

    def timing(self) -> str:
        """``"0:14 elapsed, ~0:29 left"``: the time left at the rate so far (none once done, or
        before anything is done)."""
        elapsed = monotonic() - self.started
        done = self.count - self.start_count
        if self.count >= self.total or done <= 0:
            return f"{clock(elapsed)} elapsed"
        return f"{clock(elapsed)} elapsed, ~{clock(elapsed * (self.total - self.count) / done)} left"

    def status(self) -> str:
        """``"reading corpus: 120/371 files (32 %), 0:14 elapsed, ~0:29 left"``."""
        share = 100 * self.count / self.total if self.total else 100.0
        return (f"{self.what}: {self.count}/{self.total} {self.unit} ({share:.0f} %), "
                f"{self.timing()}")

    def write(self, line: str) -> None:
        """Write ``line`` on its own (above the bar on a terminal)."""
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        elif self.enabled:
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
