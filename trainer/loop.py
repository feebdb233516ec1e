"""The training loop: WSD schedule, stable-to-decay mixture switch, evaluation, exact resume.

    from trainer.config import load_train_config
    from trainer.loop import train
    summary = train(load_train_config("configs/train/tiny.yaml", max_steps=200))

Steps are counted as completed optimizer steps: step s trains with the rate schedule.factor(s),
reads the stable mixture while s < decay start and the decay mixture (when configured) from then on,
and a checkpoint named step-s holds the state after s steps. A run resumes by itself from the last
checkpoint in its out_dir; `init_from` starts a new run (a branch) from another run's checkpoint.
Both refuse a schedule that would have given the already-trained steps different rates.
"""

from __future__ import annotations

import contextlib
import json
import random
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from curation.config import to_dict
from mixtures.loader import MixtureDataset, MixtureLoader
from trainer.checkpoint import list_checkpoints, load_rng, load_trainer_state, save_checkpoint
from trainer.config import TrainConfig
from trainer.engine import init_distributed, make_engine
from trainer.evaluation import evaluate, load_held_out_sets
from trainer.model import Transformer
from trainer.report import RunLog, plot_run, read_log
from trainer.schedule import WSDSchedule


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def autocast_for(precision: str, device: torch.device):
    """A zero-argument context factory: bf16 autocast on GPU (or when asked), else nothing."""
    if precision == "bf16" or (precision == "auto" and device.type == "cuda"):
        return lambda: torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext


class Run:
    """One training run's state, built from a config; `train()` is the usual way in."""

    def __init__(self, cfg: TrainConfig, progress: bool = True):
        self.cfg, self.progress = cfg, progress
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        device = resolve_device(cfg.device)
        self.dist = init_distributed(device.type, force=cfg.backend == "deepspeed")
        if device.type == "cuda":
            device = torch.device("cuda", self.dist.local_rank)
            torch.cuda.set_device(device)
        self.device, self.autocast = device, autocast_for(cfg.precision, device)
        self.out_dir = Path(cfg.out_dir)

        with_docs = not cfg.model.cross_doc_attention
        mixture = dict(batch_size=cfg.micro_batch_size, seed=cfg.data.seed, rank=self.dist.rank,
                       world_size=self.dist.world_size, with_doc_ids=with_docs, shuffle=cfg.data.shuffle)
        self.stable_data = MixtureDataset(cfg.data.stable_dir, **mixture)
        self.decay_data = MixtureDataset(cfg.data.decay_dir, **mixture) if cfg.data.decay_dir else None
        self.seq_len = self.stable_data.seq_len
        manifest = self.stable_data.manifest
        if self.decay_data is not None:
            other = self.decay_data.manifest
            for key in ("seq_len", "vocab_size", "tokenizer_sha256"):
                if key in manifest and key in other and manifest[key] != other[key]:
                    raise ValueError(f"stable and decay mixtures differ in {key}: {manifest[key]} vs {other[key]}")
        vocab = cfg.model.vocab_size or int(manifest.get("vocab_size", 0))
        if manifest.get("vocab_size", 0) > vocab:
            raise ValueError(f"model.vocab_size {vocab} is smaller than the mixture's {manifest['vocab_size']}")
        self.model_cfg = replace(cfg.model, vocab_size=vocab)

        per_pass = cfg.micro_batch_size * self.dist.world_size
        if cfg.batch_size % per_pass:
            raise ValueError(f"batch_size {cfg.batch_size} is not a multiple of micro_batch_size x ranks ({per_pass})")
        self.accum_steps = cfg.batch_size // per_pass
        self.tokens_per_step = cfg.batch_size * self.seq_len
        total = cfg.max_steps if cfg.max_steps is not None else cfg.max_tokens // self.tokens_per_step
        self.schedule = WSDSchedule.from_config(cfg.schedule, total)

        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)
        random.seed(cfg.seed)
        model = Transformer(self.model_cfg).to(device)
        self.model = model
        self.engine = make_engine(model, cfg, self.dist, device, self.autocast)
        self.loaders = {"stable": MixtureLoader(self.stable_data, cfg.data.num_workers)}
        if self.decay_data is not None:
            self.loaders["decay"] = MixtureLoader(self.decay_data, cfg.data.num_workers)
        self.step, self.tokens = 0, 0
        self.resumed_from = self._resume()
        # Resuming this run's own checkpoint (not a branch from another run's).
        self.own_resume = (self.resumed_from is not None
                           and self.resumed_from.resolve().parent.parent == self.out_dir.resolve())
        self.log = RunLog(self.out_dir, self.dist.is_main, self.step if self.own_resume else None)
        # Eval sets: the config's, else the held-out sets the stable mixture's manifest names.
        sets = cfg.eval.sets or {name: str(Path(cfg.data.stable_dir) / path)
                                 for name, path in manifest.get("held_out", {}).items()}
        tokenizer = cfg.eval.tokenizer_path or manifest_tokenizer(manifest)
        self.held_out = load_held_out_sets(sets, tokenizer, self.seq_len, cfg.eval.max_bytes_per_set,
                                           manifest.get("eos_id")) if sets else []
        if self.dist.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            resolved = to_dict(cfg) | {"model": asdict(self.model_cfg), "resolved": {
                "total_steps": self.schedule.total_steps, "decay_start": self.schedule.decay_start,
                "accum_steps": self.accum_steps, "world_size": self.dist.world_size, "seq_len": self.seq_len,
                "non_embedding_params": self.model_cfg.num_non_embedding_params(),
                "params": self.model_cfg.num_params()}}
            (self.out_dir / "config.json").write_text(json.dumps(resolved, indent=1) + "\n")

    # -- resume ------------------------------------------------------------------------------

    def _resume(self) -> Path | None:
        own = list_checkpoints(self.out_dir)
        source = own[-1] if own else (Path(self.cfg.init_from) if self.cfg.init_from else None)
        if source is None:
            return None
        state = load_trainer_state(source)
        trained = WSDSchedule(**state["schedule"])
        if not self.schedule.agrees_until(trained, state["step"]):
            raise ValueError(f"{source}: this config's schedule would have given the {state['step']} steps already "
                             f"trained other learning rates ({trained} vs {self.schedule}); a branch must start "
                             f"at or before the checkpoint's decay start")
        try:
            self.engine.load(source)
        except (RuntimeError, KeyError) as exc:  # another model shape or optimizer layout
            raise ValueError(f"{source}: checkpoint does not fit this config's model "
                             f"({str(exc).splitlines()[0]})") from None
        load_rng(source, self.dist.rank)
        for name, loader in self.loaders.items():
            saved = state["loaders"].get(name)
            if saved and saved["start"] > 0:  # an unread mixture may be swapped for another one
                loader.load_state_dict(saved)
        self.step, self.tokens = state["step"], state["tokens"]
        return source

    def _trainer_state(self) -> dict:
        return {"step": self.step, "tokens": self.tokens, "schedule": asdict(self.schedule),
                "loaders": {name: loader.state_dict() for name, loader in self.loaders.items()},
                "config": json.loads(json.dumps(to_dict(self.cfg)))}

    def checkpoint(self) -> Path:
        protected = {self.schedule.decay_start}
        return save_checkpoint(self.out_dir, self.step, self._trainer_state(), self.engine, self.dist,
                               self.cfg.keep_checkpoints, protected)

    # -- steps -------------------------------------------------------------------------------

    def loader_for(self, step: int) -> MixtureLoader:
        decaying = step >= self.schedule.decay_start and self.schedule.decay_steps > 0
        if decaying and "decay" in self.loaders:
            self.loaders["stable"].close()  # its workers stop; its position stays in its state
            return self.loaders["decay"]
        return self.loaders["stable"]

    def train_step(self) -> tuple[torch.Tensor, float, float]:
        """One optimizer step over batch_size sequences: (mean masked loss, lr, grad norm)."""
        loader = self.loader_for(self.step)
        micro = [{k: v.to(self.device, non_blocking=True) for k, v in next(loader).items()}
                 for _ in range(self.accum_steps)]
        count = torch.stack([b["loss_mask"].sum() for b in micro]).sum().to(torch.float64)
        if self.dist.world_size > 1:
            torch.distributed.all_reduce(count)
        scale = self.dist.world_size / max(float(count), 1.0)
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        for i, batch in enumerate(micro):
            loss_sum += self.engine.forward_backward(batch, scale, sync=i == len(micro) - 1).double()
        lr = self.cfg.optimizer.lr * self.schedule.factor(self.step)
        grad_norm = self.engine.step(lr)
        if self.dist.world_size > 1:
            torch.distributed.all_reduce(loss_sum)
        self.step += 1
        self.tokens += self.tokens_per_step
        return loss_sum / max(float(count), 1.0), lr, grad_norm

    def evaluate(self) -> dict:
        if not self.held_out:
            return {}
        raw = getattr(self.engine, "engine", None)
        model = raw.module if raw is not None else self.model
        results = evaluate(model, self.held_out, self.cfg.eval.micro_batch_size, self.device, self.autocast,
                           self.dist.rank, self.dist.world_size)
        self.log.write({"kind": "eval", "step": self.step, "tokens": self.tokens,
                        "phase": self.schedule.phase(max(self.step - 1, 0)), "sets": results})
        self._say(f"eval step {self.step}: " + ", ".join(f"{k} {v['bits_per_byte']:.4f} bits/byte"
                                                        for k, v in results.items()))
        return results

    def _say(self, line: str) -> None:
        if self.progress and self.dist.is_main:
            print(line, file=sys.stderr, flush=True)

    def run(self, stop_at_step: int | None = None) -> dict:
        cfg, schedule = self.cfg, self.schedule
        end = schedule.total_steps if stop_at_step is None else min(stop_at_step, schedule.total_steps)
        self._say(f"train: {self.model_cfg.num_params():,} params ({self.model_cfg.num_non_embedding_params():,} "
                  f"non-embedding), {schedule.total_steps} steps of {self.tokens_per_step:,} tokens, "
                  f"decay from step {schedule.decay_start}" +
                  (f", resumed at step {self.step} from {self.resumed_from}" if self.resumed_from else ""))
        started = self.step
        if self.own_resume and self.step >= end:
            self._say(f"{self.out_dir}: already trained to step {self.step}; nothing to do")
            evals = [r for r in read_log(self.out_dir) if r.get("kind") == "eval"] if self.log.path.exists() else []
            return {"step": self.step, "tokens": self.tokens, "finished": self.step >= schedule.total_steps,
                    "checkpoint": str(self.resumed_from), "eval": evals[-1]["sets"] if evals else {},
                    "out_dir": str(self.out_dir)}
        last_eval: dict = {}
        clock, interval_steps = time.perf_counter(), 0  # throughput over train steps only
        while self.step < end:
            if self.step == schedule.decay_start and schedule.decay_steps > 0 and not (
                    self.own_resume and self.step == started):
                last_eval = self.evaluate()  # the stable-phase model: the point decays branch from
                self.checkpoint()
                clock, interval_steps = time.perf_counter(), 0
            loss, lr, grad_norm = self.train_step()
            interval_steps += 1
            if self.step % cfg.log_every == 0 or self.step == end:
                if self.device.type == "cuda":
                    torch.cuda.synchronize()
                self._log_step(loss, lr, grad_norm, interval_steps / (time.perf_counter() - clock))
                clock, interval_steps = time.perf_counter(), 0
            if self.step < end and cfg.eval.every_steps and self.step % cfg.eval.every_steps == 0:
                last_eval = self.evaluate()
                clock = time.perf_counter()
            if self.step < end and cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                self.checkpoint()
                clock = time.perf_counter()
        finished = self.step >= schedule.total_steps
        if finished:
            last_eval = self.evaluate()
        path = self.checkpoint() if self.step > started else self.resumed_from
        for loader in self.loaders.values():
            loader.close()
        if cfg.plot and self.dist.is_main and self.log.path.exists():
            plot_run(self.out_dir)
        return {"step": self.step, "tokens": self.tokens, "finished": finished, "checkpoint": str(path),
                "eval": last_eval, "out_dir": str(self.out_dir)}

    def _log_step(self, loss: torch.Tensor, lr: float, grad_norm: float, steps_per_s: float) -> None:
        tokens_per_s = steps_per_s * self.tokens_per_step
        record = {"kind": "train", "step": self.step, "tokens": self.tokens, "loss": float(loss), "lr": lr,
                  "grad_norm": grad_norm, "phase": self.schedule.phase(self.step - 1), "tokens_per_s": tokens_per_s,
                  "model_tflops": tokens_per_s * self.model_cfg.flops_per_token(self.seq_len) / 1e12}
        self.log.write(record)
        self._say(f"step {self.step}/{self.schedule.total_steps} loss {record['loss']:.4f} lr {lr:.3g} "
                  f"{tokens_per_s:,.0f} tok/s")


def manifest_tokenizer(manifest: dict) -> str | None:
    """The tokenizer model path a mixture manifest names (`tokenizer_path`, or `tokenizer.path`)."""
    tokenizer = manifest.get("tokenizer_path") or manifest.get("tokenizer")
    return tokenizer.get("path") if isinstance(tokenizer, dict) else tokenizer


def train(cfg: TrainConfig, stop_at_step: int | None = None, progress: bool = True) -> dict:
    """Train (or resume) the run `cfg` describes; stop early after `stop_at_step` steps if given."""
    return Run(cfg, progress).run(stop_at_step)
