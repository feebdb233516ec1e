"""English words exactly as spaCy's blank English tokenizer splits them, once per distinct chunk.

datatrove's Gopher, C4 and FineWeb filters count words with `spacy.blank("en")`; their thresholds
(e.g. "80% of words contain a letter", where "." and "," are words too) only agree with ours when
our words are the same. spaCy splits text on whitespace into chunks and each chunk by its rules
(`english_word_rules`). A chunk's words depend on the chunk alone and chunks repeat (Zipf), so a
batch is split into chunks by one Arrow kernel and only its distinct chunks are looked at: pure
letter or digit chunks are words already, common shapes ("word,", "(word", "word's",
"well-known") are cut by Arrow regexes, and the rest (a fifth of the distinct chunks of the web
samples) go through the rules in Python, memoised across batches. Measured against spaCy on the
English samples: 14 of 619,223 chunk occurrences split differently, all runs of apostrophes where
spaCy breaks ties between overlapping "''" merges another way.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.clean.english_word_rules import special_cases, split_chunk

# Chunks that can need splitting: anything but pure letters or pure ASCII digits, plus the
# letter/digit chunks that are exceptions ("cannot", "dont", "10am").
_PLAIN_CHUNK = r"^(?:\pL+|[0-9]+)$"
# Common shapes whose split is known without running the rules: one prefix, a plain word, one
# suffix ("(word", "word,", "word's", "2010." ...) or two words and a hyphen, valid when the chunk
# and its two- and one-part runs (except infix-split pieces, which spaCy never looks up) are not
# exceptions.
_PRE = "(?P<pre>[(\\[\"'“‘«$£€#¿¡]?)"
_SHAPES = [
    rf"^{_PRE}(?P<word>\pL+|[0-9]+)(?P<suf>[,;:!?)\]\"'”’»]|['’][sS]|)$",
    rf"^{_PRE}(?P<word>\pL*[\p{{Ll}}\p{{Lm}}\p{{Lo}}]|\pL*\p{{Lu}}\p{{Lu}}|[0-9]+)(?P<suf>\.)$",
    rf"^{_PRE}(?P<word>[0-9]+)(?P<suf>%)$",
    r"^(?P<pre>\pL+)(?P<word>[-–—])(?P<suf>\pL+)$",  # an infix hyphen: "well-known"
]
_MEMO: dict[str, tuple[str, ...]] = {}
_MEMO_MAX = 200_000


def forget_split_chunks() -> None:
    """Empty the memo of split chunks (it is bounded; this is for timing from a cold start)."""
    _MEMO.clear()


def _split_cached(chunk: str) -> tuple[str, ...]:
    tokens = _MEMO.get(chunk)
    if tokens is None:
        if len(_MEMO) >= _MEMO_MAX:
            _MEMO.clear()
        tokens = _MEMO[chunk] = split_chunk(chunk)
    return tokens


@cache
def _special_keys() -> pa.Array:
    return pa.array(sorted(special_cases()), pa.large_string())


@dataclass
class Tokens:
    """The words of a batch of strings: ids into `vocab`, row r owning ids[offsets[r]:offsets[r+1]]."""

    ids: np.ndarray  # int64, one per word
    offsets: np.ndarray  # int64, len(rows) + 1
    vocab: pa.Array  # large_string, the distinct words of the batch
    num_chunks: np.ndarray  # int64 per row: whitespace-separated chunks (len(text.split()))
    longest_chunk: np.ndarray  # int64 per row: characters of its longest chunk, 0 without chunks

    @property
    def num_rows(self) -> int:
        return len(self.offsets) - 1

    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    def regroup(self, starts: np.ndarray) -> Tokens:
        """The same words grouped into coarser rows: new row i holds old rows starts[i]..starts[i+1]-1
        (`starts` has one more entry than new rows and ends at num_rows)."""
        chunks = np.concatenate([[0], np.cumsum(self.num_chunks)])[starts]
        longest = np.zeros(len(starts) - 1, np.int64)
        nonempty = starts[1:] > starts[:-1]
        if self.num_rows:
            longest[nonempty] = np.maximum.reduceat(self.longest_chunk, starts[:-1][nonempty])
        return Tokens(self.ids, self.offsets[starts], self.vocab, np.diff(chunks), longest)

    def row_index(self) -> np.ndarray:
        """The row of every word."""
        return np.repeat(np.arange(self.num_rows, dtype=np.int64), self.counts())


def tokenize(texts: pa.Array) -> Tokens:
    """spaCy English words of every string (whitespace dropped, as datatrove's `split_into_words`)."""
    chunks = pc.utf8_split_whitespace(texts.cast(pa.large_string()))
    chunk_rows = np.asarray(pc.list_parent_indices(chunks), dtype=np.int64)
    encoded = pc.dictionary_encode(pc.list_flatten(chunks))
    chunk_ids = np.asarray(encoded.indices, dtype=np.int64)
    uniques = encoded.dictionary
    num_uniques = len(uniques)
    specials = _special_keys()
    todo = ~(
        np.asarray(pc.match_substring_regex(uniques, _PLAIN_CHUNK), bool)
        & ~np.asarray(pc.is_in(uniques, specials), bool)
    )
    # The words of every distinct chunk in long form: (chunk id, position, word).
    owners = [np.flatnonzero(~todo)]
    positions = [np.zeros(len(owners[0]), np.int64)]
    words = [uniques.take(pa.array(owners[0]))]
    for shape in _SHAPES:
        candidates = np.flatnonzero(todo)
        parts = pc.extract_regex(uniques.take(pa.array(candidates)), shape)
        valid = np.asarray(parts.is_valid(), bool)
        if not valid.any():
            continue
        parts = parts.filter(pa.array(valid))
        candidates = candidates[valid]
        pre, word, suf = (parts.field(name) for name in ("pre", "word", "suf"))
        empty = pa.scalar("", pa.large_string())
        clash = np.zeros(len(candidates), bool)
        for joined in (
            word,
            pc.binary_join_element_wise(pre, word, empty),
            pc.binary_join_element_wise(word, suf, empty),
        ):
            clash |= np.asarray(pc.is_in(joined, specials), bool)
        fine = ~clash & ~np.asarray(pc.is_in(uniques.take(pa.array(candidates)), specials), bool)
        for position, part in enumerate((pre, word, suf)):
            present = fine & np.asarray(pc.not_equal(part, ""), bool)
            owners.append(candidates[present])
            positions.append(np.full(int(present.sum()), position, np.int64))
            words.append(part.filter(pa.array(present)))
        todo[candidates[fine]] = False
    rest = np.flatnonzero(todo)
    split = [_split_cached(chunk) for chunk in uniques.take(pa.array(rest)).to_pylist()]
    counts = np.fromiter(map(len, split), np.int64, len(split))
    owners.append(np.repeat(rest, counts))
    positions.append(_ramp(counts))
    words.append(pa.array([w for ws in split for w in ws], pa.large_string()))
    owner, position = np.concatenate(owners), np.concatenate(positions)
    order = np.lexsort((position, owner))
    pieces = pc.dictionary_encode(pa.concat_arrays([w.cast(pa.large_string()) for w in words]).take(pa.array(order)))
    chunk_words = np.asarray(pieces.indices, dtype=np.int64)
    per_chunk = np.bincount(owner, minlength=num_uniques)
    chunk_start = np.zeros(num_uniques + 1, np.int64)
    np.cumsum(per_chunk, out=chunk_start[1:])
    # Expand every chunk occurrence into its words.
    counts = per_chunk[chunk_ids]
    ids = chunk_words[np.repeat(chunk_start[chunk_ids], counts) + _ramp(counts)]
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.bincount(chunk_rows, weights=counts, minlength=len(texts)).astype(np.int64), out=offsets[1:])
    num_chunks = np.bincount(chunk_rows, minlength=len(texts))
    longest = np.zeros(len(texts), np.int64)
    if len(chunk_ids):
        chunk_lengths = np.asarray(pc.utf8_length(uniques), np.int64)[chunk_ids]
        starts = np.concatenate([[0], np.cumsum(num_chunks)[:-1]])
        longest[num_chunks > 0] = np.maximum.reduceat(chunk_lengths, starts[num_chunks > 0])
    return Tokens(ids, offsets, pieces.dictionary, num_chunks, longest)


def _ramp(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for every c in counts, concatenated."""
    total = int(counts.sum())
    ends = np.cumsum(counts)
    return np.arange(total, dtype=np.int64) - np.repeat(ends - counts, counts)
