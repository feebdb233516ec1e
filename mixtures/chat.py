"""Instruction/chat data for decay-stage mixtures: conversations to token ids and a loss mask.

Conversations come as `messages` ([{role, content}], SOURCES.md's chat files and ingested SFT rows,
whose meta JSON keeps them), as `prompt`/`response` (also `chosen`), or as Alpaca
`instruction`/`input`/`output`. They are rendered in the tokenizer's chat format
(`tokenizer.special_tokens.chat_segments`, ChatML-shaped): only assistant content and the
`<|im_end|>` closing it carry loss; bos, eos, system and user turns and role headers are masked
(mask 0). A tokenizer without the `<|im_start|>`/`<|im_end|>` control pieces (e.g. a reference
Llama tokenizer) gets the markers spelled out as text, with the same mask.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from itertools import chain

import numpy as np

from mixtures.encoding import TextTokenizer
from tokenizer.special_tokens import BOS, CHAT_ROLES, chat_segments

Conversation = list[dict[str, str]]


def record_messages(record: Mapping) -> Conversation | None:
    """The conversation in a chat record, or None when it holds none.

    Accepts `messages`, a `meta` JSON string holding `messages` (ingested rows), `prompt` +
    `response`/`chosen`, and `instruction` (+ `input`) + `output`.
    """
    messages = record.get("messages")
    if messages is None and isinstance(record.get("meta"), str):
        try:
            meta = json.loads(record["meta"])
        except ValueError:
            meta = None
        messages = meta.get("messages") if isinstance(meta, dict) else None
    if messages is not None:
        return _clean(messages)
    reply = record.get("response", record.get("chosen"))
    if isinstance(record.get("prompt"), str) and isinstance(reply, str):
        return [{"role": "user", "content": record["prompt"]}, {"role": "assistant", "content": reply}]
    if isinstance(record.get("instruction"), str) and isinstance(record.get("output"), str):
        prompt = record["instruction"] + (f"\n{record['input']}" if record.get("input") else "")
        return [{"role": "user", "content": prompt}, {"role": "assistant", "content": record["output"]}]
    return None


def _clean(messages) -> Conversation | None:
    """Keep well-formed messages with known roles; a conversation needs an assistant turn to train on."""
    if not isinstance(messages, list):
        return None
    kept = [{"role": m["role"], "content": m["content"]} for m in messages
            if isinstance(m, Mapping) and m.get("role") in CHAT_ROLES and isinstance(m.get("content"), str)]
    if len(kept) != len(messages) or not any(m["role"] == "assistant" for m in kept):
        return None
    return kept


def conversation_bytes(messages: Conversation) -> int:
    """UTF-8 bytes of a conversation's contents (the size measure the planner uses)."""
    return sum(len(m["content"].encode("utf-8")) for m in messages)


def encode_conversations(tokenizer: TextTokenizer, conversations: Sequence[Conversation],
                         num_threads: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render and encode conversations; return (flat uint32 ids, int64 offsets, flat uint8 loss mask).

    All text segments of the batch go through the tokenizer in one call; special pieces become their
    ids. Mask 1 marks tokens the model is trained to predict (assistant content and its <|im_end|>).
    """
    texts: list[str] = []
    parts: list[tuple[bool, int, bool]] = []  # (is_text, text index or token id, trained)
    parts_per_conversation = np.zeros(len(conversations), dtype=np.int64)
    for c, messages in enumerate(conversations):
        before = len(parts)
        for segment in chat_segments(messages):
            if segment.special and segment.text == BOS and tokenizer.bos_id < 0:
                continue  # a tokenizer without bos: nothing to add
            piece_id = tokenizer.special_id(segment.text) if segment.special else None
            if piece_id is not None:
                parts.append((False, piece_id, segment.trained))
            else:
                parts.append((True, len(texts), segment.trained))
                texts.append(segment.text)
        parts_per_conversation[c] = len(parts) - before
    values, offsets = tokenizer.encode(texts, num_threads)
    text_lists = np.split(values, offsets[1:-1]) if texts else []
    pieces = [text_lists[ref] if is_text else (ref,) for is_text, ref, _ in parts]
    part_lengths = np.array([len(p) for p in pieces], dtype=np.int64)
    ids = np.fromiter(chain.from_iterable(pieces), dtype=np.uint32, count=int(part_lengths.sum()))
    mask = np.repeat(np.array([trained for _, _, trained in parts], dtype=np.uint8), part_lengths)
    # conversation c spans the parts [part_offsets[c], part_offsets[c + 1])
    part_offsets = np.concatenate([[0], np.cumsum(parts_per_conversation)])
    token_offsets = np.concatenate([[0], np.cumsum(part_lengths)])[part_offsets].astype(np.int64)
    return ids, token_offsets, mask
