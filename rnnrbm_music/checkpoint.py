"""The one checkpoint format: a ``.safetensors`` file, the config as JSON in its metadata.

Tensors: the model's parameters under their own names (``W``, ``bv``, ``bh``, ``Wuh``, ``Wuv``,
``Wvu``, ``Wuu``, ``bu``, ``u0``); ``known_frames``, the distinct training frames where the
sampler starts its chains, one bit per pitch packed 8 to a byte (K, ceil(V / 8)) (since format
version 2; a version-1 file loads without them); and, in a checkpoint meant for resuming, the
optimizer's state under ``optimizer/<param>/<state>``. Metadata (strings): ``format`` (``rnnrbm-music``),
``format_version``, ``package_version`` and ``config``, a JSON object with the model sizes
(``model``), how music was turned into frames (``data``: pitch range, steps per quarter, key
normalization), how it was trained (``training``) and its progress (``epochs_trained``,
``best_valid``...). Loading never unpickles anything.
"""

from __future__ import annotations

import errno
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from . import __version__
from .engine import RnnRbm, RnnRbmConfig, build, parameter_shapes

FORMAT = "rnnrbm-music"
FORMAT_VERSION = 2
_READABLE_VERSIONS = ("1", "2")
_KNOWN_FRAMES = "known_frames"
_OPTIMIZER_PREFIX = "optimizer/"


class CheckpointError(ValueError):
    """A model file that cannot be loaded; the message names the file and what does not fit."""


@dataclass
class Checkpoint:
    """What a checkpoint file holds, loaded."""

    model: RnnRbm
    config: dict                     #: the whole JSON config of the metadata
    optimizer_state: dict[str, torch.Tensor] = field(default_factory=dict)
    package_version: str = ""


def model_path(path: str | os.PathLike) -> Path:
    """``path`` as a model file to write: ``~`` expanded; ValueError unless it ends in
    ``.safetensors`` (a ``.mid`` there is a slip for a music file).

    >>> model_path("run/model.mid")
    Traceback (most recent call last):
    ...
    ValueError: run/model.mid: a model file ends in .safetensors
    """
    path = Path(path).expanduser()
    if path.suffix.lower() != ".safetensors":
        raise ValueError(f"{path}: a model file ends in .safetensors")
    return path


def save(path: str | os.PathLike, model: RnnRbm, config: dict | None = None,
         optimizer: torch.optim.Optimizer | None = None) -> Path:
    """Write ``model`` (and, for resuming, ``optimizer``'s state) with ``config`` to ``path``.

    The file is written next to its destination and renamed into place, so an interrupted save
    never leaves half a checkpoint.

    >>> import tempfile, os
    >>> path = save(os.path.join(tempfile.mkdtemp(), "m.safetensors"), RnnRbm(RnnRbmConfig(88, 8, 4)))
    >>> config = load(path).model.config
    >>> config.n_visible, config.n_hidden, config.n_recurrent, config.conditional
    (88, 8, 4, 'rbm')
    """
    path = model_path(path)
    tensors = {name: p.detach().to("cpu").contiguous() for name, p in model.named_parameters()}
    if len(model.known_frames):
        tensors[_KNOWN_FRAMES] = _pack(model.known_frames)
    if optimizer is not None:
        tensors.update(_optimizer_tensors(model, optimizer))
    full_config = {**(config or {}), "model": model.config.to_dict()}
    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION),
                "package_version": __version__, "config": json.dumps(full_config)}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        save_file(tensors, str(partial), metadata=metadata)
    except SafetensorError as error:   # safetensors' I/O errors, as Python's
        raise OSError(errno.EIO, f"cannot write the model file ({error})", str(path)) from None
    os.chmod(partial, 0o666 & ~_umask())     # safetensors creates files readable by owner only
    os.replace(partial, path)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load(path: str | os.PathLike, device: str | torch.device = "cpu") -> Checkpoint:
    """Read a checkpoint written by :func:`save`, checking its format, version and shapes."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"{path}: no such model file")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not a safetensors model file, or a damaged one "
                              f"({error})") from None
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an rnnrbm-music model (its metadata has no "
                              f"'format: {FORMAT}')")
    version = metadata.get("format_version")
    if version not in _READABLE_VERSIONS:
        raise CheckpointError(
            f"{path}: checkpoint format version {version} (written by rnnrbm-music "
            f"{metadata.get('package_version', '?')}); this rnnrbm-music {__version__} reads "
            f"versions {', '.join(_READABLE_VERSIONS)}")
    try:
        config = json.loads(metadata["config"])
        model_config = RnnRbmConfig(**config["model"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: unreadable config in the metadata ({error})") from None
    expected = parameter_shapes(model_config)
    problems = [f"missing tensor {name!r}" for name in expected if name not in tensors]
    problems += [f"{name!r} has shape {tuple(tensors[name].shape)}, the config says {shape}"
                 for name, shape in expected.items()
                 if name in tensors and tuple(tensors[name].shape) != shape]
    packed_width = -(-model_config.n_visible // 8)
    if _KNOWN_FRAMES in tensors and (tensors[_KNOWN_FRAMES].dim() != 2
                                     or tensors[_KNOWN_FRAMES].shape[1] != packed_width):
        problems.append(f"{_KNOWN_FRAMES!r} has shape {tuple(tensors[_KNOWN_FRAMES].shape)}, "
                        f"the config says (K, {packed_width})")
    problems += [f"unexpected tensor {name!r}" for name in tensors
                 if name not in expected and name != _KNOWN_FRAMES
                 and not name.startswith(_OPTIMIZER_PREFIX)]
    if problems:
        raise CheckpointError(f"{path}: does not fit its config {model_config}: "
                              + "; ".join(problems))
    model = build(model_config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.copy_(tensors[name])
    if _KNOWN_FRAMES in tensors:
        model.remember_frames(_unpack(tensors[_KNOWN_FRAMES], model_config.n_visible))
    model.to(device)
    optimizer_state = {k[len(_OPTIMIZER_PREFIX):]: v for k, v in tensors.items()
                       if k.startswith(_OPTIMIZER_PREFIX)}
    return Checkpoint(model, config, optimizer_state, metadata.get("package_version", ""))


def _pack(frames: torch.Tensor) -> torch.Tensor:
    """0/1 frames (K, V) as bits, 8 to a byte: (K, ceil(V / 8)) uint8."""
    return torch.from_numpy(np.packbits(frames.detach().cpu().numpy().astype(bool), axis=1))


def _unpack(packed: torch.Tensor, n_visible: int) -> torch.Tensor:
    """The frames that :func:`_pack` packed.

    >>> frames = torch.tensor([[1., 0] * 5, [0., 1] * 5])
    >>> bool((_unpack(_pack(frames), 10) == frames).all())
    True
    """
    bits = np.unpackbits(packed.numpy(), axis=1, count=n_visible)
    return torch.from_numpy(bits.astype(np.float32))


def _optimizer_tensors(model: RnnRbm, optimizer: torch.optim.Optimizer) -> dict:
    names = {id(p): name for name, p in model.named_parameters()}
    out = {}
    for param, state in optimizer.state.items():
        for key, value in state.items():
            value = value if torch.is_tensor(value) else torch.tensor(value)
            out[f"{_OPTIMIZER_PREFIX}{names[id(param)]}/{key}"] = value.detach().to("cpu").contiguous()
    return out


def restore_optimizer(optimizer: torch.optim.Optimizer, model: RnnRbm,
                      state: dict[str, torch.Tensor]) -> None:
    """Put optimizer state saved by :func:`save` back into ``optimizer`` (for ``model``)."""
    params = dict(model.named_parameters())
    for key, value in state.items():
        name, slot = key.split("/", 1)
        # Adam keeps its step count on the CPU; every other slot lives with its parameter.
        optimizer.state[params[name]][slot] = value if slot == "step" else value.to(params[name].device)
