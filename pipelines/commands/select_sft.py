"""`curate select-sft --model CHECKPOINT --in DIR --out DIR --keep N`: entropy-based instruction selection."""

from __future__ import annotations

import argparse


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "select-sft", help="keep N instruction conversations by the model's cross-entropy (MindLLM)",
        description="Score instruction conversations with a trained checkpoint (mean cross-entropy per "
                    "assistant token, prompts as context) and keep --keep of them from a band: low (most "
                    "predictable), middle (around the median) or high (most surprising). Writes "
                    "OUT/selected.jsonl (id, entropy, messages), OUT/scores.jsonl (every conversation) and "
                    "OUT/manifest.json.")
    parser.add_argument("--model", required=True, help="trainer checkpoint directory (RUN/checkpoints/step-N)")
    parser.add_argument("--in", dest="in_path", required=True,
                        help="JSONL conversations or ingested Parquet documents (file or directory)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--keep", type=int, required=True, help="number of conversations to keep")
    parser.add_argument("--band", choices=("low", "middle", "high"), default="middle",
                        help="which band of cross-entropy to keep (default: middle)")
    parser.set_defaults(func=_select)


def _select(args: argparse.Namespace) -> int:
    from trainer.selection import select_conversations

    manifest = select_conversations(args.model, args.in_path, args.out, args.keep, args.band)
    low, high = manifest["entropy_kept"]
    print(f"kept {args.keep} of {manifest['num_scored']} conversations ({args.band} band, cross-entropy "
          f"{low:.3f}..{high:.3f} nats/token) -> {args.out}")
    return 0
