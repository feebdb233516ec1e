"""The DuckDB catalog: every run, stage, shard and count, in one file.

Only the driver process writes here (workers return small results to it), so DuckDB's single
writer is enough. Each operation opens the file for a moment and closes it again, so a long run
never holds the lock: `curate runs` or a second job can use the catalog while the first one works
(a brief conflict is retried for up to LOCK_WAIT_SECONDS). Stage outputs are reachable from SQL as
views named after the output (`ingest`, `clean_kept`, ...) over the newest run that produced them.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

DEFAULT_CATALOG_PATH = "work/catalog.duckdb"
CATALOG_ENV = "CURATE_CATALOG"
LOCK_WAIT_SECONDS = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, command VARCHAR, args VARCHAR,
    started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, status VARCHAR, error VARCHAR);
CREATE TABLE IF NOT EXISTS stages (
    run_id VARCHAR, stage VARCHAR, out_dir VARCHAR, skipped BOOLEAN,
    num_in BIGINT, num_out BIGINT, seconds DOUBLE, config VARCHAR, recorded_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS shards (
    run_id VARCHAR, stage VARCHAR, path VARCHAR, num_rows BIGINT, num_bytes BIGINT, sha256 VARCHAR);
CREATE TABLE IF NOT EXISTS counts (
    run_id VARCHAR, stage VARCHAR, source VARCHAR, name VARCHAR, value BIGINT);
CREATE TABLE IF NOT EXISTS schedule_state (
    schedule VARCHAR PRIMARY KEY, last_due TIMESTAMPTZ, updated_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS outputs (
    run_id VARCHAR, stage VARCHAR, name VARCHAR, path_glob VARCHAR, recorded_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS experiment_results (
    run_id VARCHAR, experiment VARCHAR, variant VARCHAR, seed INTEGER, domain VARCHAR,
    bits_per_byte DOUBLE, steps INTEGER, tokens BIGINT, seconds DOUBLE, recorded_at TIMESTAMPTZ);
"""
_VIEW_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def default_catalog_path() -> str:
    return os.environ.get(CATALOG_ENV) or DEFAULT_CATALOG_PATH


def _now() -> datetime:
    return datetime.now(UTC)


class Catalog:
    """A DuckDB catalog file; open it with `with Catalog(path) as catalog:`."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path or default_catalog_path())

    def __enter__(self) -> Catalog:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as con:
            con.execute(_SCHEMA)
        return self

    def __exit__(self, *exc) -> None:
        pass

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one operation; waits while another process holds the file's lock."""
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                con = duckdb.connect(str(self.path))
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise
                if time.monotonic() > deadline:
                    raise ValueError(f"catalog {self.path} is locked by another process for over "
                                     f"{LOCK_WAIT_SECONDS:.0f} s; use --catalog or $CURATE_CATALOG for a "
                                     f"separate file") from None
                time.sleep(0.1)
        try:
            yield con
        finally:
            con.close()

    def _execute(self, sql: str, params: list | None = None, many: list[list] | None = None) -> list[tuple]:
        with self.connect() as con:
            if many is not None:
                con.executemany(sql, many)
                return []
            return con.execute(sql, params or []).fetchall()

    def start_run(self, command: str, args: dict) -> str:
        """Record the start of a run; return its id."""
        run_id = f"{_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        self._execute("INSERT INTO runs VALUES (?, ?, ?, ?, NULL, 'running', NULL)",
                      [run_id, command, json.dumps(args, sort_keys=True, default=str), _now()])
        return run_id

    def finish_run(self, run_id: str, status: str = "ok", error: str | None = None) -> None:
        self._execute("UPDATE runs SET finished_at = ?, status = ?, error = ? WHERE run_id = ?",
                      [_now(), status, error, run_id])

    def record_stage(self, run_id: str, stage: str, out_dir: str | Path, manifest: dict,
                     skipped: bool, seconds: float) -> None:
        """Record a finished stage from its manifest: totals, shards, per-source counts, outputs.

        Manifest fields read: `num_in`, `num_out` (or `num_docs`), `shards` (list of shard infos,
        optionally with a `dir` relative to out_dir), `counts` ({source: {name: value}}),
        `outputs` ({view name: glob relative to out_dir}) and `config`.
        """
        out_dir = Path(out_dir).resolve()
        num_out = manifest.get("num_out", manifest.get("num_docs"))
        shard_rows = [[run_id, stage, str(out_dir / s.get("dir", "") / s["shard"]), s["num_rows"],
                       s["num_bytes"], s["sha256"]] for s in manifest.get("shards", [])]
        count_rows = [[run_id, stage, source, name, int(value)]
                      for source, named in sorted(manifest.get("counts", {}).items())
                      for name, value in sorted(named.items())]
        outputs = sorted(manifest.get("outputs", {}).items())
        for name, _ in outputs:
            if not _VIEW_NAME.match(name):
                raise ValueError(f"output name {name!r} is not a valid view name")
        with self.connect() as con:
            con.execute(
                "INSERT INTO stages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, stage, str(out_dir), skipped, manifest.get("num_in"), num_out, seconds,
                 json.dumps(manifest.get("config", {}), sort_keys=True, default=str), _now()])
            if shard_rows:
                con.executemany("INSERT INTO shards VALUES (?, ?, ?, ?, ?, ?)", shard_rows)
            if count_rows:
                con.executemany("INSERT INTO counts VALUES (?, ?, ?, ?, ?)", count_rows)
            for name, glob in outputs:
                con.execute("INSERT INTO outputs VALUES (?, ?, ?, ?, ?)",
                            [run_id, stage, name, str(out_dir / glob), _now()])

    def record_experiment(self, run_id: str, experiment: str, records: list[dict]) -> None:
        """Bits per byte per variant, seed and domain of one `curate experiment` (pipelines.experiment)."""
        rows = [[run_id, experiment, r["variant"], r["seed"], domain, value, r["steps"], r["tokens"], r["seconds"],
                 _now()] for r in records for domain, value in sorted(r["bits_per_byte"].items())]
        if rows:
            self._execute("INSERT INTO experiment_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", many=rows)

    def last_scheduled(self, schedule: str) -> datetime | None:
        """The scheduled time of the last run a schedule started, or None."""
        rows = self._execute("SELECT last_due FROM schedule_state WHERE schedule = ?", [schedule])
        return rows[0][0].astimezone(UTC) if rows and rows[0][0] else None

    def record_scheduled(self, schedule: str, due: datetime) -> None:
        self._execute("INSERT OR REPLACE INTO schedule_state VALUES (?, ?, ?)", [schedule, due, _now()])

    @staticmethod
    def create_output_views(con: duckdb.DuckDBPyConnection) -> list[str]:
        """Create a view per output name over every output directory of that name still on disk."""
        rows = con.execute(
            "SELECT name, list(DISTINCT path_glob ORDER BY path_glob) FROM outputs GROUP BY name ORDER BY name"
        ).fetchall()
        created = []
        for name, globs in rows:
            # Directories deleted since are left out rather than failing the query.
            present = [g for g in globs if any(Path("/").glob(g.lstrip("/")))]
            if not present:
                continue
            literals = ", ".join("'" + g.replace("'", "''") + "'" for g in present)
            con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS "
                             f"SELECT * FROM read_parquet([{literals}], union_by_name = true)")
            created.append(name)
        return created

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Run SQL with the output views in place; return column names and rows."""
        with self.connect() as con:
            self.create_output_views(con)
            result = con.execute(sql)
            columns = [d[0] for d in result.description] if result.description else []
            return columns, result.fetchall()

    def recent_runs(self, limit: int = 20) -> tuple[list[str], list[tuple]]:
        return self.query(
            "SELECT r.run_id, r.command, r.status, r.started_at, "
            "round(epoch(r.finished_at) - epoch(r.started_at), 1) AS seconds, "
            "coalesce(sum(s.num_out), 0) AS docs_out "
            "FROM runs r LEFT JOIN stages s USING (run_id) "
            f"GROUP BY ALL ORDER BY r.started_at DESC LIMIT {int(limit)}")


def format_table(columns: list[str], rows: list[tuple]) -> str:
    """Render rows as an aligned plain-text table."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)
