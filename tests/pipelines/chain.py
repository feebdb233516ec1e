"""A small pipeline through every stage on real sample data, for the report, fault and cluster tests.

Three sources (Chinese news, Stack-shaped code, an English ARC crawl with its non-HTML and 404
records), each cleaned with its profile, deduplicated together, a 16K tokenizer with the 70k
preset's guarantees, stable and decay mixtures of 128-token rows, and a few steps of the tiny model.
"""

from __future__ import annotations

import json
from pathlib import Path

SOURCES = {
    "news": {"paths": ["zh_web/thucnews"], "clean": "cc_zh", "domain": "zh"},
    "code": {"paths": ["code"], "clean": "code", "domain": "code"},
    "arc": {"paths": ["en_web/arc"], "clean": "web_en", "domain": "en"},
}
CHAIN_STAGES = ["ingest", "clean", "dedup", "tokenizer", "mixture", "train"]


def _recipe(path: Path, stage: str, weights: dict[str, float], extra: dict | None = None) -> Path:
    sources = {name: {"weight": w, "path": "(the pipeline's documents)"} for name, w in weights.items()}
    path.write_text(json.dumps({"name": f"chain-{stage}", "stage": stage, "tokenizer": "(the pipeline's)",
                                "seq_len": 128, "seed": 7, "budget": {"num_tokens": 1},
                                "max_epochs": 8, "rows_per_shard": 64, "sources": sources | (extra or {})}))
    return path


def write_chain(directory: Path, corpora: Path, work: str = "work", stages: list[str] | None = None) -> Path:
    """Write the chain's pipeline YAML (and its recipes and trainer config) into `directory`; return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    stable = _recipe(directory / "stable.yaml", "stable", {"news": 0.5, "code": 0.3, "arc": 0.2})
    decay = _recipe(directory / "decay.yaml", "decay", {"news": 0.5, "code": 0.2},
                    {"sft": {"weight": 0.3, "format": "chat",
                             "path": str(corpora / "sft" / "llamafactory_alpaca_zh_demo.jsonl")}})
    train = directory / "train.yaml"
    train.write_text(json.dumps({
        "model": {"d_model": 32, "num_layers": 1, "num_heads": 2, "num_kv_heads": 1, "d_ff": 64, "vocab_size": 0},
        "schedule": {"warmup_steps": 2, "decay": "exponential", "decay_fraction": 0.25},
        "eval": {"max_bytes_per_set": 20000}, "batch_size": 4, "micro_batch_size": 4, "threads": 1,
        "log_every": 1, "max_steps": 8, "plot": False}))
    pipeline = directory / f"{work}.yaml"
    pipeline.write_text(json.dumps({
        "name": "chain", "work_dir": str(directory / work), "corpora_dir": str(corpora),
        "stages": stages or CHAIN_STAGES, "sources": SOURCES,
        "dedup": {"priority": ["news", "code", "arc"]},
        "tokenizer": {"preset": "70k", "vocab_size": 16000, "max_sample_mb": 2,
                      "eval": {"Chinese": "news", "Code": "code"},
                      "baselines": {"Llama-2": "tokenizers/llama2_tokenizer.model"}, "max_eval_mb": 0.2},
        "mixture": {"stable": str(stable), "decay": str(decay), "stable_tokens": 60000, "decay_tokens": 12000},
        "train": {"config": str(train),
                  "eval": {"zh": str(corpora / "paper" / "csl_zh" / "csl_abstracts.jsonl")}},
    }))
    return pipeline


# Measurements, not results: they differ between any two runs.
VOLATILE_KEYS = {"seconds", "peak_rss_mb", "timing", "memory", "run", "resumed", "tokens_per_second"}


def _stable_json(value):
    if isinstance(value, dict):
        return {k: _stable_json(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_stable_json(v) for v in value]
    return value


def comparable_outputs(work: Path) -> dict[str, object]:
    """Every output: data files as bytes, JSON without its measurements, paths relative to the run's directory."""
    outputs = {}
    for name, data in sorted((str(p.relative_to(work)), p.read_bytes()) for p in work.rglob("*")
                             if p.is_file() and p.name != ".stage.json"):
        # task markers hold timings only; the tokenizer's report.md shows its tokens/s (report.json is compared)
        if name.startswith("reports/") or name.endswith((".done.json", "report/report.md")):
            continue
        data = data.replace(str(work.parent).encode(), b"<dir>")
        outputs[name] = _stable_json(json.loads(data)) if name.endswith(".json") else data
    return outputs
