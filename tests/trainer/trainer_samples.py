"""Tiny mixtures packed from the real sample corpora with the real Llama-2 sentencepiece model.

Stands in for `curate build-mixture` so the trainer tests do not depend on it: documents are
encoded, laid end to end with EOS after each, and cut into rows of seq_len + 1 tokens
(mixtures.shards format, manifest with seq_len, vocab_size, eos_id). SFT rows render as
"User: ...\\nAssistant: ..." with the prompt's tokens masked out of the loss. Held-out text (other
documents of the same corpora) is written as tokenized eval sets for bits per byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mixtures.shards import sequences_table, shard_name, write_sequence_shard

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"
TINY_YAML = Path(__file__).resolve().parents[2] / "configs" / "train" / "tiny.yaml"
TOKENIZER = SHARED / "tokenizers" / "llama2_tokenizer.model"
ZH_NEWS = SHARED / "zh_web" / "thucnews" / "thucnews.jsonl"
EN_BOOKS = SHARED / "en_books" / "gutenberg.jsonl"
SFT_ZH = SHARED / "sft" / "llamafactory_alpaca_zh_demo.jsonl"
SFT_EN = SHARED / "sft" / "llamafactory_alpaca_en_demo.jsonl"


def _jsonl(path: Path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def zh_news(skip: int, max_bytes: int) -> list[str]:
    """THUCNews articles from number `skip` on, up to max_bytes of UTF-8."""
    out, total = [], 0
    for i, row in enumerate(_jsonl(ZH_NEWS)):
        if i < skip:
            continue
        total += len(row["text"].encode())
        if total > max_bytes:
            break
        out.append(row["text"])
    return out


def en_book_passages(book: int, max_bytes: int, passage_chars: int = 3000) -> list[str]:
    """Consecutive passages (paragraph-aligned, ~passage_chars) of Gutenberg book number `book`."""
    for i, row in enumerate(_jsonl(EN_BOOKS)):
        if i == book:
            text = row["text"]
            break
    start = len(text) // 10  # past the front matter
    out, total = [], 0
    while total < max_bytes and start < len(text):
        end = text.find("\n\n", start + passage_chars)
        end = len(text) if end < 0 else end
        passage = text[start:end].strip()
        start = end
        if passage:
            out.append(passage)
            total += len(passage.encode())
    return out


def sft_pairs(max_pairs: int) -> list[tuple[str, str]]:
    pairs = []
    for path in (SFT_ZH, SFT_EN):
        for row in _jsonl(path):
            user = next(m["content"] for m in row["messages"] if m["role"] == "user")
            assistant = next(m["content"] for m in row["messages"] if m["role"] == "assistant")
            pairs.append((f"User: {user}\nAssistant: ", assistant))
            if len(pairs) >= max_pairs:
                break
    return pairs


def pack(docs: list[tuple[list[int], list[int]]], seq_len: int, eos_id: int):
    """(tokens, loss_mask) per document -> rows of seq_len + 1 (EOS after each doc; tail dropped)."""
    ids = np.concatenate([np.array([*t, eos_id], dtype=np.uint32) for t, _ in docs])
    mask = np.concatenate([np.array([*m, 1], dtype=np.uint8) for _, m in docs])
    starts_flag = np.concatenate([np.r_[1, np.zeros(len(t), dtype=np.int8)] for t, _ in docs])
    width = seq_len + 1
    rows = len(ids) // width
    ids, mask, starts_flag = (a[:rows * width].reshape(rows, width) for a in (ids, mask, starts_flag))
    starts_flag[:, 0] = 1  # every row begins a (piece of a) document
    doc_starts = [np.flatnonzero(r).astype(np.uint32) for r in starts_flag]
    return ids, mask, doc_starts


def write_mixture(out_dir: Path, docs: list[tuple[list[int], list[int]]], seq_len: int, eos_id: int,
                  vocab_size: int, rows_per_shard: int, seed: int = 0, **manifest_extra) -> Path:
    """Shuffle documents (seeded), pack, and write shards + manifest.json."""
    order = np.random.default_rng(seed).permutation(len(docs))
    ids, mask, starts = pack([docs[i] for i in order], seq_len, eos_id)
    infos = []
    for index, first in enumerate(range(0, len(ids), rows_per_shard)):
        sl = slice(first, first + rows_per_shard)
        infos.append(write_sequence_shard(sequences_table(ids[sl], mask[sl], starts[sl]),
                                          out_dir / shard_name(index)))
    manifest = {"seq_len": seq_len, "vocab_size": vocab_size, "eos_id": eos_id, "num_rows": int(len(ids)),
                "num_tokens": int(ids.size), "shards": infos, **manifest_extra}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return out_dir


class CompactVocabulary:
    """Llama-2 ids renumbered densely over the pieces the sample texts use (7.4K of 32K).

    The model's cost on CPU is mostly its vocabulary-sized embedding and softmax; the renumbering is a
    bijection on the pieces that occur, so losses and bits per byte mean the same thing.
    """

    def __init__(self, sp, token_lists: list[list[int]]):
        used = np.unique(np.concatenate([np.asarray(t, dtype=np.int64) for t in token_lists] + [[sp.eos_id()]]))
        self.table = np.full(sp.get_piece_size(), -1, dtype=np.int64)
        self.table[used] = np.arange(len(used))
        self.size, self.eos_id, self.sp = len(used), int(self.table[sp.eos_id()]), sp

    def encode(self, texts: list[str]) -> list[list[int]]:
        return [self.table[np.asarray(ids, dtype=np.int64)].tolist() for ids in self.sp.encode(texts)]


def build_samples(root: Path, seq_len: int = 64) -> dict:
    """stable/ (zh news + en book passages), decay/ (half of that text + masked SFT rows), and
    tokenized held-out sets heldout_zh/, heldout_en/ (other news articles, another book)."""
    import sentencepiece as spm

    from trainer.evaluation import build_held_out, write_held_out

    sp = spm.SentencePieceProcessor(model_file=str(TOKENIZER))
    texts = zh_news(0, 250_000) + en_book_passages(0, 250_000)
    pairs = sft_pairs(600)
    held_texts = {"zh": zh_news(600, 25_000), "en": en_book_passages(3, 25_000)}
    every = texts + [p for p, _ in pairs] + [a for _, a in pairs] + [t for v in held_texts.values() for t in v]
    vocab = CompactVocabulary(sp, sp.encode(every))
    eos = vocab.eos_id
    plain = [(t, [1] * len(t)) for t in vocab.encode(texts)]
    stable = write_mixture(root / "stable", plain, seq_len, eos, vocab.size, rows_per_shard=700, seed=1)
    prompts, answers = vocab.encode([p for p, _ in pairs]), vocab.encode([a for _, a in pairs])
    sft = [(p + a, [0] * len(p) + [1] * len(a)) for p, a in zip(prompts, answers)]
    decay = write_mixture(root / "decay", plain[::2] + sft, seq_len, eos, vocab.size, rows_per_shard=500, seed=2)
    held = {name: str(write_held_out(root / f"heldout_{name}", build_held_out(name, docs, vocab.encode, eos, seq_len)))
            for name, docs in held_texts.items()}
    return {"stable": stable, "decay": decay, "held_out": held, "eos_id": eos, "vocab_size": vocab.size,
            "seq_len": seq_len}


def synthetic_mixture(out_dir: Path, shard_rows: list[int], seq_len: int = 7) -> Path:
    """Rows whose every token is the row's global number (+1): easy to trace through the loader."""
    first = 0
    for index, rows in enumerate(shard_rows):
        ids = np.repeat(np.arange(first + 1, first + rows + 1, dtype=np.uint32)[:, None], seq_len + 1, axis=1)
        mask = np.ones_like(ids, dtype=np.uint8)
        starts = [np.array([0, 3], dtype=np.uint32) for _ in range(rows)]
        write_sequence_shard(sequences_table(ids, mask, starts), out_dir / shard_name(index))
        first += rows
    (out_dir / "manifest.json").write_text(json.dumps({"seq_len": seq_len, "vocab_size": first + 1}))
    return out_dir
