"""Checkpoints that resume a run bit for bit: model, optimizer moments, step, schedule, loader
positions and every RNG state.

Layout: OUT/checkpoints/step-00001200/ with
  trainer.pt   step, tokens, schedule, config, loader states (written by rank 0)
  model.pt     model and optimizer (torch backend; DeepSpeed writes its own files instead)
  rng-R.pt     python, numpy and torch RNG states of rank R
A checkpoint is written into a `.tmp` directory and renamed when complete, so a directory named
step-* is always whole; everything loads with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import numpy as np
import torch

STEP_DIR = re.compile(r"^step-(\d{8})$")


def checkpoint_dir(out_dir: str | Path, step: int) -> Path:
    return Path(out_dir) / "checkpoints" / f"step-{step:08d}"


def list_checkpoints(out_dir: str | Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    root = Path(out_dir) / "checkpoints"
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if STEP_DIR.match(p.name) and (p / "trainer.pt").is_file())


def rng_state() -> dict:
    """Python, numpy (legacy global) and torch RNG states, as types torch.load(weights_only) accepts."""
    np_state = np.random.get_state(legacy=False)
    state = {"python": random.getstate(),
             "numpy": {"key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
                       "pos": np_state["state"]["pos"], "has_gauss": np_state["has_gauss"],
                       "gauss": np_state["gauss"]},
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np_state = state["numpy"]
    np.random.set_state({"bit_generator": "MT19937",
                         "state": {"key": np_state["key"].numpy().astype(np.uint32), "pos": np_state["pos"]},
                         "has_gauss": np_state["has_gauss"], "gauss": np_state["gauss"]})
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def save_checkpoint(out_dir: str | Path, step: int, trainer_state: dict, engine, dist,
                    keep: int, protected: set[int] = frozenset()) -> Path:
    """Write checkpoint `step` (all ranks call this); return its directory."""
    final = checkpoint_dir(out_dir, step)
    tmp = final.with_name(final.name + ".tmp")
    if dist.is_main:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    dist.barrier()
    engine.save(tmp, dist)
    torch.save(rng_state(), tmp / f"rng-{dist.rank}.pt")
    dist.barrier()
    if dist.is_main:
        torch.save(trainer_state, tmp / "trainer.pt")
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        _prune(out_dir, keep, protected)
    dist.barrier()
    return final


def load_trainer_state(directory: Path) -> dict:
    if not (directory / "trainer.pt").is_file():
        raise FileNotFoundError(f"{directory}: not a checkpoint (no trainer.pt)")
    return torch.load(directory / "trainer.pt", map_location="cpu", weights_only=True)


def load_rng(directory: Path, rank: int) -> None:
    path = directory / f"rng-{rank}.pt"
    if path.is_file():  # a checkpoint from fewer ranks: this rank keeps its fresh seed
        set_rng_state(torch.load(path, weights_only=True))


def _prune(out_dir: str | Path, keep: int, protected: set[int]) -> None:
    if keep <= 0:
        return
    removable = [p for p in list_checkpoints(out_dir) if int(p.name[5:]) not in protected]
    for old in removable[:-keep] if len(removable) > keep else []:
        shutil.rmtree(old, ignore_errors=True)
