"""The tokenizer as the mixture builder sees it: a sentencepiece model that encodes batches of text
into flat token arrays, with the document and chat special ids.

Documents are `<s> text </s>` (tokenizer.special_tokens); a tokenizer without a bos id gets
`text </s>`. The `tokenizer` package has no encode API yet, so this wraps sentencepiece directly;
when it grows one, `TextTokenizer.encode` is the one place to point at it. Every second spent
inside sentencepiece is added to `encode_seconds`, so the build can say how much of its time is
tokenization.
"""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa

from curation.documents import file_sha256
from tokenizer.encoding import resolve_model_path
from tokenizer.special_tokens import BOS, EOS, IM_END, IM_START


class TextTokenizer:
    """A sentencepiece model plus the ids a mixture needs; encode_seconds counts time inside it."""

    def __init__(self, path: str | Path):
        import sentencepiece as spm

        self.path = resolve_model_path(path)
        try:
            self.sp = spm.SentencePieceProcessor(model_file=str(self.path))
        except (OSError, RuntimeError) as exc:
            raise ValueError(f"{self.path}: not a sentencepiece model ({str(exc).strip()})") from None
        self.vocab_size = self.sp.get_piece_size()
        self.bos_id = self.sp.bos_id()  # -1 when the model has none
        self.eos_id = self.sp.eos_id()
        if self.eos_id < 0:
            raise ValueError(f"{self.path}: the tokenizer has no eos token; documents need one between them")
        if self.vocab_size > np.iinfo(np.uint32).max:
            raise ValueError(f"{self.path}: vocabulary too large for uint32 ids")
        self.encode_seconds = 0.0

    @property
    def sha256(self) -> str:
        return _sha256(str(self.path))

    def special_id(self, piece: str) -> int | None:
        """The id of a special piece (bos, eos, chat markers), or None when the model lacks it."""
        if piece == BOS:
            return self.bos_id if self.bos_id >= 0 else None
        if piece == EOS:
            return self.eos_id
        piece_id = self.sp.piece_to_id(piece)
        return piece_id if piece_id != self.sp.unk_id() and self.sp.is_control(piece_id) else None

    @property
    def chat_markers(self) -> str:
        """'control' when <|im_start|>/<|im_end|> are control pieces, else 'text' (spelled out)."""
        have = all(self.special_id(p) is not None for p in (IM_START, IM_END))
        return "control" if have else "text"

    def encode(self, texts: list[str], num_threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Encode texts; return (flat uint32 ids, int64 offsets of len(texts) + 1)."""
        started = time.perf_counter()
        ids = self.sp.encode(texts, num_threads=num_threads)
        self.encode_seconds += time.perf_counter() - started
        lists = pa.array(ids, type=pa.list_(pa.uint32()))
        offsets = lists.offsets.to_numpy().astype(np.int64)
        return lists.values.to_numpy(), offsets

    def encode_documents(self, texts: list[str], num_threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Encode documents as `<s> text </s>`; return (flat uint32 ids, int64 offsets)."""
        values, offsets = self.encode(texts, num_threads)
        return wrap_documents(values, offsets, self.bos_id, self.eos_id)


def wrap_documents(values: np.ndarray, offsets: np.ndarray, bos_id: int, eos_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Insert bos (when >= 0) before and eos after every document of a flat id array."""
    lengths = np.diff(offsets)
    num_docs = len(lengths)
    has_bos = int(bos_id >= 0)
    extra = has_bos + 1
    new_offsets = np.zeros(num_docs + 1, dtype=np.int64)
    np.cumsum(lengths + extra, out=new_offsets[1:])
    out = np.empty(int(new_offsets[-1]), dtype=np.uint32)
    if has_bos:
        out[new_offsets[:-1]] = bos_id
    out[new_offsets[1:] - 1] = eos_id
    # token j of document d moves right by d * extra + has_bos
    shift = np.repeat(np.arange(num_docs, dtype=np.int64) * extra + has_bos, lengths)
    out[np.arange(len(values), dtype=np.int64) + shift] = values
    return out, new_offsets


@lru_cache(maxsize=4)
def _sha256(path: str) -> str:
    return file_sha256(path)


@lru_cache(maxsize=2)
def load_tokenizer(path: str) -> TextTokenizer:
    """One tokenizer per process and model path (workers reuse it across tasks)."""
    return TextTokenizer(path)
