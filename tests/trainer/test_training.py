"""Training the tiny preset on real text: the loss falls, the WSD decay beats continuing the stable
phase on held-out bits per byte, and `curate train` runs from a YAML file."""

from __future__ import annotations

import argparse
import importlib.util
import math
from dataclasses import replace

import pytest
import torch
from trainer_samples import TINY_YAML

from curation.config import ConfigError
from pipelines.commands import train as train_command
from trainer.config import load_train_config
from trainer.loop import train
from trainer.report import read_log

torch.set_num_threads(1)
STEPS, DECAY_START = 300, 240  # 20% exponential decay (half life 12 steps), the tiny preset's schedule


@pytest.fixture(scope="module")
def wsd_run(samples, tmp_path_factory):
    """300 tiny steps on the stable mixture alone (so the decay differs from the control only in lr)."""
    root = tmp_path_factory.mktemp("wsd")
    cfg = load_train_config(TINY_YAML, out_dir=str(root / "wsd"), max_steps=STEPS)
    cfg.data.stable_dir, cfg.data.decay_dir = str(samples["stable"]), None
    cfg.eval.sets, cfg.threads, cfg.plot = dict(samples["held_out"]), 1, False
    summary = train(cfg, progress=False)
    return cfg, summary, root


def test_loss_falls_on_real_text(wsd_run):
    cfg, summary, _ = wsd_run
    records = [r for r in read_log(cfg.out_dir) if r["kind"] == "train"]
    assert [r["step"] for r in records] == list(range(10, STEPS + 1, 10))
    first, last = records[0]["loss"], sum(r["loss"] for r in records[-5:]) / 5
    # ln(vocab) is the loss of a uniform guess; the tiny model gets well below it.
    assert first > 8.0 and last < 5.6 and last < first - 3.0, (first, last)
    assert all(math.isfinite(r["grad_norm"]) and r["tokens_per_s"] > 0 for r in records)
    assert summary["tokens"] == STEPS * 8 * 64 and summary["finished"]


def test_log_follows_the_wsd_schedule(wsd_run):
    cfg, _, _ = wsd_run
    by_step = {r["step"]: r for r in read_log(cfg.out_dir) if r["kind"] == "train"}
    assert by_step[10]["lr"] == pytest.approx(0.01 * 10 / 20) and by_step[10]["phase"] == "warmup"
    assert by_step[DECAY_START]["lr"] == 0.01 and by_step[DECAY_START]["phase"] == "stable"
    assert by_step[DECAY_START + 20]["lr"] == pytest.approx(0.01 * 0.5 ** (19 / 12))
    assert by_step[STEPS]["phase"] == "decay"


def test_decay_beats_continuing_the_stable_phase(wsd_run):
    """Branch the stable-phase checkpoint: 60 more steps at the peak rate vs the 60-step decay."""
    cfg, summary, root = wsd_run
    evals = {r["step"]: r["sets"] for r in read_log(cfg.out_dir) if r["kind"] == "eval"}
    assert set(evals) == {DECAY_START, STEPS}  # evaluated at the decay start and at the end
    control = replace(cfg, out_dir=str(root / "constant"), schedule=replace(cfg.schedule, decay_fraction=0.0),
                      init_from=str(root / "wsd" / "checkpoints" / f"step-{DECAY_START:08d}"))
    constant = train(control, progress=False)
    decayed = summary["eval"]
    for name in ("zh", "en"):
        stable_bpb = evals[DECAY_START][name]["bits_per_byte"]
        # The decay lowers held-out bits per byte more than the same steps at the stable rate.
        assert decayed[name]["bits_per_byte"] < constant["eval"][name]["bits_per_byte"] - 0.02, name
        assert decayed[name]["bits_per_byte"] < stable_bpb, name
        assert decayed[name]["bytes"] == constant["eval"][name]["bytes"] > 20_000
    print({name: (evals[DECAY_START][name]["bits_per_byte"], decayed[name]["bits_per_byte"],
                  constant["eval"][name]["bits_per_byte"]) for name in decayed})


def test_curate_train_command(tiny_config, tmp_path, samples, capsys):
    import yaml

    cfg = tiny_config(out="cli")
    config_path = tmp_path / "train.yaml"
    config_path.write_text(yaml.safe_dump({
        "model": {"d_model": 32, "num_layers": 1, "num_heads": 2, "num_kv_heads": 1, "d_ff": 64},
        "data": {"stable_dir": "not/built/yet", "decay_dir": cfg.data.decay_dir},
        "eval": {"sets": cfg.eval.sets}, "schedule": {"warmup_steps": 2, "decay_fraction": 0.5},
        "out_dir": str(tmp_path / "cli"), "batch_size": 4, "micro_batch_size": 2, "max_steps": 1000,
        "threads": 1, "log_every": 1}))
    parser = argparse.ArgumentParser()
    train_command.add_commands(parser.add_subparsers())
    args = parser.parse_args(["train", "--config", str(config_path), "--max-steps", "4", "--quiet",
                              "--stable-dir", cfg.data.stable_dir])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "trained 4 steps, 1,024 tokens" in out and "zh" in out and "bits/byte" in out
    if importlib.util.find_spec("matplotlib"):  # the plot is optional
        assert (tmp_path / "cli" / "loss.png").stat().st_size > 0
    assert (tmp_path / "cli" / "checkpoints" / "step-00000004" / "model.pt").is_file()
    log_bytes = (tmp_path / "cli" / "log.jsonl").read_bytes()
    assert args.func(args) == 0  # rerun of a finished run: nothing to do, same summary
    assert "trained 4 steps" in capsys.readouterr().out
    assert (tmp_path / "cli" / "log.jsonl").read_bytes() == log_bytes
    # Extending the finished run to 6 steps would move its decay start (2 -> 3) behind steps already
    # trained with decayed rates: refused, naming the checkpoint.
    args = parser.parse_args(["train", "--config", str(config_path), "--max-tokens", str(6 * 4 * 64), "--quiet",
                              "--stable-dir", cfg.data.stable_dir])
    with pytest.raises(ValueError, match="step-00000004.*other learning rates"):
        args.func(args)


def test_unknown_config_key_names_the_key_and_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model: {d_model: 64, widht: 3}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: unknown key 'model.widht'"):
        load_train_config(path)
