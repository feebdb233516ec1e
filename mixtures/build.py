"""The mixture build: a multi-pass job against an Executor, from a recipe to packed, shuffled shards.

    scan      every input task: documents, text bytes, tokens of a 1/64 key sample -> estimated plan
              (an infeasible recipe fails here, before anything is tokenized)
    tokenize  documents with key below each source's needed fraction -> token files + key histograms
              (a source that turns out short is topped up with the rest of its documents)
    plan      exact token counts -> targets, whole epochs and the cut of each fractional epoch
    scatter   per token file: sampled (document, epoch, segment) units -> keyed segments by bucket
    sort      per bucket: that bucket from every scatter file, sorted by key
    pack      per output shard: its token range of the sorted stream -> rows of seq_len + 1

Intermediate files live in OUT/_work (removed when the build finishes unless keep_work); every
task leaves a completion marker, so an interrupted build resumes task by task. Output bytes
depend only on the recipe, the seed, the tokenizer and the inputs: keys come from names and ids,
never from worker count or task order.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from curation.documents import read_json, write_json, write_manifest
from curation.parallel import Executor
from mixtures.encoding import TextTokenizer
from mixtures.inputs import CHUNK_BYTES, InputTask, input_tasks
from mixtures.packing import overlapping_buckets, pack_task, shard_ranges
from mixtures.plan import Holding, Plan, plan_mixture
from mixtures.recipe import Recipe, source_inputs
from mixtures.sampling import Cut, Sampling, cut_bin, key_limit, place_cut
from mixtures.shards import SEQUENCE_SCHEMA, list_sequence_shards, shard_name
from mixtures.shuffle import bucket_bits, bucket_totals, scatter_task, sort_task
from mixtures.tokenize import bin_candidates, peak_rss_mb, read_histogram, scan_task, tokenize_task

WORK_DIR = "_work"
BUILD_FILE = ".mixture.json"  # what out_dir is being built from (resume only continues the same build)
# A source needing this share of its estimated tokens or more is tokenized whole.
_WHOLE_SOURCE_SHARE = 0.5
# Margins over the estimate when tokenizing a fraction of a source: relative, and in documents
# (a source of few long documents varies a lot by key); a source that falls short is topped up.
_FRACTION_MARGIN = 1.25
_MARGIN_DOCS = 10


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def encode_threads(executor: Executor) -> int:
    """sentencepiece threads per task: this machine's cores shared among the executor's workers."""
    return max(1, (os.cpu_count() or 1) // max(1, getattr(executor, "num_workers", 1) or 1))


def tokenize_fraction(epochs: float, holding: Holding) -> float:
    """The share of a source's documents (by key) to tokenize first, from its estimated epochs."""
    if holding.exact or epochs >= _WHOLE_SOURCE_SHARE:
        return 1.0
    fraction = epochs * _FRACTION_MARGIN + _MARGIN_DOCS / max(1, holding.num_docs) + 0.01
    return 1.0 if fraction >= _WHOLE_SOURCE_SHARE else fraction


def scan(recipe: Recipe, executor: Executor, tasks: dict[str, list[InputTask]]) -> dict[str, list[dict]]:
    """The scan pass: per source, its tasks' document counts, bytes and sample token counts."""
    flat = [t for name in recipe.sources for t in tasks[name]]
    results = executor.map(scan_task, [{"task": t, "tokenizer": recipe.tokenizer, "seed": recipe.seed,
                                        "threads": encode_threads(executor)} for t in flat], "scan")
    by_source: dict[str, list[dict]] = {name: [] for name in recipe.sources}
    for task, stats in zip(flat, results):
        by_source[task.source].append(stats)
    return by_source


def estimated_holdings(scanned: dict[str, list[dict]]) -> dict[str, Holding]:
    """Holdings per source from the scan (exact where the sample was the whole source)."""
    holdings = {}
    for name, stats in scanned.items():
        docs, num_bytes = sum(s["num_docs"] for s in stats), sum(s["num_bytes"] for s in stats)
        sample_bytes, sample_tokens = sum(s["sample_bytes"] for s in stats), sum(s["sample_tokens"] for s in stats)
        exact = sample_bytes == num_bytes
        tokens = sample_tokens if exact else round(num_bytes * sample_tokens / max(1, sample_bytes))
        holdings[name] = Holding(num_docs=docs, num_bytes=num_bytes, num_tokens=tokens, exact=exact)
    return holdings


def plan_recipe(recipe: Recipe, executor: Executor) -> Plan:
    """The plan from a scan of the inputs (estimated tokens): what `--plan` prints."""
    return plan_mixture(recipe, estimated_holdings(scan(recipe, executor, input_tasks(recipe))))


class _TokenFiles:
    """The token files of every source and pass, with the counts their tasks returned."""

    def __init__(self, work: Path):
        self.work = work
        self.files: dict[str, list[tuple[InputTask, int, Path, dict]]] = {}  # source -> (task, pass, path, stats)
        self.fraction: dict[str, float] = {}

    def tokenize(self, recipe: Recipe, executor: Executor, tasks: dict[str, list[InputTask]],
                 ranges: dict[str, tuple[float, float]], pass_index: int) -> None:
        jobs, owners = [], []
        for name, (lo, hi) in ranges.items():
            for task in tasks[name]:
                path = self.work / "tokens" / f"{task.name}.p{pass_index}.arrow"
                jobs.append({"task": task, "tokenizer": recipe.tokenizer, "seed": recipe.seed,
                             "lo": key_limit(lo) if lo > 0 else 0, "hi": key_limit(hi),
                             "out_path": str(path), "threads": encode_threads(executor), "chunk_bytes": CHUNK_BYTES})
                owners.append((name, task, path))
            self.fraction[name] = hi
        for (name, task, path), stats in zip(owners, executor.map(tokenize_task, jobs, f"tokenize pass {pass_index}")):
            self.files.setdefault(name, []).append((task, pass_index, path, stats))

    def tokens(self, name: str) -> int:
        return sum(stats["num_tokens"] for _, _, _, stats in self.files[name])

    def holding(self, name: str) -> Holding:
        first = [stats for _, p, _, stats in self.files[name] if p == 0]
        docs, num_bytes = sum(s["num_docs"] for s in first), sum(s["num_bytes"] for s in first)
        tokens = self.tokens(name)
        if self.fraction[name] >= 1:
            return Holding(docs, num_bytes, tokens, exact=True)
        tokenized_bytes = sum(stats["bytes_tokenized"] for _, _, _, stats in self.files[name])
        return Holding(docs, num_bytes, round(tokens * num_bytes / max(1, tokenized_bytes)), exact=False)

    def entries(self):
        for name, files in self.files.items():
            yield from ((name, task, p, path, stats) for task, p, path, stats in files)


def _samplings(plan: Plan, token_files: _TokenFiles, executor: Executor) -> dict[str, Sampling]:
    """Whole epochs and the fractional-epoch cut of every source, from exact token counts."""
    whole, remainder, bins = {}, {}, {}
    for name, source in plan.sources.items():
        tokenized = token_files.tokens(name)
        if token_files.fraction[name] >= 1:
            whole[name], remainder[name] = divmod(source.target_tokens, tokenized)
        else:
            whole[name], remainder[name] = 0, source.target_tokens
        if remainder[name]:
            histogram = sum(read_histogram(path) for n, _, _, path, _ in token_files.entries() if n == name)
            bins[name] = cut_bin(histogram, remainder[name])
    jobs, owners = [], []
    for name, task, _, path, _ in token_files.entries():
        if name in bins:
            jobs.append({"token_path": str(path), "bin": bins[name][0]})
            owners.append((name, task.index))
    found: dict[str, list] = {}
    for (name, task_index), result in zip(owners, executor.map(bin_candidates, jobs, "cut")):
        found.setdefault(name, []).append((task_index, result))
    samplings = {}
    for name in plan.sources:
        cut: Cut | None = None
        if name in bins:
            parts = found[name]
            cut = place_cut(np.concatenate([r["keys"] for _, r in parts]),
                            np.concatenate([np.full(len(r["keys"]), t, np.int64) for t, r in parts]),
                            np.concatenate([r["rows"] for _, r in parts]),
                            np.concatenate([r["lengths"] for _, r in parts]).astype(np.int64), bins[name][1])
        samplings[name] = Sampling(whole_epochs=int(whole[name]), cut=cut)
    return samplings


def _claim(out_dir: Path, recipe: Recipe, tokenizer: TextTokenizer) -> None:
    """Mark out_dir as this recipe's build; refuse one holding another build (its markers would be reused)."""
    identity = {"recipe": recipe.to_dict() | {"source_file": ""}, "tokenizer_sha256": tokenizer.sha256}
    path = out_dir / BUILD_FILE
    if path.exists():
        if read_json(path) != identity:
            raise ValueError(f"{out_dir} holds a mixture built from another recipe or tokenizer; "
                             f"choose an empty --out (or --force)")
    elif list_sequence_shards(out_dir) or (out_dir / WORK_DIR).exists():
        raise ValueError(f"{out_dir} holds mixture files not written by this build; choose an empty --out")
    write_json(path, identity)


def build_mixture(recipe: Recipe, out_dir: str | Path, executor: Executor, keep_work: bool = False,
                  log: Callable[[str], None] = _stderr) -> dict:
    """Build the recipe's mixture into out_dir (shards + manifest.json); return the manifest."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    work = out_dir / WORK_DIR
    tokenizer = TextTokenizer(recipe.tokenizer)
    tasks = input_tasks(recipe)
    names = list(recipe.sources)
    _claim(out_dir, recipe, tokenizer)

    scanned = scan(recipe, executor, tasks)
    estimated = estimated_holdings(scanned)
    plan = plan_mixture(recipe, estimated)  # an infeasible recipe stops here, before tokenizing
    log(f"mixture: plan {plan.total_tokens:,} tokens in {plan.num_shards} shards from {len(names)} sources "
        f"({sum(map(len, tasks.values()))} input tasks)")
    ranges = {name: (0.0, tokenize_fraction(source.epochs, estimated[name]))
              for name, source in plan.sources.items()}
    token_files = _TokenFiles(work)
    token_files.tokenize(recipe, executor, tasks, ranges, 0)
    pass_index = 0
    while True:  # each top-up makes its sources exact, so this ends within len(sources) passes
        plan = plan_mixture(recipe, {n: token_files.holding(n) for n in names})
        short = {n: (token_files.fraction[n], 1.0) for n, s in plan.sources.items()
                 if token_files.fraction[n] < 1 and s.target_tokens > token_files.tokens(n)}
        if not short:
            break
        pass_index += 1
        log(f"mixture: topping up {', '.join(short)} (fewer tokens than estimated)")
        token_files.tokenize(recipe, executor, tasks, short, pass_index)
    samplings = _samplings(plan, token_files, executor)
    log(f"mixture: tokenized {sum(token_files.tokens(n) for n in names):,} tokens; shuffling and packing")

    bits = bucket_bits(plan.total_tokens, recipe.rows_per_shard * recipe.row_tokens)
    scatter_jobs = [{"token_path": str(path), "out_path": str(work / "scatter" / f"{task.name}.p{p}.arrow"),
                     "sampling": samplings[name], "task_index": task.index, "source_index": names.index(name),
                     "bucket_bits": bits, "segment_tokens": recipe.max_segment_tokens, "eos_id": tokenizer.eos_id}
                    for name, task, p, path, _ in token_files.entries()]
    scattered = executor.map(scatter_task, scatter_jobs, "scatter")
    scatter_paths = [j["out_path"] for j in scatter_jobs]
    bucket_tokens = bucket_totals(scatter_paths, 1 << bits)
    assert int(bucket_tokens.sum()) == plan.total_tokens, "sampled tokens must equal the plan's budget"
    sorted_buckets = executor.map(sort_task, [{"bucket": b, "scatter_paths": scatter_paths,
                                               "out_path": str(work / "buckets" / f"bucket-{b:05d}.arrow")}
                                              for b in range(1 << bits)], "sort")

    bucket_starts = np.concatenate([[0], np.cumsum(bucket_tokens)])
    pack_jobs = []
    for j, (start, end) in enumerate(shard_ranges(plan.num_rows, recipe.rows_per_shard, recipe.row_tokens)):
        buckets = [(str(work / "buckets" / f"bucket-{b:05d}.arrow"), int(bucket_starts[b]))
                   for b in overlapping_buckets(bucket_starts, start, end)]
        pack_jobs.append({"out_path": str(out_dir / shard_name(j)), "start": start, "end": end,
                          "row_tokens": recipe.row_tokens, "sources": names, "buckets": buckets,
                          "eos_id": tokenizer.eos_id})
    shards = executor.map(pack_task, pack_jobs, "pack")

    passes = {"scan": [s for v in scanned.values() for s in v], "tokenize": [s for *_, s in token_files.entries()],
              "scatter": scattered,
              "sort": sorted_buckets, "pack": shards}
    manifest = _manifest(recipe, plan, tokenizer, token_files, samplings, scattered, shards, passes,
                         bucket_tokens, bits, time.perf_counter() - started)
    write_manifest(out_dir, manifest)
    if not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return manifest


def _manifest(recipe: Recipe, plan: Plan, tokenizer: TextTokenizer, token_files: _TokenFiles,
              samplings: dict[str, Sampling], scattered: list[dict], shards: list[dict], passes: dict,
              bucket_tokens: np.ndarray, bits: int, wall_seconds: float) -> dict:
    total = plan.total_tokens
    sources, counts = {}, {}
    for name, source in plan.sources.items():
        num_tokens = sum(s["source_tokens"].get(name, 0) for s in shards)
        loss_tokens = sum(s["source_loss_tokens"].get(name, 0) for s in shards)
        segments = sum(s["source_segments"].get(name, 0) for s in shards)
        units = sum(stats["num_units"] for (n, *_), stats in zip(token_files.entries(), scattered) if n == name)
        holding = token_files.holding(name)
        sources[name] = {
            "target_share": source.target_share, "realized_share": num_tokens / total,
            "weight_share": source.weight_share, "num_tokens": num_tokens, "target_tokens": source.target_tokens,
            "epochs": round(num_tokens / holding.num_tokens, 6) if holding.num_tokens else None,
            "whole_epochs": samplings[name].whole_epochs, "available_tokens": holding.num_tokens,
            "available_exact": holding.exact, "available_docs": holding.num_docs,
            "max_epochs": source.max_epochs, "num_units": units, "num_segments": segments,
            "num_loss_tokens": loss_tokens, "format": recipe.sources[name].format,
            "inputs": [str(p) for p in source_inputs(recipe, name)], "sampling": samplings[name].to_dict()}
        counts[name] = {"tokens": num_tokens, "loss_tokens": loss_tokens, "segments": segments}
    task_seconds = {k: round(sum(s.get("seconds", 0.0) for s in v), 3) for k, v in passes.items()}
    encode_seconds = sum(s.get("encode_seconds", 0.0) for k in ("scan", "tokenize") for s in passes[k])
    bucket_mb = max(s["num_bytes"] for s in passes["sort"]) / 1e6 if passes["sort"] else 0.0
    shard_mb = max(s["num_bytes"] for s in shards) / 1e6
    return {
        "stage": "mixture", "mixture_stage": recipe.stage, "name": recipe.name, "recipe": recipe.to_dict(),
        "config": recipe.to_dict(), "seed": recipe.seed,
        "tokenizer": {"path": str(tokenizer.path), "sha256": tokenizer.sha256, "vocab_size": tokenizer.vocab_size,
                      "bos_id": tokenizer.bos_id, "eos_id": tokenizer.eos_id, "chat_markers": tokenizer.chat_markers},
        # the trainer's contract (trainer.loop): flat keys it sizes the model and evaluates with
        "vocab_size": tokenizer.vocab_size, "eos_id": tokenizer.eos_id, "tokenizer_path": str(tokenizer.path),
        "tokenizer_sha256": tokenizer.sha256,
        "seq_len": recipe.seq_len, "row_tokens": recipe.row_tokens, "num_rows": plan.num_rows, "num_out": plan.num_rows,
        "num_tokens": total, "num_shards": len(shards), "rows_per_shard": recipe.rows_per_shard,
        "replanned": plan.replanned, "sources": sources, "counts": counts, "shards": shards,
        "format": {"file": "Arrow IPC stream, shard-NNNNN.arrow", "columns": SEQUENCE_SCHEMA.names,
                   "documents": "<s> text </s> (chat: tokenizer.special_tokens format); doc_starts marks every "
                                "document or segment start; loss_mask 0 = not predicted"},
        "shuffle": {"bucket_bits": bits, "num_buckets": 1 << bits, "segment_tokens": recipe.max_segment_tokens,
                    "max_bucket_tokens": int(bucket_tokens.max()), "key": "xxh3_64(seed, source, id), mixed "
                    "with epoch and segment"},
        "memory": {"bound": "one input chunk x max epochs (scatter), one bucket (sort), one shard (pack)",
                   "chunk_text_mb": CHUNK_BYTES / 1e6,
                   "max_bucket_mb": round(bucket_mb, 2), "max_shard_mb": round(shard_mb, 2),
                   "peak_task_rss_mb": {k: max((s.get("peak_rss_mb", 0.0) for s in v), default=0.0)
                                        for k, v in passes.items()},
                   "driver_peak_rss_mb": round(peak_rss_mb(), 1)},
        "timing": {"wall_seconds": round(wall_seconds, 3), "task_seconds": task_seconds,
                   "encode_seconds": round(encode_seconds, 3),
                   "num_tokens_encoded": sum(s.get("num_tokens", s.get("sample_tokens", 0))
                                             for k in ("scan", "tokenize") for s in passes[k]),
                   "tokenizer_share": round(encode_seconds / max(1e-9, sum(task_seconds.values())), 4),
                   "tasks": {k: len(v) for k, v in passes.items()},
                   "resumed_tasks": sum(bool(s.get("resumed")) for v in passes.values() for s in v)},
    }
