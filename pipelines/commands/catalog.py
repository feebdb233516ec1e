"""`curate runs` and `curate sql`: read the DuckDB catalog."""

from __future__ import annotations

import argparse

from pipelines.catalog import Catalog, format_table


def add_commands(subparsers) -> None:
    runs = subparsers.add_parser("runs", help="list recent runs from the catalog",
                                 description="List recent runs recorded in the DuckDB catalog.")
    runs.add_argument("--limit", type=int, default=20)
    runs.add_argument("--catalog", default=None, help="DuckDB catalog file")
    runs.set_defaults(func=_runs)

    sql = subparsers.add_parser(
        "sql", help="run SQL over the catalog",
        description="Run SQL over the catalog tables (runs, stages, shards, counts, outputs) and "
                    "views over the newest outputs of each stage (e.g. ingest, quarantine).")
    sql.add_argument("query", help='e.g. "SELECT source, count(*) FROM ingest GROUP BY 1"')
    sql.add_argument("--catalog", default=None, help="DuckDB catalog file")
    sql.set_defaults(func=_sql)


def _runs(args: argparse.Namespace) -> int:
    with Catalog(args.catalog) as catalog:
        print(format_table(*catalog.recent_runs(args.limit)))
    return 0


def _sql(args: argparse.Namespace) -> int:
    import duckdb

    with Catalog(args.catalog) as catalog:
        try:
            columns, rows = catalog.query(args.query)
        except duckdb.Error as exc:
            raise ValueError(f"SQL failed: {str(exc).splitlines()[0]}") from None
        print(format_table(columns, rows))
    return 0
