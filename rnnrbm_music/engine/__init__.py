"""The model, in pure PyTorch: no music21, no files. See :mod:`.rbm` and :mod:`.rnnrbm`."""

from .rnnrbm import RnnRbm, RnnRbmConfig, parameter_shapes

__all__ = ["RnnRbm", "RnnRbmConfig", "parameter_shapes"]
