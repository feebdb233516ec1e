"""The README's sample pipeline on a real external Dask cluster (`dask scheduler` + two `dask worker`
processes on 127.0.0.1) gives the same outputs as on the default local cluster. Training is left out:
it runs in the driver, not on the cluster, and tests/trainer covers its determinism."""

import subprocess
import sys
from pathlib import Path

from tests.pipelines.chain import comparable_outputs
from tests.pipelines.test_ingest_cli import dask_cluster  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]
STAGES = "ingest,clean,dedup,tokenizer,mixture"


def _run_sample(work: Path, *extra) -> str:
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "configs/pipelines/sample.yaml",
                             "--work-dir", str(work), "--stages", STAGES, "--catalog", str(work.parent / "c.duckdb"),
                             *extra], cwd=ROOT, capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_sample_pipeline_on_an_external_cluster_matches_the_local_run(tmp_path, dask_cluster):  # noqa: F811
    local = _run_sample(tmp_path / "local" / "work")
    external = _run_sample(tmp_path / "external" / "work", "--scheduler", dask_cluster)
    assert "stable" in local and "decay" in external
    ours, theirs = comparable_outputs(tmp_path / "external" / "work"), comparable_outputs(tmp_path / "local" / "work")
    assert sorted(ours) == sorted(theirs)
    assert [name for name in ours if ours[name] != theirs[name]] == []
    assert any(name.startswith("mixture/decay/shard-") for name in ours)
