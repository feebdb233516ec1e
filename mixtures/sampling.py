"""Deterministic document sampling and shuffle keys: which documents, how many times, in what order.

Every document gets a 64-bit key, hash(seed, source, document id): the same document gets the same
key whatever the sharding, worker count or task order. A source with target T and A tokens is
taken `k = T // A` whole epochs (every document k times: upsampling by whole epochs first), then a
fractional epoch of the remaining `r = T - k*A` tokens: documents in key order, the last one cut
to the exact number of tokens still needed, so every source lands on its target to the token.

Choosing the fractional epoch needs no sort of the corpus: tokenize tasks histogram their tokens
over the top KEY_BIN_BITS bits of the key; the bin where the cumulative count crosses r is the only
one whose documents must be ordered, and only those (a few per million) are gathered to place the
cut. Documents longer than `segment_tokens` are cut into segments; every (document, epoch,
segment) gets its own shuffle key, a mix of the document key with epoch and segment, so copies and
pieces of one document land far apart in the global shuffle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xxhash

KEY_BIN_BITS = 16
NUM_KEY_BINS = 1 << KEY_BIN_BITS
_KEY_SPACE = 1 << 64


def document_keys(seed: int, source: str, ids: list[str]) -> np.ndarray:
    """uint64 key per document: xxh3-64 of seed, source and id."""
    prefix = f"{seed}\x1f{source}\x1f".encode()
    digest = xxhash.xxh3_64_intdigest
    return np.fromiter((digest(prefix + i.encode("utf-8", "surrogatepass")) for i in ids),
                       dtype=np.uint64, count=len(ids))


def key_bins(keys: np.ndarray) -> np.ndarray:
    return (keys >> np.uint64(64 - KEY_BIN_BITS)).astype(np.int64)


def key_limit(fraction: float) -> int:
    """The key below which a `fraction` of documents fall (as a Python int; 2**64 for 1)."""
    return _KEY_SPACE if fraction >= 1 else max(0, int(fraction * _KEY_SPACE))


def in_key_range(keys: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Boolean mask of lo <= key < hi (hi may be 2**64)."""
    inside = keys >= np.uint64(lo) if lo > 0 else np.ones(len(keys), dtype=bool)
    if hi < _KEY_SPACE:
        inside &= keys < np.uint64(hi)
    return inside


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection on uint64 that spreads every input bit over the output."""
    x = x.astype(np.uint64, copy=True)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def segment_keys(doc_keys: np.ndarray, epochs: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Shuffle key of each (document, epoch, segment)."""
    salt = _mix64((epochs.astype(np.uint64) << np.uint64(32)) | segments.astype(np.uint64))
    return _mix64(doc_keys ^ salt)


@dataclass(frozen=True)
class Cut:
    """The last document of a fractional epoch in (key, task, row) order, and the tokens taken from it."""

    key: int
    task: int
    row: int
    tokens: int


@dataclass(frozen=True)
class Sampling:
    """How a source is sampled: whole epochs of every document, then a fractional epoch up to `cut`."""

    whole_epochs: int
    cut: Cut | None  # None: no fractional epoch

    def to_dict(self) -> dict:
        return {"whole_epochs": self.whole_epochs, "cut": None if self.cut is None else vars(self.cut)}


def cut_bin(histogram: np.ndarray, remainder: int) -> tuple[int, int]:
    """(bin holding the cut, tokens still needed from that bin) for a fractional epoch of `remainder`."""
    cumulative = np.cumsum(histogram)
    assert 0 < remainder <= cumulative[-1], "the tokenized documents must cover the remainder"
    b = int(np.searchsorted(cumulative, remainder, side="left"))
    return b, remainder - int(cumulative[b - 1] if b else 0)


def place_cut(keys: np.ndarray, tasks: np.ndarray, rows: np.ndarray, lengths: np.ndarray, need: int) -> Cut:
    """The cut among one bin's documents: whole documents in (key, task, row) order until `need`."""
    order = np.lexsort((rows, tasks, keys))
    cumulative = np.cumsum(lengths[order])
    i = int(np.searchsorted(cumulative, need, side="left"))
    j = order[i]
    taken = need - int(cumulative[i - 1] if i else 0)
    return Cut(key=int(keys[j]), task=int(tasks[j]), row=int(rows[j]), tokens=taken)


def fractional_lengths(keys: np.ndarray, rows: np.ndarray, lengths: np.ndarray, task: int,
                       cut: Cut | None) -> np.ndarray:
    """Tokens each document of one task contributes to the fractional epoch (0, all, or the cut)."""
    if cut is None:
        return np.zeros(len(keys), dtype=np.int64)
    before = (keys < np.uint64(cut.key)) | ((keys == np.uint64(cut.key)) & (
        (task < cut.task) | ((task == cut.task) & (rows < cut.row))))
    taken = np.where(before, lengths, 0).astype(np.int64)
    at_cut = (keys == np.uint64(cut.key)) & (task == cut.task) & (rows == cut.row)
    taken[at_cut] = cut.tokens
    return taken


def sampled_units(keys: np.ndarray, rows: np.ndarray, lengths: np.ndarray, task: int,
                  sampling: Sampling) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(document index, epoch, tokens) of every sampled copy of one task's documents."""
    n = len(keys)
    partial = fractional_lengths(keys, rows, lengths, task, sampling.cut)
    taken = partial > 0
    docs = np.concatenate([np.tile(np.arange(n, dtype=np.int64), sampling.whole_epochs), np.flatnonzero(taken)])
    epochs = np.concatenate([np.repeat(np.arange(sampling.whole_epochs, dtype=np.int64), n),
                             np.full(int(taken.sum()), sampling.whole_epochs, dtype=np.int64)])
    tokens = np.concatenate([np.tile(lengths.astype(np.int64), sampling.whole_epochs), partial[taken]])
    return docs, epochs, tokens


def split_segments(tokens: np.ndarray, segment_tokens: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut units of `tokens` into segments of at most segment_tokens: (unit index, segment index, start)."""
    counts = -(-tokens // segment_tokens)
    unit = np.repeat(np.arange(len(tokens), dtype=np.int64), counts)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    segment = np.arange(len(unit), dtype=np.int64) - first[unit]
    return unit, segment, segment * segment_tokens


def gather_index(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Flat positions covering [start, start + length) for each pair, in order."""
    total = int(lengths.sum())
    out_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return np.arange(total, dtype=np.int64) + np.repeat(starts.astype(np.int64) - out_starts, lengths)
