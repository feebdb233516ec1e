"""Bits per byte on held-out text: every text token scored once, bytes of exactly the scored text,
the same figure from raw text (encoded here) and from a tokenized eval set on disk."""

from __future__ import annotations

import json
import math

import pytest
import sentencepiece as spm
import torch
from trainer_samples import TOKENIZER, zh_news

from trainer.evaluation import build_held_out, evaluate, load_held_out_sets, read_texts, write_held_out
from trainer.model import ModelConfig, Transformer

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def held_out_text(tmp_path_factory):
    path = tmp_path_factory.mktemp("eval") / "zh.jsonl"
    docs = zh_news(650, 12_000)
    path.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in docs), encoding="utf-8")
    return path, docs


def test_layout_scores_every_text_token_once(held_out_text):
    path, docs = held_out_text
    sp = spm.SentencePieceProcessor(model_file=str(TOKENIZER))
    held = load_held_out_sets({"zh": str(path)}, TOKENIZER, seq_len=32, max_bytes_per_set=10**9)[0]
    encoded = sp.encode(docs)
    assert held.num_bytes == sum(len(t.encode()) for t in docs) and held.num_docs == len(docs)
    assert held.num_tokens == sum(map(len, encoded))  # EOS separators are context, not scored
    assert held.rows.shape[1] == 33 and torch.equal(held.rows[1:, 0], held.rows[:-1, -1])  # one-token overlap
    scored_targets = held.rows[:, 1:][held.scored]
    assert scored_targets.tolist() == [t for ids in encoded for t in ids]


def test_max_bytes_keeps_whole_leading_documents(held_out_text):
    path, docs = held_out_text
    budget = len(docs[0].encode()) + len(docs[1].encode()) + 10
    assert read_texts(path, budget) == docs[:2]


def test_uniform_model_scores_log_vocab_nats_per_token(held_out_text, tmp_path):
    path, _ = held_out_text
    held = load_held_out_sets({"zh": str(path)}, TOKENIZER, seq_len=32, max_bytes_per_set=10**9)[0]
    model = Transformer(ModelConfig(d_model=32, num_layers=1, num_heads=2, num_kv_heads=2, d_ff=64, vocab_size=32000))
    with torch.no_grad():
        model.embed.weight.zero_()  # logits all 0: p = 1/32000 for every token
    result = evaluate(model, [held], 8, torch.device("cpu"), lambda: torch.autocast("cpu", enabled=False))["zh"]
    assert result["loss"] == pytest.approx(math.log(32000), rel=1e-5)
    assert result["bits_per_byte"] == pytest.approx(held.num_tokens * math.log2(32000) / held.num_bytes, rel=1e-5)
    # The same set tokenized on disk (what a mixture builder can ship) gives the same figure.
    on_disk = load_held_out_sets({"zh": str(write_held_out(tmp_path / "zh", held))}, None, 32, 0)[0]
    again = evaluate(model, [on_disk], 8, torch.device("cpu"), lambda: torch.autocast("cpu", enabled=False))["zh"]
    assert again == result


def test_tokenized_set_needs_its_byte_count(tmp_path):
    held = build_held_out("x", ["abc"], lambda texts: [[5, 6, 7]], eos_id=2, seq_len=4)
    assert held.rows.tolist() == [[2, 5, 6, 7, 2]] and held.scored.tolist() == [[True, True, True, False]]
    directory = write_held_out(tmp_path / "x", held)
    manifest = json.loads((directory / "manifest.json").read_text())
    del manifest["num_bytes"]
    (directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="num_bytes"):
        load_held_out_sets({"x": str(directory)}, None, 4, 0)
