"""English web quality rules: `curation.clean.english` vs datatrove's filter chain, same documents.

Theirs: GopherRepetitionFilter -> GopherQualityFilter -> C4QualityFilter -> FineWebQualityFilter,
each `filter()` called directly on the documents the previous one kept (no pipeline overhead), as
datatrove 0.10 ships them (English words from spaCy's blank English tokenizer). Ours: `annotate`
+ `decide` over Arrow batches. Both on one core (Arrow's pool is set to one thread); our memo of
split chunks is emptied before every timed run. Prints how often the two agree: per filter on
the documents that reached it in datatrove's chain, and for the whole chain.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import re
from pathlib import Path

import pyarrow as pa

from benchmarks.harness import SHARED, Comparison, best_seconds
from curation.clean import english_words
from curation.clean.english import EnglishRules, annotate, decide, decide_each

CHAIN = ("gopher_repetition", "gopher_quality", "c4", "fineweb")


def _texts(path: Path, limit: int | None = None, max_chars: int | None = None) -> list[str]:
    with (gzip.open if path.suffix == ".gz" else open)(path, "rt", encoding="utf-8") as f:
        texts = (json.loads(line)["text"] for line in f if line.strip())
        return list(itertools.islice((t for t in texts if max_chars is None or len(t) <= max_chars), limit))


def english_documents(max_mb: float) -> list[str]:
    """Every English web sample, then wiki articles, reST docs and book openings, up to max_mb."""
    web = SHARED / "en_web"
    paths = (
        sorted((web / "dolma").glob("*.jsonl"))
        + sorted((web / "dolma").glob("*.json.gz"))
        + sorted((web / "redpajama_samples").glob("*.jsonl"))
        + sorted((web / "dclm").glob("*.jsonl"))
    )
    texts = [t for path in paths for t in _texts(path)]
    texts += [t for path in sorted((SHARED / "en_wiki").glob("*.jsonl")) for t in _texts(path)]
    texts += _texts(SHARED / "en_docs/linux_doc_rst.jsonl", 400, max_chars=20_000)
    texts += _texts(SHARED / "en_docs/python311_doc_rst.jsonl", 100, max_chars=40_000)
    texts += [t[:50_000] for t in _texts(SHARED / "en_books/gutenberg.jsonl", 20)]
    out, total = [], 0
    for text in texts:
        total += len(text.encode("utf-8"))
        if total > max_mb * 1e6:
            break
        out.append(text)
    return out


def _ours_name(name: str, reason: str) -> str:
    if name == "gopher_repetition":
        reason = re.sub(r"top_(\d+)_gram", r"top_\1gram", re.sub(r"duplicated_(\d+)_n_grams", r"dup_\1gram", reason))
    return {"gopher_repetition": "gopher_", "gopher_quality": "", "c4": "c4_", "fineweb": "fineweb_"}[name] + reason


def datatrove_chain(texts: list[str]) -> list[dict[str, str | None]]:
    """Per document: the reason of every filter it reached (None: passed), in our spelling."""
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    steps = dict(
        zip(CHAIN, (GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(), FineWebQualityFilter()))
    )
    out = []
    for i, text in enumerate(texts):
        doc, reached = Document(text=text, id=str(i)), {}
        for name, step in steps.items():
            result = step.filter(doc)
            reached[name] = None if result is True else _ours_name(name, result[1])
            if reached[name]:
                break
        out.append(reached)
    return out


def ours_chain(texts: list[str], batch_docs: int, cold: bool = True) -> tuple[list, dict[str, list]]:
    """Our chain reason and each filter's reason per document; `cold` starts without memoised chunks."""
    rules = EnglishRules()
    if cold:
        english_words.forget_split_chunks()
    chain, each = [], {name: [] for name in CHAIN}
    for start in range(0, len(texts), batch_docs):
        table = annotate(pa.array(texts[start : start + batch_docs], pa.large_string()), rules)
        chain += decide(table, rules).to_pylist()
        for name, reasons in decide_each(table, rules).items():
            each[name] += reasons.to_pylist()
    return chain, each


def run(argv: list[str]) -> list[Comparison]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks clean_en", description=__doc__)
    parser.add_argument("--max-mb", type=float, default=4.0, help="input size (default 4 MB)")
    parser.add_argument("--batch-docs", type=int, default=1000, help="documents per Arrow batch")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of ours (theirs: 1, it is slow)")
    args = parser.parse_args(argv)
    pa.set_cpu_count(1)
    texts = english_documents(args.max_mb)
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    ours_chain(texts[:50], args.batch_docs)  # compile the numba kernels (cached on disk after the first run)

    results: dict[str, object] = {}
    theirs_s = best_seconds(lambda: results.update(theirs=datatrove_chain(texts)), repeat=1)
    ours_s = best_seconds(lambda: results.update(ours=ours_chain(texts, args.batch_docs)), repeat=args.repeat)
    # Warm: a worker that already split these chunks (a long-running worker sees most chunks again).
    warm_s = best_seconds(lambda: ours_chain(texts, args.batch_docs, cold=False), repeat=args.repeat)
    theirs, (chain, each) = results["theirs"], results["ours"]

    lines = []
    for name in CHAIN:
        reached = [i for i, t in enumerate(theirs) if name in t]
        same = sum((each[name][i] is None) == (theirs[i][name] is None) for i in reached)
        lines.append(f"{name} {same / len(reached):.4f} of {len(reached)}")
    their_chain = [next((r for r in t.values() if r), None) for t in theirs]
    decision = sum((a is None) == (b is None) for a, b in zip(chain, their_chain)) / len(texts)
    reason = sum(a == b for a, b in zip(chain, their_chain)) / len(texts)
    kept = sum(r is None for r in chain)
    print(
        f"clean_en: {len(texts)} docs, {mb:.2f} MB; ours keeps {kept}, datatrove keeps "
        f"{sum(r is None for r in their_chain)}"
    )
    print("clean_en agreement per filter (docs reaching it in datatrove's chain): " + ", ".join(lines))
    print(f"clean_en agreement, chain: decision {decision:.4f}, reason {reason:.4f}")
    competitor = "datatrove Gopher rep+quality, C4, FineWeb"
    return [
        Comparison(
            "clean_en English rule chain",
            "MB/s",
            mb / ours_s,
            mb / theirs_s,
            competitor,
            note=f"one core, cold chunk memo; chain agreement {decision:.4f}",
        ),
        Comparison(
            "clean_en English rule chain, warm",
            "MB/s",
            mb / warm_s,
            mb / theirs_s,
            competitor,
            note="one core, chunk memo already holding these chunks",
        ),
    ]
