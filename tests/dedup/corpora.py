"""Document directories built from the real sample corpora, for the dedup tests."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from curation.documents import documents_table, write_shard

CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"


def read_jsonl(relative: str, limit: int | None = None, text_field: str = "text", where=None) -> list[dict]:
    """Rows {id, text} of a JSONL sample file (the first `limit` that pass `where(record)`)."""
    rows = []
    with open(CORPORA / relative, encoding="utf-8") as f:
        for line in f:
            if limit is not None and len(rows) >= limit:
                break
            record = json.loads(line)
            if where is None or where(record):
                rows.append({"id": str(record.get("id", record.get("hexsha"))), "text": record[text_field]})
    return rows


def write_documents(directory: Path, rows: list[dict], source: str, lang: str | None,
                    rows_per_shard: int = 10_000) -> Path:
    """Write rows as a document directory of Parquet shards."""
    directory.mkdir(parents=True, exist_ok=True)
    for index, start in enumerate(range(0, max(len(rows), 1), rows_per_shard)):
        part = rows[start:start + rows_per_shard]
        table = documents_table([r["id"] for r in part], [r["text"] for r in part], source,
                                langs=[r.get("lang", lang) for r in part])
        write_shard(table, directory / f"part-{index:05d}.parquet")
    return directory


def read_output(out_dir: Path, kind: str, columns: list[str] | None = None) -> list[dict]:
    """All rows of a job's kept/ or duplicates/ shards, as dicts."""
    rows = []
    for path in sorted((Path(out_dir) / kind).glob("*/*.parquet")):
        rows += pq.read_table(path, columns=columns).to_pylist()
    return rows


def output_files(out_dir: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every Parquet output of a job (kept and duplicates)."""
    out_dir = Path(out_dir)
    return {str(p.relative_to(out_dir)): p.read_bytes()
            for kind in ("kept", "duplicates") for p in sorted((out_dir / kind).glob("*/*.parquet"))}


def similar_pairs(texts: list[str], mode: int, min_jaccard: float) -> dict[tuple[int, int], float]:
    """{(i, j): exact Jaccard} of every pair of texts whose shingle sets are at least min_jaccard alike."""
    import numpy as np
    import pyarrow as pa

    from curation.dedup.shingles import batch_shingles, ngram_sizes

    hashes, starts, _ = batch_shingles(pa.array(texts, pa.large_string()), np.full(len(texts), mode, np.int8),
                                       ngram_sizes(5, 5, 5))
    sets = [np.unique(hashes[starts[i]:starts[i + 1]]) for i in range(len(texts))]
    owner = np.repeat(np.arange(len(texts)), [len(s) for s in sets])
    flat = np.concatenate(sets)
    order = np.argsort(flat, kind="stable")
    flat, owner = flat[order], owner[order]
    codes = []
    for gap in range(1, len(texts)):
        shared = flat[gap:] == flat[:-gap]
        if not shared.any():
            break
        codes.append(owner[:-gap][shared] * len(texts) + owner[gap:][shared])
    pair_codes, counts = np.unique(np.concatenate(codes), return_counts=True) if codes else ([], [])
    out = {}
    for code, inter in zip(pair_codes, counts):
        i, j = divmod(int(code), len(texts))
        jaccard = inter / (len(sets[i]) + len(sets[j]) - inter)
        if jaccard >= min_jaccard:
            out[(i, j)] = float(jaccard)
    return out
