"""Packing: the sorted buckets, read in order, are one token stream cut into rows of seq_len + 1.

Shard j holds rows [j * rows_per_shard, ...) of the stream, that is the global token range
[j * rows_per_shard * row_tokens, ...); it reads only the buckets overlapping that range (their
global offsets are known from the scatter counts), so a pack task holds one shard plus the bucket
slices it copies from. Every segment start inside a row is a document boundary (`doc_starts`,
position 0 always included); documents end with EOS, so EOS sits between documents. A long
document's pieces (segments) end without one; the token after such a piece gets loss mask 0.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from curation.documents import done_marker, finish_task, finished_task
from mixtures.shards import sequences_table, write_sequence_shard
from mixtures.shuffle import open_bucket
from mixtures.tokenize import peak_rss_mb


def shard_ranges(num_rows: int, rows_per_shard: int, row_tokens: int) -> list[tuple[int, int]]:
    """Global [start, end) token range of every shard."""
    total = num_rows * row_tokens
    step = rows_per_shard * row_tokens
    return [(start, min(total, start + step)) for start in range(0, total, step)]


def overlapping_buckets(bucket_starts: np.ndarray, start: int, end: int) -> list[int]:
    """Buckets (by index) whose global range [bucket_starts[b], bucket_starts[b + 1]) meets [start, end)."""
    first = int(np.searchsorted(bucket_starts, start, side="right")) - 1
    last = int(np.searchsorted(bucket_starts, end, side="left"))
    return [b for b in range(max(first, 0), min(last, len(bucket_starts) - 1))
            if bucket_starts[b + 1] > bucket_starts[b]]


def row_doc_starts(segment_starts: np.ndarray, num_rows: int, row_tokens: int) -> list[np.ndarray]:
    """Per row, the sorted positions where a segment starts, 0 always included."""
    positions = np.concatenate([segment_starts, np.arange(num_rows, dtype=np.int64) * row_tokens])
    positions = np.unique(positions)
    rows = positions // row_tokens
    splits = np.searchsorted(rows, np.arange(1, num_rows))
    return [p.astype(np.uint32) for p in np.split(positions - rows * row_tokens, splits)]


def pack_task(job: dict) -> dict:
    """Copy one shard's token range out of the sorted buckets and write it as rows."""
    out = Path(job["out_path"])
    marker = done_marker(out)
    if (done := finished_task(marker)) is not None:
        return done | {"resumed": True}
    started = time.perf_counter()
    start, end, row_tokens = job["start"], job["end"], job["row_tokens"]
    num_sources = len(job["sources"])
    num_rows = (end - start) // row_tokens
    assert num_rows * row_tokens == end - start, "shards hold whole rows"
    ids = np.empty(end - start, dtype=np.uint32)
    mask = np.empty(end - start, dtype=np.uint8)
    token_source = np.empty(end - start, dtype=np.int64)
    segments = np.zeros(num_sources, dtype=np.int64)
    starts: list[np.ndarray] = []
    filled = 0
    for path, bucket_start in job["buckets"]:
        table = open_bucket(path)
        id_lists, mask_lists = table.column("ids").chunk(0), table.column("mask").chunk(0)
        offsets = id_lists.offsets.to_numpy().astype(np.int64) + bucket_start
        lo, hi = max(start, bucket_start), min(end, int(offsets[-1]))
        ids[lo - start:hi - start] = id_lists.values.to_numpy()[lo - bucket_start:hi - bucket_start]
        mask[lo - start:hi - start] = mask_lists.values.to_numpy()[lo - bucket_start:hi - bucket_start]
        seg_start, seg_end = offsets[:-1], offsets[1:]
        inside = (seg_end > lo) & (seg_start < hi)
        source = table.column("source").chunk(0).to_numpy()[inside].astype(np.int64)
        clip_start = np.maximum(seg_start[inside], lo)
        token_source[lo - start:hi - start] = np.repeat(source, np.minimum(seg_end[inside], hi) - clip_start)
        begins = seg_start[inside] >= lo
        segments += np.bincount(source[begins], minlength=num_sources)
        starts.append(seg_start[inside][begins] - start)
        filled += hi - lo
    assert filled == end - start, f"shard {out.name}: buckets cover {filled} of {end - start} tokens"
    seg_starts = np.concatenate(starts) if starts else np.empty(0, np.int64)
    # A segment that does not follow an EOS follows a piece of another document: predicting its
    # first token from there teaches nothing, so it carries no loss (row starts are never targets).
    within = seg_starts[seg_starts % row_tokens != 0]
    mask[within[ids[within - 1] != job["eos_id"]]] = 0
    tokens = np.bincount(token_source, minlength=num_sources)
    loss_tokens = np.bincount(token_source, weights=mask, minlength=num_sources).astype(np.int64)
    doc_starts = row_doc_starts(seg_starts, num_rows, row_tokens)
    table = sequences_table(ids.reshape(num_rows, row_tokens), mask.reshape(num_rows, row_tokens), doc_starts)
    info = write_sequence_shard(table, out)
    names = job["sources"]
    info.update(num_tokens=int(end - start),
                source_tokens={n: int(t) for n, t in zip(names, tokens) if t},
                source_loss_tokens={n: int(t) for n, t in zip(names, loss_tokens) if t},
                source_segments={n: int(s) for n, s in zip(names, segments) if s},
                seconds=round(time.perf_counter() - started, 6), peak_rss_mb=round(peak_rss_mb(), 1))
    return finish_task(marker, info)
