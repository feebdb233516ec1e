"""Mixture build throughput: ours (`curate build-mixture`'s job on a local Dask cluster) against the
recipe a user of Hugging Face `datasets` would otherwise write (per source: `map` tokenize with
`num_proc`, `group_texts` packing; then `interleave_datasets` with the recipe's probabilities),
same documents, tokenizer, seq_len and number of output rows. Also: the share of our task time
spent inside sentencepiece (the goal: tokenization is the bottleneck, >= 70%), and peak worker
memory at the full budget against a quarter of it (bounded by shard size: the two should match).

    python -m benchmarks mixture [--recipe configs/mixtures/stable.yaml] [--workers 2] [--no-hf]

The recipe's document directories must exist (`curate run configs/pipelines/sample.yaml` makes the
sample ones). Tokens/s counts output tokens (rows x (seq_len + 1)) over wall-clock seconds.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

from benchmarks.harness import Comparison
from mixtures.build import build_mixture
from mixtures.recipe import Recipe, load_recipe, source_inputs


def _ours(recipe: Recipe, out: Path, workers: int) -> tuple[float, dict]:
    from pipelines.executor import DaskExecutor

    with DaskExecutor(num_workers=workers, quiet=True) as executor:
        started = time.perf_counter()
        manifest = build_mixture(recipe, out, executor, log=lambda message: None)
        return time.perf_counter() - started, manifest


def _huggingface(recipe: Recipe, num_rows: int, workers: int, cache: Path) -> float:
    """Tokenize, pack and interleave with `datasets`, the way its language-modelling examples do."""
    import datasets
    import sentencepiece as spm

    datasets.disable_progress_bars()
    width = recipe.row_tokens
    model = str(Path(recipe.tokenizer))

    def tokenize(batch):
        sp = spm.SentencePieceProcessor(model_file=model)
        return {"input_ids": [[sp.bos_id(), *ids, sp.eos_id()] for ids in sp.encode(batch["text"])]}

    def group_texts(batch):
        flat = [t for ids in batch["input_ids"] for t in ids]
        usable = len(flat) // width * width
        return {"input_ids": [flat[i:i + width] for i in range(0, usable, width)]}

    started = time.perf_counter()
    packed, shares = [], []
    for name, spec in recipe.sources.items():
        if spec.format != "documents":
            continue  # the HF recipe has no chat rendering; leave chat sources out of both sides' count
        files = [str(p) for d in source_inputs(recipe, name) for p in sorted(Path(d).glob("*.parquet"))]
        ds = datasets.Dataset.from_parquet(files, columns=["text"], cache_dir=str(cache))
        ds = ds.map(tokenize, batched=True, num_proc=workers, remove_columns=["text"])
        packed.append(ds.map(group_texts, batched=True, num_proc=workers))
        shares.append(spec.weight)
    total = sum(shares)
    mixed = datasets.interleave_datasets(packed, probabilities=[s / total for s in shares], seed=recipe.seed,
                                         stopping_strategy="all_exhausted")
    mixed.select(range(min(num_rows, len(mixed)))).to_parquet(str(cache / "mixed.parquet"))
    return time.perf_counter() - started


def run(argv: list[str]) -> list[Comparison]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks mixture")
    parser.add_argument("--recipe", default="configs/mixtures/stable.yaml")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-hf", action="store_true", help="skip the Hugging Face datasets side")
    args = parser.parse_args(argv)
    recipe = load_recipe(args.recipe)
    documents_only = copy.deepcopy(recipe)
    documents_only.sources = {n: s for n, s in recipe.sources.items() if s.format == "documents"}
    quarter = copy.deepcopy(recipe)
    quarter.budget.num_tokens, quarter.budget.model_params = recipe.budget_tokens() // 4, None
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        seconds, manifest = _ours(documents_only, scratch / "ours", args.workers)
        timing, memory = manifest["timing"], manifest["memory"]
        tokens = manifest["num_tokens"]
        if args.no_hf:
            theirs = float("nan")
        else:
            theirs = tokens / _huggingface(documents_only, manifest["num_rows"], args.workers, scratch / "hf")
        results.append(Comparison(
            f"build {tokens / 1e6:.1f}M tokens, {len(documents_only.sources)} sources, {args.workers} workers",
            "tokens/s", tokens / seconds, theirs, "HF datasets map+group_texts+interleave_datasets",
            note=f"ours {seconds:.1f} s; encoded {timing['num_tokens_encoded'] / 1e6:.1f}M tokens; "
                 f"task seconds {timing['task_seconds']}"))
        results.append(Comparison(
            "share of build task time inside sentencepiece", "%", 100 * timing["tokenizer_share"], 70.0,
            "goal", note=f"encode {timing['encode_seconds']:.1f} s of {sum(timing['task_seconds'].values()):.1f} "
                         f"task s; wall x workers {seconds * args.workers:.1f} s"))
        quarter_manifest = _ours(quarter, scratch / "quarter", args.workers)[1]
        peak = max(memory["peak_task_rss_mb"].values())
        quarter_peak = max(quarter_manifest["memory"]["peak_task_rss_mb"].values())
        results.append(Comparison(
            "peak worker RSS, full budget vs 1/4 budget", "MB", peak, quarter_peak, "same build at 1/4 budget",
            higher_is_better=False, note=f"max bucket {memory['max_bucket_mb']} MB, max shard "
                                         f"{memory['max_shard_mb']} MB, per pass {memory['peak_task_rss_mb']}"))
    return results
