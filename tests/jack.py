"""A private JACK server for the live-MIDI tests and the timing benchmark."""

import os
import shutil
import subprocess
import time

import pytest

PERIOD_FRAMES, SAMPLE_RATE = 128, 48000


class JackServer:
    """``jackd -n NAME --no-realtime -d dummy``; JACK_DEFAULT_SERVER points at it while it runs."""

    def __init__(self, name: str):
        self.name = name
        self.process = None

    def start(self) -> "JackServer":
        self.process = subprocess.Popen(
            ["jackd", "-n", self.name, "--no-realtime", "-d", "dummy", "-r", str(SAMPLE_RATE),
             "-p", str(PERIOD_FRAMES)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.environ["JACK_DEFAULT_SERVER"] = self.name
        deadline = time.monotonic() + 15
        while subprocess.run(["jack_lsp", "-s", self.name], capture_output=True).returncode != 0:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"jackd did not start: {self.process.stderr.read()[-2000:]!r}")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

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
