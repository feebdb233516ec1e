"""The global shuffle, through disk: scatter sampled segments into key buckets, then sort each bucket.

Every sampled segment (a document, or a piece of a long one, in one epoch) has a 64-bit shuffle
key; its bucket is the key's top `bucket_bits` bits, so bucket b holds exactly the keys in
[b, b + 1) * 2**(64 - bits) and the buckets in order, each sorted by key, are the whole mixture
sorted by key: a global shuffle across sources in which no worker ever holds more than one input
chunk (scatter) or one bucket (sort). Bucket count is chosen so a bucket is about a shard's worth.

Scatter writes, per token file, an Arrow IPC file of record batches (key, source, ids, mask), one
per (input batch, non-empty bucket), plus `<file>.index.npy` naming each batch's bucket and
`<file>.buckets.npy`, its tokens per bucket (summed file by file, to place buckets in the stream). Sort
reads bucket b's batches from every scatter file in a fixed order, sorts them by key (stable, so
equal keys keep that order) and writes the bucket as one batch of (source, ids, mask).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from curation.documents import done_marker, finish_task, finished_task
from mixtures.sampling import Sampling, gather_index, sampled_units, segment_keys, split_segments
from mixtures.tokenize import open_tokens, peak_rss_mb

SEGMENT_SCHEMA = pa.schema([pa.field("key", pa.uint64()), pa.field("source", pa.uint16()),
                            pa.field("ids", pa.list_(pa.uint32())), pa.field("mask", pa.list_(pa.uint8()))])
BUCKET_SCHEMA = pa.schema([pa.field("source", pa.uint16()), pa.field("ids", pa.list_(pa.uint32())),
                           pa.field("mask", pa.list_(pa.uint8()))])
INDEX_SUFFIX = ".index.npy"
BUCKETS_SUFFIX = ".buckets.npy"  # tokens per bucket, int64
# a bucket's list offsets are int32
MAX_BUCKET_TOKENS = (1 << 31) - 1


def bucket_bits(total_tokens: int, bucket_tokens: int) -> int:
    """Bits of key that pick a bucket so that buckets hold about bucket_tokens each."""
    return max(0, math.ceil(math.log2(max(1.0, total_tokens / bucket_tokens))))


def _write_atomic(path: Path, schema: pa.Schema, batches) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    os.replace(tmp, path)


def _lists(values: np.ndarray, lengths: np.ndarray, value_type: pa.DataType) -> pa.ListArray:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=value_type))


def scatter_task(job: dict) -> dict:
    """Sample one token file's documents, cut them into keyed segments and write them by bucket."""
    out = Path(job["out_path"])
    marker = done_marker(out)
    if (done := finished_task(marker)) is not None:
        return done | {"resumed": True}
    started = time.perf_counter()
    sampling: Sampling = job["sampling"]
    bits, segment_tokens, source = job["bucket_bits"], job["segment_tokens"], job["source_index"]
    num_buckets = 1 << bits
    bucket_tokens = np.zeros(num_buckets, dtype=np.int64)
    index: list[int] = []
    stats = dict(num_units=0, num_segments=0, num_tokens=0)

    def batches():
        reader = open_tokens(job["token_path"])
        for i in range(reader.num_record_batches):
            batch = reader.get_batch(i)
            keys, rows = batch.column("key").to_numpy(), batch.column("row").to_numpy()
            id_lists = batch.column("ids")
            offsets = id_lists.offsets.to_numpy().astype(np.int64)
            values = id_lists.values.to_numpy()
            masks = batch.column("mask").values.to_numpy() if "mask" in batch.schema.names else None
            docs, epochs, unit_tokens = sampled_units(keys, rows, np.diff(offsets), job["task_index"], sampling)
            unit, segment, start = split_segments(unit_tokens, segment_tokens)
            seg_len = np.minimum(segment_tokens, unit_tokens[unit] - start)
            seg_doc = docs[unit]
            # the last segment of the one document cut short (the fractional epoch's cut) gets an EOS
            truncated = ((start + seg_len) == unit_tokens[unit]) & (unit_tokens[unit] < np.diff(offsets)[seg_doc])
            seg_keys = segment_keys(keys[seg_doc], epochs[unit], segment)
            buckets = (seg_keys >> np.uint64(64 - bits)).astype(np.int64) if bits else np.zeros(len(unit), np.int64)
            order = np.argsort(buckets, kind="stable")
            seg_len, seg_keys, buckets = seg_len[order], seg_keys[order], buckets[order]
            flat = gather_index(offsets[seg_doc[order]] + start[order], seg_len)
            ids = values[flat]
            ids[np.cumsum(seg_len)[truncated[order]] - 1] = job["eos_id"]
            mask = masks[flat] if masks is not None else np.ones(len(flat), dtype=np.uint8)
            np.add.at(bucket_tokens, buckets, seg_len)
            stats["num_units"] += len(docs)
            stats["num_segments"] += len(unit)
            stats["num_tokens"] += len(flat)
            # contiguous runs of one bucket, in bucket order
            bounds = np.flatnonzero(np.diff(buckets)) + 1
            seg_cuts = np.concatenate([[0], bounds, [len(buckets)]]).astype(np.int64)
            tok_cuts = np.concatenate([[0], np.cumsum(seg_len)])[seg_cuts]
            for a, b, ta, tb in zip(seg_cuts[:-1], seg_cuts[1:], tok_cuts[:-1], tok_cuts[1:]):
                if a == b:
                    continue
                index.append(int(buckets[a]))
                yield pa.RecordBatch.from_arrays(
                    [pa.array(seg_keys[a:b]), pa.array(np.full(b - a, source, dtype=np.uint16)),
                     _lists(ids[ta:tb], seg_len[a:b], pa.uint32()), _lists(mask[ta:tb], seg_len[a:b], pa.uint8())],
                    schema=SEGMENT_SCHEMA)

    _write_atomic(out, SEGMENT_SCHEMA, batches())
    np.save(str(out) + INDEX_SUFFIX, np.array(index, dtype=np.int32))
    np.save(str(out) + BUCKETS_SUFFIX, bucket_tokens)
    stats.update(seconds=round(time.perf_counter() - started, 6),
                 peak_rss_mb=round(peak_rss_mb(), 1))
    return finish_task(marker, stats)


def sort_task(job: dict) -> dict:
    """Gather one bucket from every scatter file, sort it by key and write it."""
    out = Path(job["out_path"])
    marker = done_marker(out)
    if (done := finished_task(marker)) is not None:
        return done | {"resumed": True}
    started = time.perf_counter()
    bucket = job["bucket"]
    batches = []
    for path in job["scatter_paths"]:
        index = np.load(str(path) + INDEX_SUFFIX)
        wanted = np.flatnonzero(index == bucket)
        if len(wanted):
            reader = pa.ipc.open_file(pa.memory_map(str(path)))
            batches.extend(reader.get_batch(int(i)) for i in wanted)
    table = pa.Table.from_batches(batches, schema=SEGMENT_SCHEMA)
    order = np.argsort(table.column("key").to_numpy(), kind="stable")
    table = table.select(["source", "ids", "mask"]).take(pa.array(order)).combine_chunks()
    num_tokens = sum(len(c.values) for c in table.column("ids").chunks)
    if num_tokens > MAX_BUCKET_TOKENS:
        raise ValueError(f"bucket {bucket} holds {num_tokens:,} tokens, over int32 offsets; "
                         f"lower rows_per_shard or raise the bucket count")
    _write_atomic(out, BUCKET_SCHEMA, table.to_batches(max_chunksize=max(1, table.num_rows)))
    stats = dict(num_segments=table.num_rows, num_tokens=num_tokens, num_bytes=table.nbytes,
                 seconds=round(time.perf_counter() - started, 6), peak_rss_mb=round(peak_rss_mb(), 1))
    return finish_task(marker, stats)


def bucket_totals(scatter_paths: list[str], num_buckets: int) -> np.ndarray:
    """Tokens per bucket over all scatter files (read one file's counts at a time)."""
    totals = np.zeros(num_buckets, dtype=np.int64)
    for path in scatter_paths:
        totals += np.load(str(path) + BUCKETS_SUFFIX)
    return totals


def open_bucket(path: str | Path) -> pa.Table:
    """A sorted bucket, memory-mapped."""
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()
