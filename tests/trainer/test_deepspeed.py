"""DeepSpeed ZeRO 1/2 backend on CPU (gloo): trains the same run as the plain torch backend (muP
groups, lr schedule and token-weighted loss pass through), and resumes from its own checkpoints.

Skipped when deepspeed is not installed. Its first start JIT-compiles a C++ op (about a minute);
the build is cached in ~/.cache/torch_extensions (or $TORCH_EXTENSIONS_DIR) for later runs.
Runs in subprocesses: deepspeed initialises a process group and patches torch for the process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from trainer.config import load_train_config
from trainer.loop import train
from trainer.report import read_log

pytestmark = pytest.mark.deepspeed
torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import sys
from trainer.config import load_train_config
from trainer.loop import train
stop = int(sys.argv[2]) if len(sys.argv) > 2 else None
train(load_train_config(sys.argv[1]), stop_at_step=stop, progress=False)
"""
STEPS = 5


def _run(tmp_path, config_path, *extra):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, str(script), str(config_path), *map(str, extra)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]


def _losses(out_dir):
    return [r["loss"] for r in read_log(out_dir) if r["kind"] == "train"]


def _config(samples, tmp_path, name, **extra):
    cfg = {"model": {"d_model": 32, "num_layers": 2, "num_heads": 2, "num_kv_heads": 1, "d_ff": 64},
           "data": {"stable_dir": str(samples["stable"]), "decay_dir": str(samples["decay"])},
           "schedule": {"warmup_steps": 2, "decay_fraction": 0.4}, "batch_size": 8, "micro_batch_size": 4,
           "max_steps": STEPS, "threads": 1, "log_every": 1, "plot": False, "out_dir": str(tmp_path / name)} | extra
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize("stage", [1, 2])
def test_zero_matches_the_torch_backend_and_resumes(samples, tmp_path, stage):
    ds_json = tmp_path / "ds.json"
    ds_json.write_text(json.dumps({"zero_optimization": {"stage": stage}, "bf16": {"enabled": False},
                                   "steps_per_print": 1_000_000}))
    deepspeed = {"backend": "deepspeed", "deepspeed_config": str(ds_json)}
    _run(tmp_path, _config(samples, tmp_path, "straight", **deepspeed))
    reference = load_train_config(_config(samples, tmp_path, "torch"))
    train(reference, progress=False)
    ds_losses, torch_losses = _losses(tmp_path / "straight"), _losses(tmp_path / "torch")
    assert len(ds_losses) == STEPS
    torch.testing.assert_close(torch.tensor(ds_losses), torch.tensor(torch_losses), rtol=1e-5, atol=1e-5)

    resumed = _config(samples, tmp_path, "resumed", **deepspeed)
    _run(tmp_path, resumed, 2)  # stop after 2 steps (checkpoint), then a new process resumes
    assert (tmp_path / "resumed" / "checkpoints" / "step-00000002" / "deepspeed").is_dir()
    _run(tmp_path, resumed)
    assert _losses(tmp_path / "resumed") == ds_losses
