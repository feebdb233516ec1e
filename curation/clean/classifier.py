"""A fastText quality classifier, the CCNet / GPT-3 way: reference text against raw web text.

Training (`curate clean train-classifier`) labels chunks of positive reference documents (books,
Wikipedia, papers) `__label__hq` and chunks of raw web text `__label__lq`, balances the two
classes, and trains a bigram fastText model. fastText splits on whitespace only, so text is
lower-cased and every Han character becomes its own token (word bigrams then give character
bigrams for Chinese, words and word pairs for English). Scoring gives each document the
probability of `hq` on its first `max_chars` characters; clean stores it as quality_classifier_score
and can reject below a threshold. Training is deterministic for a given seed with threads=1.
Give both sides the same language mix (or train one model per language): a model trained on
English references against Chinese web text learns the language, not the quality.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.documents import read_documents

POSITIVE = "hq"
NEGATIVE = "lq"
_LABEL = "__label__"


@dataclass
class TrainingOptions:
    """How examples are cut and the fastText hyper-parameters."""

    chunk_chars: int = 1000  # documents are cut into chunks of this many characters ...
    max_chunks_per_doc: int = 8  # ... at most this many per document (books would dominate)
    max_examples_per_class: int = 20000
    epoch: int = 10
    lr: float = 0.5
    dim: int = 32
    word_ngrams: int = 2
    min_count: int = 2
    bucket: int = 200_000  # hashed n-gram rows: the model is ~(bucket + vocab) x dim x 4 bytes
    threads: int = 1  # >1 trains faster but not reproducibly
    seed: int = 0


def model_text(texts: pa.Array, max_chars: int) -> list[str]:
    """The classifier's view of each text: first max_chars chars, lower-cased, Han split, one line."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    out = pc.utf8_slice_codeunits(pc.fill_null(texts, ""), 0, max_chars)
    out = pc.utf8_lower(out)
    out = pc.replace_substring_regex(out, r"(\p{Han})", r" \1 ")
    out = pc.replace_substring_regex(out, r"([\p{P}\p{S}])", r" \1 ")
    out = pc.utf8_trim_whitespace(pc.replace_substring_regex(out, r"\s+", " "))
    return out.to_pylist()


def _chunks(texts: pa.Array, options: TrainingOptions) -> pa.Array:
    """Cut every text into up to max_chunks_per_doc chunks of chunk_chars characters."""
    pieces = []
    for k in range(options.max_chunks_per_doc):
        piece = pc.utf8_slice_codeunits(texts, k * options.chunk_chars, (k + 1) * options.chunk_chars)
        # a document's first chunk always counts; later ones only when they are not a short tail
        min_chars = 1 if k == 0 else options.chunk_chars // 4
        pieces.append(pc.filter(piece, pc.greater_equal(pc.utf8_length(piece), min_chars)))
    return pa.concat_arrays([p.cast(pa.large_string()) for p in pieces])


def _examples(dirs: Iterable[str | Path], options: TrainingOptions) -> list[str]:
    """Model-ready chunks of every document under the directories, ordered by content hash."""
    lines: list[str] = []
    for directory in dirs:
        if not Path(directory).is_dir():
            raise ValueError(f"{directory}: not a document directory")
        for table in read_documents(directory, columns=["text"]):
            lines += [t for t in model_text(_chunks(table.column("text").combine_chunks(), options),
                                            options.chunk_chars) if t]
    # order by hash: the selection below does not depend on file or shard order
    return sorted(lines, key=lambda t: hashlib.sha1(t.encode()).digest())


def train_classifier(positive_dirs: list[str | Path], negative_dirs: list[str | Path],
                     model_path: str | Path, options: TrainingOptions | None = None) -> dict:
    """Train and save a fastText hq-vs-lq model from document directories; return training stats."""
    import fasttext

    options = options or TrainingOptions()
    positives = _examples(positive_dirs, options)
    negatives = _examples(negative_dirs, options)
    if not positives or not negatives:
        raise ValueError("train-classifier needs documents on both sides "
                         f"({len(positives)} positive, {len(negatives)} negative chunks)")
    per_class = min(len(positives), len(negatives), options.max_examples_per_class)
    labelled = [f"{_LABEL}{POSITIVE} {t}" for t in positives[:per_class]] + \
               [f"{_LABEL}{NEGATIVE} {t}" for t in negatives[:per_class]]
    labelled.sort(key=lambda t: hashlib.sha1(t.encode()).digest())  # interleave the classes
    model_path = Path(model_path)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False,
                                     dir=model_path.parent) as f:
        f.write("\n".join(labelled) + "\n")
        train_file = f.name
    try:
        model = fasttext.train_supervised(
            input=train_file, epoch=options.epoch, lr=options.lr, dim=options.dim,
            wordNgrams=options.word_ngrams, minCount=options.min_count, bucket=options.bucket,
            thread=options.threads, seed=options.seed, loss="softmax", verbose=0)
        tmp_model = model_path.with_name(f".{model_path.name}.tmp-{os.getpid()}")
        model.save_model(str(tmp_model))
        os.replace(tmp_model, model_path)
    finally:
        os.unlink(train_file)
    return {"model_path": str(model_path), "positive_chunks": len(positives),
            "negative_chunks": len(negatives), "examples_per_class": per_class,
            "options": options.__dict__}


@functools.lru_cache(maxsize=4)
def _load_model(path: str, mtime_ns: int):
    """Load a model once per process and file version (the mtime keys the cache)."""
    import fasttext

    fasttext.FastText.eprint = lambda *args, **kwargs: None
    return fasttext.load_model(path)


def score_texts(texts: pa.Array, model_path: str | Path, max_chars: int = 1000) -> pa.Array:
    """Probability of the positive (hq) label for each text, float32 (empty text: 0)."""
    path = Path(model_path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: classifier model not found (train one with "
                                "`curate clean train-classifier`)")
    model = _load_model(str(path.resolve()), path.stat().st_mtime_ns)
    lines = model_text(texts, max_chars)
    scores = np.zeros(len(lines), dtype=np.float32)
    nonempty = [i for i, t in enumerate(lines) if t]
    if nonempty:
        # k=1: fasttext-wheel's batch predict repeats the top probability for every k>1 label,
        # so the positive probability is taken from the top label (the model has two classes).
        labels, probs = model.predict([lines[i] for i in nonempty], k=1)
        for i, names, values in zip(nonempty, labels, probs):
            top = min(float(values[0]), 1.0)
            scores[i] = top if names[0] == _LABEL + POSITIVE else 1.0 - top
    return pa.array(scores, pa.float32())
