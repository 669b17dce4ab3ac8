"""Distributed training: two CPU processes under torchrun (gloo) against one process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from rnnrbm_music.engine import RnnRbmConfig, build

WORKER = Path(__file__).with_name("ddp_worker.py")


def run(args, out, conditional):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, *args, str(WORKER), str(out), "1" if args else "2",
                           conditional], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("conditional", ["rbm", "nade"])
def test_two_ranks_hold_identical_parameters_equal_to_one_process(tmp_path, conditional):
    ddp, single = tmp_path / "ddp", tmp_path / "single"
    ddp.mkdir()
    single.mkdir()
    run(["-m", "torch.distributed.run", "--standalone", "--nnodes=1", "--nproc_per_node=2"], ddp,
        conditional)
    run([], single, conditional)     # one process, accumulating the same two batches per step
    rank0, rank1 = load_file(ddp / "rank0.safetensors"), load_file(ddp / "rank1.safetensors")
    reference = load_file(single / "rank0.safetensors")
    torch.manual_seed(0)
    initial = build(RnnRbmConfig(n_hidden=40, n_recurrent=20, conditional=conditional)).W.detach()
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name
        assert torch.allclose(rank0[name], reference[name], atol=1e-5), name
    # Rank 0 alone wrote the checkpoint, and training did change the model.
    assert (ddp / "checkpoint.safetensors").is_file()
    assert not (ddp / "checkpoint.safetensors.partial").exists()
    assert not torch.allclose(rank0["W"], initial, atol=1e-4)
