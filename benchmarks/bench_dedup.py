"""Dedup: signature throughput and estimate quality against datasketch and datatrove; end-to-end scaling.

`python -m benchmarks dedup [--mb 3] [--num-perm 128] [--e2e] [--e2e-mb 200] [--workers 2]`

Signatures: the same real mixed documents (Chinese news, poetry and reviews, English docs, books and
wiki, code), the same 5-gram shingles and the same number of permutations, one core each:
- ours: `sketch_documents` (one compiled pass over the batch's UTF-8 bytes, one-permutation MinHash);
- datasketch: what a user writes: tokens by regex (words; characters for Chinese; identifiers and
  operators for code), 5-gram shingle strings, `MinHash(num_perm).update_batch`;
- datatrove: `MinhashDedupSignature` (its English spaCy word tokenizer for every document, since its
  Chinese one needs jieba; sha1 64-bit hashes, as its xxhash default fails with xxhash 4).
Estimate quality: mean absolute error of the Jaccard estimate against the true Jaccard of the same
shingle sets, on real pairs (planted near-duplicates and unrelated documents), ours vs datasketch.
End to end (--e2e): the dedup job on a 2-worker local Dask cluster over N and 2N MB built from the
real samples (cycle c > 0 reverses a random quarter of the 8-character blocks of each document, a
new document for dedup, and plants a near-duplicate of one document in ten); time ratio and peak
memory.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from benchmarks.harness import SHARED, Comparison, best_seconds

SAMPLES = [  # (path, text field, max docs, source, lang)
    ("zh_web/thucnews/thucnews.jsonl", "text", None, "cc_zh", "zh"),
    ("zh_bulk/chinese_poetry.jsonl", "text", 3000, "poetry", "zh"),
    ("zh_web/reviews/online_shopping_10_cats.jsonl", "text", 20000, "reviews", "zh"),
    ("en_docs/python311_doc_rst.jsonl", "text", None, "docs", "en"),
    ("en_docs/linux_doc_rst.jsonl", "text", None, "docs", "en"),
    ("en_books/gutenberg.jsonl", "text", 30, "books", "en"),
    ("en_wiki/wikitext2_tokens_valid.jsonl", "text", None, "wiki", "en"),
    ("code/stack_shaped.jsonl", "content", None, "stack", "code"),
]


def load_samples(limit_mb: float | None = None, seed: int = 0) -> list[dict]:
    """Real documents of every kind, interleaved, up to limit_mb of UTF-8 text."""
    groups = []
    for path, field, limit, source, lang in SAMPLES:
        rows = []
        with open(SHARED / path, encoding="utf-8") as f:
            for n, line in enumerate(f):
                if limit is not None and n >= limit:
                    break
                record = json.loads(line)
                rows.append({"id": f"{source}-{n}", "text": record[field], "source": source, "lang": lang})
        groups.append(rows)
    rng = np.random.default_rng(seed)
    for rows in groups:
        rng.shuffle(rows)
    docs, budget = [], (limit_mb or 1e9) * 1e6
    share = budget / len(groups)
    for rows in groups:
        used = 0
        for row in rows:
            size = len(row["text"].encode())
            if used + size > share and used:
                break
            docs.append(row)
            used += size
    return docs


_WORD = re.compile(r"\w+")
_CODE = re.compile(r"\w+|[^\w\s]")
_NOT_CHAR = re.compile(r"[\s\W]+")


def datasketch_signatures(docs: list[dict], num_perm: int) -> list[np.ndarray]:
    """What a datasketch user writes: regex tokens, 5-gram strings, MinHash.update_batch."""
    from datasketch import MinHash

    out = []
    for doc in docs:
        text = doc["text"].lower()
        if doc["lang"] == "zh":
            tokens = list(_NOT_CHAR.sub("", text))
        elif doc["lang"] == "code":
            tokens = _CODE.findall(text)
        else:
            tokens = _WORD.findall(text)
        shingles = {" ".join(tokens[i:i + 5]).encode() for i in range(max(1, len(tokens) - 4))}
        m = MinHash(num_perm=num_perm, seed=1)
        m.update_batch(list(shingles))
        out.append(m.hashvalues)
    return out


def datatrove_signatures(docs: list[dict], num_perm: int, tmp: Path) -> None:
    """datatrove's MinhashDedupSignature step over the documents (writes its bucket files under tmp)."""
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
    from datatrove.utils.hashing import HashConfig

    config = MinhashConfig(n_grams=5, num_buckets=num_perm // 8, hashes_per_bucket=8,
                           hash_config=HashConfig(hash_fc="sha1", precision=64))
    folder = tempfile.mkdtemp(dir=tmp)
    step = MinhashDedupSignature(output_folder=folder, config=config, language="eng")
    step.run(iter(Document(text=d["text"], id=d["id"]) for d in docs), rank=0, world_size=1)
    shutil.rmtree(folder)


def signature_comparisons(mb: float, num_perm: int, tmp: Path) -> list[Comparison]:
    from curation.dedup.settings import DedupConfig
    from curation.dedup.signatures import sketch_documents
    from curation.documents import documents_table

    docs = load_samples(mb)
    num_bytes = sum(len(d["text"].encode()) for d in docs)
    table = documents_table([d["id"] for d in docs], [d["text"] for d in docs], [d["source"] for d in docs],
                            langs=[d["lang"] for d in docs])
    config = DedupConfig(num_perm=num_perm)
    sketch_documents(table.slice(0, 10), config)  # compile
    megabytes = num_bytes / 1e6
    ours = best_seconds(lambda: sketch_documents(table, config), repeat=5)
    datasketch_s = best_seconds(lambda: datasketch_signatures(docs, num_perm), repeat=2)
    datatrove_s = best_seconds(lambda: datatrove_signatures(docs, num_perm, tmp), repeat=1)
    ours = min(ours, best_seconds(lambda: sketch_documents(table, config), repeat=5))  # same load as theirs
    note = f"{len(docs):,} real docs, {megabytes:.1f} MB, 5-grams, {num_perm} perms, 1 core"
    return [Comparison(f"signatures vs datasketch ({num_perm} perms)", "MB/s", megabytes / ours,
                       megabytes / datasketch_s, "datasketch MinHash.update_batch", note=note),
            Comparison(f"signatures vs datatrove ({num_perm} perms)", "MB/s", megabytes / ours,
                       megabytes / datatrove_s, "datatrove MinhashDedupSignature", note=note)]


def estimate_quality(num_perm: int) -> Comparison:
    """Mean |estimate - true Jaccard| on real pairs, same shingle sets for both estimators."""
    from datasketch import MinHash

    from curation.dedup.planted import MODES, build_planted_set
    from curation.dedup.shingles import batch_shingles, ngram_sizes
    from curation.dedup.signatures import estimate_jaccard, signatures_of_sets

    pairs = []
    for lang in ("zh", "en", "code"):
        planted = build_planted_set(SHARED, lang, 150, seed=5)
        hashes, starts, _ = batch_shingles(pa.array(planted.texts, pa.large_string()),
                                           np.full(len(planted.texts), MODES[lang], np.int8), ngram_sizes(5, 5, 5))
        sets = [np.unique(hashes[starts[i]:starts[i + 1]]) for i in range(len(planted.texts))]
        pairs += [(sets[a], sets[b]) for a, b in planted.index_pairs(max_unrelated=50)]
    truth = np.array([len(np.intersect1d(a, b)) / len(np.union1d(a, b)) for a, b in pairs])
    flat = np.concatenate([s for pair in pairs for s in pair])
    starts = np.cumsum([0] + [len(s) for pair in pairs for s in pair])
    ours = signatures_of_sets(flat, starts, num_perm, seed=1)
    ours_error = np.abs(estimate_jaccard(ours[0::2], ours[1::2]) - truth).mean()
    theirs = []
    for a, b in pairs:
        m = [MinHash(num_perm=num_perm, seed=1) for _ in range(2)]
        m[0].update_batch([x.tobytes() for x in a])
        m[1].update_batch([x.tobytes() for x in b])
        theirs.append(m[0].jaccard(m[1]))
    theirs_error = np.abs(np.array(theirs) - truth).mean()
    return Comparison(f"Jaccard estimate error ({num_perm} perms)", "MAE", float(ours_error), float(theirs_error),
                      "datasketch MinHash (k permutations)", higher_is_better=False,
                      note=f"{len(pairs)} real pairs, true Jaccard {truth.min():.2f}..{truth.max():.2f}")


def _blocks_reversed(text: str, cycle: int, seed: int) -> str:
    """A different document from the same text: a random quarter of its 8-character blocks reversed
    (half of the 4-character blocks of short texts, so that two cycles rarely give the same text)."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    width, share = (4, 0.5) if len(codes) < 400 else (8, 0.25)
    usable = len(codes) // width * width
    blocks = codes[:usable].reshape(-1, width).copy()
    flip = np.random.default_rng([cycle, seed]).random(len(blocks)) < share
    blocks[flip] = blocks[flip, ::-1]
    return (blocks.tobytes() + codes[usable:].tobytes()).decode("utf-32-le")


def build_corpus(root: Path, target_mb: float, shard_mb: float = 16.0) -> Path:
    """Document directories per source totalling target_mb of text, built by cycling the real samples."""
    import random

    from curation.dedup.planted import edit_copy
    from curation.documents import documents_table, write_shard

    docs = load_samples(None)
    rng = random.Random(0)
    shards: dict[str, list[dict]] = {}
    counters: dict[str, int] = {}
    sizes: dict[str, int] = {}
    written, cycle = 0, 0

    def flush(source: str) -> None:
        rows = shards.pop(source, [])
        if rows:
            index = counters[source] = counters.get(source, -1) + 1
            table = documents_table([r["id"] for r in rows], [r["text"] for r in rows], source,
                                    langs=[r["lang"] for r in rows])
            write_shard(table, root / source / f"part-{index:05d}.parquet")
            sizes[source] = 0

    while written < target_mb * 1e6:
        for k, doc in enumerate(docs):
            if written >= target_mb * 1e6:
                break
            text = doc["text"] if cycle == 0 else _blocks_reversed(doc["text"], cycle, k)
            if cycle > 0 and k % 10 == 0 and doc["lang"] in ("zh", "en", "code"):
                text = edit_copy(doc["text"], doc["lang"], docs[(k + 1) % len(docs)]["text"], rng)
            row = {"id": f"{doc['id']}-c{cycle}", "text": text, "lang": doc["lang"]}
            shards.setdefault(doc["source"], []).append(row)
            size = len(text.encode())
            sizes[doc["source"]] = sizes.get(doc["source"], 0) + size
            written += size
            if sizes[doc["source"]] >= shard_mb * 1e6:
                flush(doc["source"])
        cycle += 1
    for source in list(shards):
        flush(source)
    return root


def end_to_end(mb: float, workers: int, tmp: Path, rounds: int = 2) -> list[Comparison]:
    from curation.dedup.job import run_dedup
    from curation.dedup.settings import DedupConfig
    from pipelines.executor import DaskExecutor

    corpora = {size: build_corpus(tmp / f"in-{size:g}", size) for size in (mb, 2 * mb)}
    best: dict[float, tuple[float, dict]] = {}
    for _ in range(rounds):  # alternate sizes, keep the best of each: the machine is shared
        for size, corpus in corpora.items():
            inputs = sorted(p for p in corpus.iterdir() if p.is_dir())
            out = tmp / f"out-{size:g}"
            with DaskExecutor(num_workers=workers, quiet=True, progress=False) as executor:
                executor.map(_warm, [None] * workers, "warm")  # numba compile and imports, not data work
                start = time.perf_counter()
                manifest = run_dedup(inputs, out, DedupConfig(), executor)
                seconds = time.perf_counter() - start
            print(f"e2e {size:g} MB: {seconds:.1f} s, {manifest['num_in']:,} docs, {manifest['num_duplicates']:,} "
                  f"duplicates, pass seconds {manifest['run']['seconds']}, peak task MB "
                  f"{manifest['run']['peak_rss_mb']['by_pass_max_mb']}", flush=True)
            shutil.rmtree(out)
            if size not in best or seconds < best[size][0]:
                best[size] = (seconds, manifest)
    (t1, m1), (t2, m2) = best[mb], best[2 * mb]
    p1, p2 = (m["run"]["peak_rss_mb"]["max_task_process_mb"] for m in (m1, m2))
    return [Comparison(f"dedup end to end, {2 * mb:g} MB vs {mb:g} MB", "s", t2, 2 * t1,
                       f"linear scaling (2 x the {mb:g} MB time)", higher_is_better=False,
                       note=f"time ratio {t2 / t1:.2f}x for 2x data; {m1['num_text_bytes'] / 1e6 / t1:.1f} and "
                            f"{m2['num_text_bytes'] / 1e6 / t2:.1f} MB/s on {workers} workers"),
            Comparison(f"peak task memory, {2 * mb:g} MB vs {mb:g} MB", "MB", p2, p1, f"the {mb:g} MB run",
                       higher_is_better=False, note=f"ratio {p2 / p1:.2f}; per pass {m2['run']['peak_rss_mb']}")]


def _warm(_) -> None:
    from curation.dedup.settings import DedupConfig
    from curation.dedup.signatures import sketch_documents
    from curation.documents import documents_table

    sketch_documents(documents_table(["a"], ["warm up text"], "x", langs=["en"]), DedupConfig())


def run(argv: list[str]) -> list[Comparison]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks dedup")
    parser.add_argument("--mb", type=float, default=3.0, help="MB of real documents for the signature comparison")
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--e2e", action="store_true", help="also run the end-to-end scaling benchmark (slow)")
    parser.add_argument("--e2e-mb", type=float, default=200.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-dedup-") as tmp:
        comparisons = signature_comparisons(args.mb, args.num_perm, Path(tmp))
        comparisons.append(estimate_quality(args.num_perm))
        if args.e2e:
            comparisons += end_to_end(args.e2e_mb, args.workers, Path(tmp))
    return comparisons

