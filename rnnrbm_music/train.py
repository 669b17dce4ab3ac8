"""Training an :class:`~rnnrbm_music.engine.RnnRbm`: one loop, on one process or many.

Sequences are cut into subsequences (100 frames by default, as the tutorial) and shuffled into
batches of many subsequences; the CD-k cost of a whole batch is computed at once. Around that:
SGD (the tutorial's), SGD with Nesterov momentum or Adam; gradient-norm clipping; a learning-rate
schedule; optional pretraining of W, bv, bh as a plain RBM on shuffled frames; a validation pass
every epoch (exact pseudo-likelihood per frame, lower is better) with early stopping that restores
the best model; checkpoints every N epochs and resuming from one; Ctrl+C keeps the model trained
so far; a batch whose loss or gradient is not finite is skipped and counted.

Run the same code under ``torchrun --nproc_per_node=N`` for DistributedDataParallel (gloo on the
CPU, nccl on GPUs): each rank takes its share of every step's batches and rank 0 writes the
checkpoints. An optimizer step always averages the gradients of ``world_size *
grad_accumulation`` batches, each drawn with its own seeded generator, so one process with
``grad_accumulation=N`` computes what N processes compute.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import sys
import time
from pathlib import Path
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import torch
import torch.distributed as dist

from . import checkpoint
from .checks import RULES, checked
from .engine import RnnRbm, rbm
from .evaluate import frame_accuracy, monitor
from .progress import Progress

OPTIMIZERS = ("sgd", "nesterov", "adam")
SCHEDULES = ("constant", "cosine", "exponential")


@dataclass
class TrainConfig:
    """Training settings; the defaults are the deeplearning.net tutorial's where it has one."""

    epochs: int = 200
    batch_size: int = 64            #: subsequences per batch (the tutorial used 1)
    seq_len: int = 100              #: frames per subsequence
    k: int = 15                     #: Gibbs steps of CD-k
    optimizer: str = "sgd"          #: "sgd", "nesterov" or "adam"
    lr: float = 0.001
    momentum: float = 0.9           #: for "nesterov"
    weight_decay: float = 0.0
    dropout: float = 0.0            #: of the RNN state where it sets the RBMs' biases
    transpose: int = 0              #: shift each subsequence by a random -N..N semitones per epoch
    clip_grad: float | None = None  #: maximum gradient norm
    lr_schedule: str = "constant"   #: "constant", "cosine" (to 0 at the last epoch), "exponential"
    lr_decay: float = 0.98          #: per epoch, for "exponential"
    decay_epochs: int | None = None  #: "cosine" over the last N epochs only, constant before
    pretrain_epochs: int = 0        #: plain-RBM pretraining of W, bv, bh on shuffled frames
    pretrain_lr: float = 0.01
    patience: int | None = None     #: stop after this many epochs without a better validation
    valid_accuracy: bool = False    #: also report expected frame accuracy on validation each epoch
    grad_accumulation: int = 1      #: batches per optimizer step on each process
    max_nonfinite: int = 20         #: consecutive skipped batches before giving up
    seed: int = 0
    checkpoint_every: int = 0       #: epochs between checkpoints (0: only at the end)
    keep_checkpoints: bool = False  #: keep each periodic checkpoint as NAME-epochNNNN.safetensors

    def __post_init__(self):
        for setting in fields(self):   # each number by its rule in .checks, None: not set
            value = getattr(self, setting.name)
            if setting.name in RULES and value is not None:
                setattr(self, setting.name, checked(setting.name, value))
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.lr_schedule not in SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {SCHEDULES}, got {self.lr_schedule!r}")
        if self.decay_epochs is not None and self.lr_schedule != "cosine":
            raise ValueError(f"decay_epochs ({self.decay_epochs}) is the length of a cosine "
                             f"decay: it needs lr_schedule 'cosine', not {self.lr_schedule!r}")
        if self.decay_epochs is not None and self.decay_epochs > self.epochs:
            raise ValueError(f"decay_epochs ({self.decay_epochs}) must be at most epochs "
                             f"({self.epochs})")


@dataclass
class TrainResult:
    """What happened: per-epoch history, the best validation figure, why training stopped."""

    history: list[dict] = field(default_factory=list)
    epochs_trained: int = 0
    best_valid: float | None = None
    best_epoch: int | None = None
    model_epoch: int = 0            #: the epoch whose weights the model holds at the end
    skipped_batches: int = 0
    interrupted: bool = False
    stopped_early: bool = False


class TrainingDiverged(RuntimeError):
    """Too many consecutive batches had a non-finite loss or gradient."""


def make_chunks(sequences: Sequence, seq_len: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut (T, V) sequences into subsequences of ``seq_len`` frames, zero-padded: (N, L, V) float
    frames and (N,) lengths. The last piece of a sequence keeps its true length.

    >>> chunks, lengths = make_chunks([np.ones((250, 88), bool)], 100)
    >>> chunks.shape, lengths.tolist()
    (torch.Size([3, 100, 88]), [100, 100, 50])
    """
    pieces = []
    for seq in sequences:
        seq = torch.as_tensor(np.asarray(seq), dtype=torch.float32)
        pieces.extend(seq[i:i + seq_len] for i in range(0, len(seq), seq_len))
    if not pieces:
        raise ValueError("no frames to train on")
    V = pieces[0].shape[1]
    chunks = torch.zeros(len(pieces), seq_len, V)
    lengths = torch.tensor([len(p) for p in pieces])
    for i, piece in enumerate(pieces):
        chunks[i, :len(piece)] = piece
    return chunks.to(device), lengths.to(device)


def transpose_frames(v: torch.Tensor, shifts: torch.Tensor, blocks: int = 1) -> torch.Tensor:
    """Shift each sequence of ``v`` (B, T, V) up by ``shifts`` (B,) semitones (down if
    negative); notes shifted past either end of the keyboard are dropped. ``blocks`` is how many
    keyboards a frame holds side by side (2 for the articulation layout: sounding, then onset
    units), each shifted on its own.

    >>> transpose_frames(torch.tensor([[[1., 0, 0, 1]], [[1., 0, 0, 1]]]), torch.tensor([1, -1]))
    tensor([[[0., 1., 0., 0.]],
    <BLANKLINE>
            [[0., 0., 1., 0.]]])
    >>> transpose_frames(torch.tensor([[[0., 1, 0, 1]]]), torch.tensor([1]), blocks=2)
    tensor([[[0., 0., 0., 0.]]])
    """
    V = v.shape[-1]
    keys = V // blocks
    column = torch.arange(V, device=v.device)
    source = column - shifts[:, None]                                     # (B, V): key i <- i - s
    inside = (source >= 0) & (source < V) & (source // keys == column // keys)
    gathered = torch.gather(v, 2, source.clamp(0, V - 1)[:, None, :].expand(-1, v.shape[1], -1))
    return gathered * inside[:, None, :]


def _batch_seed(seed: int, stage: int, epoch: int, index: int) -> int:
    """The seed of one batch's generator (stage 0: training, 1: RBM pretraining)."""
    return int(np.random.SeedSequence([seed, stage, epoch, index]).generate_state(1)[0])


def _make_optimizer(params, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, weight_decay=config.weight_decay,
                           momentum=config.momentum if config.optimizer == "nesterov" else 0.0,
                           nesterov=config.optimizer == "nesterov")


def _learning_rate(config: TrainConfig, epoch: int) -> float:
    """The learning rate of ``epoch`` (from 0). "cosine" with ``decay_epochs`` holds ``lr``, then
    falls to 0 at the last epoch over the last ``decay_epochs``, as a warmup-stable-decay
    schedule does without the warmup.

    >>> config = TrainConfig(epochs=10, lr=0.01, lr_schedule="cosine", decay_epochs=4)
    >>> [round(_learning_rate(config, epoch), 4) for epoch in (0, 5, 6, 7, 8, 9)]
    [0.01, 0.01, 0.01, 0.0085, 0.005, 0.0015]
    """
    if config.lr_schedule == "cosine":
        decay = config.decay_epochs or config.epochs
        into = max(epoch - (config.epochs - decay), 0)
        return config.lr * 0.5 * (1 + math.cos(math.pi * into / max(decay, 1)))
    if config.lr_schedule == "exponential":
        return config.lr * config.lr_decay ** epoch
    return config.lr


def setup_distributed(device: torch.device) -> tuple[int, int]:
    """Join the process group torchrun describes (if any); returns (rank, world size)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def pretrain_rbm(model: RnnRbm, sequences: Sequence, config: TrainConfig,
                 device: torch.device, progress: bool = True) -> None:
    """Train W, bv, bh as one plain RBM on all training frames, shuffled (the tutorial's idea)."""
    frames = torch.cat([torch.as_tensor(np.asarray(s), dtype=torch.float32) for s in sequences])
    frames = frames.to(device)
    params = [model.W, model.bv, model.bh]
    optimizer = torch.optim.SGD(params, lr=config.pretrain_lr)
    batch = config.batch_size * config.seq_len
    with Progress("pretraining RBM", config.pretrain_epochs, "epochs", enabled=progress) as shown:
        for epoch in range(config.pretrain_epochs):
            order = torch.from_numpy(np.random.default_rng([config.seed, 1, epoch])
                                     .permutation(len(frames))).to(device)
            for i, start in enumerate(range(0, len(frames), batch)):
                generator = torch.Generator(device).manual_seed(
                    _batch_seed(config.seed, 1, epoch, i))
                optimizer.zero_grad()
                rbm.cd_loss(frames[order[start:start + batch]], model.W, model.bv, model.bh,
                            config.k, generator).backward()
                optimizer.step()
            shown.advance()


def train(model: RnnRbm, sequences: Sequence, valid: Sequence | None = None,
          config: TrainConfig | None = None, *, checkpoint_path: str | os.PathLike | None = None,
          checkpoint_config: dict | None = None, resume_from: str | os.PathLike | None = None,
          progress: bool = True) -> TrainResult:
    """Train ``model`` on ``sequences`` (each a (T, V) array of 0/1 frames) in place; the
    model also keeps their distinct frames (:meth:`RnnRbm.remember_frames`) for its sampler.

    ``valid`` sequences give the validation figure of every epoch (negative log
    pseudo-likelihood per frame; an RNN-NADE's exact NLL per frame) for early stopping.
    ``checkpoint_config`` is stored in the checkpoints beside the training settings (the
    composer puts its data settings there). ``progress`` writes a line per epoch on standard
    output (rank 0 alone), each figure named, with the time elapsed and an estimate of the
    time left (docs/training.md, "What training shows").

    >>> from rnnrbm_music.engine import RnnRbmConfig
    >>> model = RnnRbm(RnnRbmConfig(n_hidden=16, n_recurrent=8))
    >>> data = [np.random.default_rng(0).random((60, 88)) < 0.05]
    >>> result = train(model, data, config=TrainConfig(epochs=2, k=1), progress=False)
    >>> result.epochs_trained, len(result.history)
    (2, 2)
    """
    run = _Run.set_up(model, sequences, valid, config or TrainConfig(), checkpoint_path,
                      checkpoint_config, resume_from, progress)
    config, result = run.config, run.result
    # A line per epoch on standard output (the training log), above a bar on a terminal.
    shown = Progress("training", config.epochs, "epochs", done=result.epochs_trained,
                     enabled=progress and run.rank == 0, stream=sys.stdout,
                     status_lines=False)
    try:
        for epoch in range(result.epochs_trained, config.epochs):
            record = run.train_epoch(epoch)
            if run.valid_frames:
                run.validate(record)
            run.end_epoch(record)
            shown.advance()
            shown.write(f"{run.describe(record)}  {shown.timing()}")
            if run.patience_ran_out():
                result.stopped_early = True
                break
    except KeyboardInterrupt:
        result.interrupted = True
        if run.rank == 0:
            print(f"\ninterrupted after {result.epochs_trained} epoch(s); keeping the model so far")
    finally:
        shown.close()
    return run.finish()


class _Run:
    """One training run, step by step: :meth:`set_up`; every epoch :meth:`train_epoch` (one
    :meth:`optimizer_step` after another), :meth:`validate`, :meth:`end_epoch` (the history, a
    periodic checkpoint) and :meth:`patience_ran_out`; then :meth:`finish`."""

    def __init__(self, model: RnnRbm, config: TrainConfig, optimizer: torch.optim.Optimizer,
                 result: TrainResult, rank: int, world: int, chunks: torch.Tensor,
                 lengths: torch.Tensor, valid_frames: list[torch.Tensor] | None,
                 checkpoint_path: str | os.PathLike | None, checkpoint_config: dict | None):
        self.model, self.config, self.optimizer, self.result = model, config, optimizer, result
        self.rank, self.world = rank, world
        self.device = model.W.device
        self.module = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
        self.chunks, self.lengths = chunks, lengths
        self.positions = torch.arange(config.seq_len, device=self.device)
        self.group = world * config.grad_accumulation   # batches averaged by one step
        self.valid_frames = valid_frames
        self.checkpoint_path, self.checkpoint_config = checkpoint_path, checkpoint_config
        self.best_state: dict | None = None   # the weights of this run's best validation epoch
        self.consecutive_bad = 0              # batches skipped in a row (non-finite)

    @classmethod
    def set_up(cls, model: RnnRbm, sequences: Sequence, valid: Sequence | None,
               config: TrainConfig, checkpoint_path: str | os.PathLike | None,
               checkpoint_config: dict | None, resume_from: str | os.PathLike | None,
               progress: bool) -> _Run:
        """Join the process group, make the optimizer, resume from a checkpoint (or pretrain
        the RBM), and cut the data into subsequences on the model's device."""
        device = model.W.device
        rank, world = setup_distributed(device)
        result = TrainResult()
        optimizer = _make_optimizer(model.parameters(), config)
        if resume_from is not None:
            saved = checkpoint.load(resume_from, device)
            if saved.model.config != model.config:
                raise checkpoint.CheckpointError(
                    f"{resume_from}: its model ({saved.model.config.describe()}) is not the one "
                    f"to train ({model.config.describe()}): resume with the same sizes and layout")
            model.load_state_dict(saved.model.state_dict())
            checkpoint.restore_optimizer(optimizer, model, saved.optimizer_state)
            result.epochs_trained = int(saved.config.get("epochs_trained", 0))
            result.model_epoch = int(saved.config.get("model_epoch", result.epochs_trained))
            result.history = list(saved.config.get("history", []))
            result.best_valid = saved.config.get("best_valid")
            result.best_epoch = saved.config.get("best_epoch")
        elif config.pretrain_epochs:
            if model.config.conditional == "nade":
                raise ValueError("pretrain_epochs pretrains an RBM: an RNN-NADE has none "
                                 "(set pretrain_epochs=0)")
            pretrain_rbm(model, sequences, config, device, progress and rank == 0)
        if model.config.conditional == "rbm":   # where the RBM sampler starts its chains
            model.remember_frames(torch.cat([torch.as_tensor(np.asarray(s, dtype=np.float32))
                                             for s in sequences]))
        chunks, lengths = make_chunks(sequences, config.seq_len, device)
        valid_frames = [torch.as_tensor(np.asarray(s), dtype=torch.float32, device=device)
                        for s in valid] if valid else None
        return cls(model, config, optimizer, result, rank, world, chunks, lengths, valid_frames,
                   checkpoint_path, checkpoint_config)

    def train_epoch(self, epoch: int) -> dict:
        """One pass over the subsequences, shuffled into batches: the epoch's record (mean
        training cost per frame, learning rate, seconds, frames per second, batches skipped so
        far)."""
        config = self.config
        began = time.perf_counter()
        for param_group in self.optimizer.param_groups:
            param_group["lr"] = _learning_rate(config, epoch)
        order = np.random.default_rng([config.seed, 0, epoch]).permutation(len(self.chunks))
        batches = [order[i:i + config.batch_size] for i in range(0, len(order), config.batch_size)]
        n_steps = len(batches) // self.group if self.group > 1 else len(batches)
        losses, frames_seen = [], 0
        for step in range(n_steps):
            loss, frames = self.optimizer_step(batches, step, epoch)
            frames_seen += frames
            if loss is not None:
                losses.append(loss)
        seconds = time.perf_counter() - began
        return {"epoch": epoch + 1, "loss": float(np.mean(losses)) if losses else None,
                "lr": self.optimizer.param_groups[0]["lr"], "seconds": round(seconds, 3),
                "frames_per_second": round(frames_seen * self.world / seconds, 1),
                "skipped": self.result.skipped_batches}

    def optimizer_step(self, batches: list[np.ndarray], step: int, epoch: int
                       ) -> tuple[float | None, int]:
        """The gradients of this process's ``grad_accumulation`` batches of ``step``, averaged
        over all processes, then one optimizer step unless the loss or the gradient is not
        finite: (the cost, None if skipped; the frames this process saw)."""
        config, model = self.config, self.model
        self.optimizer.zero_grad(set_to_none=True)
        step_loss, frames_seen = 0.0, 0
        for j in range(config.grad_accumulation):
            index = step * self.group + self.rank * config.grad_accumulation + j
            rows = torch.from_numpy(batches[index]).to(self.device)
            length = int(self.lengths[rows].max())
            v = self.chunks[rows, :length]
            mask = self.positions[:length] < self.lengths[rows, None]
            generator = torch.Generator(self.device).manual_seed(
                _batch_seed(config.seed, 0, epoch, index))
            if config.transpose:
                shifts = torch.randint(-config.transpose, config.transpose + 1, (len(rows),),
                                       generator=generator, device=self.device)
                v = transpose_frames(v, shifts, 2 if model.config.articulation else 1)
            syncing = (j == config.grad_accumulation - 1 or self.world == 1)
            with contextlib.nullcontext() if syncing else self.module.no_sync():
                loss = self.module(v, mask, config.k, generator,
                                   config.dropout) / config.grad_accumulation
                loss.backward()
            step_loss += float(loss.detach())
            frames_seen += int(mask.sum())
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad or float("inf"))
        bad = torch.tensor(float(not (math.isfinite(step_loss) and torch.isfinite(norm))),
                           device=self.device)
        if self.world > 1:
            dist.all_reduce(bad, op=dist.ReduceOp.MAX)
        if bad.item():
            self.result.skipped_batches += 1
            self.consecutive_bad += 1
            self.optimizer.zero_grad(set_to_none=True)
            if self.consecutive_bad >= config.max_nonfinite:
                raise TrainingDiverged(
                    f"{self.consecutive_bad} consecutive batches had a non-finite loss or "
                    f"gradient (epoch {epoch + 1}); lower the learning rate (lr={config.lr}) "
                    "or set clip_grad")
            return None, frames_seen
        self.consecutive_bad = 0
        self.optimizer.step()
        return step_loss, frames_seen

    def validate(self, record: dict) -> None:
        """Add the validation figures to the epoch's ``record``; keep the weights if they are
        the best so far."""
        result = self.result
        record["valid"] = monitor(self.model, self.valid_frames)
        if self.config.valid_accuracy:
            # Over the validation frames' own distinct frames only (no AIS): cheap.
            record["valid_accuracy"] = frame_accuracy(self.model, self.valid_frames, samples=0)
        if result.best_valid is None or record["valid"] < result.best_valid:
            result.best_valid, result.best_epoch = record["valid"], record["epoch"]
            self.best_state = copy.deepcopy(self.model.state_dict())

    def describe(self, record: dict) -> str:
        """An epoch's figures, each named, in nats to four decimals (accuracy in percent):
        ``epoch 12/200  CD-15 cost per frame -3.1416 nats  valid pseudo-NLL per frame 5.9432
        nats  (best 5.9011 at epoch 9)``. The RNN-RBM's training cost is the CD-k cost (the
        mean free-energy gap F(v) - F(v_k), a gradient estimate, not a likelihood) and its
        validation figure the pseudo-NLL; the RNN-NADE's are both its exact NLL."""
        exact = self.model.config.conditional == "nade"
        cost = "train NLL per frame" if exact else f"CD-{self.config.k} cost per frame"
        figures = [f"epoch {record['epoch']}/{self.config.epochs}",
                   f"{cost} {record['loss']:.4f} nats" if record["loss"] is not None
                   else f"{cost}: none (every batch skipped)"]
        if "valid" in record:
            figures.append(f"valid {'NLL' if exact else 'pseudo-NLL'} per frame "
                           f"{record['valid']:.4f} nats")
        if record.get("valid_accuracy") is not None:    # an RNN-NADE's needs draws: None
            figures.append(f"valid frame accuracy {100 * record['valid_accuracy']:.2f} %")
        if self.result.best_epoch is not None:
            figures.append(f"(best {self.result.best_valid:.4f} at epoch {self.result.best_epoch})")
        if record["skipped"]:
            figures.append(f"{record['skipped']} batch(es) skipped so far (not finite)")
        return "  ".join(figures)

    def end_epoch(self, record: dict) -> None:
        """Add the epoch's ``record`` to the history; write the periodic checkpoint when one is
        due."""
        result, config, epoch = self.result, self.config, record["epoch"]
        result.history.append(record)
        result.epochs_trained = result.model_epoch = epoch
        if config.checkpoint_every and epoch % config.checkpoint_every == 0:
            self.save_checkpoint(_epoch_path(self.checkpoint_path, epoch)
                                 if config.keep_checkpoints else self.checkpoint_path)

    def patience_ran_out(self) -> bool:
        """Whether ``patience`` epochs have gone by since the best validation figure."""
        result = self.result
        return (self.config.patience is not None and result.best_epoch is not None
                and result.epochs_trained - result.best_epoch >= self.config.patience)

    def save_checkpoint(self, path: str | os.PathLike | None) -> None:
        """The model, the optimizer and the run so far, written by rank 0 alone."""
        result = self.result
        if self.rank == 0 and path is not None:
            checkpoint.save(path, self.model, {**(self.checkpoint_config or {}),
                                               "training": asdict(self.config),
                                               "epochs_trained": result.epochs_trained,
                                               "best_valid": result.best_valid,
                                               "best_epoch": result.best_epoch,
                                               "model_epoch": result.model_epoch,
                                               "history": result.history}, self.optimizer)

    def finish(self) -> TrainResult:
        """Restore the best validation epoch of this run and write the last checkpoint. One
        from before a resume is not in memory any more: the model then keeps the last epoch's
        weights."""
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
            self.result.model_epoch = self.result.best_epoch
        self.save_checkpoint(self.checkpoint_path)
        return self.result


def _epoch_path(path: str | os.PathLike | None, epoch: int) -> Path | None:
    """``run.safetensors`` -> ``run-epoch0040.safetensors`` (kept checkpoints, for selecting a
    model afterwards on another figure, e.g. validation NLL)."""
    if path is None:
        return None
    path = Path(path)
    return path.with_name(f"{path.stem}-epoch{epoch:04d}{path.suffix}")
