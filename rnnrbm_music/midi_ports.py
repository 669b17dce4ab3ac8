"""MIDI ports by name: listing them, opening an existing one or creating a virtual one.

Ports go through python-rtmidi (outputs through mido): an existing port is opened by its exact
name, or a virtual one is created (JACK or ALSA on Linux, CoreMIDI on macOS; Windows has no
virtual ports, so give the name of a loopMIDI port there). ``api`` picks rtmidi's backend
(``"jack"``, ``"alsa"``, ``"coremidi"``, ``"windows"``); by default the first that works.
Inputs are :class:`~rnnrbm_music.midi_input.TimedInput`: read by polling, stamped on arrival.

The MIDI libraries' own C-level messages (libjack's "Cannot connect to server socket", ALSA's
"open /dev/snd/seq failed") are kept off the terminal while ports are listed and opened: a
failure is reported once, in one line, by :class:`LiveMidiError`.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

import mido

from .midi_input import TimedInput, open_timed

#: rtmidi API names by the short names this module takes.
APIS = {"alsa": "LINUX_ALSA", "jack": "UNIX_JACK", "coremidi": "MACOSX_CORE",
        "windows": "WINDOWS_MM"}


@contextmanager
def _c_library_messages_hidden():
    """Send what C libraries write to the process's standard error (file descriptor 2) to
    /dev/null inside the block; Python's own ``sys.stderr`` writes are flushed first."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


#: rtmidi's messages when a backend cannot start, in users' words.
_BACKEND_PROBLEMS = {"JACK server not running": "no JACK server is running (start one: jackd, "
                                                "QjackCtl, or your DAW's audio settings)",
                     "ALSA sequencer": "no ALSA sequencer (/dev/snd/seq) on this machine"}


def _problem(error: Exception) -> str:
    text = str(error).strip()
    return next((ours for theirs, ours in _BACKEND_PROBLEMS.items() if theirs in text), text)


class Closing:
    """``with`` for an object with a ``close()``: closed however the block ends."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LiveMidiError(RuntimeError):
    """A MIDI port could not be opened or created; the message says what to do."""


def _backend(api: str) -> mido.Backend:
    return mido.Backend(f"mido.backends.rtmidi/{APIS[api]}", load=True)


def _port_names(backend: mido.Backend, kind: str) -> list[str]:
    with _c_library_messages_hidden():
        return backend.get_output_names() if kind == "output" else backend.get_input_names()


def _candidate_apis(api: str | None) -> list[str]:
    if api is not None:
        if api not in APIS:
            raise LiveMidiError(f"unknown MIDI api {api!r}: use one of {sorted(APIS)}")
        return [api]
    if sys.platform == "darwin":
        return ["coremidi"]
    if sys.platform == "win32":
        return ["windows"]
    # ALSA's sequencer needs /dev/snd/seq; without it (containers) JACK is the way.
    return ["alsa", "jack"] if os.path.exists("/dev/snd/seq") else ["jack", "alsa"]


def list_ports(api: str | None = None) -> dict[str, dict]:
    """Input and output port names by api: ``{"jack": {"inputs": [...], "outputs": [...]}}``;
    an api that does not answer has ``{"error": "no JACK server is running (...)"}`` instead."""
    found = {}
    for name in _candidate_apis(api):
        try:
            backend = _backend(name)
            found[name] = {"inputs": _port_names(backend, "input"),
                           "outputs": _port_names(backend, "output")}
        except Exception as error:  # rtmidi raises SystemError and others when an api is absent
            found[name] = {"error": _problem(error)}
    return found


def _open(kind: str, port: str | None, virtual_name: str, api: str | None, opener):
    """Open an input or output with ``opener(api, name, virtual)``: an existing port by exact
    name, or a new virtual one, on the first backend that can."""
    problems = []
    for name in _candidate_apis(api):
        try:
            if port is not None:
                names = _port_names(_backend(name), kind)
                if port in names:
                    with _c_library_messages_hidden():
                        return opener(name, port, False)
                problems.append(f"{name} has no {kind} port named {port!r} (it has: "
                                f"{', '.join(map(repr, names)) or 'none'}; see "
                                "`rnnrbm-music ports`)")
                continue
            with _c_library_messages_hidden():
                return opener(name, virtual_name, True)
        except Exception as error:  # rtmidi raises SystemError etc. when the api cannot start
            problems.append(f"{name}: {_problem(error)}")
    if port is None and sys.platform == "win32":
        raise LiveMidiError("Windows has no virtual MIDI ports: create one with loopMIDI and "
                            f"pass its name (e.g. port='loopMIDI Port') instead of a virtual {kind}")
    what = f"{kind} port {port!r}" if port else f"virtual {kind} port {virtual_name!r}"
    raise LiveMidiError(f"cannot open {what}: {'; '.join(problems)}")


def _mido_output(api: str, name: str, virtual: bool):
    if virtual:
        return _backend(api).open_output(name, virtual=True, client_name=name)
    return _backend(api).open_output(name)


def open_output(port: str | None = None, virtual_name: str = "rnnrbm-music",
                api: str | None = None):
    """A mido output port: ``port`` by exact name, else a new virtual port ``virtual_name``.
    Raises :class:`LiveMidiError` saying why none could be opened."""
    return _open("output", port, virtual_name, api, _mido_output)


def open_input(port: str | None = None, virtual_name: str = "rnnrbm-music-in",
               api: str | None = None) -> TimedInput:
    """An input read by polling, each message stamped on arrival: ``port`` by exact name, else
    a new virtual port ``virtual_name``. Raises :class:`LiveMidiError` saying why none could
    be opened."""
    return _open("input", port, virtual_name, api,
                 lambda name, port_name, virtual: open_timed(APIS[name], port_name, virtual))
