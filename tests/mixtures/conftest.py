"""Fixtures for the mixture tests: a tiny tokenizer and document directories, both from real sample data."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from mixture_corpora import CORPORA, write_recipe

from curation.ingest.job import IngestOptions, ingest
from curation.parallel import SerialExecutor
from tokenizer.special_tokens import BOS_ID, CONTROL_SYMBOLS, EOS_ID, PAD_ID, UNK_ID

# source -> corpus path ingested into a document directory
DOCUMENT_SOURCES = {
    "zh_news": "zh_web/thucnews",
    "redpajama": "en_web/redpajama_samples",
    "wiki": "en_wiki",
    "stack": "code/stack_shaped.jsonl",
    "sft_code": "sft/codealpaca_2k_en_code.jsonl",  # ingested chat rows keep messages in meta
}


def _texts(relative: str, limit: int) -> list[str]:
    texts = []
    with open(CORPORA / relative, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            texts.append(record.get("text") or record.get("content"))
            if len(texts) == limit:
                break
    return texts


@pytest.fixture(scope="session")
def tiny_tokenizer(tmp_path_factory) -> Path:
    """A 3,000-piece sentencepiece BPE with the project's special ids, trained on ~2 MB of real text."""
    import sentencepiece as spm

    texts = (_texts("zh_web/thucnews/thucnews.jsonl", 200) + _texts("en_wiki/wikitext2_tokens_valid.jsonl", 40)
             + _texts("code/stack_shaped.jsonl", 150))
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=model, model_type="bpe", vocab_size=3000, byte_fallback=True,
        character_coverage=0.98, normalization_rule_name="identity", remove_extra_whitespaces=False,
        add_dummy_prefix=False, unk_id=UNK_ID, bos_id=BOS_ID, eos_id=EOS_ID, pad_id=PAD_ID,
        control_symbols=list(CONTROL_SYMBOLS), max_sentence_length=1 << 20, minloglevel=2, num_threads=2)
    path = tmp_path_factory.mktemp("tokenizer") / "tiny.model"
    path.write_bytes(model.getvalue())
    return path


@pytest.fixture(scope="session")
def document_dirs(tmp_path_factory) -> dict[str, Path]:
    """Document directories ingested from the sample corpora, one per source."""
    root = tmp_path_factory.mktemp("documents")
    for source, relative in DOCUMENT_SOURCES.items():
        ingest([CORPORA / relative], root / source, IngestOptions(source=source), SerialExecutor())
    return {source: root / source for source in DOCUMENT_SOURCES}


@pytest.fixture(scope="session")
def base_recipe(tiny_tokenizer, document_dirs) -> dict:
    """A decay-stage recipe over four document sources and two chat sources (one needs > 1 epoch)."""
    def documents(name, weight):
        return {"weight": weight, "path": str(document_dirs[name])}

    return {
        "name": "test", "stage": "decay", "tokenizer": str(tiny_tokenizer), "seq_len": 256, "seed": 7,
        "budget": {"num_tokens": 300_000}, "max_epochs": 4, "rows_per_shard": 64,
        "sources": {
            "zh_news": documents("zh_news", 0.20), "wiki": documents("wiki", 0.10),
            "redpajama": documents("redpajama", 0.10), "stack": documents("stack", 0.15),
            "sft_code": documents("sft_code", 0.10) | {"format": "chat"},
            "sft_zh": {"weight": 0.35, "format": "chat",
                       "path": [str(CORPORA / "sft" / "firefly_moss_dummy_zh.jsonl")]},
        },
    }


@pytest.fixture(scope="session")
def serial_build(base_recipe, tmp_path_factory) -> tuple[Path, dict]:
    """The base recipe built once in this process (intermediate files kept): (out_dir, manifest)."""
    from mixtures.build import build_mixture
    from mixtures.recipe import load_recipe

    root = tmp_path_factory.mktemp("serial")
    recipe = load_recipe(write_recipe(root / "recipe.yaml", base_recipe))
    out = root / "out"
    return out, build_mixture(recipe, out, SerialExecutor(), keep_work=True, log=lambda message: None)
