"""`curate ingest PATH... --source NAME --out DIR`: raw corpora to document shards."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from curation.ingest.job import IngestOptions, ingest, list_input_files
from pipelines.commands.options import add_run_options, run_with_cluster
from pipelines.stage import fingerprint, run_stage


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "ingest", help="read raw corpora into document shards",
        description="Read JSONL (.gz/.zst), Parquet, WARC/ARC, HTML and SogouCS files (format detected "
                    "from content; directories are read recursively) into Parquet shards of the "
                    "document schema (id, text, source, url, lang, meta) plus manifest.json. Bad input "
                    "goes to OUT/quarantine/ with file, offset and reason; archive records that are not "
                    "documents are listed in OUT/skipped/.")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="input files or directories")
    parser.add_argument("--source", required=True, help="corpus name written to every document (cc_zh, c4, ...)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--text-field", default=None, help="JSON/Parquet field holding the text "
                        "(default: text, content, raw_content or messages, whichever is present)")
    parser.add_argument("--max-doc-bytes", type=int, default=IngestOptions.max_doc_bytes,
                        help="documents larger than this go to quarantine (default: %(default)s)")
    parser.add_argument("--strict", action="store_true",
                        help="stop with an error at the first bad input instead of quarantining it")
    add_run_options(parser)
    parser.set_defaults(func=_ingest)


def _ingest(args: argparse.Namespace) -> int:
    options = IngestOptions(source=args.source, text_field=args.text_field,
                            max_doc_bytes=args.max_doc_bytes, strict=args.strict)
    list_input_files(args.paths)  # bad paths fail here, before a cluster starts
    key = fingerprint(asdict(options), args.paths)

    def body(executor, catalog, run_id):
        manifest, _ = run_stage("ingest", args.out, key, lambda out: ingest(args.paths, out, options, executor),
                                catalog, run_id, force=args.force)
        print(summary_line(manifest), file=sys.stdout)

    return run_with_cluster(args, "ingest", body)


def summary_line(manifest: dict) -> str:
    return (f"{manifest['source']}: {manifest['num_docs']:,} documents, {manifest['num_bytes'] / 1e6:,.1f} MB "
            f"text, {manifest['num_quarantined']:,} quarantined, {manifest['num_skipped']:,} skipped")
