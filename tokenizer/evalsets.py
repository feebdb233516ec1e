"""Evaluation text for `curate tokenizer report`: document directories or JSONL files, held out.

An eval set is `NAME=PATH`: a document directory (Parquet shards) or a JSONL file (.jsonl,
.jsonl.gz, .jsonl.zst) whose rows carry the text under `text`, `content` (The Stack) or
`raw_content` (CCNet). By default only the documents that tokenizer training held out are read
(the rule of tokenizer.sampling: xxh64 of the UTF-8 text, so it holds across directories and
JSONL files with the same text), in file order, whole documents, up to `max_bytes`.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from curation.documents import list_shards, read_documents
from tokenizer.sampling import heldout_mask, utf8_digests

TEXT_KEYS = ("text", "content", "raw_content")
SPLITS = ("heldout", "all")
_BATCH_ROWS = 1024
# The default eval sets of the issue, relative to the shared corpora directory.
DEFAULT_EVAL_SETS = (
    ("Chinese", "zh_web/thucnews/thucnews.jsonl"),
    ("English", "en_books/gutenberg.jsonl"),
    ("Code", "code/stack_shaped.jsonl"),
    ("Paper", "paper/unarxive/unarxive-2212-fulltext.jsonl"),
)


@dataclass
class EvalSet:
    """Texts of one eval set and where they came from."""

    name: str
    path: str
    split: str
    texts: list[str] = field(default_factory=list)
    num_bytes: int = 0
    num_docs_read: int = 0

    def summary(self) -> dict:
        return {"path": self.path, "split": self.split, "num_docs": len(self.texts),
                "num_docs_read": self.num_docs_read, "num_bytes": self.num_bytes}


def parse_eval_specs(specs: Sequence[str]) -> list[tuple[str, Path]]:
    """`NAME=PATH` pairs; NAME defaults to the file or directory name without suffixes."""
    pairs = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        path = Path(path if sep else spec)
        name = name if sep else path.name.split(".")[0]
        if not path.exists():
            raise ValueError(f"--eval {spec!r}: {path} does not exist")
        pairs.append((name, path))
    names = [n for n, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError(f"--eval names must be unique, got {', '.join(names)}")
    return pairs


def default_eval_specs(corpora_dir: Path) -> list[tuple[str, Path]]:
    """The default eval sets under the shared corpora directory."""
    pairs = [(name, corpora_dir / rel) for name, rel in DEFAULT_EVAL_SETS]
    missing = [str(p) for _, p in pairs if not p.exists()]
    if missing:
        raise ValueError(f"default eval set {missing[0]} not found; pass --eval NAME=PATH")
    return pairs


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path), encoding="utf-8")
    if path.name.endswith(".zst"):
        import zstandard

        return io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(open(path, "rb")), encoding="utf-8")
    return open(path, encoding="utf-8")


def read_jsonl_texts(path: str | Path) -> Iterator[str]:
    """The text of each JSONL row (first of TEXT_KEYS present); rows without one are skipped."""
    with _open_text(Path(path)) as f:
        for line_number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise ValueError(f"{path}:{line_number}: not valid JSON") from None
            text = next((row[k] for k in TEXT_KEYS if isinstance(row.get(k), str)), None)
            if text:
                yield text


def _text_batches(path: Path) -> Iterator[pa.Array]:
    if path.is_dir():
        if not list_shards(path):
            raise ValueError(f"{path} holds no Parquet document shards")
        for table in read_documents(path, columns=["text"]):
            yield table.column("text").combine_chunks()
        return
    batch: list[str] = []
    for text in read_jsonl_texts(path):
        batch.append(text)
        if len(batch) == _BATCH_ROWS:
            yield pa.array(batch, pa.large_string())
            batch = []
    if batch:
        yield pa.array(batch, pa.large_string())


def load_eval_set(name: str, path: str | Path, heldout_per_mille: int, max_bytes: int,
                  split: str = "heldout") -> EvalSet:
    """Read the eval set's texts: held-out documents (or all), whole, up to `max_bytes`."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    path = Path(path)
    eval_set = EvalSet(name, str(path), split)
    for texts in _text_batches(path):
        chosen = range(len(texts))
        if split == "heldout":
            chosen = heldout_mask(utf8_digests(texts), heldout_per_mille).nonzero()[0].tolist()
        eval_set.num_docs_read += len(texts)
        for i in chosen:
            text = texts[i].as_py()
            size = len(text.encode("utf-8"))
            if eval_set.texts and eval_set.num_bytes + size > max_bytes:
                return eval_set
            eval_set.texts.append(text)
            eval_set.num_bytes += size
    if not eval_set.texts:
        raise ValueError(f"eval set {name} ({path}) has no {split} documents; try --split all")
    return eval_set
