"""`curate experiment FILE [--plan]`: train variants that differ in one data decision; compare them."""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "experiment", help="train variants that differ in one data decision and compare them in bits/byte",
        description="Run an experiment (configs/experiments/NAME.yaml) or a set of them (a file listing "
                    "`experiments:`, e.g. configs/experiments/default.yaml): every variant x seed trains the "
                    "same tiny preset on the same token budget, is evaluated in bits per byte on held-out text "
                    "per domain, and each comparison gets a verdict against the seed spread. Results go to the "
                    "catalog (table experiment_results), WORK/NAME/results.json and WORK/NAME/report.html. "
                    "Finished runs are skipped on rerun; interrupted ones resume from their last checkpoint.")
    parser.add_argument("config", help="experiment YAML, or a set YAML listing experiments")
    parser.add_argument("--plan", action="store_true",
                        help="print steps, tokens and estimated minutes per variant; train nothing")
    parser.add_argument("--work-dir", default=None, help="experiment directory (default: the config's work_dir)")
    parser.add_argument("--catalog", default=None, help="DuckDB catalog file (default: $CURATE_CATALOG or "
                        "work/catalog.duckdb)")
    parser.add_argument("--markdown", default=None, help="also write the result tables and verdicts as Markdown")
    parser.set_defaults(func=_experiment)


def _experiment(args: argparse.Namespace) -> int:
    from pipelines.experiment_config import experiment_files, load_experiment

    configs = [load_experiment(path) for path in experiment_files(args.config)]
    if args.plan:
        return _plan(configs, args)
    from curation.parallel import SerialExecutor
    from pipelines.catalog import Catalog
    from pipelines.experiment import Experiment
    from pipelines.experiment_report import markdown_table, markdown_verdicts

    started = time.monotonic()
    markdown = []
    with Catalog(args.catalog) as catalog:
        run_id = catalog.start_run("experiment", {"config": args.config, "work_dir": args.work_dir})
        try:
            for exp in configs:
                experiment = Experiment(exp, args.work_dir)
                # The corpus is small (tens of MB): preparing it in-process beats starting a cluster.
                experiment.prepare(SerialExecutor(), catalog, run_id)
                results = experiment.run(catalog, run_id)
                print(f"{exp.name}: {results['trained']} runs trained, {results['seconds']:.0f} s; "
                      f"report {experiment.dir / 'report.html'}")
                for verdict in results["verdicts"]:
                    print(f"  {verdict['b']} vs {verdict['a']}: {verdict['text']}")
                markdown.append(f"## {exp.name}\n\n{exp.question}\n\n{markdown_table(results)}\n\n"
                                f"{markdown_verdicts(results)}\n\nwall time {results['seconds']:.0f} s, "
                                f"{results['trained']} runs trained\n")
        except BaseException as exc:
            catalog.finish_run(run_id, "failed", "".join(traceback.format_exception_only(exc)).strip())
            raise
        catalog.finish_run(run_id, "ok")
    total = time.monotonic() - started
    print(f"all experiments: {total / 60:.1f} minutes wall time")
    if args.markdown:
        Path(args.markdown).write_text("\n".join(markdown) + f"\ntotal wall time {total / 60:.1f} minutes\n",
                                       encoding="utf-8")
    return 0


def _plan(configs, args: argparse.Namespace) -> int:
    from pipelines.experiment import format_plan
    from pipelines.experiment_config import load_corpus

    total = 0.0
    for exp in configs:
        text, minutes = format_plan(exp, load_corpus(exp.corpus), Path(args.work_dir or exp.work_dir))
        total += minutes
        print(text + "\n", file=sys.stdout)
    if len(configs) > 1:
        print(f"all {len(configs)} experiments: about {total:.0f} minutes of training")
    return 0
