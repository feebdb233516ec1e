"""curate schedule: due times and catch-up, the crash-safe lock, --once, SIGTERM, the status page."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from curation.config import ConfigError
from pipelines.catalog import Catalog
from pipelines.schedule import due_times, load_schedule, pipeline_lock

T = datetime(2026, 11, 23, 12, 0, 30, tzinfo=UTC)


def test_due_times_follow_the_catch_up_policy():
    last = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # hourly job, last started 08:00, now 12:00:30
    hourly = [datetime(2026, 11, 23, h, 0, tzinfo=UTC) for h in (9, 10, 11, 12)]
    assert due_times("0 * * * *", last, T, "all", 24) == hourly
    assert due_times("0 * * * *", last, T, "latest", 24) == [datetime(2026, 11, 23, 12, 0, tzinfo=UTC)]
    assert due_times("0 * * * *", last, T, "none", 24) == [datetime(2026, 11, 23, 12, 0, tzinfo=UTC)]
    later = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)
    assert due_times("0 * * * *", last, later, "none", 24) == []  # all missed, none due now
    assert due_times("0 * * * *", datetime(2026, 11, 23, 12, 0, tzinfo=UTC), T, "all", 24) == []
    # A fresh service (no history) runs at most the most recent due time.
    assert due_times("0 * * * *", None, T, "all", 24) == [datetime(2026, 11, 23, 12, 0, tzinfo=UTC)]


def test_lock_is_exclusive_and_released_when_the_holder_dies(tmp_path):
    with pipeline_lock(tmp_path, "p") as first, pipeline_lock(tmp_path, "p") as second:
        assert first is True and second is False
    holder = subprocess.Popen([sys.executable, "-c", (
        f"import sys, time; sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})\n"
        "from pipelines.schedule import pipeline_lock\n"
        "from pathlib import Path\n"
        f"with pipeline_lock(Path({str(tmp_path)!r}), 'p') as ok:\n"
        "    print(ok, flush=True); time.sleep(60)\n")],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "True"
    with pipeline_lock(tmp_path, "p") as got:
        assert got is False
    holder.kill()  # a crash: no cleanup code runs
    holder.wait()
    with pipeline_lock(tmp_path, "p") as got:
        assert got is True


def test_bad_schedule_config_names_the_problem(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("schedules: [{pipeline: p.yaml, cron: 'every day'}]\n")
    with pytest.raises(ConfigError, match="invalid cron expression 'every day'"):
        load_schedule(path)
    path.write_text("schedules: []\ncatch_up: sometimes\n")
    with pytest.raises(ConfigError, match="catch_up"):
        load_schedule(path)


def _write_configs(tmp_path, corpora, cron):
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(json.dumps({"name": "tiny", "work_dir": str(tmp_path / "work"), "corpora_dir": str(corpora),
                                    "sources": {"news": {"paths": ["zh_web/thucnews"]},
                                                "wiki": {"paths": ["en_wiki"]}}}))
    schedule = tmp_path / "s.yaml"
    schedule.write_text(json.dumps({"schedules": [{"pipeline": str(pipeline), "cron": cron}],
                                    "state_dir": str(tmp_path / "state"), "tick_seconds": 1}))
    return schedule


def _curate(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", *args], cwd=Path(__file__).resolve().parents[2],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_once_runs_what_is_due_records_it_and_then_nothing_is_due(tmp_path, corpora):
    schedule = _write_configs(tmp_path, corpora, "* * * * *")
    catalog = str(tmp_path / "c.duckdb")
    first = _curate("schedule", str(schedule), "--once", "--workers", "1", "--catalog", catalog, "--port", "0")
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert out.count("\tok") == 1
    with Catalog(catalog) as c:
        _, runs = c.query("SELECT command, status FROM runs")
        assert runs == [("schedule:p", "ok")]
        _, stages = c.query("SELECT stage, num_out FROM stages ORDER BY num_out")
        assert stages == [("ingest", 122), ("ingest", 690)]
        assert c.last_scheduled("p") is not None


def test_sigterm_stops_the_service_and_the_status_page_answers(tmp_path, corpora):
    schedule = _write_configs(tmp_path, corpora, "0 0 1 1 *")  # never due during the test
    service = _curate("schedule", str(schedule), "--workers", "1", "--catalog", str(tmp_path / "c.duckdb"),
                      "--port", "0")
    address = None
    deadline = time.monotonic() + 120
    while address is None and time.monotonic() < deadline:
        line = service.stderr.readline()
        if "status page" in line:
            address = line.split("status page ")[1].split()[0]
    assert address, "service did not start"
    status = json.loads(urllib.request.urlopen(address + "status.json", timeout=10).read())
    assert status["service"]["schedules"][0]["name"] == "p" and status["service"]["current"] is None
    assert "curate schedule" in urllib.request.urlopen(address, timeout=10).read().decode()
    os.kill(service.pid, signal.SIGTERM)
    assert service.wait(timeout=60) == 0
