"""`curate experiment --plan`, config errors, and `curate select-sft` (band, count, determinism)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from experiment_samples import write_corpus, write_experiment

from pipelines.cli import main


def test_plan_prints_cost_and_trains_nothing(corpora, tmp_path, capsys):
    config = write_experiment(tmp_path, write_corpus(tmp_path, corpora), steps=50)
    assert main(["experiment", str(config), "--plan"]) == 0
    out = capsys.readouterr().out
    assert "experiment tiny: 2 variants x 3 seeds, 50 steps x 128 tokens" in out
    assert "raw" in out and "cleaned" in out and "estimated" in out and "minutes" in out
    assert not (tmp_path / "work").exists()  # nothing prepared, nothing trained


def test_plan_of_the_default_set_lists_every_experiment(capsys):
    assert main(["experiment", "configs/experiments/default.yaml", "--plan", "--work-dir", "/nonexistent"]) == 0
    out = capsys.readouterr().out
    for name in ("cleaning", "ordering", "schedule", "decay_data"):
        assert f"experiment {name}:" in out
    assert "wsd step 216" in out and "pretrain_only step 192" in out


@pytest.mark.parametrize("extra, message", [
    ({"learning_rate": 0.1}, "unknown key 'learning_rate'"),
    ({"variants": {"a": {"pool": "raw"}, "b": {"pool": "raw", "sheduel": {}}}}, "unknown key 'variants.b.sheduel'"),
    ({"variants": {"a": {"pool": "raw"}, "b": {"pool": "filtered"}}}, "variants.b.pool must be one of"),
])
def test_bad_config_is_one_line_error(corpora, tmp_path, capsys, extra, message):
    config = write_experiment(tmp_path, write_corpus(tmp_path, corpora), **extra)
    assert main(["experiment", str(config), "--plan"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def _conversations(corpora, path, count: int):
    lines = (corpora / "sft" / "llamafactory_alpaca_zh_demo.jsonl").read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[:count]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("band", ["low", "middle", "high"])
def test_select_sft_keeps_n_in_band_and_is_deterministic(tiny_run, corpora, tmp_path, band):
    checkpoint = sorted((tiny_run["experiment"].dir / "runs" / "raw" / "seed-0" / "checkpoints").iterdir())[-1]
    source = _conversations(corpora, tmp_path / "in.jsonl", 40)
    outs = []
    for attempt in ("a", "b"):
        out = tmp_path / f"{band}-{attempt}"
        assert main(["select-sft", "--model", str(checkpoint), "--in", str(source), "--out", str(out),
                     "--keep", "10", "--band", band]) == 0
        outs.append(out)
    selected = [json.loads(line) for line in (outs[0] / "selected.jsonl").read_text().splitlines()]
    assert len(selected) == 10
    assert (outs[0] / "selected.jsonl").read_bytes() == (outs[1] / "selected.jsonl").read_bytes()
    scores = {r["id"]: r["entropy"] for r in map(json.loads, (outs[0] / "scores.jsonl").read_text().splitlines())}
    assert len(scores) == 40
    ranked = sorted(scores.values())
    kept = sorted(r["entropy"] for r in selected)
    expected = {"low": ranked[:10], "high": ranked[-10:], "middle": ranked[15:25]}[band]
    assert kept == expected
    assert np.all(np.diff(kept) >= 0) and all("messages" in r for r in selected)


def test_select_sft_bad_keep_is_one_line_error(tiny_run, corpora, tmp_path, capsys):
    checkpoint = sorted((tiny_run["experiment"].dir / "runs" / "raw" / "seed-0" / "checkpoints").iterdir())[-1]
    source = _conversations(corpora, tmp_path / "in.jsonl", 5)
    assert main(["select-sft", "--model", str(checkpoint), "--in", str(source), "--out", str(tmp_path / "o"),
                 "--keep", "9"]) == 2
    err = capsys.readouterr().err
    assert "--keep must be in 1..5" in err and err.count("\n") == 1 and "Traceback" not in err
