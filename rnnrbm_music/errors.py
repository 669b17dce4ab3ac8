"""The errors readers raise, in one small module that every reader imports."""

from __future__ import annotations

import os


class ReadError(ValueError):
    """A piece of music could not be read; the message names the source and the problem.

    >>> str(ReadError("tune.mid", "MIDI type 2 (independent sequences) is not supported"))
    'tune.mid: MIDI type 2 (independent sequences) is not supported'
    """

    def __init__(self, source: str | os.PathLike, reason: str):
        self.source, self.reason = str(source), reason
        super().__init__(f"{source}: {reason}")
