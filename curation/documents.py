"""The document schema and shard I/O every stage reads and writes through.

A batch of documents is a `pyarrow.Table` with the core columns of DOCUMENT_SCHEMA; stages add
columns, never rename or drop the core ones. A stage's output directory holds Parquet shards, one
completion marker per shard (`<shard>.done.json`, written after the shard), and `manifest.json`,
written last: a directory with a manifest is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

DOCUMENT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.large_string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("lang", pa.string()),
        pa.field("meta", pa.string()),
    ]
)
CORE_COLUMNS = tuple(DOCUMENT_SCHEMA.names)
MANIFEST_NAME = "manifest.json"
DONE_SUFFIX = ".done.json"
# Parquet settings fixed here so that the same table always gives the same bytes.
_PARQUET_OPTIONS = dict(compression="zstd", compression_level=3, row_group_size=8192, write_statistics=True)


def documents_table(
    ids: Sequence[str],
    texts: Sequence[str],
    source: str | Sequence[str],
    urls: Sequence[str | None] | None = None,
    langs: Sequence[str | None] | None = None,
    metas: Sequence[str | None] | None = None,
) -> pa.Table:
    """Build a table in DOCUMENT_SCHEMA from Python sequences (one source name or one per row)."""
    n = len(ids)
    sources = [source] * n if isinstance(source, str) else list(source)
    nulls = [None] * n
    columns = [ids, texts, sources, urls or nulls, langs or nulls, metas or nulls]
    return pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(columns, DOCUMENT_SCHEMA)],
                                schema=DOCUMENT_SCHEMA)


def empty_documents() -> pa.Table:
    """An empty table in DOCUMENT_SCHEMA."""
    return DOCUMENT_SCHEMA.empty_table()


def content_id(*parts: str | bytes) -> str:
    """A stable id derived from content: sha1 of the parts joined, hex, 20 bytes."""
    digest = hashlib.sha1()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part)
        digest.update(b"\x00")
    return digest.hexdigest()


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write a file so that readers see either nothing or all of it (temp file, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path: str | Path, obj) -> None:
    """Write JSON atomically with sorted keys, so equal objects give equal bytes."""
    text = json.dumps(obj, sort_keys=True, indent=1, ensure_ascii=False, default=str)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))


def read_json(path: str | Path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_shard(table: pa.Table, path: str | Path) -> dict:
    """Write one Parquet shard atomically; return its info (path name, rows, bytes, sha256)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp, **_PARQUET_OPTIONS)
    info = {"shard": path.name, "num_rows": table.num_rows, "num_bytes": tmp.stat().st_size,
            "sha256": file_sha256(tmp)}
    os.replace(tmp, path)
    return info


def read_shard(path: str | Path, columns: Sequence[str] | None = None) -> pa.Table:
    """Read one Parquet shard."""
    return pq.read_table(path, columns=list(columns) if columns else None)


def list_shards(directory: str | Path) -> list[Path]:
    """The Parquet shards of a directory (not recursive), in name order."""
    return sorted(p for p in Path(directory).glob("*.parquet") if not p.name.startswith("."))


def read_documents(directory: str | Path, columns: Sequence[str] | None = None) -> Iterator[pa.Table]:
    """Yield the shards of a document directory one table at a time (memory bounded by shard size)."""
    for path in list_shards(directory):
        yield read_shard(path, columns)


def done_marker(shard_path: str | Path) -> Path:
    shard_path = Path(shard_path)
    return shard_path.with_name(shard_path.name + DONE_SUFFIX)


def finished_task(marker_path: str | Path) -> dict | None:
    """The stats a finished task left in its completion marker, or None if it has not finished."""
    marker_path = Path(marker_path)
    return read_json(marker_path) if marker_path.exists() else None


def finish_task(marker_path: str | Path, stats: dict) -> dict:
    """Record a task as finished (after its outputs are in place) and return its stats."""
    write_json(marker_path, stats)
    return stats


def write_manifest(directory: str | Path, manifest: dict) -> None:
    """Write a stage's manifest, last: its presence marks the directory complete."""
    write_json(Path(directory) / MANIFEST_NAME, manifest)


def read_manifest(directory: str | Path) -> dict | None:
    """A stage directory's manifest, or None when the stage has not completed."""
    path = Path(directory) / MANIFEST_NAME
    return read_json(path) if path.exists() else None
