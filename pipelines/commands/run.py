"""`curate run PIPELINE.yaml`: the whole chain as one idempotent job, ending with a summary table."""

from __future__ import annotations

import argparse

from pipelines.catalog import format_table
from pipelines.commands.options import add_run_options, run_with_cluster
from pipelines.pipeline import STAGE_ORDER, load_pipeline, plan_pipeline, run_pipeline


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "run", help="run a pipeline YAML (configs/pipelines/*.yaml) end to end",
        description=f"Run a pipeline's stages ({' -> '.join(STAGE_ORDER)}) for every source. Stages whose "
                    "output is complete for the same inputs and config are skipped; interrupted ones resume; "
                    "changed ones rerun. Ends with a summary table and the path of the HTML run report.")
    parser.add_argument("pipeline", help="pipeline YAML, e.g. configs/pipelines/sample.yaml")
    parser.add_argument("--work-dir", default=None, help="override the pipeline's work_dir")
    parser.add_argument("--corpora-dir", default=None, help="override the pipeline's corpora_dir")
    parser.add_argument("--stages", default=None,
                        help="comma-separated subset of the pipeline's stages to run, e.g. ingest,clean,dedup")
    parser.add_argument("--dry-run", action="store_true", help="print what would run and why; run nothing")
    add_run_options(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    overrides = {"work_dir": args.work_dir, "corpora_dir": args.corpora_dir,
                 "stages": args.stages.split(",") if args.stages else None}
    config = load_pipeline(args.pipeline, overrides)
    if args.dry_run:
        print(format_table(["stage", "job", "output", "would"], plan_pipeline(config)))
        return 0

    def body(executor, catalog, run_id):
        result = run_pipeline(config, executor, catalog, run_id)
        rows = result["rows"]
        columns = ["stage", "source", "skipped", "docs_in", "docs_out", "removed", "summary"]
        print(format_table(["stage", "job", "already complete", "docs in", "docs out", "removed", "result"],
                           [tuple("" if r.get(c) is None else r[c] for c in columns) for r in rows]))
        ran = [r for r in rows if not r["skipped"]]
        print(f"\n{len(ran)} of {len(rows)} jobs ran" + ("" if ran else " (everything was already complete)")
              + f"; run {run_id}; catalog {catalog.path} "
              f"(try: curate sql \"SELECT source, count(*) FROM ingest GROUP BY 1\")")
        print(f"report: {result['report']}")

    return run_with_cluster(args, "run", body)
