"""The trainer's YAML config (configs/train/*.yaml) as typed dataclasses.

A run is: a model shape (`model`), two mixtures (`data.stable_dir` through warmup and stable
phases, `data.decay_dir` from the first decay step on), an optimizer, a WSD schedule, a length in
steps or tokens, held-out text for bits-per-byte evaluation, and a backend (plain torch, DDP under
torchrun, or DeepSpeed ZeRO through its JSON config).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from curation.config import ConfigError, load_config
from trainer.model import ModelConfig
from trainer.schedule import ScheduleConfig

BACKENDS = ("torch", "deepspeed")
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass
class DataConfig:
    stable_dir: str = ""
    decay_dir: str | None = None  # None: the stable mixture goes on through the decay phase
    seed: int = 0
    num_workers: int = 0  # DataLoader worker processes per rank
    shuffle: bool = True  # False: read the mixture's shards and rows in stored order (curriculum, block order)


@dataclass
class OptimizerConfig:
    """AdamW; `lr` is the base rate (muP: hidden 2-D weights get lr / (d_model / d_base))."""

    lr: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    weight_decay: float = 0.1
    grad_clip: float = 1.0  # max global gradient norm; 0 disables clipping


@dataclass
class EvalConfig:
    """Held-out text per domain (JSONL with a text field, or Parquet documents) for bits per byte."""

    sets: dict[str, str] = field(default_factory=dict)
    tokenizer_path: str | None = None  # default: the stable mixture manifest's tokenizer path
    max_bytes_per_set: int = 200_000
    every_steps: int = 0  # 0: only at the decay start and at the end
    micro_batch_size: int = 8


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    out_dir: str = "work/train"
    batch_size: int = 32  # sequences per optimizer step, all ranks together
    micro_batch_size: int = 8  # sequences per forward pass per rank; the rest is gradient accumulation
    max_steps: int | None = None
    max_tokens: int | None = None  # used when max_steps is not set
    seed: int = 0
    backend: str = "torch"
    deepspeed_config: str | None = None  # a DeepSpeed JSON (zero_optimization.stage 1 or 2)
    device: str = "auto"  # auto: cuda when available
    precision: str = "auto"  # auto: bf16 autocast on GPU, fp32 on CPU
    compile: bool = False  # torch.compile the model (GPU runs)
    threads: int = 0  # torch CPU threads; 0 leaves torch's default
    log_every: int = 10
    checkpoint_every: int = 0  # 0: only at the decay start and at the end
    keep_checkpoints: int = 2  # older step checkpoints are deleted (the decay-start one is kept)
    init_from: str | None = None  # a checkpoint to branch from (e.g. a stable-phase one into a decay)
    plot: bool = True  # write loss.png (loss and lr per step) beside log.jsonl

    def validate(self, where: str = "<config>") -> TrainConfig:
        if self.backend not in BACKENDS:
            raise ConfigError(f"{where}: backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"{where}: precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.backend == "deepspeed" and not self.deepspeed_config:
            raise ConfigError(f"{where}: backend deepspeed needs deepspeed_config (a DeepSpeed JSON file)")
        if not self.data.stable_dir:
            raise ConfigError(f"{where}: data.stable_dir is required (a mixture directory)")
        if self.max_steps is None and self.max_tokens is None:
            raise ConfigError(f"{where}: set max_steps or max_tokens")
        if self.batch_size < 1 or self.micro_batch_size < 1:
            raise ConfigError(f"{where}: batch_size and micro_batch_size must be >= 1")
        return self


def load_train_config(path: str | Path, **overrides) -> TrainConfig:
    """Read configs/train/*.yaml; `overrides` replace top-level keys (max_steps=..., out_dir=...)."""
    return load_config(path, TrainConfig, overrides).validate(str(path))
