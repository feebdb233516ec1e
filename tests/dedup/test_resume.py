"""Reproducible bytes (1 or 2 Dask workers, reruns, task order) and resume after an interruption."""

import json
import shutil

import pytest

from curation.dedup import layout
from curation.dedup.job import run_dedup
from curation.dedup.settings import DedupConfig
from curation.parallel import SerialExecutor
from pipelines.cli import main
from tests.dedup.corpora import output_files

CONFIG = DedupConfig(priority=["reviews_shop"])


class ReversedExecutor:
    """Runs tasks last-first: outputs must not depend on task order."""

    def map(self, fn, tasks, label=""):
        return list(reversed([fn(t) for t in reversed(list(tasks))]))


class Interrupted(Exception):
    pass


class InterruptingExecutor(SerialExecutor):
    """Runs passes until the one named `stop_at`, then runs half its tasks and stops, as a kill would."""

    def __init__(self, stop_at: str):
        self.stop_at = stop_at

    def map(self, fn, tasks, label=""):
        if label == self.stop_at:
            [fn(t) for t in list(tasks)[: max(1, len(tasks) // 2)]]
            raise Interrupted(label)
        return super().map(fn, tasks, label)


def _without_run(manifest: dict) -> dict:
    return {k: v for k, v in manifest.items() if k not in ("run", "inputs")}


@pytest.fixture(scope="module")
def reference(reviews_dirs, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "out"
    manifest = run_dedup(reviews_dirs, out, CONFIG, SerialExecutor())
    return out, manifest


def test_two_dask_workers_via_cli_give_the_serial_bytes_and_a_rerun_is_skipped(reviews_dirs, reference, tmp_path,
                                                                              capsys):
    out = tmp_path / "out"
    argv = ["dedup", "--in", str(reviews_dirs[0]), "--in", str(reviews_dirs[1]), "--out", str(out),
            "--priority", "reviews_shop", "--workers", "2", "--catalog", str(tmp_path / "catalog.duckdb")]
    assert main(argv) == 0
    assert output_files(out) == output_files(reference[0])
    manifest = json.loads((out / "manifest.json").read_text())
    assert _without_run(manifest) == _without_run(reference[1])
    printed = capsys.readouterr()
    assert "reviews_htl" in printed.out and "dropped as copies of" in printed.out
    assert main(argv) == 0
    assert "nothing to do" in capsys.readouterr().err


def test_task_order_does_not_change_the_bytes(reviews_dirs, reference, tmp_path):
    manifest = run_dedup(reviews_dirs, tmp_path / "out", CONFIG, ReversedExecutor())
    assert output_files(tmp_path / "out") == output_files(reference[0])
    assert _without_run(manifest) == _without_run(reference[1])


@pytest.mark.parametrize("stop_at", ["dedup buckets", "dedup filter"])
def test_interrupted_run_resumes_to_the_same_bytes(reviews_dirs, reference, tmp_path, stop_at):
    out = tmp_path / "out"
    with pytest.raises(Interrupted):
        run_dedup(reviews_dirs, out, CONFIG, InterruptingExecutor(stop_at))
    assert not (out / "manifest.json").exists()
    markers = sorted((layout.work_dir(out) / "markers").glob("*.done.json"))
    assert markers
    # a task killed between writing its files and its marker: the files stay, the marker is lost
    markers[-1].unlink()
    manifest = run_dedup(reviews_dirs, out, CONFIG, SerialExecutor())
    assert output_files(out) == output_files(reference[0])
    assert _without_run(manifest) == _without_run(reference[1])


def test_deleted_manifest_outputs_and_markers_are_redone(reviews_dirs, reference, tmp_path):
    out = tmp_path / "out"
    run_dedup(reviews_dirs, out, DedupConfig(priority=["reviews_shop"], keep_work=True), SerialExecutor())
    (out / "manifest.json").unlink()
    work = layout.work_dir(out)
    # as a kill leaves them: outputs of unfinished tasks gone or partial, and their markers missing
    for marker in sorted((work / "markers").glob("filter-*"))[:2]:
        tag = marker.name[len("filter-"):-len(".done.json")]
        for path in [*out.glob(f"kept/*/{tag}.parquet"), *out.glob(f"duplicates/*/{tag}.parquet"), marker]:
            path.unlink()
    for edges in sorted((work / "edges").glob("*.parquet"))[:3]:
        edges.unlink()
        (work / "markers" / f"buckets-{edges.stem}.done.json").unlink()
    shutil.rmtree(work / "decisions")
    (work / "markers" / "clusters-all.done.json").unlink()
    sorted((work / "markers").glob("signatures-*"))[0].unlink()
    manifest = run_dedup(reviews_dirs, out, CONFIG, SerialExecutor())
    assert output_files(out) == output_files(reference[0])
    assert _without_run(manifest) == _without_run(reference[1])
    assert not work.exists()


def test_buckets_split_into_key_ranges_give_the_same_bytes(reviews_dirs, reference, tmp_path):
    config = DedupConfig(priority=["reviews_shop"], bucket_task_rows=1000)
    manifest = run_dedup(reviews_dirs, tmp_path / "out", config, SerialExecutor())
    assert manifest["num_key_ranges"] == 18 and reference[1]["num_key_ranges"] == 1
    assert output_files(tmp_path / "out") == output_files(reference[0])
    assert manifest["counts"] == reference[1]["counts"]
