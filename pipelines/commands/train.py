"""`curate train --config FILE [--max-steps N | --max-tokens N]`: the bundled MiniCPM-style trainer."""

from __future__ import annotations

import argparse
import sys


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a small MiniCPM-style model on the stable then the decay mixture",
        description="Train the bundled MiniCPM-style decoder (muP scaling, WSD schedule) on mixture "
                    "directories from `curate build-mixture`: the stable mixture through warmup and stable "
                    "phases, the decay mixture from the first decay step. Writes OUT/log.jsonl, OUT/loss.png, "
                    "OUT/config.json and OUT/checkpoints/step-N/; rerunning resumes from the last checkpoint. "
                    "Multi-GPU: torchrun --nproc_per_node N -m pipelines.cli train --config FILE.")
    parser.add_argument("--config", required=True, help="trainer YAML (configs/train/*.yaml)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--max-steps", type=int, default=None, help="train this many optimizer steps "
                        "(the WSD phases scale with it)")
    length.add_argument("--max-tokens", type=int, default=None, help="train on this many tokens")
    parser.add_argument("--out", default=None, help="output directory (default: the config's out_dir)")
    parser.add_argument("--stable-dir", default=None, help="stable mixture directory (default: data.stable_dir)")
    parser.add_argument("--decay-dir", default=None, help="decay mixture directory (default: data.decay_dir)")
    parser.add_argument("--init-from", default=None, help="branch from this checkpoint directory "
                        "(e.g. a stable-phase checkpoint of another run, to try another decay)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from trainer.config import load_train_config
    from trainer.loop import train

    overrides = {"out_dir": args.out, "init_from": args.init_from}
    if args.max_steps is not None:
        overrides |= {"max_steps": args.max_steps}
    cfg = load_train_config(args.config, **overrides)
    if args.max_tokens is not None:
        cfg.max_steps, cfg.max_tokens = None, args.max_tokens
    cfg.data.stable_dir = args.stable_dir or cfg.data.stable_dir
    cfg.data.decay_dir = args.decay_dir or cfg.data.decay_dir
    summary = train(cfg, progress=not args.quiet)
    evals = ", ".join(f"{name} {r['bits_per_byte']:.4f} bits/byte" for name, r in summary["eval"].items())
    print(f"trained {summary['step']} steps, {summary['tokens']:,} tokens -> {summary['out_dir']}"
          + (f"; held-out {evals}" if evals else ""), file=sys.stdout)
    return 0
