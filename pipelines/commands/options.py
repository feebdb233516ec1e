"""Options every stage command shares, and the run wrapper that opens Dask and the catalog."""

from __future__ import annotations

import argparse
import traceback
from collections.abc import Callable

from pipelines.catalog import Catalog, default_catalog_path
from pipelines.executor import SCHEDULER_ENV, DaskExecutor


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """--scheduler, --workers, --catalog, --force."""
    group = parser.add_argument_group("execution")
    group.add_argument("--scheduler", default=None,
                       help=f"address of an existing Dask scheduler (tcp://HOST:PORT); default: "
                            f"${SCHEDULER_ENV}, else an in-process local cluster")
    group.add_argument("--workers", type=int, default=None,
                       help="local cluster worker processes (default: one per core)")
    group.add_argument("--catalog", default=None,
                       help=f"DuckDB catalog file (default: $CURATE_CATALOG or {default_catalog_path()})")
    group.add_argument("--force", action="store_true", help="redo the stage even if its output is complete")


def run_with_cluster(args: argparse.Namespace, command: str,
                     body: Callable[[DaskExecutor, Catalog, str], int | None]) -> int:
    """Open the catalog and the Dask executor, record the run, and call body(executor, catalog, run_id)."""
    recorded = {k: v for k, v in vars(args).items() if k != "func"}
    with Catalog(args.catalog) as catalog:
        run_id = catalog.start_run(command, recorded)
        try:
            with DaskExecutor(scheduler=args.scheduler, num_workers=args.workers) as executor:
                code = body(executor, catalog, run_id) or 0
        except BaseException as exc:
            catalog.finish_run(run_id, "failed", "".join(traceback.format_exception_only(exc)).strip())
            raise
        catalog.finish_run(run_id, "ok" if code == 0 else "failed")
        return code
