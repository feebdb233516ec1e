"""Faults: a run killed with SIGKILL during clean, dedup or the mixture build resumes to outputs
byte-identical to an uninterrupted run; a Dask worker killed mid-stage on an external cluster does not
fail the job, whose outputs match the local run's."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipelines.chain import SOURCES, comparable_outputs, write_chain
from tests.pipelines.test_ingest_cli import dask_cluster  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]
# Training resumes from checkpoints (tests/trainer); here the chain stops at the mixtures.
STAGES = ["ingest", "clean", "dedup", "tokenizer", "mixture"]


def _run(pipeline: Path, catalog: Path, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", str(pipeline), "--catalog", str(catalog),
                             *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _accounted(work: Path) -> None:
    for name in SOURCES:
        ingest = json.loads((work / "ingest" / name / "manifest.json").read_text())
        assert ingest["num_in"] == ingest["num_docs"] + ingest["num_quarantined"] + ingest["num_skipped"]
        clean = json.loads((work / "clean" / name / "manifest.json").read_text())
        assert clean["num_in"] == ingest["num_docs"] == clean["num_out"] + clean["num_rejected"]
    dedup = json.loads((work / "dedup" / "all" / "manifest.json").read_text())
    assert dedup["num_in"] == dedup["num_out"] + dedup["num_duplicates"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, corpora) -> dict[str, bytes]:
    directory = tmp_path_factory.mktemp("reference")
    run = _run(write_chain(directory, corpora, stages=STAGES), directory / "c.duckdb", "--workers", "2")
    out, err = run.communicate(timeout=900)
    assert run.returncode == 0, err[-3000:]
    return comparable_outputs(directory / "work")


@pytest.mark.parametrize("stage", ["clean", "dedup", "mixture"])
def test_sigkill_during_a_stage_then_rerun_gives_identical_outputs(tmp_path, corpora, reference, stage):
    pipeline = write_chain(tmp_path, corpora, stages=STAGES)
    victim = _run(pipeline, tmp_path / "c.duckdb", "--workers", "2")
    deadline = time.monotonic() + 600
    while not list((tmp_path / "work" / stage).rglob("*.done.json")):
        assert victim.poll() is None and time.monotonic() < deadline, \
            f"run ended before {stage} could be killed: {victim.stderr.read()[-2000:]}"
        time.sleep(0.01)
    os.killpg(victim.pid, signal.SIGKILL)  # the driver and its local Dask workers
    victim.wait()
    again = _run(pipeline, tmp_path / "c.duckdb", "--workers", "2")
    out, err = again.communicate(timeout=900)
    assert again.returncode == 0, err[-3000:]
    assert "resuming" in err
    outputs = comparable_outputs(tmp_path / "work")
    assert sorted(outputs) == sorted(reference)
    assert [k for k in outputs if outputs[k] != reference[k]] == []
    _accounted(tmp_path / "work")


def test_worker_killed_mid_stage_on_an_external_cluster(tmp_path, corpora, reference, dask_cluster):  # noqa: F811
    import psutil

    run = _run(write_chain(tmp_path, corpora, stages=STAGES), tmp_path / "c.duckdb", "--scheduler", dask_cluster)
    deadline = time.monotonic() + 600
    while not list((tmp_path / "work" / "clean").rglob("*.done.json")):
        assert run.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    workers = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] and "distributed.nanny" not in
               " ".join(p.info["cmdline"]) and any("dask" in c and "worker" in " ".join(p.info["cmdline"])
                                                   for c in p.info["cmdline"])]
    children = [c for w in workers for c in w.children(recursive=True)]
    assert children, "no worker processes found under the nannies"
    children[0].kill()  # the worker process itself; its nanny starts a new one
    out, err = run.communicate(timeout=900)
    assert run.returncode == 0, err[-3000:]
    assert comparable_outputs(tmp_path / "work") == reference  # an external cluster gives the local run's bytes
    _accounted(tmp_path / "work")
