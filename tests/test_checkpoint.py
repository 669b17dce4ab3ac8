import json
import os
import stat

import pytest
import torch
from safetensors.torch import save_file

from rnnrbm_music import checkpoint
from rnnrbm_music.checkpoint import CheckpointError
from rnnrbm_music.engine import RnnRbm, RnnRbmConfig


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = RnnRbm(RnnRbmConfig(n_hidden=24, n_recurrent=10))
    with torch.no_grad():
        for p in m.parameters():
            p.normal_()
    return m


def test_round_trip_is_bit_exact_and_keeps_config(model, tmp_path):
    path = checkpoint.save(tmp_path / "m.safetensors", model,
                           {"data": {"steps_per_quarter": 2}, "epochs_trained": 7})
    loaded = checkpoint.load(path)
    for (name, a), (_, b) in zip(model.named_parameters(), loaded.model.named_parameters()):
        assert torch.equal(a, b), name
    assert loaded.config["data"] == {"steps_per_quarter": 2}
    assert loaded.config["epochs_trained"] == 7
    assert loaded.config["model"] == {"n_visible": 88, "n_hidden": 24, "n_recurrent": 10,
                                      "articulation": False, "conditional": "rbm",
                                      "order": "ascending"}


def test_known_frames_round_trip_and_version_1_files_load_without_them(model, tmp_path):
    model.remember_frames((torch.rand(50, 88, generator=torch.Generator().manual_seed(1)) < 0.1))
    path = checkpoint.save(tmp_path / "m.safetensors", model)
    assert torch.equal(checkpoint.load(path).model.known_frames, model.known_frames)
    stored = rewrite(path, format_version="1")
    del stored["known_frames"]
    rewrite(path, stored)
    assert checkpoint.load(path).model.known_frames.shape == (0, 88)


def test_file_permissions_follow_the_umask_like_any_file_written(model, tmp_path):
    old = os.umask(0o022)
    try:
        path = checkpoint.save(tmp_path / "m.safetensors", model)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_optimizer_state_round_trips(model, tmp_path):
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.ones(1, 3, 88), k=1).backward()
    optimizer.step()
    path = checkpoint.save(tmp_path / "m.safetensors", model, {}, optimizer)
    loaded = checkpoint.load(path)
    fresh = torch.optim.Adam(loaded.model.parameters(), lr=0.01)
    checkpoint.restore_optimizer(fresh, loaded.model, loaded.optimizer_state)
    before = optimizer.state[model.W]
    after = fresh.state[loaded.model.W]
    assert torch.equal(before["exp_avg"], after["exp_avg"])
    assert float(before["step"]) == float(after["step"])


def test_missing_corrupt_and_foreign_files_are_clear_errors(model, tmp_path):
    with pytest.raises(CheckpointError, match="no such model file"):
        checkpoint.load(tmp_path / "absent.safetensors")
    path = checkpoint.save(tmp_path / "m.safetensors", model)
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="damaged.safetensors: not a safetensors model file"):
        checkpoint.load(damaged)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"weight": torch.zeros(3)}, str(foreign))
    with pytest.raises(CheckpointError, match="not an rnnrbm-music model"):
        checkpoint.load(foreign)
    pickle_file = tmp_path / "model.pt"
    torch.save(model.state_dict(), pickle_file)
    with pytest.raises(CheckpointError, match="not a safetensors model file"):
        checkpoint.load(pickle_file)


def rewrite(path, tensors=None, **metadata_changes):
    from safetensors import safe_open
    with safe_open(str(path), "pt") as f:
        metadata = f.metadata()
        stored = {k: f.get_tensor(k) for k in f.keys()}
    metadata.update(metadata_changes)
    save_file(tensors or stored, str(path), metadata=metadata)
    return stored


def test_other_versions_and_mismatched_shapes_say_what_does_not_fit(model, tmp_path):
    path = checkpoint.save(tmp_path / "m.safetensors", model)
    rewrite(path, format_version="99", package_version="9.9.9")
    with pytest.raises(CheckpointError, match="format version 99 .*9.9.9.* reads versions 1, 2"):
        checkpoint.load(path)
    path = checkpoint.save(tmp_path / "m.safetensors", model)
    stored = rewrite(path)
    stored["Wuu"] = torch.zeros(10, 11)
    del stored["u0"]
    rewrite(path, stored)
    with pytest.raises(CheckpointError, match=r"missing tensor 'u0'.*'Wuu' has shape \(10, 11\)"):
        checkpoint.load(path)
    path = checkpoint.save(tmp_path / "m.safetensors", model)
    rewrite(path, config=json.dumps({"model": {"n_hidden": "many"}}))
    with pytest.raises(CheckpointError):
        checkpoint.load(path)
