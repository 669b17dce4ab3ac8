"""The model, in pure PyTorch: no music21, no files. See :mod:`.rbm`, :mod:`.nade` and
:mod:`.rnnrbm`."""

from .rnnrbm import RnnNade, RnnRbm, RnnRbmConfig, build, parameter_shapes

__all__ = ["RnnNade", "RnnRbm", "RnnRbmConfig", "build", "parameter_shapes"]
