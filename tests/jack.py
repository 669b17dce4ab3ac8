"""A private JACK server for the live-MIDI tests and the timing benchmark."""

import os
import shutil
import subprocess
import tempfile
import time

import pytest

PERIOD_FRAMES, SAMPLE_RATE = 128, 48000


class JackServer:
    """``jackd -n NAME --realtime -d dummy``; JACK_DEFAULT_SERVER points at it while it runs.

    Real-time, as JACK runs under a DAW: a client process thread that a busy machine (torch on
    every core) makes late misses its cycle, and JACK drops that cycle's MIDI. Where real-time
    scheduling is not allowed, jackd falls back to normal scheduling by itself. jackd's chatter
    (a line per late cycle) goes to a file: a pipe nobody reads would fill and stall the server.
    """

    def __init__(self, name: str):
        self.name = name
        self.process = None
        self.log = None

    def start(self) -> "JackServer":
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            ["jackd", "-n", self.name, "--realtime", "-d", "dummy", "-r", str(SAMPLE_RATE),
             "-p", str(PERIOD_FRAMES)], stdout=self.log, stderr=subprocess.STDOUT)
        os.environ["JACK_DEFAULT_SERVER"] = self.name
        deadline = time.monotonic() + 15
        while subprocess.run(["jack_lsp", "-s", self.name], capture_output=True).returncode != 0:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.log.seek(0)
                output = self.log.read()[-2000:]
                self.stop()
                raise RuntimeError(f"jackd did not start: {output!r}")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        if self.log is not None:
            self.log.close()
            self.log = None

    @property
    def period_seconds(self) -> float:
        return PERIOD_FRAMES / SAMPLE_RATE


def require_jackd() -> None:
    """Skip where jackd is missing, but fail in CI, which installs it (make test)."""
    if shutil.which("jackd") and shutil.which("jack_lsp"):
        return
    message = "jackd is not installed (Debian: apt-get install jackd2; `make test` does it as root)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
