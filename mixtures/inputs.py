"""What a mixture reads: each source's inputs split into tasks, and each task read in bounded chunks.

A task is one Parquet document shard, or one byte range of a chat JSONL file (ranges start at line
boundaries). A task is read in chunks of about `chunk_bytes` of text, so a worker's memory is
bounded by the chunk, not by the shard. Records keep their position in the task (`row`), which
with the task's index in its source identifies them for sampling ties and resume.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curation.documents import list_shards
from mixtures.chat import Conversation, conversation_bytes, record_messages
from mixtures.recipe import Recipe, source_inputs

JSONL_RANGE_BYTES = 64 << 20  # one task per this many bytes of a chat JSONL file
CHUNK_BYTES = 4 << 20  # text per chunk: ~1M tokens, a few tens of MB of Python lists while encoding
_PARQUET_BATCH_ROWS = 256


@dataclass(frozen=True)
class InputTask:
    """One unit of reading: a Parquet shard (start=0, end=-1) or a byte range of a JSONL file."""

    source: str
    index: int  # position among the source's tasks; names its intermediate files
    format: str  # documents | chat
    path: str
    start: int = 0
    end: int = -1

    @property
    def name(self) -> str:
        return f"{self.source}/part-{self.index:05d}"


@dataclass
class Chunk:
    """Consecutive records of a task: ids, and either texts or conversations (None: unusable)."""

    first_row: int
    ids: list[str]
    num_bytes: np.ndarray  # int64 per record; 0 for records with nothing to train on
    texts: pa.Array | None = None  # kept in Arrow: only the documents a pass encodes become str
    conversations: list[Conversation | None] | None = None

    def __len__(self) -> int:
        return len(self.ids)


def _task_files(path: Path, chat: bool) -> list[tuple[str, Path]]:
    if path.is_dir():
        shards = list_shards(path)
        if shards or not chat:
            return [("parquet", p) for p in shards]
        return [("jsonl", p) for p in sorted(path.rglob("*.jsonl"))]
    return [("parquet" if path.suffix == ".parquet" else "jsonl", path)]


def input_tasks(recipe: Recipe) -> dict[str, list[InputTask]]:
    """Every source's tasks, in a fixed order (inputs as listed, files sorted, ranges ascending)."""
    tasks: dict[str, list[InputTask]] = {}
    for name, spec in recipe.sources.items():
        chat = spec.format == "chat"
        listed: list[InputTask] = []
        for path in source_inputs(recipe, name):
            for kind, file in _task_files(path, chat):
                if kind == "parquet":
                    listed.append(InputTask(name, len(listed), spec.format, str(file)))
                    continue
                size = file.stat().st_size
                for start in range(0, max(size, 1), JSONL_RANGE_BYTES):
                    listed.append(InputTask(name, len(listed), spec.format, str(file), start,
                                            min(size, start + JSONL_RANGE_BYTES)))
        if not listed:
            raise ValueError(f"source {name!r}: no input files found in {spec.path}")
        tasks[name] = listed
    return tasks


def read_chunks(task: InputTask, chunk_bytes: int = CHUNK_BYTES) -> Iterator[Chunk]:
    """The task's records in chunks of about chunk_bytes of text (at least one record each)."""
    reader = _parquet_chunks if task.path.endswith(".parquet") else _jsonl_chunks
    yield from reader(task, chunk_bytes)


def _parquet_chunks(task: InputTask, chunk_bytes: int) -> Iterator[Chunk]:
    chat = task.format == "chat"
    columns = ["id", "meta"] if chat else ["id", "text"]
    sized = "meta" if chat else "text"
    pending: list[pa.RecordBatch] = []
    pending_bytes, row = 0, 0
    for batch in pq.ParquetFile(task.path).iter_batches(batch_size=_PARQUET_BATCH_ROWS, columns=columns):
        lengths = pc.binary_length(batch.column(sized)).to_numpy(zero_copy_only=False).astype(np.int64)
        start = 0
        while start < batch.num_rows:
            # take rows while the chunk stays under chunk_bytes (always at least one row)
            room = chunk_bytes - pending_bytes
            stop = start + max(1 if not pending else 0, int(np.searchsorted(np.cumsum(lengths[start:]), room,
                                                                            side="right")))
            if stop > start:
                pending.append(batch.slice(start, stop - start))
                pending_bytes += int(lengths[start:stop].sum())
            if stop < batch.num_rows:
                yield _chunk(pending, row, chat)
                row += sum(b.num_rows for b in pending)
                pending, pending_bytes = [], 0
            start = stop
    if pending:
        yield _chunk(pending, row, chat)


def _chunk(batches: list[pa.RecordBatch], row: int, chat: bool) -> Chunk:
    table = pa.Table.from_batches(batches)
    ids = table.column("id").to_pylist()
    if chat:
        conversations = [record_messages({"meta": m}) for m in table.column("meta").to_pylist()]
        return Chunk(row, ids, _conversation_bytes(conversations), conversations=conversations)
    lengths = pc.binary_length(table.column("text")).to_numpy().astype(np.int64)
    return Chunk(row, ids, lengths, texts=table.column("text").combine_chunks())


def _conversation_bytes(conversations: list[Conversation | None]) -> np.ndarray:
    return np.array([conversation_bytes(c) if c else 0 for c in conversations], dtype=np.int64)


def _jsonl_chunks(task: InputTask, chunk_bytes: int) -> Iterator[Chunk]:
    """Lines that start inside [start, end); a record's id is its `id` field or file:offset."""
    if task.format != "chat":
        raise ValueError(f"{task.path}: plain JSONL documents must be ingested first (`curate ingest`)")
    file_name = Path(task.path).name
    ids: list[str] = []
    conversations: list[Conversation | None] = []
    size, row = 0, 0
    with open(task.path, "rb") as f:
        if task.start > 0:
            f.seek(task.start - 1)
            f.readline()  # finish the line that began before our range
        while True:
            offset = f.tell()
            line = f.readline() if offset < task.end else b""
            if line.strip():
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                record = record if isinstance(record, dict) else {}
                messages = record_messages(record)
                ids.append(str(record.get("id") or f"{file_name}:{offset}"))
                conversations.append(messages)
                size += len(line)
            if ids and (not line or size >= chunk_bytes):
                yield Chunk(row, ids, _conversation_bytes(conversations), conversations=conversations)
                row += len(ids)
                ids, conversations, size = [], [], 0
            if not line:
                break
