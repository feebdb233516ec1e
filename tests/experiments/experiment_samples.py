"""A tiny experiment on the real sample corpora: small files per domain, a 2.5K BPE, a few steps.

The corpus YAML points at files of ../shared/corpora (nothing is copied); the experiment trains two
variants (raw vs cleaned pre-training data) x 3 seeds for a handful of steps of 4 x 32 tokens.
"""

from __future__ import annotations

from pathlib import Path

import yaml

CORPUS = {
    "heldout_percent": 20,
    "max_heldout_bytes": 6000,
    "seq_len": 32,
    "tokenizer_vocab_size": 2500,
    "domains": {
        "zh": {"paths": ["zh_web/chinesewebtext"], "clean": "cc_zh"},
        "en": {"paths": ["en_wiki/wikitext2_tokens_valid.jsonl", "en_web/redpajama_samples"], "clean": "web_en"},
        "code": {"paths": ["code"], "clean": "code", "group_by": "repo"},
        "papers": {"paths": ["paper/unarxive"], "clean": "paper"},
        "instructions": {"paths": ["sft/llamafactory_alpaca_en_demo.jsonl"], "format": "chat"},
    },
}


def write_corpus(root: Path, corpora: Path) -> Path:
    path = root / "corpus.yaml"
    path.write_text(yaml.safe_dump(CORPUS | {"corpora_dir": str(corpora)}), encoding="utf-8")
    return path


def write_experiment(root: Path, corpus: Path, name: str = "tiny", **extra) -> Path:
    config = {"name": name, "question": "raw vs cleaned, a few steps", "corpus": str(corpus),
              "work_dir": str(root / "work"), "steps": 6, "batch_size": 4, "seeds": [0, 1, 2],
              "schedule": {"warmup_steps": 1, "decay_fraction": 0.34}, "threads": 1,
              "variants": {"raw": {"pool": "raw"}, "cleaned": {"pool": "cleaned"}}} | extra
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path
