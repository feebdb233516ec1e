"""Readers for record-per-row inputs: JSON lines (plain, gzip, zstd) and Parquet."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import zstandard

from curation.ingest.fields import document_from_record
from curation.ingest.formats import open_decompressed
from curation.ingest.records import REPAIR_INVALID_UTF8, REPAIR_NUL_REMOVED, Problem, RawDocument

Item = RawDocument | Problem
_PARQUET_BATCH_ROWS = 2048


def read_jsonl(path: Path, file_key: str, text_field: str | None, max_doc_bytes: int) -> Iterator[Item]:
    """Yield one document or problem per line; offsets are byte offsets in the decompressed stream."""
    offset = 0
    ordinal = 0
    stream = open_decompressed(path)
    try:
        while True:
            try:
                line = stream.readline()
            except (EOFError, OSError, zlib.error, zstandard.ZstdError) as exc:
                yield Problem(offset, "truncated_archive", f"stream ends early after {offset:,} bytes: {exc}")
                return
            if not line:
                return
            line_offset, offset = offset, offset + len(line)
            if not line.strip():
                continue
            yield _parse_line(line, line_offset, file_key, ordinal, text_field, max_doc_bytes)
            ordinal += 1
    finally:
        stream.close()


def _parse_line(line: bytes, offset: int, file_key: str, ordinal: int, text_field: str | None,
                max_doc_bytes: int) -> Item:
    repairs = []
    if b"\x00" in line:
        # A raw NUL is not valid JSON; it carries nothing, so it is dropped and the repair noted.
        line = line.replace(b"\x00", b"")
        repairs.append(REPAIR_NUL_REMOVED)
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        try:
            # orjson rejects invalid UTF-8 outright; decode with replacement and try once more.
            record = orjson.loads(line.decode("utf-8", errors="replace"))
            repairs.append(REPAIR_INVALID_UTF8)
        except orjson.JSONDecodeError:
            return Problem(offset, "broken_json", str(exc).split(":")[0], line)
    item = document_from_record(record, offset, file_key, ordinal, text_field, max_doc_bytes)
    if isinstance(item, Problem):
        item.raw = line
    elif repairs:
        item.meta["_repairs"] = repairs + item.meta.get("_repairs", [])
    return item


def read_json_document(path: Path, file_key: str, text_field: str | None, max_doc_bytes: int
                       ) -> Iterator[Item]:
    """One JSON document: a list of records, or an object of records keyed by id, or one record.

    The offset is the record's position in the list or object. The whole file is parsed at once,
    so files above max_doc_bytes go to quarantine rather than into memory.
    """
    with open_decompressed(path) as stream:
        data = stream.read(max_doc_bytes + 1)
    if len(data) > max_doc_bytes:
        yield Problem(0, "document_too_large", f"JSON document larger than max_doc_bytes {max_doc_bytes:,}")
        return
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        yield Problem(0, "broken_json", str(exc).split(":")[0], data)
        return
    while isinstance(parsed, dict) and len(parsed) == 1 and isinstance(next(iter(parsed.values())), dict | list):
        parsed = next(iter(parsed.values()))  # a wrapper such as {"output": {...records...}}
    if isinstance(parsed, dict) and parsed and all(isinstance(v, dict) for v in parsed.values()):
        records = [{"id": key} | value if "id" not in value else value for key, value in parsed.items()]
    elif isinstance(parsed, list):
        records = parsed
    else:
        records = [parsed]
    for ordinal, record in enumerate(records):
        yield document_from_record(record, ordinal, file_key, ordinal, text_field, max_doc_bytes)


def read_parquet(path: Path, file_key: str, text_field: str | None, max_doc_bytes: int) -> Iterator[Item]:
    """Yield one document or problem per row; the offset is the row number."""
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError variants for damaged files
        yield Problem(0, "corrupt_parquet", str(exc).splitlines()[0])
        return
    row = 0
    try:
        for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
            for record in batch.to_pylist():
                yield document_from_record(record, row, file_key, row, text_field, max_doc_bytes)
                row += 1
    except Exception as exc:
        yield Problem(row, "corrupt_parquet", f"unreadable after row {row}: {str(exc).splitlines()[0]}")
