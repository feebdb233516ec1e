"""Running one stage: skip when complete, resume when interrupted, redo when inputs or config change.

A stage owns its output directory. At start it writes `.stage.json` with the stage name and a
fingerprint of its inputs and resolved config; shard tasks leave completion markers; the manifest
is written last. Rerunning with the same fingerprint and a manifest present does no work; with
markers but no manifest it finishes the missing shards; with a different fingerprint it starts
over in a clean directory.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from curation.documents import MANIFEST_NAME, read_json, read_manifest, write_json

STAGE_FILE = ".stage.json"


def fingerprint(config: dict, inputs: Iterable[str | Path] = ()) -> str:
    """Hash of a resolved config and its inputs: stage manifests by content, raw files by stat."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    for path in sorted(str(Path(p).resolve()) for p in inputs):
        digest.update(path.encode())
        manifest = Path(path) / MANIFEST_NAME
        if manifest.exists():
            digest.update(manifest.read_bytes())
        elif Path(path).exists():
            st = Path(path).stat()
            digest.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def stage_action(stage: str, out_dir: str | Path, key: str, force: bool = False) -> tuple[str, str]:
    """What run_stage does with out_dir for this key, and why: (run | resume | rerun | skip | error, reason)."""
    out_dir = Path(out_dir)
    stage_file = out_dir / STAGE_FILE
    previous = read_json(stage_file) if stage_file.exists() else None
    if previous is None:
        if out_dir.exists() and any(out_dir.iterdir()):
            return "error", "the directory holds files not written by curate"
        return "run", "no output yet"
    if previous.get("key") != key or previous.get("stage") != stage or force:
        return "rerun", "inputs or config changed"
    if read_manifest(out_dir) is not None:
        return "skip", "complete for these inputs and config"
    return "resume", "an earlier run was interrupted"


def stage_status(stage: str, out_dir: str | Path, key: str) -> str:
    """stage_action as one line, for `curate run --dry-run`."""
    return ": ".join(stage_action(stage, out_dir, key))


def run_stage(stage: str, out_dir: str | Path, key: str, build: Callable[[Path], dict],
              catalog=None, run_id: str | None = None, force: bool = False) -> tuple[dict, bool]:
    """Run `build(out_dir) -> manifest` unless the directory is already complete for `key`.

    Returns (manifest, skipped). The manifest is recorded in the catalog when one is given.
    """
    out_dir = Path(out_dir)
    started = time.monotonic()
    action, _ = stage_action(stage, out_dir, key, force)
    if action == "error":
        raise ValueError(f"{out_dir} exists and holds files not written by curate; choose an empty --out")
    if action == "rerun":
        log(f"{stage}: inputs or config changed since the last run in {out_dir}; starting over")
        shutil.rmtree(out_dir)
    skipped = action == "skip"
    if skipped:
        log(f"{stage}: {out_dir} is complete for these inputs and config; nothing to do")
        manifest = read_manifest(out_dir)
    else:
        if action == "resume":
            log(f"{stage}: resuming in {out_dir}")
            for leftover in out_dir.rglob(".*.tmp-*"):
                leftover.unlink()  # half-written files of a killed run; their tasks have no marker
        out_dir.mkdir(parents=True, exist_ok=True)
        write_json(out_dir / STAGE_FILE, {"stage": stage, "key": key})
        manifest = build(out_dir)
    seconds = time.monotonic() - started
    if catalog is not None and run_id is not None:
        catalog.record_stage(run_id, stage, out_dir, manifest, skipped=skipped, seconds=seconds)
    return manifest, skipped
