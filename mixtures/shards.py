"""Packed token sequences on disk: the contract between the mixture builder, the loader and the trainer.

A mixture directory holds `shard-NNNNN.arrow` files in the Arrow IPC *stream* format (so they open
with `pyarrow.ipc.open_stream`, memory-mapped, and with Hugging Face `datasets.Dataset.from_file` as
they are) plus `manifest.json`. Every row is one training sample of `seq_len + 1` tokens (inputs are
row[:-1], targets row[1:]):

- `input_ids`  list<uint32>, length seq_len + 1; documents are separated by EOS.
- `loss_mask`  list<uint8>, same length; 0 where the token must not be predicted (chat prompts,
  padding), 1 elsewhere. It applies to targets: position i masks the prediction of token i.
- `doc_starts` list<uint32>; the positions in the row where a document begins (0 is always one),
  so cross-document attention can be masked.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from curation.documents import file_sha256

SEQUENCE_SCHEMA = pa.schema([
    pa.field("input_ids", pa.list_(pa.uint32()), nullable=False),
    pa.field("loss_mask", pa.list_(pa.uint8()), nullable=False),
    pa.field("doc_starts", pa.list_(pa.uint32()), nullable=False),
])
SHARD_GLOB = "shard-*.arrow"


def shard_name(index: int) -> str:
    return f"shard-{index:05d}.arrow"


def sequences_table(input_ids: np.ndarray, loss_mask: np.ndarray, doc_starts: Sequence[np.ndarray]) -> pa.Table:
    """Build a table from a [rows, seq_len + 1] uint32 array, a same-shape uint8 mask and per-row starts."""
    rows, width = input_ids.shape
    if loss_mask.shape != input_ids.shape or len(doc_starts) != rows:
        raise ValueError("input_ids, loss_mask and doc_starts must describe the same rows")
    offsets = pa.array(np.arange(0, (rows + 1) * width, width, dtype=np.int32))
    ids = pa.ListArray.from_arrays(offsets, pa.array(input_ids.astype(np.uint32, copy=False).ravel()))
    mask = pa.ListArray.from_arrays(offsets, pa.array(loss_mask.astype(np.uint8, copy=False).ravel()))
    start_lengths = np.array([len(s) for s in doc_starts], dtype=np.int32)
    start_offsets = pa.array(np.concatenate([[0], np.cumsum(start_lengths)]).astype(np.int32))
    flat = np.concatenate(list(doc_starts)).astype(np.uint32) if rows else np.empty(0, np.uint32)
    starts = pa.ListArray.from_arrays(start_offsets, pa.array(flat, type=pa.uint32()))
    return pa.Table.from_arrays([ids, mask, starts], schema=SEQUENCE_SCHEMA)


def write_sequence_shard(table: pa.Table, path: str | Path) -> dict:
    """Write one shard atomically in the IPC stream format; return its info (rows, bytes, sha256)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_stream(sink, SEQUENCE_SCHEMA) as writer:
        writer.write_table(table.cast(SEQUENCE_SCHEMA), max_chunksize=1024)
    info = {"shard": path.name, "num_rows": table.num_rows, "num_bytes": tmp.stat().st_size,
            "sha256": file_sha256(tmp)}
    os.replace(tmp, path)
    return info


def read_sequence_shard(path: str | Path) -> pa.Table:
    """Open one shard, memory-mapped."""
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_stream(source).read_all()


def list_sequence_shards(directory: str | Path) -> list[Path]:
    return sorted(Path(directory).glob(SHARD_GLOB))


def row_arrays(table: pa.Table, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One row as numpy arrays: (input_ids uint32, loss_mask uint8, doc_starts uint32)."""
    return tuple(np.asarray(table.column(name)[index].values) for name in SEQUENCE_SCHEMA.names)
