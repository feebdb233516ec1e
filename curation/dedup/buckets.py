"""Band buckets on disk: sorted band files per shard, key-range bucket tasks, verified candidate pairs.

The signature pass writes, for every input shard and band, the rows (band key, doc key, exact key)
sorted by band key; exact dedup is one more "band" whose key is the 128-bit exact hash. A bucket
task owns one band and one slice of the 64-bit key space: it binary-searches its slice out of every
shard's memory-mapped band file, so it holds about (documents / ranges) rows whatever the corpus
size, sorts them, and turns every bucket of two or more documents into candidate pairs: a star
from the bucket's first document plus a chain through the rest (2(m - 1) pairs for m documents,
enough for connectivity, never m^2). Inside an LSH bucket, documents with the same exact key stand
for one another (exact dedup already joins them), so exact copies never inflate buckets. Each
candidate is then checked against the signature estimate and kept only at >= threshold.
"""

from __future__ import annotations

import os
from pathlib import Path

import numba as nb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curation.dedup import layout
from curation.dedup.signatures import estimate_jaccard

_EDGE_SCHEMA = pa.schema([("a", pa.int64()), ("b", pa.int64()), ("similarity", pa.float32()),
                          ("exact", pa.bool_())])


def sorted_band_rows(keys: np.ndarray, docs: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """uint64 [3, n] rows (key, doc, exact) sorted by key, exact, doc."""
    order = np.lexsort((docs, exact, keys))
    return np.stack([keys[order], docs.astype(np.uint64)[order], exact[order]])


def key_ranges(num_ranges: int) -> list[tuple[int, int]]:
    """[lo, hi) slices of the uint64 key space, equal width; the last ends at 2**64."""
    bounds = [(r << 64) // num_ranges for r in range(num_ranges + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def _slice(rows: np.ndarray, lo: int, hi: int) -> np.ndarray:
    keys = rows[0]
    start = int(np.searchsorted(keys, np.uint64(lo), side="left"))
    stop = len(keys) if hi >= 1 << 64 else int(np.searchsorted(keys, np.uint64(hi), side="left"))
    return np.array(rows[:, start:stop])  # a copy: the memory map closes with the file


@nb.njit(cache=True)
def _bucket_pairs(keys, docs, exact, exact_band):
    """Candidate pairs from rows sorted by (key, exact, doc): star plus chain inside each bucket."""
    n = len(keys)
    out_a = np.empty(2 * n, dtype=np.int64)
    out_b = np.empty(2 * n, dtype=np.int64)
    members = np.empty(n, dtype=np.int64)
    count = 0
    i = 0
    while i < n:
        j = i
        while j + 1 < n and keys[j + 1] == keys[i] and (not exact_band or exact[j + 1] == exact[i]):
            j += 1
        m = 0
        for k in range(i, j + 1):
            # one representative per exact key in LSH buckets: the first (lowest doc) of its run
            if exact_band or k == i or exact[k] != exact[k - 1]:
                members[m] = np.int64(docs[k])
                m += 1
        for k in range(1, m):
            a, b = members[0], members[k]
            out_a[count] = min(a, b)
            out_b[count] = max(a, b)
            count += 1
            if k >= 2:
                a, b = members[k - 1], members[k]
                out_a[count] = min(a, b)
                out_b[count] = max(a, b)
                count += 1
        i = j + 1
    return out_a[:count], out_b[:count]


def unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (a, b) pairs, sorted."""
    if len(a) == 0:
        return a, b
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    keep = np.ones(len(a), dtype=bool)
    keep[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return a[keep], b[keep]


class SignatureStore:
    """Signature rows of any document, gathered from the per-shard signature files.

    The files are memory-mapped only for the length of one `rows` call: the pages a call touches
    count as this process's resident memory while mapped, so callers ask in bounded batches.
    """

    BATCH_ROWS = 8192  # at most 8192 x 4 KB pages resident per call

    def __init__(self, out_dir: Path, tags: list[str]):
        self.out_dir = Path(out_dir)
        self.tags = tags

    def rows(self, keys: np.ndarray) -> np.ndarray:
        """uint32 [len(keys), num_perm] signatures of the given document keys."""
        shards, rows = layout.split_keys(keys)
        out = None
        for shard in np.unique(shards):
            path = layout.signature_path(self.out_dir, self.tags[int(shard)])
            signatures = layout.load_array(path, mmap=True)
            where = np.flatnonzero(shards == shard)
            if out is None:
                out = np.empty((len(keys), signatures.shape[1]), dtype=np.uint32)
            out[where] = signatures[rows[where]]
            del signatures  # unmap: its pages leave this process's resident set
        return out if out is not None else np.empty((0, 0), dtype=np.uint32)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Signature estimates of the Jaccard similarity of documents a[i] and b[i] (float32)."""
        out = np.empty(len(a), dtype=np.float32)
        for start in range(0, len(a), self.BATCH_ROWS):
            stop = start + self.BATCH_ROWS
            out[start:stop] = estimate_jaccard(self.rows(a[start:stop]), self.rows(b[start:stop]))
        return out


def bucket_task(task: dict) -> dict:
    """One band x one key range: read the slices, pair bucket members, verify, write the edges."""
    out_dir, band, range_index = Path(task["out_dir"]), task["band"], task["range_index"]
    name = f"{band}-r{range_index:05d}"
    previous = layout.done(out_dir, "buckets", name)
    if previous is not None:
        return previous
    layout.reset_peak_rss()
    exact_band = band == layout.EXACT_BAND
    lo, hi = task["key_range"]
    slices = []
    for tag in task["tags"]:
        path = layout.band_path(out_dir, band, tag)
        if path.exists():
            slices.append(_slice(layout.load_array(path, mmap=True), lo, hi))
    rows = np.concatenate(slices, axis=1) if slices else np.zeros((3, 0), dtype=np.uint64)
    rows = rows[:, np.lexsort((rows[1], rows[2], rows[0]))]
    a, b = _bucket_pairs(rows[0], rows[1], rows[2], exact_band)
    num_rows = rows.shape[1]
    del rows
    a, b = unique_pairs(a, b)
    num_candidates = len(a)
    if exact_band:
        similarity = np.ones(len(a), dtype=np.float32)
    else:
        similarity = SignatureStore(out_dir, task["tags"]).similarity(a, b)
        if task["verify"]:
            keep = similarity >= np.float32(task["threshold"]) - np.float32(1e-6)
            a, b, similarity = a[keep], b[keep], similarity[keep]
    table = pa.table([a, b, similarity, np.full(len(a), exact_band)], schema=_EDGE_SCHEMA)
    path = layout.edges_path(out_dir, band, range_index)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)
    stats = {"band": band, "range": range_index, "num_rows": num_rows, "num_candidates": num_candidates,
             "num_edges": len(a), "peak_rss_mb": layout.peak_rss_mb()}
    return layout.mark_done(out_dir, "buckets", name, stats)


def read_edges(out_dir: Path) -> pa.Table:
    """All verified edges of a job (small: duplicates only), in a fixed order."""
    paths = sorted((layout.work_dir(out_dir) / "edges").glob("*.parquet"))
    if not paths:
        return _EDGE_SCHEMA.empty_table()
    return pa.concat_tables([pq.read_table(p) for p in paths])
