"""Ingest throughput per core: ours vs datatrove's JsonlReader / WarcReader, both reading the same
files and writing them out (ours: Parquet+zstd; datatrove: plain JSONL, see _datatrove), in one process (one core) each.

    python -m benchmarks ingest [--repeat 3]

MB/s counts the input files' bytes on disk (compressed where they are compressed).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from benchmarks.harness import SHARED, Comparison, best_seconds
from curation.ingest.job import IngestOptions, ingest
from curation.parallel import SerialExecutor

JSONL_DIRS = ["zh_web/reviews", "zh_bulk", "en_docs", "code"]
WARC_DIR = "en_web/warc"


def _stage(files: list[Path], into: Path) -> Path:
    into.mkdir(parents=True)
    for f in files:
        shutil.copy(f, into / f.name)
    return into


def _ours(folder: Path, scratch: Path) -> None:
    out = scratch / "ours"
    shutil.rmtree(out, ignore_errors=True)
    ingest([folder], out, IngestOptions(source="bench"), SerialExecutor())


def _datatrove(reader_cls, folder: Path, scratch: Path, glob: str) -> None:
    from datatrove.pipeline.writers import JsonlWriter

    out = scratch / "datatrove"
    shutil.rmtree(out, ignore_errors=True)
    reader = reader_cls(str(folder), glob_pattern=glob)
    # datatrove's ParquetWriter fails on these files ("Table schema does not match schema used to
    # create file": metadata fields differ between files), so it writes uncompressed JSONL instead.
    writer = JsonlWriter(str(out), output_filename="${rank}.jsonl", compression=None)
    for _ in writer.run(reader.run(None, rank=0, world_size=1), rank=0, world_size=1):
        pass


def run(argv: list[str]) -> list[Comparison]:
    from datatrove.pipeline.readers import JsonlReader, WarcReader

    parser = argparse.ArgumentParser(prog="python -m benchmarks ingest")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        jsonl = _stage([p for d in JSONL_DIRS for p in sorted((SHARED / d).glob("*.jsonl"))], scratch / "jsonl")
        # datatrove's WarcReader (warcio) stops on ClueWeb09's WARC/0.18 file, which we read; leave it out.
        warc = _stage(sorted(p for p in (SHARED / WARC_DIR).glob("*.warc.gz") if "clueweb09" not in p.name) +
                      sorted((SHARED / "en_web/dolma").glob("*.warc.gz")), scratch / "warc")
        for name, folder, reader, glob in (("ingest JSONL", jsonl, JsonlReader, "*.jsonl"),
                                           ("ingest WARC", warc, WarcReader, "*.warc.gz")):
            mb = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
            ours = best_seconds(lambda folder=folder: _ours(folder, scratch), args.repeat)
            theirs = best_seconds(lambda r=reader, f=folder, g=glob: _datatrove(r, f, scratch, g), args.repeat)
            results.append(Comparison(f"{name} ({mb:.1f} MB)", "MB/s per core", mb / ours, mb / theirs,
                                      f"datatrove {reader.__name__}+JsonlWriter"))
    return results
