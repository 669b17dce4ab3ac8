"""Trains a small RNN-RBM or RNN-NADE for one epoch and saves each rank's parameters (used by
test_ddp.py).

    python ddp_worker.py OUT_DIR GRAD_ACCUMULATION CONDITIONAL        # one process
    torchrun --standalone --nproc_per_node=2 ddp_worker.py OUT_DIR 1 CONDITIONAL
"""

import os
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from rnnrbm_music import Corpus
from rnnrbm_music.engine import RnnRbmConfig, build
from rnnrbm_music.train import TrainConfig, train

JSB = Path(__file__).resolve().parents[2] / "shared" / "data" / "benchmarks" / "jsb_chorales.pickle"

if __name__ == "__main__":
    out, accumulation, conditional = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    torch.manual_seed(0)
    model = build(RnnRbmConfig(n_hidden=40, n_recurrent=20, conditional=conditional))
    data = [roll.frames for roll in Corpus.from_benchmark(JSB, "train")][:48]
    config = TrainConfig(epochs=1, k=3, batch_size=4, grad_accumulation=accumulation,
                         optimizer="adam", lr=0.01, seed=5)
    train(model, data, config=config, checkpoint_path=out / "checkpoint.safetensors",
          progress=False)
    rank = int(os.environ.get("RANK", "0"))
    save_file({name: p.detach().contiguous() for name, p in model.named_parameters()},
              str(out / f"rank{rank}.safetensors"))
