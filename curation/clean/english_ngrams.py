"""Per-document repetition counts over word ids and strings, as Gopher's and FineWeb's filters define them.

Words arrive as int64 ids (equal words, equal ids) with per-row offsets, so an n-gram is compared by
its ids: one numba pass per n with an open-addressing table per document, no n-gram strings. The
semantics are datatrove's: the top n-gram is the most frequent one, ties going to the one seen
first (`Counter.most_common(1)`); duplicate n-gram characters come from a left-to-right scan that
jumps over an n-gram once it repeats (`find_all_duplicate`). Line and paragraph duplicates
(`find_duplicates`) are counted with a sort over (row, string id).
"""

from __future__ import annotations

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.clean.repetition import hash_table_size

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@numba.njit(cache=True, inline="always")
def _slot(ids, start, n, mask):
    h = _FNV_OFFSET
    for k in range(n):
        h = (h ^ np.uint64(ids[start + k])) * _FNV_PRIME
    h ^= h >> np.uint64(31)
    return np.int64(h & np.uint64(mask))


@numba.njit(cache=True, inline="always")
def _same(ids, a, b, n):
    for k in range(n):
        if ids[a + k] != ids[b + k]:
            return False
    return True



@numba.njit(cache=True)
def top_ngram_chars(ids, lengths, offsets, n):
    """Per row: characters of its most frequent word n-gram (words joined by spaces) x its count."""
    num_rows = len(offsets) - 1
    out = np.zeros(num_rows, np.int64)
    longest = 0
    for r in range(num_rows):
        longest = max(longest, offsets[r + 1] - offsets[r])
    first = np.empty(hash_table_size(longest), np.int64)  # position of the slot's n-gram, -1 when empty
    count = np.empty(len(first), np.int64)
    for r in range(num_rows):
        start, m = offsets[r], offsets[r + 1] - offsets[r] - n + 1
        if m <= 0:
            continue
        size = hash_table_size(m)
        first[:size] = -1
        best_count, best_first = 0, 0
        for i in range(start, start + m):
            s = _slot(ids, i, n, size - 1)
            while first[s] != -1 and not _same(ids, first[s], i, n):
                s = (s + 1) & (size - 1)
            if first[s] == -1:
                first[s] = i
                count[s] = 0
            count[s] += 1
            if count[s] > best_count or (count[s] == best_count and first[s] < best_first):
                best_count, best_first = count[s], first[s]
        chars = n - 1
        for k in range(n):
            chars += lengths[best_first + k]
        out[r] = chars * best_count
    return out


@numba.njit(cache=True)
def duplicate_ngram_chars(ids, lengths, offsets, n):
    """Per row: characters (words concatenated) of n-grams that repeat an earlier one, scanning left
    to right and jumping n words past every repeat."""
    num_rows = len(offsets) - 1
    out = np.zeros(num_rows, np.int64)
    longest = 0
    for r in range(num_rows):
        longest = max(longest, offsets[r + 1] - offsets[r])
    first = np.empty(hash_table_size(longest), np.int64)
    for r in range(num_rows):
        start, stop = offsets[r], offsets[r + 1] - n + 1
        if stop <= start:
            continue
        size = hash_table_size(stop - start)
        first[:size] = -1
        i, total = start, 0
        while i < stop:
            s = _slot(ids, i, n, size - 1)
            while first[s] != -1 and not _same(ids, first[s], i, n):
                s = (s + 1) & (size - 1)
            if first[s] == -1:
                first[s] = i
                i += 1
            else:
                for k in range(n):
                    total += lengths[i + k]
                i += n
        out[r] = total
    return out


@numba.njit(cache=True)
def sentence_counts(ids, offsets, ends_sentence, is_punct):
    """Per row: spaCy Sentencizer sentences (a word in its punctuation list, then any punctuation
    words, then a non-punctuation word starts the next sentence); 0 for a row without words."""
    num_rows = len(offsets) - 1
    out = np.zeros(num_rows, np.int64)
    for r in range(num_rows):
        if offsets[r + 1] == offsets[r]:
            continue
        sentences, seen_end = 1, False
        for t in range(offsets[r], offsets[r + 1]):
            word = ids[t]
            if seen_end and not is_punct[word] and not ends_sentence[word]:
                sentences += 1
                seen_end = False
            elif ends_sentence[word]:
                seen_end = True
        out[r] = sentences
    return out


def duplicates(lists: pa.Array, num_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of a list<string> array: (elements, elements equal to an earlier one, their characters)."""
    rows = np.asarray(pc.list_parent_indices(lists), dtype=np.int64)
    values = pc.list_flatten(lists)
    elements = np.bincount(rows, minlength=num_rows)
    if len(values) == 0:
        return elements, np.zeros(num_rows, np.int64), np.zeros(num_rows, np.int64)
    encoded = pc.dictionary_encode(values)
    key = rows * len(encoded.dictionary) + np.asarray(encoded.indices, dtype=np.int64)
    order = np.argsort(key, kind="stable")
    repeat = np.flatnonzero(key[order][1:] == key[order][:-1]) + 1
    lengths = np.asarray(pc.utf8_length(values), dtype=np.int64)
    repeat_rows = rows[order][repeat]
    dup = np.bincount(repeat_rows, minlength=num_rows)
    dup_chars = np.bincount(repeat_rows, weights=lengths[order][repeat], minlength=num_rows).astype(np.int64)
    return elements, dup, dup_chars
