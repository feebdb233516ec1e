"""Entropy-based instruction selection (MindLLM): score conversations with a model, keep a band.

Each conversation is rendered in the chat format and run through a trained checkpoint; its score
is the model's mean cross-entropy (nats per token) over the tokens it would be trained on
(assistant replies and their closing marker; prompts are context). Sorted by (score, id), `keep`
conversations are kept from the chosen band: `low` (the most predictable, the smallest scores),
`high` (the most surprising) or `middle` (centred on the median: MindLLM's finding that data near
the model's own entropy helps most). Scores of every conversation stay on disk (scores.jsonl), so a
band is re-cut without rescoring. Same checkpoint and input -> same selection.

Input: a directory (or file) of JSONL conversations (`messages`, `prompt`/`response`, Alpaca
fields) or ingested Parquet documents whose meta keeps `messages`. The tokenizer and any compact
vocabulary come from the run's stable mixture manifest (the run's config.json names it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

BANDS = ("low", "middle", "high")


def read_conversations(path: str | Path) -> list[tuple[str, list[dict]]]:
    """(id, messages) of every conversation under path, sorted by id; rows without one are skipped."""
    from curation.documents import read_documents
    from mixtures.chat import record_messages

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix in (".jsonl", ".parquet"))
    if path.is_dir() and list(path.glob("*.parquet")):
        files = [p for p in files if p.suffix != ".parquet"] + [path]  # documents: read as a directory
    found = []
    for file in files:
        if file.is_dir() or file.suffix == ".parquet":
            directory = file if file.is_dir() else file.parent
            for table in read_documents(directory):
                for row in table.to_pylist():
                    if (messages := record_messages(row)) is not None:
                        found.append((str(row["id"]), messages))
            continue
        with open(file, encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    raise ValueError(f"{file}:{number}: not a JSON object") from None
                if isinstance(row, dict) and (messages := record_messages(row)) is not None:
                    found.append((str(row.get("id") or f"{file.name}:{number}"), messages))
    if not found:
        raise ValueError(f"{path}: no conversations (messages, prompt/response or instruction/output records)")
    found.sort(key=lambda pair: pair[0])
    return found


def load_model(checkpoint: str | Path):
    """(model, tokenizer, vocabulary or None, seq_len) of a trainer checkpoint directory."""
    from mixtures.encoding import load_tokenizer
    from mixtures.loader import read_mixture_manifest
    from mixtures.vocabulary import manifest_vocabulary
    from trainer.loop import manifest_tokenizer
    from trainer.model import ModelConfig, Transformer

    checkpoint = Path(checkpoint)
    if not (checkpoint / "model.pt").is_file():
        raise FileNotFoundError(f"{checkpoint}: not a trainer checkpoint (no model.pt); pass OUT/checkpoints/step-N")
    run_config = checkpoint.parent.parent / "config.json"
    if not run_config.is_file():
        raise FileNotFoundError(f"{run_config}: the checkpoint's run config is missing")
    config = json.loads(run_config.read_text(encoding="utf-8"))
    model = Transformer(ModelConfig(**config["model"]))
    state = torch.load(checkpoint / "model.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    model.eval()
    stable_dir = config["data"]["stable_dir"]
    manifest = read_mixture_manifest(stable_dir)
    tokenizer_path = config["eval"].get("tokenizer_path") or manifest_tokenizer(manifest)
    if not tokenizer_path:
        raise ValueError(f"{stable_dir}: the mixture manifest names no tokenizer")
    tokenizer = load_tokenizer(str(tokenizer_path))
    return model, tokenizer, manifest_vocabulary(manifest, stable_dir, tokenizer.vocab_size), manifest["seq_len"]


@torch.no_grad()
def score_conversations(model, tokenizer, vocab, conversations: list[list[dict]], max_tokens: int,
                        batch_size: int = 16) -> np.ndarray:
    """Mean cross-entropy (nats/token) over each conversation's trained tokens (first max_tokens)."""
    from mixtures.chat import encode_conversations

    values, offsets, mask = encode_conversations(tokenizer, conversations)
    if vocab is not None:
        values = vocab.map_or(values, vocab.size - 1)
    docs = [(values[a:b][:max_tokens + 1].astype(np.int64), mask[a:b][:max_tokens + 1])
            for a, b in zip(offsets[:-1], offsets[1:])]
    scores = np.full(len(docs), np.nan)
    by_length = sorted(range(len(docs)), key=lambda i: len(docs[i][0]))
    for first in range(0, len(by_length), batch_size):
        batch = by_length[first:first + batch_size]
        width = max(len(docs[i][0]) for i in batch)
        ids = torch.zeros((len(batch), width), dtype=torch.int64)
        scored = torch.zeros((len(batch), width), dtype=torch.bool)
        for row, i in enumerate(batch):
            ids[row, :len(docs[i][0])] = torch.from_numpy(docs[i][0])
            scored[row, :len(docs[i][1])] = torch.from_numpy(docs[i][1].astype(bool))
        logits = model(ids[:, :-1]).float()
        nll = F.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten(), reduction="none").view(len(batch), -1)
        target = scored[:, 1:]
        totals = (nll * target).sum(1) / target.sum(1).clamp(min=1)
        for row, i in enumerate(batch):
            scores[i] = float(totals[row]) if target[row].any() else np.nan
    return scores


def band_indices(scores: np.ndarray, ids: list[str], keep: int, band: str) -> np.ndarray:
    """Positions of the `keep` conversations in the band, ordered by (score, id); unscored ones never."""
    if band not in BANDS:
        raise ValueError(f"band must be one of {', '.join(BANDS)}, got {band!r}")
    valid = [i for i in range(len(scores)) if not np.isnan(scores[i])]
    if keep < 1 or keep > len(valid):
        raise ValueError(f"--keep must be in 1..{len(valid)} (conversations with trained tokens), got {keep}")
    ranked = sorted(valid, key=lambda i: (scores[i], ids[i]))
    start = {"low": 0, "high": len(ranked) - keep, "middle": (len(ranked) - keep) // 2}[band]
    return np.array(ranked[start:start + keep])


def select_conversations(checkpoint: str | Path, in_path: str | Path, out_dir: str | Path, keep: int,
                         band: str = "middle", progress: bool = True) -> dict:
    """Score every conversation, keep `keep` from the band; write selected.jsonl, scores.jsonl, manifest."""
    from curation.documents import atomic_write_bytes, write_json

    model, tokenizer, vocab, seq_len = load_model(checkpoint)
    found = read_conversations(in_path)
    ids, conversations = [f[0] for f in found], [f[1] for f in found]
    if not 1 <= keep <= len(ids):
        raise ValueError(f"--keep must be in 1..{len(ids)} (the conversations in {in_path}), got {keep}")
    if progress:
        print(f"select-sft: scoring {len(ids)} conversations with {checkpoint}", file=sys.stderr, flush=True)
    scores = score_conversations(model, tokenizer, vocab, conversations, max_tokens=seq_len * 4)
    chosen = band_indices(scores, ids, keep, band)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [{"id": ids[i], "entropy": round(float(scores[i]), 6), "messages": conversations[i]} for i in chosen]
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    atomic_write_bytes(out_dir / "selected.jsonl", ("\n".join(lines) + "\n").encode())
    all_scores = [json.dumps({"id": i, "entropy": None if np.isnan(s) else round(float(s), 6)})
                  for i, s in zip(ids, scores)]
    atomic_write_bytes(out_dir / "scores.jsonl", ("\n".join(all_scores) + "\n").encode())
    kept = scores[chosen]
    manifest = {"stage": "select_sft", "checkpoint": str(Path(checkpoint).resolve()), "input": str(in_path),
                "band": band, "keep": keep, "num_scored": int(np.sum(~np.isnan(scores))), "num_in": len(ids),
                "entropy_kept": [round(float(kept.min()), 6), round(float(kept.max()), 6)],
                "entropy_all": [round(float(np.nanmin(scores)), 6), round(float(np.nanmedian(scores)), 6),
                                round(float(np.nanmax(scores)), 6)]}
    write_json(out_dir / "manifest.json", manifest)
    return manifest | {"rows": rows}
