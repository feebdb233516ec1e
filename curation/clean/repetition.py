"""Line, paragraph and character n-gram repetition statistics, straight from Arrow's UTF-8 buffers.

One numba pass per batch reads the offsets and bytes of a string column (no Python string per
row) and returns per-document counts: lines and paragraphs that repeat an earlier one, lines that
end like a sentence, short lines, and the fraction of characters covered by a character n-gram
that occurs more than once in the document (Gopher's duplicate n-gram fraction, on characters
rather than words so that it works for Chinese, which has no spaces).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import pyarrow as pa

# Sentence-final marks, ASCII and full width, optionally followed by a closing quote/bracket.
_SENTENCE_END = np.array([ord(c) for c in ".!?;:。！？；：…"], dtype=np.int64)
_CLOSERS = np.array([ord(c) for c in "\"')]”’」』）》】"], dtype=np.int64)


def utf8_buffers(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets int64 [n+1], data uint8) of a string column, offsets relative to data."""
    texts = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    texts = texts.cast(pa.large_string())
    _, offsets_buf, data_buf = texts.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[texts.offset: texts.offset + len(texts) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    return offsets, data


@numba.njit(cache=True)
def _decode(data, start, end, out):
    """Decode UTF-8 bytes [start, end) into code points in out; return their count."""
    n = 0
    i = start
    while i < end:
        b = data[i]
        if b < 0x80:
            cp = b
            i += 1
        elif b < 0xE0:
            cp = ((b & 0x1F) << 6) | (data[i + 1] & 0x3F)
            i += 2
        elif b < 0xF0:
            cp = ((b & 0x0F) << 12) | ((data[i + 1] & 0x3F) << 6) | (data[i + 2] & 0x3F)
            i += 3
        else:
            cp = (((b & 0x07) << 18) | ((data[i + 1] & 0x3F) << 12) | ((data[i + 2] & 0x3F) << 6)
                  | (data[i + 3] & 0x3F))
            i += 4
        out[n] = cp
        n += 1
    return n


@numba.njit(cache=True)
def _is_space(cp):
    return cp == 32 or cp == 9 or cp == 10 or cp == 13 or cp == 0x3000 or cp == 0xA0


@numba.njit(cache=True)
def _member(cp, values):
    for v in values:
        if v == cp:
            return True
    return False


@numba.njit(cache=True)
def _block_stats(cps, n, paragraphs, sentence_end, closers, short_line_chars, out_row, out):
    """Count blocks (lines, or paragraphs split at blank lines) and duplicate blocks of one document."""
    hashes = np.empty(n + 1, dtype=np.uint64)
    sizes = np.empty(n + 1, dtype=np.int64)
    num = 0
    start = 0
    i = 0
    while i <= n:
        boundary = i == n or (cps[i] == 10 and (not paragraphs or (i + 1 < n and cps[i + 1] == 10)))
        if boundary:
            # trim whitespace at both ends of the block
            s = start
            e = i
            while s < e and _is_space(cps[s]):
                s += 1
            while e > s and _is_space(cps[e - 1]):
                e -= 1
            if e > s:
                h = np.uint64(1469598103934665603)
                for j in range(s, e):
                    h = (h ^ np.uint64(cps[j])) * np.uint64(1099511628211)
                hashes[num] = h
                sizes[num] = e - s
                num += 1
                if not paragraphs:
                    last = cps[e - 1]
                    k = e - 1
                    while k > s and _member(last, closers):
                        k -= 1
                        last = cps[k]
                    # "..." or a single "…" closes a truncated teaser, not a sentence; "……" does
                    teaser = (last == 46 and k - 2 >= s and cps[k - 1] == 46 and cps[k - 2] == 46) or \
                        (last == 0x2026 and (k == s or cps[k - 1] != 0x2026))
                    if _member(last, sentence_end) and not teaser:
                        out[out_row, 4] += 1
                    if e - s < short_line_chars:
                        out[out_row, 5] += 1
            start = i + 2 if (paragraphs and i < n) else i + 1
            i = start
        else:
            i += 1
    dup = 0
    dup_chars = 0
    order = np.argsort(hashes[:num])
    for k in range(1, num):
        if hashes[order[k]] == hashes[order[k - 1]]:
            dup += 1
            dup_chars += sizes[order[k]]
    col = 2 if paragraphs else 0
    out[out_row, col] = num
    out[out_row, col + 1] = dup
    return dup_chars


@numba.njit(cache=True)
def _ngram_dup_chars(cps, n, ngram):
    """Characters (whitespace excluded) covered by a character n-gram occurring twice or more."""
    chars = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        if not _is_space(cps[i]):
            chars[m] = cps[i]
            m += 1
    if m < ngram:
        return 0, m
    count = m - ngram + 1
    hashes = np.empty(count, dtype=np.uint64)
    for i in range(count):
        h = np.uint64(1469598103934665603)
        for j in range(ngram):
            h = (h ^ np.uint64(chars[i + j])) * np.uint64(1099511628211)
        hashes[i] = h
    order = np.argsort(hashes)
    covered = np.zeros(m, dtype=np.bool_)
    k = 0
    while k < count:
        g = k
        while g + 1 < count and hashes[order[g + 1]] == hashes[order[k]]:
            g += 1
        if g > k:
            for t in range(k, g + 1):
                p = order[t]
                covered[p: p + ngram] = True
        k = g + 1
    return covered.sum(), m


@numba.njit(cache=True)
def _stats(offsets, data, ngram, sentence_end, closers, short_line_chars):
    num_docs = len(offsets) - 1
    # columns: lines, dup lines, paragraphs, dup paragraphs, sentence-end lines, short lines,
    # dup line chars, ngram dup chars, non-space chars
    out = np.zeros((num_docs, 9), dtype=np.int64)
    max_len = 0
    for d in range(num_docs):
        max_len = max(max_len, offsets[d + 1] - offsets[d])
    cps = np.empty(max_len + 1, dtype=np.int64)
    for d in range(num_docs):
        n = _decode(data, offsets[d], offsets[d + 1], cps)
        out[d, 6] = _block_stats(cps, n, False, sentence_end, closers, short_line_chars, d, out)
        _block_stats(cps, n, True, sentence_end, closers, short_line_chars, d, out)
        out[d, 7], out[d, 8] = _ngram_dup_chars(cps, n, ngram)
    return out


@dataclass
class RepetitionStats:
    """Per-document counts (numpy int64 arrays), one entry per row of the column."""

    num_lines: np.ndarray
    dup_lines: np.ndarray
    dup_line_chars: np.ndarray
    num_paragraphs: np.ndarray
    dup_paragraphs: np.ndarray
    sentence_end_lines: np.ndarray
    short_lines: np.ndarray
    ngram_dup_chars: np.ndarray
    nonspace_chars: np.ndarray


def repetition_stats(texts: pa.Array, ngram_chars: int = 10, short_line_chars: int = 10) -> RepetitionStats:
    """Line/paragraph duplicates, sentence-ending and short lines, duplicate char n-gram coverage."""
    offsets, data = utf8_buffers(texts)
    out = _stats(offsets, data, ngram_chars, _SENTENCE_END, _CLOSERS, short_line_chars)
    return RepetitionStats(num_lines=out[:, 0], dup_lines=out[:, 1], dup_line_chars=out[:, 6],
                           num_paragraphs=out[:, 2], dup_paragraphs=out[:, 3],
                           sentence_end_lines=out[:, 4], short_lines=out[:, 5],
                           ngram_dup_chars=out[:, 7], nonspace_chars=out[:, 8])


# Polynomial rolling hash of character n-grams (mod 2^64), each code point mixed first, the window
# hash finalized with splitmix64 before it indexes the table. Equal hashes count as equal n-grams:
# a 64-bit collision between two n-grams of one document is vanishingly rare in real text.
_ROLL_BASE = np.uint64(0x100000001B3)
_MIX = np.uint64(0x9E3779B97F4A7C15)


@numba.njit(cache=True, inline="always")
def _finalize(h):
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return (h ^ (h >> np.uint64(31))) | np.uint64(1)  # never 0: 0 marks an empty slot


@numba.njit(cache=True)
def hash_table_size(m):
    """A power of two at least twice m: open addressing stays short."""
    size = 2
    while size < 2 * m:
        size *= 2
    return size


@numba.njit(cache=True)
def _coverage(offsets, data, ngram):
    num_docs = len(offsets) - 1
    covered = np.zeros(num_docs, np.int64)
    nonspace = np.zeros(num_docs, np.int64)
    max_len = 0
    for d in range(num_docs):
        max_len = max(max_len, offsets[d + 1] - offsets[d])
    cps = np.empty(max_len + 1, np.int64)
    hashes = np.empty(max_len + 1, np.uint64)
    slots = np.empty(max_len + 1, np.int64)
    diff = np.empty(max_len + 2, np.int64)
    keys = np.empty(hash_table_size(max_len + 1), np.uint64)
    counts = np.empty(len(keys), np.int64)
    top = np.uint64(1)  # _ROLL_BASE ** (ngram - 1), the weight of the character leaving the window
    for _ in range(ngram - 1):
        top *= _ROLL_BASE
    for d in range(num_docs):
        n = _decode(data, offsets[d], offsets[d + 1], cps)
        m = 0
        for i in range(n):
            if not _is_space(cps[i]):
                cps[m] = cps[i]
                m += 1
        nonspace[d] = m
        if m < ngram:
            continue
        windows = m - ngram + 1
        h = np.uint64(0)
        for j in range(ngram):
            h = h * _ROLL_BASE + np.uint64(cps[j]) * _MIX
        hashes[0] = _finalize(h)
        for i in range(1, windows):
            h = (h - np.uint64(cps[i - 1]) * _MIX * top) * _ROLL_BASE + np.uint64(cps[i + ngram - 1]) * _MIX
            hashes[i] = _finalize(h)
        size = hash_table_size(windows)
        keys[:size] = 0
        counts[:size] = 0
        for i in range(windows):
            s = np.int64(hashes[i] & np.uint64(size - 1))
            while keys[s] != 0 and keys[s] != hashes[i]:
                s = (s + 1) & (size - 1)
            keys[s] = hashes[i]
            counts[s] += 1
            slots[i] = s
        # Characters under any window whose n-gram occurs twice or more: +1/-1 at each such
        # window's ends, then a running sum (O(m) however much the windows overlap).
        diff[: m + 1] = 0
        for i in range(windows):
            if counts[slots[i]] > 1:
                diff[i] += 1
                diff[i + ngram] -= 1
        run = 0
        total = 0
        for k in range(m):
            run += diff[k]
            if run > 0:
                total += 1
        covered[d] = total
    return covered, nonspace


def dup_ngram_coverage(texts: pa.Array, ngram_chars: int) -> tuple[np.ndarray, np.ndarray]:
    """Per document: non-space characters inside a character n-gram (whitespace skipped) that occurs
    twice or more, and the number of non-space characters. Linear time in the text, whatever n is."""
    if ngram_chars < 1:
        raise ValueError("ngram_chars must be at least 1")
    offsets, data = utf8_buffers(texts)
    return _coverage(offsets, data, ngram_chars)
