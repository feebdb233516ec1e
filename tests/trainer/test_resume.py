"""Exact resume: N steps straight == k steps, stop, resume, N - k steps, bit for bit on CPU, across
the stable-to-decay mixture switch, with gradient accumulation and a DataLoader worker process."""

from __future__ import annotations

import pytest
import torch

from trainer.checkpoint import list_checkpoints, load_trainer_state
from trainer.loop import train
from trainer.report import read_log

torch.set_num_threads(1)
STEPS, STOP = 16, 7  # decay (25%) starts at step 12, after the stop


def _config(tiny_config, out):
    cfg = tiny_config(out=out, max_steps=STEPS, batch_size=8, micro_batch_size=4, log_every=1)
    cfg.schedule.warmup_steps, cfg.schedule.decay_fraction = 3, 0.25
    cfg.data.num_workers = 1
    cfg.eval.sets = {}
    return cfg


def _losses(out_dir) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in read_log(out_dir) if r["kind"] == "train"}


def test_stop_and_resume_is_bit_for_bit(tiny_config):
    straight = _config(tiny_config, "straight")
    train(straight, progress=False)
    interrupted = _config(tiny_config, "interrupted")
    first = train(interrupted, stop_at_step=STOP, progress=False)
    assert first["step"] == STOP and not first["finished"]
    torch.manual_seed(12345)  # a disturbed global RNG must not matter: the checkpoint restores it
    second = train(interrupted, progress=False)
    assert second["step"] == STEPS and second["finished"]

    assert _losses(straight.out_dir) == _losses(interrupted.out_dir)  # every step's loss, exactly
    assert len(_losses(straight.out_dir)) == STEPS
    a = torch.load(list_checkpoints(straight.out_dir)[-1] / "model.pt", weights_only=True)
    b = torch.load(list_checkpoints(interrupted.out_dir)[-1] / "model.pt", weights_only=True)
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    moments_a, moments_b = a["optimizer"]["state"], b["optimizer"]["state"]
    assert all(torch.equal(moments_a[i]["exp_avg_sq"], moments_b[i]["exp_avg_sq"]) for i in moments_a)


def test_mixture_switch_happens_exactly_at_the_decay_start(tiny_config):
    cfg = _config(tiny_config, "switch")
    train(cfg, progress=False)
    checkpoints = {int(p.name[5:]): load_trainer_state(p) for p in list_checkpoints(cfg.out_dir)}
    assert set(checkpoints) >= {12, STEPS}  # the decay-start checkpoint is kept for branching
    at_switch, final = checkpoints[12]["loaders"], checkpoints[STEPS]["loaders"]
    assert at_switch["stable"]["start"] == 12 * 8 and at_switch["decay"]["start"] == 0
    assert final["stable"]["start"] == 12 * 8 and final["decay"]["start"] == (STEPS - 12) * 8


def test_branch_must_agree_with_the_trained_steps(tiny_config):
    cfg = _config(tiny_config, "base")
    train(cfg, progress=False)
    late = _config(tiny_config, "late-branch")
    late.init_from = str(list_checkpoints(cfg.out_dir)[-1])  # step 16: already decayed
    late.max_steps = 40
    with pytest.raises(ValueError, match="other learning rates"):
        train(late, progress=False)
    ok = _config(tiny_config, "branch")
    ok.init_from = str(next(p for p in list_checkpoints(cfg.out_dir) if p.name.endswith("12")))
    ok.max_steps, ok.schedule.decay, ok.schedule.decay_fraction = 20, "linear", 0.4  # decay 12 -> 20
    summary = train(ok, progress=False)
    assert summary["step"] == 20 and min(_losses(ok.out_dir)) == 13  # the branch trains from step 12 on
