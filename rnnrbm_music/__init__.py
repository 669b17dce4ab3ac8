"""rnnrbm-music: the RNN-RBM (Boulanger-Lewandowski et al., ICML 2012) as a music21 plugin."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("rnnrbm-music")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

from .roll import PianoRoll, RangeError  # noqa: E402
from .music21_io import ReadError, from_stream, read, to_stream, write  # noqa: E402
from .corpus import Corpus  # noqa: E402
from .composer import RnnRbmComposer  # noqa: E402

__all__ = ["RnnRbmComposer", "PianoRoll", "RangeError", "ReadError", "Corpus", "from_stream",
           "to_stream", "read", "write", "__version__"]
