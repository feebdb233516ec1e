"""Document tables and directories built from the real sample corpora in ../shared/corpora.

Stands in for `curate ingest` so that the clean tests do not depend on it: JSONL rows become
DOCUMENT_SCHEMA rows (text field -> text, everything else -> meta JSON), HTML files become rows
whose text is the page and whose meta says content_type text/html, as ingest writes them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from curation.documents import content_id, documents_table, write_shard

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"


def read_jsonl(path: Path, limit: int | None = None) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
            if limit is not None and len(rows) >= limit:
                break
    return rows


def jsonl_table(relpath: str, source: str, text_key: str = "text", limit: int | None = None,
                lang: str | None = None) -> pa.Table:
    """Rows of a JSONL sample as documents; fields other than text/id/url go to meta (as ingest does)."""
    rows = read_jsonl(SHARED / relpath, limit)
    ids, texts, urls, langs, metas = [], [], [], [], []
    for i, row in enumerate(rows):
        text = row.get(text_key) or ""
        ids.append(str(row.get("id") or row.get("hexsha") or content_id(relpath, str(i))))
        texts.append(text)
        urls.append(row.get("url"))
        langs.append(lang)
        rest = {k: v for k, v in row.items() if k not in (text_key, "url", "id")}
        metas.append(json.dumps(rest, ensure_ascii=False, sort_keys=True))
    return documents_table(ids, texts, source, urls, langs, metas)


def cc_zh_table() -> pa.Table:
    """The CommonCrawl Chinese sample (CCNet fields; text is raw_content)."""
    return jsonl_table("zh_web/chinesewebtext/cc-2021-43-cleared1.jsonl", "cc_zh", text_key="raw_content")


def code_table(limit: int | None = None) -> pa.Table:
    """The Stack-shaped code sample as ingest writes it: lang 'code', the language and ext in meta."""
    return jsonl_table("code/stack_shaped.jsonl", "stack", text_key="content", limit=limit, lang="code")


def html_table(paths: list[Path], source: str) -> pa.Table:
    """HTML pages as ingest writes them: text is the decoded page, meta marks it text/html."""
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in paths]
    metas = [json.dumps({"content_type": "text/html", "format": "html", "http_headers": {},
                         "path": p.name}) for p in paths]
    ids = [content_id(source, p.name) for p in paths]
    return documents_table(ids, texts, source, metas=metas)


def zh_html_table() -> pa.Table:
    return html_table(sorted((SHARED / "zh_web" / "raw_html").glob("*.html")), "zh_html")


def en_html_table() -> pa.Table:
    return html_table(sorted((SHARED / "en_web" / "html_trafilatura").glob("*.html")), "en_html")


def write_documents(table: pa.Table, directory: Path, rows_per_shard: int = 1000) -> Path:
    """Write a table as a document directory of Parquet shards; return the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for i, start in enumerate(range(0, max(table.num_rows, 1), rows_per_shard)):
        write_shard(table.slice(start, rows_per_shard), directory / f"part-{i:05d}.parquet")
    return directory


def column(table: pa.Table, name: str) -> list:
    return table.column(name).to_pylist()
