"""`curate`: the command line. Each command lives in its own module of `pipelines.commands`."""

from __future__ import annotations

import argparse
import os
import sys

from pipelines.commands import catalog as catalog_commands
from pipelines.commands import clean, dedup, experiment, ingest, mixture, run, schedule, select_sft, tokenizer, train

COMMAND_MODULES = (ingest, clean, dedup, tokenizer, mixture, train, run, schedule, catalog_commands, experiment,
                   select_sft)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="curate",
        description="Curate web, book, paper and code corpora into training data for small "
                    "bilingual language models: ingest, clean, dedup, tokenizer, mixtures, train.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or bool(os.environ.get("CURATE_DEBUG"))
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("curate: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, NotADirectoryError, PermissionError) as exc:
        if debug:
            raise
        print(f"curate: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
