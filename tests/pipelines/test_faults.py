"""Faults: a run killed with SIGKILL resumes to byte-identical outputs; a worker killed mid-stage does not fail it."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipelines.test_ingest_cli import _tree_bytes, dask_cluster  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {"news": ["zh_web/thucnews"], "reviews": ["zh_web/reviews"], "books": ["zh_bulk"], "code": ["code"],
           "arc": ["en_web/arc"], "docs": ["en_docs"]}


def _pipeline(tmp_path, corpora, work: str) -> Path:
    path = tmp_path / f"{work}.yaml"
    path.write_text(json.dumps({"name": "faults", "work_dir": str(tmp_path / work), "corpora_dir": str(corpora),
                                "sources": {k: {"paths": v} for k, v in SOURCES.items()}}))
    return path


def _run(pipeline: Path, catalog: Path, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", str(pipeline), "--catalog", str(catalog),
                             *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _outputs(work: Path) -> dict[str, bytes]:
    return {k: v for k, v in _tree_bytes(work).items() if not k.startswith("reports/")}


@pytest.mark.parametrize("markers_before_kill", [2])
def test_sigkill_then_rerun_gives_identical_outputs(tmp_path, corpora, markers_before_kill):
    reference = _run(_pipeline(tmp_path, corpora, "ref"), tmp_path / "ref.duckdb", "--workers", "2")
    assert reference.wait(timeout=600) == 0, reference.stderr.read()
    pipeline = _pipeline(tmp_path, corpora, "work")
    victim = _run(pipeline, tmp_path / "c.duckdb", "--workers", "2")
    deadline = time.monotonic() + 300
    while len(list((tmp_path / "work").rglob("*.done.json"))) < markers_before_kill:
        assert victim.poll() is None and time.monotonic() < deadline, "run ended before it could be killed"
        time.sleep(0.02)
    os.killpg(victim.pid, signal.SIGKILL)  # the driver and its local Dask workers
    victim.wait()
    again = _run(pipeline, tmp_path / "c.duckdb", "--workers", "2")
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert _outputs(tmp_path / "work") == _outputs(tmp_path / "ref")
    for name in SOURCES:
        manifest = json.loads((tmp_path / "work/ingest" / name / "manifest.json").read_text())
        assert manifest["num_in"] == manifest["num_docs"] + manifest["num_quarantined"] + manifest["num_skipped"]


def test_worker_killed_mid_stage_does_not_fail_the_job(tmp_path, corpora, dask_cluster):  # noqa: F811
    import psutil

    run = _run(_pipeline(tmp_path, corpora, "work"), tmp_path / "c.duckdb", "--scheduler", dask_cluster)
    deadline = time.monotonic() + 300
    while not list((tmp_path / "work").rglob("*.done.json")):
        assert run.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    workers = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] and "distributed.nanny" not in
               " ".join(p.info["cmdline"]) and any("dask" in c and "worker" in " ".join(p.info["cmdline"])
                                                   for c in p.info["cmdline"])]
    children = [c for w in workers for c in w.children(recursive=True)]
    assert children, "no worker processes found under the nannies"
    children[0].kill()  # the worker process itself; its nanny starts a new one
    out, err = run.communicate(timeout=600)
    assert run.returncode == 0, err
    manifest = json.loads((tmp_path / "work/ingest/reviews/manifest.json").read_text())
    assert manifest["num_docs"] == 82525
