"""`curate dedup`: exact then MinHash LSH near-dedup within and across corpora; `curate dedup eval`: accuracy."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from curation.dedup.settings import DEFAULT_CONFIG_PATH, load_dedup_config
from pipelines.commands.options import add_run_options

CORPORA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"


def add_commands(subparsers) -> None:
    """Register `dedup` and its `eval` subcommand."""
    parser = subparsers.add_parser(
        "dedup", help="deduplicate document directories (exact, then MinHash LSH), within and across corpora",
        description="Remove exact duplicates (hash of normalized text), then near duplicates (MinHash LSH "
                    "over word, character or code-token shingles chosen per document from its language), "
                    "within and across all --in directories. Writes kept/<source>/ and duplicates/<source>/ "
                    "shards and a manifest with counts per source, the cross-corpus matrix and the cluster "
                    "size histogram. Rerunning resumes an interrupted run; a complete one is skipped.")
    parser.add_argument("--in", dest="input_dirs", action="append", metavar="DIR",
                        help="a document directory (repeat for several corpora)")
    parser.add_argument("--out", dest="out_dir", metavar="DIR", help="output directory")
    _add_config_options(parser)
    parser.add_argument("--priority", default=None, metavar="SRC,SRC,...",
                        help="source order for choosing the survivor of a cluster, most trusted first "
                             "(default from the config: dolma,c4,pile,cc_zh,stack)")
    add_run_options(parser)
    parser.set_defaults(func=_run_dedup)
    sub = parser.add_subparsers(dest="dedup_command", metavar="{eval}")
    evaluate = sub.add_parser(
        "eval", help="pair precision/recall/F1 against ground truth (planted set, bib_dedupe)",
        description="Build a planted near-duplicate set from real documents (Chinese news, English books and "
                    "docs, code; edits: headers/footers, inserted/deleted sentences, re-wrapped whitespace, "
                    "small substitutions), run the dedup job on it and on the labelled bib_dedupe records, "
                    "and print pair precision, recall and F1 with the S-curve of the LSH parameters.")
    _add_config_options(evaluate)
    evaluate.add_argument("--corpora", default=str(CORPORA_DIR), metavar="DIR",
                          help="the shared sample corpora (default: %(default)s)")
    evaluate.add_argument("--num-docs", type=int, default=500, help="base documents per language (default 500)")
    evaluate.add_argument("--langs", default="zh,en,code", help="planted-set languages (default zh,en,code)")
    evaluate.add_argument("--seed", type=int, default=0, help="planted-set seed (default 0)")
    evaluate.add_argument("--no-planted", action="store_true", help="skip the planted set")
    evaluate.add_argument("--no-bib", action="store_true", help="skip bib_dedupe")
    evaluate.add_argument("--json", default=None, metavar="PATH", help="also write the scores as JSON here")
    evaluate.set_defaults(func=_run_eval)


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, metavar="YAML",
                        help=f"dedup config (default: configs/dedup/{DEFAULT_CONFIG_PATH.name})")
    parser.add_argument("--threshold", type=float, default=None, help="Jaccard threshold (default 0.8)")


def _config(args: argparse.Namespace):
    overrides = {"threshold": args.threshold}
    if getattr(args, "priority", None):
        overrides["priority"] = [s.strip() for s in args.priority.split(",") if s.strip()]
    return load_dedup_config(args.config, overrides)


def _run_dedup(args: argparse.Namespace) -> int:
    if not args.input_dirs or not args.out_dir:
        raise ValueError("curate dedup needs --in DIR (one or more) and --out DIR")
    from curation.dedup.job import input_shards, run_dedup
    from pipelines.commands.options import run_with_cluster
    from pipelines.stage import fingerprint, log, run_stage

    config = _config(args)
    inputs = [Path(d) for d in args.input_dirs]
    input_shards(inputs)  # bad inputs fail here, before a cluster starts or --out is touched
    key = fingerprint({"stage": "dedup", "config": dataclasses.asdict(config)}, inputs)

    def body(executor, catalog, run_id) -> int:
        manifest, _ = run_stage("dedup", args.out_dir,
                                key, lambda out: run_dedup(inputs, out, config, executor, log=log),
                                catalog=catalog, run_id=run_id, force=args.force)
        print(summary(manifest))
        return 0

    return run_with_cluster(args, "dedup", body)


def summary(manifest: dict) -> str:
    """A readable report of a dedup manifest: per-source counts, cross-corpus copies, clusters, memory."""
    lines = [f"dedup: {manifest['num_in']:,} documents in, {manifest['num_out']:,} kept, "
             f"{manifest['num_duplicates']:,} duplicates ({manifest['num_exact_duplicates']:,} exact, "
             f"{manifest['num_near_duplicates']:,} near), {manifest['num_clusters']:,} clusters",
             f"{'source':<20}{'input':>12}{'kept':>12}{'exact':>10}{'near':>10}{'dup rate':>10}"]
    for source, c in manifest["counts"].items():
        rate = c["duplicates"] / c["input"] if c["input"] else 0.0
        lines.append(f"{source:<20}{c['input']:>12,}{c['kept']:>12,}{c['exact_duplicates']:>10,}"
                     f"{c['near_duplicates']:>10,}{rate:>10.2%}")
    lines.append("dropped as copies of (row: dropped source, column: survivor source):")
    for source, row in manifest["cross_corpus"].items():
        lines.append(f"  {source}: " + ", ".join(f"{other} {n:,}" for other, n in row.items()))
    histogram = ", ".join(f"{size}: {n:,}" for size, n in manifest["cluster_size_histogram"].items())
    lines.append(f"cluster sizes: {histogram or 'none'}")
    lsh = manifest["lsh"]
    lines.append(f"LSH: {lsh['bands']} bands x {lsh['rows']} rows of {lsh['num_perm']}; "
                 + ", ".join(f"P(candidate | J={s}) = {v['candidate']:.3f}" for s, v in lsh["s_curve"].items()))
    run = manifest.get("run", {})
    if run:
        lines.append(f"peak memory per task process: {run['peak_rss_mb']['max_task_process_mb']:.0f} MB; "
                     f"seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in run["seconds"].items()))
    return "\n".join(lines)


def _run_eval(args: argparse.Namespace) -> int:
    from curation.dedup.evaluate import evaluate_bib, evaluate_planted
    from curation.dedup.lsh import params_for

    config = _config(args)
    corpora = Path(args.corpora)
    if not corpora.is_dir():
        raise ValueError(f"--corpora {corpora}: not a directory")
    params = params_for(config)
    print(params.describe(), flush=True)
    scores = []
    if not args.no_planted:
        langs = tuple(x.strip() for x in args.langs.split(",") if x.strip())
        for score in evaluate_planted(corpora, config, args.num_docs, args.seed, langs):
            print(score.line(), flush=True)
            scores.append(score)
    if not args.no_bib:
        for score in evaluate_bib(corpora, config):
            print(score.line(), flush=True)
            scores.append(score)
    if args.json:
        Path(args.json).write_text(json.dumps({"lsh": params.as_dict(), "config": dataclasses.asdict(config),
                                               "scores": [s.as_dict() for s in scores]}, indent=1) + "\n")
    sys.stdout.flush()
    return 0
