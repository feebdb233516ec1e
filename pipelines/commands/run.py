"""`curate run PIPELINE.yaml`: the whole chain as one idempotent job, ending with a summary table."""

from __future__ import annotations

import argparse

from pipelines.catalog import format_table
from pipelines.commands.options import add_run_options, run_with_cluster
from pipelines.pipeline import load_pipeline, run_pipeline


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "run", help="run a pipeline YAML (configs/pipelines/*.yaml) end to end",
        description="Run every stage of a pipeline for every source. Stages whose output is complete for "
                    "the same inputs and config are skipped; interrupted ones resume.")
    parser.add_argument("pipeline", help="pipeline YAML, e.g. configs/pipelines/sample.yaml")
    parser.add_argument("--work-dir", default=None, help="override the pipeline's work_dir")
    parser.add_argument("--corpora-dir", default=None, help="override the pipeline's corpora_dir")
    add_run_options(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    config = load_pipeline(args.pipeline, {"work_dir": args.work_dir, "corpora_dir": args.corpora_dir})

    def body(executor, catalog, run_id):
        result = run_pipeline(config, executor, catalog, run_id)
        rows = result["rows"]
        columns = [c for c in rows[0] if c != "counts"]
        print(format_table(columns, [tuple(r[c] for c in columns) for r in rows]))
        total = sum(r["docs_out"] for r in rows if r["stage"] == "ingest")
        print(f"\n{total:,} documents ingested; run {run_id}; catalog {catalog.path} "
              f"(try: curate sql \"SELECT source, count(*) FROM ingest GROUP BY 1\")")
        print(f"report: {result['report']}")

    return run_with_cluster(args, "run", body)
