"""Trainer fixtures: tiny mixtures and held-out sets packed from the real corpora (built once per
session), and a tiny-preset config pointing at them (one thread: the machine is shared)."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from trainer_samples import TINY_YAML, build_samples

from trainer.config import load_train_config


def pytest_collection_modifyitems(config, items):
    if importlib.util.find_spec("deepspeed") is None:
        skip = pytest.mark.skip(reason="deepspeed is not installed (pip install 'curate[deepspeed]')")
        for item in items:
            if "deepspeed" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def samples(corpora, tmp_path_factory) -> dict:
    torch.set_num_threads(1)
    return build_samples(tmp_path_factory.mktemp("mixtures"))


@pytest.fixture
def tiny_config(samples, tmp_path):
    """configs/train/tiny.yaml on the sample mixtures; tests shorten it as they need."""
    def make(**overrides):
        cfg = load_train_config(TINY_YAML, out_dir=str(tmp_path / overrides.pop("out", "run")), **overrides)
        cfg.data.stable_dir, cfg.data.decay_dir = str(samples["stable"]), str(samples["decay"])
        cfg.eval.sets = dict(samples["held_out"])
        cfg.threads, cfg.plot = 1, False
        return cfg
    return make
