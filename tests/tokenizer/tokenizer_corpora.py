"""Document directories built from the real JSONL sample corpora, for the tokenizer tests."""

from __future__ import annotations

from pathlib import Path

from curation.documents import content_id, documents_table, write_shard
from tokenizer.evalsets import read_jsonl_texts

CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"
# domain -> JSONL files under CORPORA (text under `text` or `content`)
DOMAIN_FILES = {
    "zh": ("zh_web/thucnews/thucnews.jsonl", "zh_bulk/chinese_poetry.jsonl"),
    "en": ("en_books/gutenberg.jsonl",),
    "code": ("code/stack_shaped.jsonl",),
    "paper": ("paper/unarxive/unarxive-2212-fulltext.jsonl",),
}


def jsonl_texts(relative_path: str, max_bytes: int) -> list[str]:
    """Texts of a corpus file in order, whole documents, up to about `max_bytes` of UTF-8."""
    texts, total = [], 0
    for text in read_jsonl_texts(CORPORA / relative_path):
        if texts and total + len(text.encode("utf-8")) > max_bytes:
            break
        texts.append(text)
        total += len(text.encode("utf-8"))
    return texts


def write_document_dir(out_dir: Path, source: str, texts: list[str], rows_per_shard: int = 200) -> Path:
    """Write texts as Parquet shards in DOCUMENT_SCHEMA."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(texts), rows_per_shard):
        chunk = texts[start:start + rows_per_shard]
        table = documents_table([content_id(source, t) for t in chunk], chunk, source)
        write_shard(table, out_dir / f"part-{start // rows_per_shard:05d}.parquet")
    return out_dir


def build_domain_dirs(root: Path, max_bytes_per_file: int) -> dict[str, Path]:
    """One document directory per domain of DOMAIN_FILES, each file capped at `max_bytes_per_file`."""
    dirs = {}
    for domain, files in DOMAIN_FILES.items():
        texts = [t for rel in files for t in jsonl_texts(rel, max_bytes_per_file)]
        dirs[domain] = write_document_dir(root / domain, domain, texts)
    return dirs
