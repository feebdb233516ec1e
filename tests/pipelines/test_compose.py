"""docker-compose.yml is valid and wires the scheduler, two workers and the curate service to one volume."""

import subprocess
from pathlib import Path

import yaml

from tests.conftest import debian_tool

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_passes_docker_compose_config():
    compose = debian_tool("docker-compose", "docker-compose")
    result = subprocess.run([compose, "-f", str(ROOT / "docker-compose.yml"), "config"], capture_output=True,
                            text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    services = resolved["services"]
    assert set(services) == {"dask-scheduler", "dask-worker", "curate-schedule"}
    assert services["dask-worker"]["deploy"]["replicas"] == 2
    assert "tcp://dask-scheduler:8786" in services["dask-worker"]["command"]
    assert "tcp://dask-scheduler:8786" in services["curate-schedule"]["command"]
    for service in services.values():
        assert any(str(v).startswith("data:/data") or (isinstance(v, dict) and v.get("target") == "/data")
                   for v in service["volumes"])


def test_compose_schedule_points_at_the_sample_pipeline():
    from pipelines.pipeline import load_pipeline
    from pipelines.schedule import load_schedule

    config = load_schedule(ROOT / "configs/schedules/compose.yaml")
    [entry] = config.schedules
    pipeline = load_pipeline(ROOT / entry.pipeline.removeprefix("/app/"),
                             {"work_dir": entry.work_dir, "corpora_dir": entry.corpora_dir})
    assert pipeline.work_dir == "/data/work/sample" and pipeline.corpora_dir == "/shared/corpora"
