"""The dedup job: four passes over an Executor, each task resumable from its completion marker.

signatures (one task per input shard) -> buckets (one per band x key range, plus the exact band)
-> clusters (one task over the verified edges) -> filter (one task per input shard), then the
manifest. Tasks exchange paths and counts only; data moves through the files of `layout`.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curation.dedup import layout
from curation.dedup.buckets import bucket_task, key_ranges, sorted_band_rows
from curation.dedup.clusters import DECISION_SCHEMA, cluster_task
from curation.dedup.lsh import params_for
from curation.dedup.settings import DedupConfig
from curation.dedup.signatures import band_keys, sketch_documents
from curation.documents import list_shards, read_shard, write_manifest, write_shard
from curation.parallel import Executor

REQUIRED_COLUMNS = ("id", "text", "source", "lang")
KEPT_DIR, DUPLICATES_DIR = "kept", "duplicates"


def input_shards(input_dirs: Sequence[str | Path]) -> list[dict]:
    """The shards of the input document directories, each with its tag and shard index."""
    seen: set[Path] = set()
    shards = []
    for input_index, directory in enumerate(input_dirs):
        directory = Path(directory)
        if not directory.is_dir():
            raise ValueError(f"--in {directory}: not a directory")
        if directory.resolve() in seen:
            raise ValueError(f"--in {directory}: given twice")
        seen.add(directory.resolve())
        paths = list_shards(directory)
        if not paths:
            raise ValueError(f"--in {directory}: no Parquet shards (is it a document directory?)")
        for path in paths:
            missing = [c for c in REQUIRED_COLUMNS if c not in pq.read_schema(path).names]
            if missing:
                raise ValueError(f"{path}: not a document shard (missing columns {', '.join(missing)})")
            shards.append({"path": str(path), "tag": f"{input_index:03d}-{path.stem}"})
    for shard_index, shard in enumerate(shards):
        shard["shard_index"] = shard_index
    return shards


def signature_task(task: dict) -> dict:
    """Sketch one input shard: signatures, per-document facts, and sorted band and exact rows."""
    out_dir, tag, config = Path(task["out_dir"]), task["tag"], DedupConfig(**task["config"])
    previous = layout.done(out_dir, "signatures", tag)
    if previous is not None:
        return previous
    layout.reset_peak_rss()
    names = pq.read_schema(task["path"]).names
    quality = config.quality_column if config.quality_column in names else None
    table = read_shard(task["path"], list(REQUIRED_COLUMNS) + ([quality] if quality else []))
    sketch = sketch_documents(table, config)
    rows = np.arange(table.num_rows, dtype=np.int64)
    keys = layout.doc_keys(task["shard_index"], rows)
    rank = pc.fill_null(pc.index_in(table.column("source"), pa.array(config.priority, pa.string())),
                        len(config.priority))
    docs = pa.table({
        "row": rows, "id": table.column("id"), "source": table.column("source"), "rank": rank.cast(pa.int32()),
        "quality": table.column(quality).cast(pa.float64()) if quality else pa.nulls(table.num_rows, pa.float64()),
        "exact1": sketch.exact_keys[:, 0], "exact2": sketch.exact_keys[:, 1], "num_shingles": sketch.num_shingles,
    })
    layout.save_array(layout.signature_path(out_dir, tag), sketch.signatures)
    exact1, exact2 = sketch.exact_keys[:, 0], sketch.exact_keys[:, 1]
    layout.save_array(layout.band_path(out_dir, layout.EXACT_BAND, tag), sorted_band_rows(exact1, keys, exact2))
    shingled = sketch.num_shingles > 0
    bands = band_keys(sketch.signatures[shingled], task["bands"], task["rows"], config.seed)
    for band in range(task["bands"]):
        layout.save_array(layout.band_path(out_dir, layout.band_name(band), tag),
                          sorted_band_rows(bands[:, band], keys[shingled], exact1[shingled]))
    write_shard(docs, layout.docs_path(out_dir, tag))
    sources = table.column("source")
    counts = {s: int(n) for s, n in zip(*np.unique(sources.to_numpy(zero_copy_only=False), return_counts=True))}
    text_bytes = int(pc.sum(pc.binary_length(table.column("text"))).as_py() or 0)
    stats = {"num_docs": table.num_rows, "num_text_bytes": text_bytes, "num_unshingled": int((~shingled).sum()),
             "input_counts": counts, "peak_rss_mb": layout.peak_rss_mb()}
    return layout.mark_done(out_dir, "signatures", tag, stats)


def filter_task(task: dict) -> dict:
    """Split one input shard into kept and duplicate documents, per source, by its decisions."""
    out_dir, tag = Path(task["out_dir"]), task["tag"]
    previous = layout.done(out_dir, "filter", tag)
    if previous is not None:
        return previous
    layout.reset_peak_rss()
    table = read_shard(task["path"])
    n = table.num_rows
    path = layout.decisions_path(out_dir, tag)
    decisions = read_shard(path) if path.exists() else DECISION_SCHEMA.empty_table()
    rows = decisions.column("row").to_numpy()
    is_dup = np.zeros(n, dtype=bool)
    is_dup[rows[~decisions.column("is_survivor").to_numpy(zero_copy_only=False)]] = True
    position = np.full(n, -1, dtype=np.int64)
    position[rows] = np.arange(len(rows))
    index = pa.array(position, mask=position < 0)
    cluster = decisions.column("cluster_id").take(index)
    size = pc.fill_null(decisions.column("cluster_size").take(index), 1)
    kept = table.append_column("dup_cluster", cluster).append_column("dup_cluster_size", size)
    kept = kept.filter(pa.array(~is_dup))
    dups = table.filter(pa.array(is_dup))
    dup_index = pa.array(position[is_dup])
    for name in ("cluster_id", "survivor_id", "survivor_source", "similarity", "dup_kind"):
        dups = dups.append_column(name, decisions.column(name).take(dup_index))
    stats = {"shards": [], "counts": {}}
    for part, kind in ((kept, KEPT_DIR), (dups, DUPLICATES_DIR)):
        part_sources = part.column("source")
        for source in sorted(pc.unique(part_sources).to_pylist()):
            subset = part.filter(pc.equal(part_sources, source))
            subdir = f"{kind}/{layout.source_dir_name(source)}"
            info = write_shard(subset, out_dir / subdir / f"{tag}.parquet")
            stats["shards"].append(info | {"dir": subdir})
            counts = stats["counts"].setdefault(source, {})
            counts[kind] = counts.get(kind, 0) + subset.num_rows
            if kind == DUPLICATES_DIR:
                exact = int(pc.sum(pc.equal(subset.column("dup_kind"), "exact")).as_py() or 0)
                counts["exact_duplicates"] = exact
                counts["near_duplicates"] = subset.num_rows - exact
    stats["peak_rss_mb"] = layout.peak_rss_mb()
    return layout.mark_done(out_dir, "filter", tag, stats)


def run_dedup(input_dirs: Sequence[str | Path], out_dir: str | Path, config: DedupConfig,
              executor: Executor, log: Callable[[str], None] = lambda message: None) -> dict:
    """Run all passes (skipping finished tasks) and write the manifest; return it."""
    out_dir = Path(out_dir)
    shards = input_shards(input_dirs)
    tags = [s["tag"] for s in shards]
    params = params_for(config)
    log(params.describe())
    config_dict = dataclasses.asdict(config)
    seconds: dict[str, float] = {}
    started = time.monotonic()

    sig_tasks = [s | {"out_dir": str(out_dir), "config": config_dict, "bands": params.bands, "rows": params.rows}
                 for s in shards]
    sig_stats = executor.map(signature_task, sig_tasks, "dedup signatures")
    seconds["signatures"] = time.monotonic() - started
    num_docs = sum(s["num_docs"] for s in sig_stats)
    _check_source_names({source for s in sig_stats for source in s["input_counts"]})
    num_ranges = max(1, math.ceil(num_docs / config.bucket_task_rows))
    bands = [layout.EXACT_BAND] + [layout.band_name(b) for b in range(params.bands)]
    bucket_tasks = [{"out_dir": str(out_dir), "band": band, "range_index": r, "key_range": key_range,
                     "tags": tags, "threshold": config.threshold, "verify": config.verify_candidates}
                    for band in bands for r, key_range in enumerate(key_ranges(num_ranges))]
    bucket_stats = executor.map(bucket_task, bucket_tasks, "dedup buckets")
    seconds["buckets"] = time.monotonic() - started - sum(seconds.values())
    cluster_stats = executor.map(cluster_task, [{"out_dir": str(out_dir), "tags": tags}], "dedup clusters")[0]
    seconds["clusters"] = time.monotonic() - started - sum(seconds.values())
    filter_tasks = [{"out_dir": str(out_dir), "path": s["path"], "tag": s["tag"]} for s in shards]
    filter_stats = executor.map(filter_task, filter_tasks, "dedup filter")
    seconds["filter"] = time.monotonic() - started - sum(seconds.values())

    manifest = _manifest(input_dirs, config_dict, params, shards, sig_stats, bucket_stats, cluster_stats,
                         filter_stats, num_ranges)
    manifest["run"] = {"seconds": {k: round(v, 3) for k, v in seconds.items()},
                       "peak_rss_mb": _peak_memory(sig_stats, bucket_stats, [cluster_stats], filter_stats)}
    write_manifest(out_dir, manifest)
    if not config.keep_work:
        shutil.rmtree(layout.work_dir(out_dir), ignore_errors=True)
    return manifest


def _check_source_names(sources: set[str]) -> None:
    """Every source needs its own output directory name."""
    by_dir: dict[str, str] = {}
    for source in sorted(sources):
        other = by_dir.setdefault(layout.source_dir_name(source), source)
        if other != source:
            raise ValueError(f"sources {other!r} and {source!r} would share the output directory "
                             f"{layout.source_dir_name(source)!r}; rename one of them")


def _manifest(input_dirs, config_dict, params, shards, sig_stats, bucket_stats, cluster_stats, filter_stats,
              num_ranges) -> dict:
    counts: dict[str, dict[str, int]] = {}
    for stats in sig_stats:
        for source, n in stats["input_counts"].items():
            counts.setdefault(source, {"input": 0, KEPT_DIR: 0, DUPLICATES_DIR: 0, "exact_duplicates": 0,
                                       "near_duplicates": 0})["input"] += n
    for stats in filter_stats:
        for source, named in stats["counts"].items():
            for name, value in named.items():
                counts[source][name] += value
    for source, c in counts.items():
        # every input document is kept or written as a duplicate, exactly once
        assert c["input"] == c[KEPT_DIR] + c[DUPLICATES_DIR], (source, c)
        c["dedup_rate_ppm"] = round(1e6 * c[DUPLICATES_DIR] / c["input"]) if c["input"] else 0
    num_in = sum(c["input"] for c in counts.values())
    num_dups = sum(c[DUPLICATES_DIR] for c in counts.values())
    return {
        "stage": "dedup",
        "inputs": [str(Path(d)) for d in input_dirs],
        "num_in": num_in, "num_out": num_in - num_dups, "num_duplicates": num_dups,
        "num_exact_duplicates": sum(c["exact_duplicates"] for c in counts.values()),
        "num_near_duplicates": sum(c["near_duplicates"] for c in counts.values()),
        "num_text_bytes": sum(s["num_text_bytes"] for s in sig_stats),
        "num_unshingled": sum(s["num_unshingled"] for s in sig_stats),
        "counts": dict(sorted(counts.items())),
        "cross_corpus": cluster_stats["cross_corpus"],
        "num_clusters": cluster_stats["num_clusters"],
        "cluster_size_histogram": dict(sorted(cluster_stats["cluster_size_histogram"].items(),
                                              key=lambda kv: int(kv[0]))),
        "lsh": params.as_dict(),
        "num_key_ranges": num_ranges,
        "num_candidate_pairs": sum(s["num_candidates"] for s in bucket_stats if s["band"] != layout.EXACT_BAND),
        "num_verified_pairs": sum(s["num_edges"] for s in bucket_stats if s["band"] != layout.EXACT_BAND),
        "num_exact_pairs": sum(s["num_edges"] for s in bucket_stats if s["band"] == layout.EXACT_BAND),
        "shards": [info for stats in filter_stats for info in stats["shards"]],
        "outputs": {"dedup_kept": f"{KEPT_DIR}/*/*.parquet", "dedup_duplicates": f"{DUPLICATES_DIR}/*/*.parquet"},
        "config": config_dict,
    }


def _peak_memory(*pass_stats: list[dict]) -> dict:
    names = ("signatures", "buckets", "clusters", "filter")
    by_pass = {name: max((s["peak_rss_mb"] for s in stats), default=0.0) for name, stats in zip(names, pass_stats)}
    return {"by_pass_max_mb": by_pass, "max_task_process_mb": max(by_pass.values())}
