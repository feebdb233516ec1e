"""DDP under torchrun (2 CPU processes, gloo) trains the same run as one process: same samples per
step (the loader's rank split), same token-weighted loss, same weights up to float summation order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch
import yaml

from trainer.checkpoint import list_checkpoints
from trainer.config import load_train_config
from trainer.loop import train
from trainer.report import read_log

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import sys
import torch
from trainer.config import load_train_config
from trainer.loop import train
train(load_train_config(sys.argv[1]), progress=False)
"""


def _losses(out_dir):
    return [r["loss"] for r in read_log(out_dir) if r["kind"] == "train"]


def test_two_rank_ddp_matches_one_process(samples, tmp_path):
    base = {"model": {"d_model": 32, "num_layers": 2, "num_heads": 2, "num_kv_heads": 1, "d_ff": 64},
            "data": {"stable_dir": str(samples["stable"]), "decay_dir": str(samples["decay"])},
            "eval": {"sets": samples["held_out"]}, "schedule": {"warmup_steps": 1, "decay_fraction": 0.5},
            "batch_size": 8, "max_steps": 4, "threads": 1, "log_every": 1, "plot": False}
    ddp_yaml, single_yaml = tmp_path / "ddp.yaml", tmp_path / "single.yaml"
    ddp_yaml.write_text(yaml.safe_dump(base | {"micro_batch_size": 2, "out_dir": str(tmp_path / "ddp")}))
    single_yaml.write_text(yaml.safe_dump(base | {"micro_batch_size": 4, "out_dir": str(tmp_path / "single")}))
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(script), str(ddp_yaml)], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    single = train(load_train_config(single_yaml), progress=False)

    ddp_losses, single_losses = _losses(tmp_path / "ddp"), _losses(tmp_path / "single")
    assert len(ddp_losses) == 4
    torch.testing.assert_close(torch.tensor(ddp_losses), torch.tensor(single_losses), rtol=1e-5, atol=1e-5)
    a = torch.load(list_checkpoints(tmp_path / "ddp")[-1] / "model.pt", weights_only=True)["model"]
    b = torch.load(list_checkpoints(tmp_path / "single")[-1] / "model.pt", weights_only=True)["model"]
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-3, atol=2e-4)  # Adam magnifies noise in ~0 grads
    ddp_eval = [r for r in read_log(tmp_path / "ddp") if r["kind"] == "eval"][-1]["sets"]
    for name, result in single["eval"].items():  # eval rows split across ranks, sums all-reduced
        assert ddp_eval[name]["tokens"] == result["tokens"]
        assert abs(ddp_eval[name]["bits_per_byte"] - result["bits_per_byte"]) < 1e-4
