"""The ingest job: one task per input file, each writing its own shards, quarantine and skip list.

Shard names derive from the file's position in the sorted input list, so the output does not
depend on worker count or task order. A task that finished left a completion marker with its
counts; a rerun reuses those and redoes only files without one.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa

from curation.documents import (
    documents_table,
    done_marker,
    finish_task,
    finished_task,
    write_manifest,
    write_shard,
)
from curation.ingest.formats import Format, detect_format
from curation.ingest.records import Problem, RawDocument, Skipped
from curation.ingest.tabular import read_json_document, read_jsonl, read_parquet
from curation.ingest.web import read_arc, read_html_file, read_sogou, read_warc
from curation.parallel import Executor

QUARANTINE_DIR = "quarantine"
SKIPPED_DIR = "skipped"
QUARANTINE_SCHEMA = pa.schema([("file", pa.string()), ("offset", pa.int64()), ("reason", pa.string()),
                               ("detail", pa.string()), ("raw", pa.large_binary())])
SKIPPED_SCHEMA = pa.schema([("file", pa.string()), ("offset", pa.int64()), ("reason", pa.string()),
                            ("url", pa.string())])


class IngestError(ValueError):
    """Bad input met under --strict: one line naming the file, offset and reason."""


@dataclass(frozen=True)
class IngestOptions:
    source: str
    text_field: str | None = None
    max_doc_bytes: int = 32 * 1024 * 1024
    shard_max_docs: int = 50_000
    shard_max_bytes: int = 128 * 1024 * 1024
    strict: bool = False


def list_input_files(paths: list[str | Path]) -> list[Path]:
    """Expand files and directories (recursively) into a sorted list of input files."""
    files: set[Path] = set()
    for path in map(Path, paths):
        if path.is_dir():
            files.update(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        elif path.is_file():
            files.add(path)
        else:
            raise FileNotFoundError(f"input not found: {path}")
    if not files:
        raise ValueError(f"no input files under {', '.join(map(str, paths))}")
    return sorted(files, key=lambda p: str(p.resolve()))


def _items(path: Path, fmt: Format, options: IngestOptions):
    key, limit = path.name, options.max_doc_bytes
    if fmt is Format.JSONL:
        return read_jsonl(path, key, options.text_field, limit)
    if fmt is Format.JSON:
        return read_json_document(path, key, options.text_field, limit)
    if fmt is Format.PARQUET:
        return read_parquet(path, key, options.text_field, limit)
    if fmt is Format.WARC:
        return read_warc(path, key, limit)
    if fmt is Format.ARC:
        return read_arc(path, key, limit)
    if fmt is Format.HTML:
        return read_html_file(path, key, limit)
    if fmt is Format.SOGOU:
        return read_sogou(path, key, limit)
    reason = "empty_file" if fmt is Format.EMPTY else "unknown_format"
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    return iter([Problem(0, reason, f"cannot read {path.name} as any known format", head)])


class _ShardSink:
    """Buffers documents of one input file and writes them as numbered shards."""

    def __init__(self, out_dir: Path, index: int, options: IngestOptions):
        self.out_dir, self.index, self.options = out_dir, index, options
        self.docs: list[RawDocument] = []
        self.buffered_bytes = 0
        self.shards: list[dict] = []
        self.num_text_bytes = 0

    def add(self, doc: RawDocument) -> None:
        self.docs.append(doc)
        size = len(doc.text.encode("utf-8"))
        self.buffered_bytes += size
        self.num_text_bytes += size
        if len(self.docs) >= self.options.shard_max_docs or self.buffered_bytes >= self.options.shard_max_bytes:
            self.flush()

    def flush(self) -> None:
        if not self.docs:
            return
        docs, self.docs, self.buffered_bytes = self.docs, [], 0
        table = documents_table(
            [d.id for d in docs], [d.text for d in docs], self.options.source, [d.url for d in docs],
            [d.lang for d in docs],
            [json.dumps(d.meta, ensure_ascii=False, sort_keys=True, default=str) for d in docs])
        name = f"part-{self.index:05d}-{len(self.shards):04d}.parquet"
        self.shards.append(write_shard(table, self.out_dir / name))


def ingest_file(task: dict) -> dict:
    """Ingest one file (task: path, index, out_dir, options); return its counts and shard infos."""
    out_dir, path, index = Path(task["out_dir"]), Path(task["path"]), task["index"]
    options = IngestOptions(**task["options"])
    marker = done_marker(out_dir / f"part-{index:05d}")
    previous = finished_task(marker)
    if previous is not None:
        return previous
    fmt = detect_format(path)
    sink = _ShardSink(out_dir, index, options)
    problems: list[Problem] = []
    skipped: list[Skipped] = []
    for item in _items(path, fmt, options):
        if isinstance(item, RawDocument):
            sink.add(item)
        elif isinstance(item, Skipped):
            skipped.append(item)
        else:
            if options.strict:
                raise IngestError(f"{path}: offset {item.offset}: {item.reason}: {item.detail}")
            problems.append(item)
    sink.flush()
    name = f"part-{index:05d}.parquet"
    extra = []
    if problems:
        table = pa.table({"file": [str(path)] * len(problems), "offset": [p.offset for p in problems],
                          "reason": [p.reason for p in problems], "detail": [p.detail for p in problems],
                          "raw": [p.raw for p in problems]}, schema=QUARANTINE_SCHEMA)
        extra.append(write_shard(table, out_dir / QUARANTINE_DIR / name) | {"dir": QUARANTINE_DIR})
    if skipped:
        table = pa.table({"file": [str(path)] * len(skipped), "offset": [s.offset for s in skipped],
                          "reason": [s.reason for s in skipped], "url": [s.url for s in skipped]},
                         schema=SKIPPED_SCHEMA)
        extra.append(write_shard(table, out_dir / SKIPPED_DIR / name) | {"dir": SKIPPED_DIR})
    num_docs = sum(s["num_rows"] for s in sink.shards)
    counts = Counter({"documents": num_docs})
    counts.update(f"quarantined:{p.reason}" for p in problems)
    counts.update(f"skipped:{s.reason}" for s in skipped)
    return finish_task(marker, {
        "file": str(path), "format": fmt.value, "num_docs": num_docs, "num_text_bytes": sink.num_text_bytes,
        "num_quarantined": len(problems), "num_skipped": len(skipped), "counts": dict(sorted(counts.items())),
        "shards": sink.shards, "extra_shards": extra})


def ingest(paths: list[str | Path], out_dir: str | Path, options: IngestOptions, executor: Executor) -> dict:
    """Ingest files into a document directory; return the manifest (also written to out_dir)."""
    out_dir = Path(out_dir)
    files = list_input_files(paths)
    tasks = [{"path": str(p), "index": i, "out_dir": str(out_dir), "options": asdict(options)}
             for i, p in enumerate(files)]
    results = executor.map(ingest_file, tasks, label=f"ingest {options.source}")
    counts: Counter = Counter()
    for result in results:
        counts.update(result["counts"])
    manifest = {
        "stage": "ingest",
        "source": options.source,
        "num_in": sum(r["num_docs"] + r["num_quarantined"] + r["num_skipped"] for r in results),
        "num_docs": sum(r["num_docs"] for r in results),
        "num_bytes": sum(r["num_text_bytes"] for r in results),
        "num_quarantined": sum(r["num_quarantined"] for r in results),
        "num_skipped": sum(r["num_skipped"] for r in results),
        "files": [{k: r[k] for k in ("file", "format", "num_docs", "num_quarantined", "num_skipped", "counts")}
                  for r in results],
        "shards": [s for r in results for s in r["shards"]] + [s for r in results for s in r["extra_shards"]],
        "counts": {options.source: dict(sorted(counts.items()))},
        "outputs": {"ingest": "*.parquet", "ingest_quarantine": f"{QUARANTINE_DIR}/*.parquet",
                    "ingest_skipped": f"{SKIPPED_DIR}/*.parquet"},
        "config": asdict(options) | {"inputs": [str(p) for p in files]},
    }
    write_manifest(out_dir, manifest)
    return manifest
