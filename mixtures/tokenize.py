"""The reading passes of a mixture build: scan (sizes and a token-rate sample, for the plan) and
tokenize (documents to token files, with a token histogram over document keys).

Scan reads every task's text but encodes only a key-chosen 1/64 of the documents (and each task's
first few), so a recipe is planned, and an infeasible one rejected, before the corpus is
tokenized. Tokenize encodes the documents whose key falls in [lo, hi): a source that needs only a
fraction of its documents is tokenized only that far (plus a margin). Its output per task is an
Arrow IPC file, one record batch per input chunk, with columns `key` (uint64), `row` (uint32),
`ids` (list<uint32>) and, for chat, `mask` (list<uint8>); beside it `<file>.hist.npy`, tokens per
key bin (sampling.KEY_BIN_BITS), and the completion marker with the task's counts.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from curation.documents import done_marker, finish_task, finished_task
from mixtures.chat import encode_conversations
from mixtures.encoding import load_tokenizer
from mixtures.inputs import CHUNK_BYTES, Chunk, InputTask, read_chunks
from mixtures.sampling import NUM_KEY_BINS, document_keys, in_key_range, key_bins, key_limit

SAMPLE_SHARE = 1 / 64  # of the documents, chosen by key
MIN_TASK_SAMPLE_BYTES = 16 << 10
HIST_SUFFIX = ".hist.npy"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def token_schema(chat: bool) -> pa.Schema:
    fields = [pa.field("key", pa.uint64()), pa.field("row", pa.uint32()), pa.field("ids", pa.list_(pa.uint32()))]
    return pa.schema(fields + ([pa.field("mask", pa.list_(pa.uint8()))] if chat else []))


def _encode(tokenizer, chunk: Chunk, selected: np.ndarray, num_threads: int):
    """(ids, offsets, mask or None) of the selected records of a chunk."""
    picked = np.flatnonzero(selected)
    if chunk.texts is not None:
        texts = chunk.texts.filter(pa.array(selected)).to_pylist()
        ids, offsets = tokenizer.encode_documents(texts, num_threads)
        return ids, offsets, None
    return encode_conversations(tokenizer, [chunk.conversations[i] for i in picked], num_threads)


def scan_task(job: dict) -> dict:
    """Records, usable documents and text bytes of one task, plus tokens of a key-chosen sample."""
    task: InputTask = job["task"]
    started = time.perf_counter()
    tokenizer = load_tokenizer(job["tokenizer"])
    encode_before = tokenizer.encode_seconds
    stats = dict(num_records=0, num_docs=0, num_bytes=0, sample_bytes=0, sample_tokens=0)
    for chunk in read_chunks(task):
        usable = chunk.num_bytes > 0
        keys = document_keys(job["seed"], task.source, chunk.ids)
        # a uniform random SAMPLE_SHARE of the documents, by key, and the task's first documents
        # up to MIN_TASK_SAMPLE_BYTES, so that small tasks and sources are estimated too
        before = stats["num_bytes"] + np.cumsum(chunk.num_bytes) - chunk.num_bytes
        sample = usable & (in_key_range(keys, 0, key_limit(SAMPLE_SHARE)) | (before < MIN_TASK_SAMPLE_BYTES))
        ids, _, _ = _encode(tokenizer, chunk, sample, job.get("threads", 1))
        stats["num_records"] += len(chunk)
        stats["num_docs"] += int(usable.sum())
        stats["num_bytes"] += int(chunk.num_bytes.sum())
        stats["sample_bytes"] += int(chunk.num_bytes[sample].sum())
        stats["sample_tokens"] += len(ids)
    return stats | dict(encode_seconds=round(tokenizer.encode_seconds - encode_before, 6),
                        seconds=round(time.perf_counter() - started, 6), peak_rss_mb=round(peak_rss_mb(), 1))


def tokenize_task(job: dict) -> dict:
    """Encode the task's documents with lo <= key < hi into a token file; return its counts."""
    task: InputTask = job["task"]
    out = Path(job["out_path"])
    marker = done_marker(out)
    if (done := finished_task(marker)) is not None:
        return done | {"resumed": True}
    started = time.perf_counter()
    tokenizer = load_tokenizer(job["tokenizer"])
    encode_before = tokenizer.encode_seconds
    lo, hi, threads = job["lo"], job["hi"], job.get("threads", 1)
    chat = task.format == "chat"
    schema = token_schema(chat)
    histogram = np.zeros(NUM_KEY_BINS, dtype=np.int64)
    stats = dict(num_records=0, num_docs=0, num_bytes=0, docs_tokenized=0, bytes_tokenized=0,
                 num_tokens=0, num_loss_tokens=0, num_batches=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        for chunk in read_chunks(task, job.get("chunk_bytes", CHUNK_BYTES)):
            usable = chunk.num_bytes > 0
            keys = document_keys(job["seed"], task.source, chunk.ids)
            selected = usable & in_key_range(keys, lo, hi)
            stats["num_records"] += len(chunk)
            stats["num_docs"] += int(usable.sum())
            stats["num_bytes"] += int(chunk.num_bytes.sum())
            if not selected.any():
                continue
            ids, offsets, mask = _encode(tokenizer, chunk, selected, threads)
            lengths = np.diff(offsets)
            histogram += np.bincount(key_bins(keys[selected]), weights=lengths, minlength=NUM_KEY_BINS).astype(np.int64)
            list_offsets = pa.array(offsets.astype(np.int32))
            columns = [pa.array(keys[selected]),
                       pa.array((chunk.first_row + np.flatnonzero(selected)).astype(np.uint32)),
                       pa.ListArray.from_arrays(list_offsets, pa.array(ids, type=pa.uint32()))]
            if chat:
                columns.append(pa.ListArray.from_arrays(list_offsets, pa.array(mask, type=pa.uint8())))
            writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
            stats["docs_tokenized"] += int(selected.sum())
            stats["bytes_tokenized"] += int(chunk.num_bytes[selected].sum())
            stats["num_tokens"] += len(ids)
            stats["num_loss_tokens"] += int(mask.sum()) if chat else len(ids)
            stats["num_batches"] += 1
    np.save(str(out) + HIST_SUFFIX, histogram)
    os.replace(tmp, out)
    stats.update(encode_seconds=round(tokenizer.encode_seconds - encode_before, 6),
                 seconds=round(time.perf_counter() - started, 6), peak_rss_mb=round(peak_rss_mb(), 1))
    return finish_task(marker, stats)


def read_histogram(token_path: str | Path) -> np.ndarray:
    return np.load(str(token_path) + HIST_SUFFIX)


def open_tokens(token_path: str | Path) -> pa.ipc.RecordBatchFileReader:
    """A token file, memory-mapped, for reading batch by batch."""
    return pa.ipc.open_file(pa.memory_map(str(token_path)))


def bin_candidates(job: dict) -> dict:
    """(key, row, tokens) of a token file's documents in one key bin: the candidates for a cut."""
    reader = open_tokens(job["token_path"])
    keys, rows, lengths = [], [], []
    for i in range(reader.num_record_batches):
        batch = reader.get_batch(i)
        k = batch.column("key").to_numpy()
        inside = key_bins(k) == job["bin"]
        if inside.any():
            keys.append(k[inside])
            rows.append(batch.column("row").to_numpy()[inside])
            lengths.append(np.diff(batch.column("ids").offsets.to_numpy())[inside])
    return {"keys": _concat(keys, np.uint64), "rows": _concat(rows, np.uint32),
            "lengths": _concat(lengths, np.int32)}


def _concat(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0, dtype)
