"""The backends the loop trains through: plain torch (one process or DDP under torchrun) and
DeepSpeed ZeRO stage 1/2. Both expose the same four operations, so the loop does not branch:

    forward_backward(batch, scale, sync) -> sum of masked token losses of the micro-batch (detached)
    step(lr) -> gradient norm before clipping, after setting each group's rate to lr * lr_scale
    save(dir, rank) / load(dir)

`scale` turns a micro-batch's summed loss into its share of the step's mean loss over all masked
tokens of all micro-batches on all ranks (times the world size, because data parallelism averages
gradients over ranks). So the gradient is that of the token-weighted mean, whatever the split.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from trainer.config import TrainConfig
from trainer.model import Transformer, param_groups


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world_size > 1 or torch.distributed.is_initialized():
            torch.distributed.barrier()


def init_distributed(device_type: str, force: bool = False) -> Distributed:
    """Join the torchrun process group when WORLD_SIZE > 1 (or when `force`, for DeepSpeed)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1 and not force:
        return Distributed()
    if not torch.distributed.is_initialized():
        os.environ.setdefault("RANK", "0")
        os.environ.setdefault("LOCAL_RANK", "0")
        os.environ.setdefault("WORLD_SIZE", "1")
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(_free_port()))
        torch.distributed.init_process_group("nccl" if device_type == "cuda" else "gloo")
    return Distributed(torch.distributed.get_rank(), torch.distributed.get_world_size(),
                       int(os.environ.get("LOCAL_RANK", "0")))


def masked_loss_sum(model, batch: dict, autocast) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum of -ln p over the targets the loss mask keeps, number of such targets)."""
    with autocast():
        logits = model(batch["input_ids"], batch.get("doc_ids"))
    nll = F.cross_entropy(logits.float().flatten(0, 1), batch["targets"].flatten(), reduction="none")
    mask = batch["loss_mask"].flatten()
    return (nll * mask).sum(), mask.sum()


class TorchEngine:
    """AdamW with muP parameter groups over the model, wrapped in DDP when the world is > 1."""

    def __init__(self, model: Transformer, cfg: TrainConfig, dist: Distributed, device: torch.device, autocast):
        self.raw, self.cfg, self.dist, self.autocast = model, cfg, dist, autocast
        # torch.compile on the module, DDP around it; checkpoints always save the plain module.
        self.model = torch.compile(model) if cfg.compile else model
        if dist.world_size > 1:
            self.model = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[device.index] if device.type == "cuda" else None)
        opt = cfg.optimizer
        self.optimizer = torch.optim.AdamW(param_groups(model, opt.lr, opt.weight_decay),
                                           betas=(opt.beta1, opt.beta2), eps=opt.eps,
                                           fused=device.type == "cuda" or None)

    def forward_backward(self, batch: dict, scale: float, sync: bool) -> torch.Tensor:
        no_sync = self.model.no_sync if (self.dist.world_size > 1 and not sync) else contextlib.nullcontext
        with no_sync():
            loss_sum, _ = masked_loss_sum(self.model, batch, self.autocast)
            (loss_sum * scale).backward()
        return loss_sum.detach()

    def step(self, lr: float) -> float:
        clip = self.cfg.optimizer.grad_clip
        norm = torch.nn.utils.clip_grad_norm_(self.raw.parameters(), clip if clip > 0 else float("inf"))
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group["lr_scale"]
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(norm)

    def group_rates(self) -> dict[str, float]:
        return {g["name"]: g["lr"] for g in self.optimizer.param_groups}

    def save(self, directory: Path, dist: Distributed) -> None:
        if dist.is_main:
            torch.save({"model": self.raw.state_dict(), "optimizer": self.optimizer.state_dict()},
                       directory / "model.pt")

    def load(self, directory: Path) -> None:
        state = torch.load(directory / "model.pt", map_location="cpu", weights_only=True)
        self.raw.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])


class DeepSpeedEngine:
    """The same model and muP groups through deepspeed.initialize (ZeRO 1/2 from the JSON config)."""

    def __init__(self, model: Transformer, cfg: TrainConfig, dist: Distributed, device: torch.device, autocast):
        try:
            import deepspeed
        except ImportError:
            raise ValueError("backend deepspeed needs the deepspeed package: pip install 'curate[deepspeed]'") from None
        self.raw, self.cfg, self.autocast = model, cfg, autocast
        path = Path(cfg.deepspeed_config)
        try:
            ds_config = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: cannot read the DeepSpeed config ({exc})") from None
        stage = ds_config.get("zero_optimization", {}).get("stage", 0)
        if stage not in (0, 1, 2):
            raise ValueError(f"{path}: zero_optimization.stage {stage} is not supported (use 1 or 2)")
        accum = cfg.batch_size // (cfg.micro_batch_size * dist.world_size)
        # Batch shape and clipping come from our config, so the two backends train the same run.
        ds_config.update(train_batch_size=cfg.batch_size, train_micro_batch_size_per_gpu=cfg.micro_batch_size,
                         gradient_accumulation_steps=accum, gradient_clipping=cfg.optimizer.grad_clip)
        opt = cfg.optimizer
        groups = param_groups(model, opt.lr, opt.weight_decay)
        self.lr_scales = [g["lr_scale"] for g in groups]
        self.names = [g["name"] for g in groups]
        optimizer = torch.optim.AdamW(groups, betas=(opt.beta1, opt.beta2), eps=opt.eps)
        self.engine, self.optimizer, _, _ = deepspeed.initialize(model=model, optimizer=optimizer, config=ds_config)
        if cfg.compile:
            self.engine.compile()

    def forward_backward(self, batch: dict, scale: float, sync: bool) -> torch.Tensor:
        loss_sum, _ = masked_loss_sum(self.engine, batch, self.autocast)
        self.engine.backward(loss_sum * scale, scale_wrt_gas=False)
        if not sync:
            self.engine.step()  # a micro step: DeepSpeed only updates at the accumulation boundary
        return loss_sum.detach()

    def step(self, lr: float) -> float:
        for group, scale in zip(self.optimizer.param_groups, self.lr_scales):
            group["lr"] = lr * scale
        self.engine.step()
        norm = self.engine.get_global_grad_norm()
        return float(norm) if norm is not None else float("nan")

    def group_rates(self) -> dict[str, float]:
        return {name: g["lr"] for name, g in zip(self.names, self.optimizer.param_groups)}

    def save(self, directory: Path, dist: Distributed) -> None:
        self.engine.save_checkpoint(str(directory), tag="deepspeed", save_latest=False)

    def load(self, directory: Path) -> None:
        self.engine.load_checkpoint(str(directory), tag="deepspeed", load_lr_scheduler_states=False)


def make_engine(model: Transformer, cfg: TrainConfig, dist: Distributed, device: torch.device, autocast):
    engine_cls = DeepSpeedEngine if cfg.backend == "deepspeed" else TorchEngine
    return engine_cls(model, cfg, dist, device, autocast)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
