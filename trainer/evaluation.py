"""Held-out evaluation in bits per byte, so that models with different tokenizers compare fairly.

    bits/byte = (sum over predicted text tokens of -ln p(token)) / ln 2 / (UTF-8 bytes of the text)

An eval set is held-out text of one domain (Chinese, English, code, papers). Its documents are
encoded with the mixture's tokenizer and laid end to end as EOS doc EOS doc ...; the stream is cut
into rows of seq_len + 1 tokens that overlap by one token, so every token after the first is
predicted exactly once, with context from its own row. Only the documents' own tokens are scored
(the EOS separators are context, not text), and the byte count is that of exactly the documents
scored, which is what makes the ratio tokenizer-independent.

An eval set is given as text (a JSONL file with a `text` or `content` field, or Parquet documents),
encoded here with the mixture's sentencepiece model, or already tokenized: a directory of sequence
shards (mixtures.shards format; loss_mask marks the scored targets) whose manifest.json gives
`num_bytes`, the UTF-8 bytes of the scored text (`write_held_out` writes one).
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class HeldOutSet:
    name: str
    rows: torch.Tensor  # [n, seq_len + 1] int64
    scored: torch.Tensor  # [n, seq_len] bool: which targets are text tokens
    num_bytes: int
    num_docs: int

    @property
    def num_tokens(self) -> int:
        return int(self.scored.sum())


def read_texts(path: str | Path, max_bytes: int) -> list[str]:
    """Leading documents of a JSONL(.gz) file (field `text`) or Parquet file/dir, up to max_bytes."""
    path = Path(path)
    texts, total = [], 0
    for text in _iter_texts(path):
        size = len(text.encode("utf-8"))
        if total + size > max_bytes:
            if not texts:  # one huge document: keep its head (cut at a character boundary)
                texts.append(text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore"))
            break
        texts.append(text)
        total += size
    if not texts:
        raise ValueError(f"{path}: no documents with text for evaluation")
    return texts


def _iter_texts(path: Path):
    if path.is_dir() or path.suffix == ".parquet":
        import pyarrow.parquet as pq

        files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
        if not files:
            raise FileNotFoundError(f"{path}: no Parquet files")
        for file in files:
            for batch in pq.ParquetFile(file).iter_batches(columns=["text"], batch_size=256):
                yield from (t for t in batch.column(0).to_pylist() if t)
        return
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text = row.get("text") or row.get("content")
            except (json.JSONDecodeError, AttributeError):
                raise ValueError(f"{path}:{number}: not a JSON object") from None
            if text:
                yield text


def build_held_out(name: str, texts: list[str], encode, eos_id: int, seq_len: int) -> HeldOutSet:
    """Encode and lay out one domain's documents (encode: list[str] -> list[list[int]])."""
    pieces, scored = [], []
    for ids in encode(texts):
        pieces.append(np.array([eos_id, *ids], dtype=np.int64))
        scored.append(np.concatenate([[False], np.ones(len(ids), dtype=bool)]))
    stream, flags = np.concatenate(pieces), np.concatenate(scored)
    # Rows overlap by one token; the last row is padded (padding is not scored).
    num_rows = max(1, math.ceil((len(stream) - 1) / seq_len))
    padded = num_rows * seq_len + 1
    stream = np.concatenate([stream, np.full(padded - len(stream), eos_id, dtype=np.int64)])
    flags = np.concatenate([flags, np.zeros(padded - len(flags), dtype=bool)])
    index = np.arange(num_rows)[:, None] * seq_len + np.arange(seq_len + 1)[None, :]
    return HeldOutSet(name, torch.from_numpy(stream[index]), torch.from_numpy(flags[index][:, 1:]),
                      num_bytes=sum(len(t.encode("utf-8")) for t in texts), num_docs=len(texts))


def write_held_out(out_dir: str | Path, held: HeldOutSet) -> Path:
    """Save a tokenized eval set as sequence shards + manifest.json (num_bytes, num_docs)."""
    from mixtures.shards import sequences_table, shard_name, write_sequence_shard

    out_dir = Path(out_dir)
    rows = held.rows.numpy()
    mask = np.concatenate([np.zeros((len(rows), 1), np.uint8), held.scored.numpy().astype(np.uint8)], axis=1)
    starts = [np.zeros(1, np.uint32)] * len(rows)
    info = write_sequence_shard(sequences_table(rows.astype(np.uint32), mask, starts), out_dir / shard_name(0))
    manifest = {"kind": "held_out", "name": held.name, "seq_len": rows.shape[1] - 1, "num_bytes": held.num_bytes,
                "num_docs": held.num_docs, "num_tokens": held.num_tokens, "shards": [info]}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return out_dir


def read_held_out(name: str, directory: str | Path) -> HeldOutSet:
    """A tokenized eval set written by write_held_out (or a builder that follows the same contract)."""
    from mixtures.shards import list_sequence_shards, read_sequence_shard

    directory = Path(directory)
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    if not isinstance(manifest.get("num_bytes"), int):
        raise ValueError(f"{directory}: a tokenized eval set needs num_bytes (UTF-8 bytes of the scored text) "
                         f"in manifest.json")
    ids, masks = [], []
    for shard in list_sequence_shards(directory):
        table = read_sequence_shard(shard)
        width = len(table.column("input_ids")[0]) if table.num_rows else 0
        ids.append(np.asarray(table.column("input_ids").combine_chunks().values).reshape(-1, width))
        masks.append(np.asarray(table.column("loss_mask").combine_chunks().values).reshape(-1, width))
    rows, mask = np.concatenate(ids).astype(np.int64), np.concatenate(masks)
    return HeldOutSet(name, torch.from_numpy(rows), torch.from_numpy(mask[:, 1:].astype(bool)),
                      num_bytes=manifest["num_bytes"], num_docs=manifest.get("num_docs", 0))


def load_held_out_sets(sets: dict[str, str], tokenizer_path: str | Path | None, seq_len: int,
                       max_bytes_per_set: int, eos_id: int | None = None) -> list[HeldOutSet]:
    """Every configured eval set: tokenized directories as they are, text encoded with the tokenizer."""
    from mixtures.shards import list_sequence_shards

    held, sp = [], None
    for name, path in sets.items():
        if Path(path).is_dir() and list_sequence_shards(path):
            held.append(read_held_out(name, path))
            continue
        if sp is None:
            sp = _sentencepiece(tokenizer_path)
        eos = sp.eos_id() if eos_id is None else eos_id
        held.append(build_held_out(name, read_texts(path, max_bytes_per_set), sp.encode, eos, seq_len))
    return held


def _sentencepiece(tokenizer_path):
    import sentencepiece as spm

    if not tokenizer_path:
        raise ValueError("eval sets given as text need eval.tokenizer_path (the mixture manifest names no tokenizer)")
    if not Path(tokenizer_path).is_file():
        raise FileNotFoundError(f"{tokenizer_path}: tokenizer model for evaluation not found")
    return spm.SentencePieceProcessor(model_file=str(tokenizer_path))


@torch.no_grad()
def evaluate(model: torch.nn.Module, sets: list[HeldOutSet], micro_batch_size: int, device: torch.device,
             autocast, rank: int = 0, world_size: int = 1) -> dict[str, dict]:
    """Per set: loss (nats per scored token), bits_per_byte, tokens, bytes; rows split across ranks."""
    was_training = model.training
    model.eval()
    results = {}
    for held in sets:
        sums = torch.zeros(2, dtype=torch.float64, device=device)  # nats, scored tokens
        mine = range(rank * micro_batch_size, len(held.rows), world_size * micro_batch_size)
        for first in mine:
            rows = held.rows[first:first + micro_batch_size].to(device)
            scored = held.scored[first:first + micro_batch_size].to(device)
            with autocast():
                logits = model(rows[:, :-1])
            nll = F.cross_entropy(logits.float().flatten(0, 1), rows[:, 1:].flatten(), reduction="none")
            sums[0] += (nll * scored.flatten()).sum().double()
            sums[1] += scored.sum()
        if world_size > 1:
            torch.distributed.all_reduce(sums)
        nats, tokens = sums.tolist()
        results[held.name] = {"loss": nats / max(tokens, 1), "bits_per_byte": nats / math.log(2) / held.num_bytes,
                              "tokens": int(tokens), "bytes": held.num_bytes,
                              "bytes_per_token": held.num_bytes / max(tokens, 1)}
    model.train(was_training)
    return results
