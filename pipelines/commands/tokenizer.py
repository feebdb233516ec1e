"""`curate tokenizer train` and `curate tokenizer report`: the BPE tokenizers and their compression."""

from __future__ import annotations

import argparse
import os
import traceback
from collections.abc import Callable
from pathlib import Path

from curation.config import to_dict
from curation.documents import read_json
from pipelines.catalog import Catalog, default_catalog_path
from pipelines.stage import fingerprint, log, run_stage

DEFAULT_MAX_EVAL_MB = 16.0
CORPORA_ENV = "CURATE_CORPORA"


def _default_corpora_dir() -> Path:
    return Path(os.environ.get(CORPORA_ENV) or Path(__file__).resolve().parents[3] / "shared" / "corpora")


def _add_stage_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("execution")
    group.add_argument("--num-threads", type=int, default=None,
                       help="threads for sentencepiece and the encoders (default: every core)")
    group.add_argument("--catalog", default=None,
                       help=f"DuckDB catalog file (default: $CURATE_CATALOG or {default_catalog_path()})")
    group.add_argument("--force", action="store_true", help="redo the stage even if its output is complete")


def add_commands(subparsers) -> None:
    """Register `curate tokenizer {train,report}`."""
    from tokenizer.presets import preset_names

    parser = subparsers.add_parser(
        "tokenizer", help="train sentencepiece BPE tokenizers and report their compression",
        description="Train the 120k/70k sentencepiece BPE tokenizers of the MiniCPM recipe and compare "
                    "tokenizers by bytes per token on held-out Chinese, English, code and paper text.")
    commands = parser.add_subparsers(dest="tokenizer_command", required=True, metavar="SUBCOMMAND")

    train = commands.add_parser(
        "train", help="train a tokenizer from document directories",
        description="Sample training sentences from document directories by domain weight (within a "
                    "memory cap, holding out documents for the report), train sentencepiece BPE, export "
                    "tokenizer.json, and write the train report. Example: curate tokenizer train "
                    "--in zh=work/zh en=work/en code=work/code paper=work/paper --preset 120k --out work/tok120k")
    train.add_argument("--in", dest="inputs", action="extend", nargs="+", required=True, metavar="[DOMAIN=]DIR",
                       help="document directories; DOMAIN (default: the directory name) keys sample.domain_weights")
    train.add_argument("--preset", choices=preset_names(), default=None,
                       help="configs/tokenizer/PRESET.yaml (120k: 122,753 pieces; 70k: 73,440)")
    train.add_argument("--config", default=None,
                       help="a YAML config; with --preset, its keys override the preset's")
    train.add_argument("--out", required=True, help="output directory")
    train.add_argument("--vocab-size", type=int, default=None, help="override vocab_size")
    train.add_argument("--max-sample-mb", type=float, default=None,
                       help="override sample.max_sample_bytes (MB of training text held in memory)")
    _add_stage_options(train)
    train.set_defaults(func=_train)

    report = commands.add_parser(
        "report", help="bytes per token of tokenizers on eval sets (JSON, Markdown, chart)",
        description="Measure bytes per token, tokens per second and the byte-fallback share of tokenizers "
                    "(curate tokenizer directories, sentencepiece .model, HF tokenizer.json, tiktoken rank "
                    "files, GGUF vocabularies) on eval sets, held-out documents only by default.")
    report.add_argument("--tokenizer", action="extend", nargs="+", required=True, metavar="[NAME=]PATH",
                        help="tokenizer(s) under test: a `curate tokenizer train` directory or any tokenizer file")
    report.add_argument("--baseline", action="extend", nargs="+", default=[], metavar="[NAME=]PATH",
                        help="reference tokenizers; ratios are to the first one")
    report.add_argument("--eval", dest="evals", action="extend", nargs="+", default=[], metavar="NAME=PATH",
                        help=f"eval sets: document directories or JSONL files (default: Chinese, English, "
                             f"Code, Paper from ${CORPORA_ENV} or ../shared/corpora)")
    report.add_argument("--out", required=True, help="output directory")
    report.add_argument("--split", choices=("heldout", "all"), default="heldout",
                        help="measure only documents held out of tokenizer training (default) or all")
    report.add_argument("--heldout-per-mille", type=int, default=None,
                        help="the held-out rule (default: from the first tokenizer's config.json, else 100)")
    report.add_argument("--max-eval-mb", type=float, default=DEFAULT_MAX_EVAL_MB,
                        help=f"MB of text per eval set (default {DEFAULT_MAX_EVAL_MB:g})")
    _add_stage_options(report)
    report.set_defaults(func=_report)


def _with_catalog(args: argparse.Namespace, command: str, body: Callable[[Catalog, str], None]) -> int:
    recorded = {k: v for k, v in vars(args).items() if k != "func"}
    with Catalog(args.catalog) as catalog:
        run_id = catalog.start_run(command, recorded)
        try:
            body(catalog, run_id)
        except BaseException as exc:
            catalog.finish_run(run_id, "failed", "".join(traceback.format_exception_only(exc)).strip())
            raise
        catalog.finish_run(run_id, "ok")
    return 0


def _train(args: argparse.Namespace) -> int:
    from tokenizer.presets import load_tokenizer_config
    from tokenizer.sampling import parse_domain_inputs
    from tokenizer.train import train_tokenizer

    sample = {"max_sample_bytes": int(args.max_sample_mb * 1e6)} if args.max_sample_mb else None
    config = load_tokenizer_config(args.preset, args.config, {
        "vocab_size": args.vocab_size, "num_threads": args.num_threads, "sample": sample})
    domains = parse_domain_inputs(args.inputs)
    key = fingerprint({"config": to_dict(config), "domains": {d.name: [str(p) for p in d.dirs] for d in domains}},
                      [p for d in domains for p in d.dirs])

    def body(catalog: Catalog, run_id: str) -> None:
        manifest, _ = run_stage("tokenizer_train", args.out, key,
                                lambda out_dir: train_tokenizer(config, domains, out_dir, log),
                                catalog, run_id, force=args.force)
        print(f"{Path(args.out) / 'tokenizer.model'}: {manifest['num_out']:,} pieces, sha256 {manifest['sha256'][:16]}")

    return _with_catalog(args, "tokenizer train", body)


def _named(spec: str) -> tuple[str | None, Path]:
    name, sep, path = spec.partition("=")
    return (name, Path(path)) if sep and name and not Path(spec).exists() else (None, Path(spec))


def _report(args: argparse.Namespace) -> int:
    from tokenizer.evalsets import default_eval_specs, parse_eval_specs
    from tokenizer.report import report_directory

    tested = [_named(s) for s in args.tokenizer]
    baselines = [_named(s) for s in args.baseline]
    eval_specs = parse_eval_specs(args.evals) if args.evals else default_eval_specs(_default_corpora_dir())
    per_mille = args.heldout_per_mille
    if per_mille is None:
        first = tested[0][1]
        config = (first if first.is_dir() else first.parent) / "config.json"
        per_mille = read_json(config)["config"]["sample"]["heldout_per_mille"] if config.is_file() else 100
    settings = {"tokenizers": [str(p.resolve()) for _, p in tested],
                "baselines": [str(p.resolve()) for _, p in baselines],
                "evals": {n: str(p.resolve()) for n, p in eval_specs}, "split": args.split,
                "heldout_per_mille": per_mille, "max_eval_mb": args.max_eval_mb}
    key = fingerprint(settings, [p for _, p in tested + baselines] + [p for _, p in eval_specs])

    def build(out_dir: Path) -> dict:
        return report_directory(tested, baselines, eval_specs, out_dir, per_mille, int(args.max_eval_mb * 1e6),
                                args.split, args.num_threads, log)

    def body(catalog: Catalog, run_id: str) -> None:
        run_stage("tokenizer_report", args.out, key, build, catalog, run_id, force=args.force)
        print((Path(args.out) / "report.md").read_text(encoding="utf-8"))

    return _with_catalog(args, "tokenizer report", body)
