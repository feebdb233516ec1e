"""Where a dedup job keeps its files: outputs, durable intermediates, completion markers.

```
OUT/kept/<source>/<tag>.parquet         documents kept (survivors and singletons), + dup_cluster columns
OUT/duplicates/<source>/<tag>.parquet   documents dropped, + cluster_id, survivor_id, survivor_source, ...
OUT/manifest.json                       written last
OUT/work/signatures/<tag>.npy           uint32 [rows, num_perm] MinHash signatures of one input shard
OUT/work/signatures/<tag>.docs.parquet  row, id, source, rank, quality, exact keys, shingle count
OUT/work/bands/<band>/<tag>.npy         uint64 [3, n]: band key, doc key, exact key; sorted
OUT/work/edges/<band>-<range>.parquet   verified candidate pairs (a, b, similarity, exact)
OUT/work/decisions/<tag>.parquet        per clustered row: survivor or duplicate, cluster, similarity
OUT/work/markers/<pass>-<name>.done.json  a finished task's stats (resume skips it)
```

A document's key is (shard index << 32) | row, shard index being its shard's position in the
sorted list of input shards: unique, stable for the same inputs, and it locates the signature.
`<tag>` names an input shard as `<input index>-<shard stem>`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from curation.documents import DONE_SUFFIX, finish_task, finished_task

ROW_BITS = 32
ROW_MASK = (1 << ROW_BITS) - 1
EXACT_BAND = "exact"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.=-]")


def work_dir(out_dir: Path) -> Path:
    return Path(out_dir) / "work"


def signature_path(out_dir: Path, tag: str) -> Path:
    return work_dir(out_dir) / "signatures" / f"{tag}.npy"


def docs_path(out_dir: Path, tag: str) -> Path:
    return work_dir(out_dir) / "signatures" / f"{tag}.docs.parquet"


def band_name(band: int) -> str:
    return f"b{band:03d}"


def band_path(out_dir: Path, band: str, tag: str) -> Path:
    return work_dir(out_dir) / "bands" / band / f"{tag}.npy"


def edges_path(out_dir: Path, band: str, range_index: int) -> Path:
    return work_dir(out_dir) / "edges" / f"{band}-r{range_index:05d}.parquet"


def decisions_path(out_dir: Path, tag: str) -> Path:
    return work_dir(out_dir) / "decisions" / f"{tag}.parquet"


def marker_path(out_dir: Path, pass_name: str, name: str) -> Path:
    return work_dir(out_dir) / "markers" / f"{pass_name}-{name}{DONE_SUFFIX}"


def source_dir_name(source: str) -> str:
    """A source name made safe as one path component."""
    return _UNSAFE.sub("_", source) or "_"


def doc_keys(shard_index: int, rows: np.ndarray) -> np.ndarray:
    """int64 document keys of rows of one shard."""
    return (np.int64(shard_index) << np.int64(ROW_BITS)) | rows.astype(np.int64)


def split_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(shard index, row) of document keys."""
    keys = np.asarray(keys, dtype=np.int64)
    return keys >> np.int64(ROW_BITS), keys & np.int64(ROW_MASK)


def save_array(path: Path, array: np.ndarray) -> None:
    """np.save atomically (temp file, fsync, rename), so a killed task leaves no torn file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        np.save(f, np.ascontiguousarray(array), allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_array(path: Path, mmap: bool = False) -> np.ndarray:
    return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)


def done(out_dir: Path, pass_name: str, name: str) -> dict | None:
    """The stats of a finished task, or None."""
    return finished_task(marker_path(out_dir, pass_name, name))


def mark_done(out_dir: Path, pass_name: str, name: str, stats: dict) -> dict:
    path = marker_path(out_dir, pass_name, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    return finish_task(path, stats)


def reset_peak_rss() -> None:
    """Start a new peak-memory window for this process (Linux: VmHWM is reset via clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # not Linux, or not allowed: peaks then cover the process's whole life


def peak_rss_mb() -> float:
    """Peak resident memory of this process since the last reset_peak_rss, MB.

    VmHWM, not getrusage: ru_maxrss survives exec, so a worker spawned from a large driver would
    report the driver's size.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
