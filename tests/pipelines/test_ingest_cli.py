"""The ingest command end to end: determinism, resume, skip on rerun, catalog, Dask cluster, errors."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from curation.documents import list_shards
from pipelines.catalog import Catalog
from pipelines.cli import main

INPUTS = ["zh_web/thucnews", "en_web/dolma", "en_web/arc", "zh_web/sogou", "code"]


def _cli(tmp_path, out, *extra, corpora):
    argv = ["ingest", *[str(corpora / p) for p in INPUTS], "--source", "mix", "--out", str(out),
            "--catalog", str(tmp_path / "catalog.duckdb"), *extra]
    return main(argv)


def _tree_bytes(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*"))
            if p.is_file() and p.name != ".stage.json"}


def test_two_runs_and_worker_counts_give_identical_bytes(corpora, tmp_path):
    assert _cli(tmp_path, tmp_path / "a", "--workers", "1", corpora=corpora) == 0
    assert _cli(tmp_path, tmp_path / "b", "--workers", "2", corpora=corpora) == 0
    a, b = _tree_bytes(tmp_path / "a"), _tree_bytes(tmp_path / "b")
    assert a == b and len([k for k in a if k.endswith(".parquet")]) >= 7


def test_rerun_skips_and_resume_redoes_only_missing_shards(corpora, tmp_path, capsys):
    out = tmp_path / "out"
    assert _cli(tmp_path, out, "--workers", "1", corpora=corpora) == 0
    before = _tree_bytes(out)
    assert _cli(tmp_path, out, "--workers", "1", corpora=corpora) == 0
    assert "nothing to do" in capsys.readouterr().err
    # Simulate a kill -9 mid-run: the manifest and one file's shard and marker are gone.
    (out / "manifest.json").unlink()
    victim = list_shards(out)[0]
    victim.unlink()
    (out / (victim.name.rsplit("-", 1)[0] + ".done.json")).unlink()
    untouched = list_shards(out)[-1]
    mtime = untouched.stat().st_mtime_ns
    assert _cli(tmp_path, out, "--workers", "1", corpora=corpora) == 0
    assert "resuming" in capsys.readouterr().err
    assert _tree_bytes(out) == before and untouched.stat().st_mtime_ns == mtime
    with Catalog(tmp_path / "catalog.duckdb") as catalog:
        _, rows = catalog.query("SELECT skipped, num_out FROM stages ORDER BY recorded_at")
        assert [r[0] for r in rows] == [False, True, False] and len({r[1] for r in rows}) == 1
        _, rows = catalog.query("SELECT count(*) FROM ingest WHERE source = 'mix'")
        assert rows[0][0] == rows[0][0] and rows[0][0] == 690 + 67 + 130 + 400 + 1562


def test_bad_user_input_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["ingest", str(tmp_path / "nope.jsonl"), "--source", "x", "--out", str(tmp_path / "o"),
                 "--catalog", str(tmp_path / "c.duckdb")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("curate: error: input not found") and "\n" not in err
    (tmp_path / "p.yaml").write_text("name: x\nsources: {a: {paths: [x]}}\ncolour: blue\n")
    assert main(["run", str(tmp_path / "p.yaml"), "--catalog", str(tmp_path / "c.duckdb")]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown key 'colour'" in err and "p.yaml" in err and "\n" not in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_cluster(tmp_path):
    """A real `dask scheduler` and two `dask worker` processes on 127.0.0.1, stopped afterwards."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    bindir = Path(sys.executable).parent
    dask = shutil.which("dask", path=str(bindir)) or "dask"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", ":0", "--no-show"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    for i in range(2):
        procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--name", f"w{i}",
                                       "--local-directory", str(tmp_path / f"w{i}"), "--no-dashboard"],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))
    from distributed import Client

    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def test_external_cluster_output_is_byte_identical_to_local(corpora, tmp_path, dask_cluster):
    assert _cli(tmp_path, tmp_path / "local", "--workers", "2", corpora=corpora) == 0
    started = time.monotonic()
    assert _cli(tmp_path, tmp_path / "remote", "--scheduler", dask_cluster, corpora=corpora) == 0
    assert time.monotonic() - started < 300
    assert _tree_bytes(tmp_path / "local") == _tree_bytes(tmp_path / "remote")


def test_the_catalog_is_usable_while_another_process_holds_it_open_briefly(tmp_path):
    """A run does not keep the catalog locked: a second process can record and read while it works."""
    path = tmp_path / "catalog.duckdb"
    with Catalog(path) as catalog:
        first = catalog.start_run("first", {})
        code = ("import sys; from pipelines.catalog import Catalog\n"
                "with Catalog(sys.argv[1]) as c:\n"
                "    r = c.start_run('second', {}); c.finish_run(r)\n"
                "    print(len(c.query('SELECT * FROM runs')[1]))\n")
        result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "2"
        catalog.finish_run(first)
        _, rows = catalog.query("SELECT command, status FROM runs ORDER BY command")
    assert rows == [("first", "ok"), ("second", "ok")]
