"""MinHash signatures by one-permutation hashing with optimal densification, for a whole batch at once.

Classic MinHash hashes every shingle k times (k permutations). One-permutation hashing (Li, Owen &
Zhang 2012) hashes each shingle once with a 64-bit mix: the high 32 bits pick one of k bins, the
low 32 bits are the value, and each bin keeps its minimum. Bins no shingle fell into are filled by
optimal densification (Shrivastava 2017): empty bin i copies the value of the first non-empty bin
in a probe sequence that depends only on (i, attempt), so two documents that agree on which bins
are non-empty copy from the same places and the fraction of equal bins stays an unbiased estimate
of their Jaccard similarity. Cost: O(1) per shingle instead of O(k), plus about k^2 / m table
lookups for a document of m < k shingles (the probe sequences' first steps are precomputed).

A document with no shingles (empty after normalization) gets the all-EMPTY_VALUE signature and
takes part only in exact dedup.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numba as nb
import numpy as np
import pyarrow as pa

from curation.dedup.shingles import (
    _ASCII_CLASS,
    doc_shingles,
    ngram_sizes,
    resolve_modes,
    shingle_modes,
    splitmix64,
    utf8_buffers,
)

EMPTY_VALUE = np.uint32(0xFFFFFFFF)
_PROBE_SALT = np.uint64(0xD6E8FEB86659FD93)
_PROBE_DEPTH = 64  # probes per bin kept in a table: enough unless a document fills under ~1/16 of the bins


@dataclass
class Sketch:
    """The per-document results of the signature pass, in row order."""

    signatures: np.ndarray  # uint32 [num_docs, num_perm]
    exact_keys: np.ndarray  # uint64 [num_docs, 2]: 128-bit hash of the normalized text
    num_shingles: np.ndarray  # int32 [num_docs]
    modes: np.ndarray  # int8 [num_docs], shingles.MODE_*


@nb.njit(cache=True, inline="always")
def _probe(i, attempt, seed, k):
    """The bin that empty bin i copies from on the given attempt (the same for every document)."""
    h = splitmix64((np.uint64(i) << np.uint64(32)) ^ np.uint64(attempt) ^ seed ^ _PROBE_SALT)
    return ((h >> np.uint64(32)) * k) >> np.uint64(32)


@nb.njit(cache=True)
def probe_table(num_perm, seed, depth):
    """int32 [num_perm, depth]: the first `depth` probes of every bin, looked up instead of hashed."""
    table = np.empty((num_perm, depth), dtype=np.int32)
    for i in range(num_perm):
        for a in range(depth):
            table[i, a] = _probe(i, a + 1, seed, np.uint64(num_perm))
    return table


@nb.njit(cache=True)
def _one_permutation(shingles, count, seed, out, filled, probes):
    """Fill `out` (uint32 [num_perm]) with the densified one-permutation MinHash of shingles[:count]."""
    num_perm = len(out)
    k = np.uint64(num_perm)
    filled[:] = False
    out[:] = EMPTY_VALUE
    if count == 0:
        return
    for s in range(count):
        h = splitmix64(shingles[s] ^ seed)
        b = ((h >> np.uint64(32)) * k) >> np.uint64(32)  # bin = high 32 bits scaled to [0, k)
        v = np.uint32(h & np.uint64(0xFFFFFFFF))
        if not filled[b] or v < out[b]:
            out[b] = v
            filled[b] = True
    depth = probes.shape[1]
    for i in range(num_perm):
        if filled[i]:
            continue
        found = False
        for a in range(depth):
            j = probes[i, a]
            if filled[j]:
                out[i] = out[j]  # j is non-empty, so out[j] is its own minimum, not a copy
                found = True
                break
        attempt = depth + 1
        while not found:  # few shingles: the table ran out, hash further probes
            j = _probe(i, attempt, seed, k)
            if filled[j]:
                out[i] = out[j]
                found = True
            attempt += 1


@nb.njit(cache=False)  # calls shingles.doc_shingles: numba caches do not track other files
def _sketch_kernel(data, offsets, modes, ngrams, num_perm, seed, ascii_class, probes):
    num_docs = len(offsets) - 1
    longest = 0
    for d in range(num_docs):
        longest = max(longest, offsets[d + 1] - offsets[d])
    scratch = np.empty(longest + 1, dtype=np.uint64)
    filled = np.empty(num_perm, dtype=np.bool_)
    signatures = np.empty((num_docs, num_perm), dtype=np.uint32)
    exact = np.empty((num_docs, 2), dtype=np.uint64)
    counts = np.empty(num_docs, dtype=np.int32)
    for d in range(num_docs):
        mode = modes[d]
        count, e1, e2 = doc_shingles(data, offsets[d], offsets[d + 1], mode, ngrams[mode], scratch,
                                     ascii_class)
        _one_permutation(scratch, count, seed, signatures[d], filled, probes)
        exact[d, 0] = e1
        exact[d, 1] = e2
        counts[d] = count
    return signatures, exact, counts


@nb.njit(cache=True)
def _one_permutation_sets(hashes, starts, num_perm, seed, probes):
    num_docs = len(starts) - 1
    signatures = np.empty((num_docs, num_perm), dtype=np.uint32)
    filled = np.empty(num_perm, dtype=np.bool_)
    for d in range(num_docs):
        _one_permutation(hashes[starts[d]:starts[d + 1]], starts[d + 1] - starts[d], seed, signatures[d], filled,
                         probes)
    return signatures


def mixed_seed(seed: int) -> np.uint64:
    """The 64-bit hashing seed derived from a config seed (same seed, same signatures)."""
    return np.uint64(splitmix64(np.uint64(seed & 0xFFFFFFFFFFFFFFFF) + np.uint64(0x9E3779B97F4A7C15)))


@functools.lru_cache(maxsize=8)
def _probes(num_perm: int, seed: int) -> np.ndarray:
    return probe_table(num_perm, mixed_seed(seed), _PROBE_DEPTH)


def sketch_texts(texts: pa.Array | pa.ChunkedArray, modes: np.ndarray, ngrams: np.ndarray,
                 num_perm: int, seed: int) -> Sketch:
    """Signatures, exact keys and shingle counts for a column of texts, in one compiled pass."""
    data, offsets = utf8_buffers(texts)
    resolved = resolve_modes(data, offsets, modes)
    signatures, exact, counts = _sketch_kernel(data, offsets, resolved, ngrams, num_perm, mixed_seed(seed),
                                               _ASCII_CLASS, _probes(num_perm, seed))
    return Sketch(signatures, exact, counts, resolved)


def sketch_documents(table: pa.Table, config) -> Sketch:
    """Sketch a document table under a DedupConfig: mode per document from its lang and source."""
    modes = shingle_modes(table.column("lang"), table.column("source"), config.char_langs,
                          config.code_langs, config.code_sources)
    ngrams = ngram_sizes(config.ngram_words, config.ngram_chars, config.ngram_code)
    return sketch_texts(table.column("text"), modes, ngrams, config.num_perm, config.seed)


def signatures_of_sets(hashes: np.ndarray, starts: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """Signatures of given shingle-hash sets (hashes[starts[d]:starts[d+1]] for document d)."""
    return _one_permutation_sets(np.ascontiguousarray(hashes, dtype=np.uint64), starts, num_perm,
                                 mixed_seed(seed), _probes(num_perm, seed))


@nb.njit(cache=True)
def _band_keys_kernel(signatures, bands, rows, seed):
    num_docs = signatures.shape[0]
    keys = np.empty((num_docs, bands), dtype=np.uint64)
    for d in range(num_docs):
        for b in range(bands):
            h = seed ^ (np.uint64(b + 1) * np.uint64(0x9E3779B97F4A7C15))
            for r in range(rows):
                h = splitmix64(h ^ np.uint64(signatures[d, b * rows + r]))
            keys[d, b] = h
    return keys


def band_keys(signatures: np.ndarray, bands: int, rows: int, seed: int) -> np.ndarray:
    """uint64 [num_docs, bands]: one hash per band of `rows` signature values (equal band, equal key)."""
    return _band_keys_kernel(signatures, bands, rows, mixed_seed(seed))


def estimate_jaccard(signatures_a: np.ndarray, signatures_b: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity: the fraction of equal signature values, row by row (float32)."""
    equal = np.asarray(signatures_a) == np.asarray(signatures_b)
    return equal.mean(axis=-1, dtype=np.float64).astype(np.float32)
