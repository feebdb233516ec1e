"""`curate schedule CONFIG`: run pipelines on cron timetables, with a status page on 127.0.0.1."""

from __future__ import annotations

import argparse
import sys
import traceback

from pipelines.catalog import Catalog
from pipelines.executor import DaskExecutor
from pipelines.pipeline import load_pipeline, run_pipeline
from pipelines.schedule import Stopper, load_schedule, serve_forever, utc_now
from pipelines.status_page import StatusServer


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "schedule", help="run pipelines on cron schedules (a long-running service)",
        description="Read schedules (cron expressions, UTC, per pipeline) from CONFIG, start due runs on the "
                    "Dask cluster, record them in the catalog, and serve a status page and /status.json. "
                    "SIGTERM stops after the current stage; the next start resumes there.")
    parser.add_argument("config", help="schedule YAML, e.g. configs/schedules/sample.yaml")
    parser.add_argument("--once", action="store_true", help="run whatever is due now, then exit (for cron/CI)")
    parser.add_argument("--scheduler", default=None, help="Dask scheduler address (default: local cluster)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--catalog", default=None, help="DuckDB catalog file")
    parser.add_argument("--port", type=int, default=None, help="status page port (0: any free port)")
    parser.set_defaults(func=_schedule)


def _schedule(args: argparse.Namespace) -> int:
    config = load_schedule(args.config)
    pipelines = {e.name: load_pipeline(e.pipeline, {"work_dir": e.work_dir, "corpora_dir": e.corpora_dir})
                 for e in config.schedules}  # fail fast on bad configs
    stopper = Stopper()
    stopper.install()
    state = {"config": args.config, "schedules": [vars(e) for e in config.schedules], "current": None,
             "started_at": str(utc_now()), "reports": []}
    with Catalog(args.catalog) as catalog, DaskExecutor(args.scheduler, args.workers) as executor:

        def run_one(entry, due) -> str:
            run_id = catalog.start_run(f"schedule:{entry.name}", {"pipeline": entry.pipeline, "due": str(due)})
            state["current"] = {"schedule": entry.name, "run_id": run_id, "due": str(due)}
            print(f"schedule: {entry.name} due {due:%Y-%m-%d %H:%M} -> run {run_id}", file=sys.stderr, flush=True)
            try:
                result = run_pipeline(pipelines[entry.name], executor, catalog, run_id, should_stop=stopper)
            except Exception as exc:
                catalog.finish_run(run_id, "failed", "".join(traceback.format_exception_only(exc)).strip())
                return "failed"
            finally:
                state["current"] = None
            status = "stopped" if stopper() else "ok"
            catalog.finish_run(run_id, status)
            if result.get("report"):
                state["reports"].append(result["report"])
            return status

        port = config.status_port if args.port is None else args.port
        with StatusServer(catalog, config.status_host, port, state) as server:
            print(f"schedule: status page {server.address} (JSON: {server.address}status.json)",
                  file=sys.stderr, flush=True)
            log = serve_forever(config, catalog, run_one, stopper, once=args.once)
    for item in log:
        print(f"{item['schedule']}\t{item['due']:%Y-%m-%d %H:%M}\t{item['status']}")
    return 1 if any(i["status"] == "failed" for i in log) else 0
