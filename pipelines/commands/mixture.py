"""`curate build-mixture --stage stable|decay --recipe FILE --out DIR [--plan]`: packed token mixtures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from curation.parallel import SerialExecutor
from mixtures.build import build_mixture, plan_recipe
from mixtures.encoding import TextTokenizer
from mixtures.plan import format_plan
from mixtures.recipe import STAGES, load_recipe, source_inputs
from pipelines.commands.options import add_run_options, run_with_cluster
from pipelines.stage import fingerprint, log, run_stage

DEFAULT_RECIPE = "configs/mixtures/{stage}.yaml"


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "build-mixture", help="build a stable- or decay-stage training mixture (packed token shards)",
        description="Tokenize the recipe's sources, sample them to the recipe's token shares (small "
                    "sources upsampled by whole epochs first, the last document cut to hit each target "
                    "exactly), shuffle globally across sources and pack into rows of seq_len + 1 tokens "
                    "with EOS between documents. Writes OUT/shard-NNNNN.arrow (Arrow IPC stream: "
                    "input_ids, loss_mask, doc_starts) and OUT/manifest.json (per source target_share, "
                    "realized_share, num_tokens, epochs; recipe, tokenizer sha256, seed, memory). A "
                    "recipe that a small source cannot meet fails before tokenizing, naming the source.")
    parser.add_argument("--stage", required=True, choices=STAGES, help="training stage the mixture is for")
    parser.add_argument("--recipe", default=None,
                        help=f"mixture recipe YAML (default: {DEFAULT_RECIPE.format(stage='STAGE')})")
    parser.add_argument("--out", default=None, help="output directory (required unless --plan)")
    parser.add_argument("--plan", action="store_true",
                        help="print the plan (tokens and epochs per source, estimated from a sample) and "
                             "build nothing")
    parser.add_argument("--seed", type=int, default=None, help="override the recipe's seed")
    parser.add_argument("--keep-work", action="store_true",
                        help="keep the intermediate token, scatter and bucket files in OUT/_work")
    add_run_options(parser)
    parser.set_defaults(func=_build_mixture)


def _build_mixture(args: argparse.Namespace) -> int:
    recipe_path = args.recipe or DEFAULT_RECIPE.format(stage=args.stage)
    recipe = load_recipe(recipe_path, {"seed": args.seed})
    if recipe.stage != args.stage:
        raise ValueError(f"{recipe_path}: is a {recipe.stage}-stage recipe, but --stage is {args.stage}")
    # bad paths and tokenizers fail here, before a cluster starts
    inputs = [p for name in recipe.sources for p in source_inputs(recipe, name)]
    tokenizer = TextTokenizer(recipe.tokenizer)
    if args.plan:
        print(format_plan(plan_recipe(recipe, SerialExecutor())))
        return 0
    if not args.out:
        raise ValueError("--out is required to build (or pass --plan to print the plan only)")
    key = fingerprint({"recipe": recipe.to_dict() | {"source_file": ""}, "tokenizer_sha256": tokenizer.sha256},
                      inputs)

    def body(executor, catalog, run_id):
        manifest, _ = run_stage("mixture", args.out, key,
                                lambda out: build_mixture(recipe, out, executor, keep_work=args.keep_work, log=log),
                                catalog, run_id, force=args.force)
        print(summary(manifest, Path(args.out)), file=sys.stdout)

    return run_with_cluster(args, "build-mixture", body)


def summary(manifest: dict, out_dir: Path) -> str:
    """Realized vs target share per source, and the totals."""
    lines = [f"{'source':<16} {'target':>7} {'realized':>8} {'tokens':>13} {'epochs':>7}"]
    for name, s in manifest["sources"].items():
        lines.append(f"{name:<16} {s['target_share']:>7.2%} {s['realized_share']:>8.2%} {s['num_tokens']:>13,} "
                     f"{s['epochs'] or 0:>7.2f}")
    timing = manifest["timing"]
    lines.append(f"{manifest['mixture_stage']}: {manifest['num_tokens']:,} tokens in {manifest['num_rows']:,} rows "
                 f"of {manifest['row_tokens']:,}, {manifest['num_shards']} shards in {out_dir}; "
                 f"{timing['wall_seconds']:.1f} s, {timing['tokenizer_share']:.0%} of task time in the tokenizer")
    return "\n".join(lines)
