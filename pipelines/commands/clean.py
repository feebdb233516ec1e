"""`curate clean --in DIR --out DIR [--config PROFILE.yaml]` and `curate clean train-classifier`."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from curation.clean.classifier import TrainingOptions, train_classifier
from curation.clean.job import clean_directory
from curation.clean.profile import ClassifierOptions, load_profile
from curation.config import to_dict
from pipelines.commands.options import add_run_options, run_with_cluster
from pipelines.stage import fingerprint, run_stage

DEFAULT_PROFILE = Path(__file__).resolve().parents[2] / "configs" / "clean" / "cc_zh.yaml"


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "clean", help="extract, normalize, language-ID, filter and PII-mask documents",
        description="Clean a document directory (the output of `curate ingest`): main text out of HTML "
                    "pages, Unicode normalization (no NFKC), fastText language ID, the profile's quality "
                    "rules (Chinese web, English web, code, papers), PII masking and an optional fastText "
                    "quality classifier. Writes OUT/kept/ and OUT/rejected/ (every rejected row keeps its "
                    "reject_reason) and OUT/manifest.json with counts per source and reason. Profiles: "
                    "configs/clean/{cc_zh,web_en,code,paper}.yaml.")
    parser.add_argument("--in", dest="in_dir", metavar="DIR", help="input document directory")
    parser.add_argument("--out", metavar="DIR", help="output directory")
    parser.add_argument("--config", default=str(DEFAULT_PROFILE),
                        help="clean profile YAML (default: configs/clean/cc_zh.yaml)")
    parser.add_argument("--classifier", metavar="MODEL", default=None,
                        help="score documents with this fastText quality model (from train-classifier)")
    parser.add_argument("--min-classifier-score", type=float, default=None,
                        help="reject documents whose classifier score is below this (0..1)")
    add_run_options(parser)
    parser.set_defaults(func=_clean)

    sub = parser.add_subparsers(dest="clean_command", metavar="SUBCOMMAND")
    train = sub.add_parser(
        "train-classifier", help="train a fastText quality classifier (references vs raw web)",
        description="Train a fastText classifier, the CCNet/GPT-3 way: chunks of positive reference "
                    "documents (books, Wikipedia, papers) against chunks of raw web text, classes balanced. "
                    "Use the model with `curate clean --classifier MODEL --min-classifier-score X` or a "
                    "profile's `classifier:` section.")
    train.add_argument("--positive", nargs="+", required=True, metavar="DIR",
                       help="document directories of reference-quality text")
    train.add_argument("--negative", nargs="+", required=True, metavar="DIR",
                       help="document directories of raw web text")
    train.add_argument("--out", required=True, metavar="MODEL", help="model file to write (.bin)")
    defaults = TrainingOptions()
    train.add_argument("--chunk-chars", type=int, default=defaults.chunk_chars,
                       help="characters per training example (default: %(default)s)")
    train.add_argument("--max-examples-per-class", type=int, default=defaults.max_examples_per_class,
                       help="default: %(default)s")
    train.add_argument("--epoch", type=int, default=defaults.epoch, help="default: %(default)s")
    train.add_argument("--threads", type=int, default=defaults.threads,
                       help="fastText threads; 1 (default) makes training reproducible")
    train.add_argument("--seed", type=int, default=defaults.seed, help="default: %(default)s")
    train.set_defaults(func=_train_classifier)


def _profile(args: argparse.Namespace):
    profile = load_profile(args.config)
    if args.classifier is not None:
        current = profile.classifier or ClassifierOptions()
        profile = dataclasses.replace(profile, classifier=dataclasses.replace(
            current, model_path=args.classifier,
            min_score=current.min_score if args.min_classifier_score is None else args.min_classifier_score))
    elif args.min_classifier_score is not None:
        if profile.classifier is None:
            raise ValueError("--min-classifier-score needs a model: --classifier MODEL or a profile "
                             "with a classifier: section")
        profile = dataclasses.replace(profile, classifier=dataclasses.replace(
            profile.classifier, min_score=args.min_classifier_score))
    if profile.classifier is not None and not Path(profile.classifier.model_path).is_file():
        raise ValueError(f"{profile.classifier.model_path}: classifier model not found")
    return profile


def _clean(args: argparse.Namespace) -> int:
    if not args.in_dir or not args.out:
        raise ValueError("curate clean needs --in DIR and --out DIR (or: curate clean train-classifier ...)")
    if not Path(args.in_dir).is_dir():
        raise ValueError(f"{args.in_dir}: input directory not found")
    profile = _profile(args)
    inputs = [args.in_dir] + ([profile.classifier.model_path] if profile.classifier else [])
    key = fingerprint(to_dict(profile), inputs)

    def body(executor, catalog, run_id):
        manifest, _ = run_stage("clean", args.out, key,
                                lambda out: clean_directory(args.in_dir, out, profile, executor),
                                catalog, run_id, force=args.force)
        print(summary(manifest), file=sys.stdout)

    return run_with_cluster(args, "clean", body)


def summary(manifest: dict) -> str:
    """Totals and the rejection reasons, most frequent first, one line per reason."""
    reasons: dict[str, int] = {}
    for named in manifest["counts"].values():
        for name, value in named.items():
            if name.startswith("rejected:"):
                reasons[name[len("rejected:"):]] = reasons.get(name[len("rejected:"):], 0) + value
    lines = [f"clean ({manifest['profile']}): {manifest['num_in']:,} in, {manifest['num_out']:,} kept, "
             f"{manifest['num_rejected']:,} rejected"]
    lines += [f"  {count:>8,}  {reason}" for reason, count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))]
    return "\n".join(lines)


def _train_classifier(args: argparse.Namespace) -> int:
    options = TrainingOptions(chunk_chars=args.chunk_chars, max_examples_per_class=args.max_examples_per_class,
                              epoch=args.epoch, threads=args.threads, seed=args.seed)
    stats = train_classifier(args.positive, args.negative, args.out, options)
    print(f"train-classifier: {stats['examples_per_class']:,} examples per class "
          f"({stats['positive_chunks']:,} positive / {stats['negative_chunks']:,} negative chunks) -> "
          f"{stats['model_path']}")
    return 0
