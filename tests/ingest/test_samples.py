"""Every sample corpus ingests, with pinned document counts and reasons for what did not become a document."""

import json
from collections import Counter

import pyarrow.parquet as pq
import pytest

from curation.documents import DOCUMENT_SCHEMA, list_shards, read_documents
from curation.ingest.job import IngestOptions, ingest
from curation.parallel import SerialExecutor

# directory -> {file name: (documents, skipped)}; JSONL counts are the files' lines, WARC/ARC counts
# are response records (plus the archive's other records as skipped).
EXPECTED = {
    "code": {"stack_shaped.jsonl": (1562, 0)},
    "en_books": {"gutenberg.jsonl": (79, 0)},
    "en_docs": {"linux_doc_rst.jsonl": (2841, 0), "python311_doc_rst.jsonl": (411, 0)},
    "en_web/arc": {"copycat__small-sample-1213893279526_0.arc.gz": (122, 24),
                   "copycat__small-sample-1262850551027_8.arc.gz": (8, 1)},
    "en_web/dolma": {"multiple_files__cc_en_head-0091.jsonl": (10, 0),
                     "multiple_files__cc_en_head-0174.jsonl": (10, 0),
                     "provided__documents__000.json.gz": (10, 0),
                     "warc__sample-0000.warc.gz": (22, 26), "warc__sample-0001.warc.gz": (15, 19)},
    "en_web/warc": {"copycat__clueweb09-en0000-00.warc.gz": (23, 1),
                    "resiliparse__clueweb-quirk.warc.gz": (29, 1), "resiliparse__warcfile.warc.gz": (16, 34)},
    "en_web/dclm": {"gigatoken__dclm_sample.jsonl": (3, 0)},
    "en_web/html_trafilatura": {"*": (39, 0)},
    "en_web/article_extraction": {"ground-truth.json": (126, 0), "fulltext-beautifulsoup.json": (126, 0),
                                  "*.html.gz": (126, 0)},
    "en_web/redpajama_samples": {"*": (120, 0)},
    "en_wiki": {"wikitext2_tokens_valid.jsonl": (60, 0), "wikitext2_tokens_test.jsonl": (62, 0)},
    "paper": {"csl_abstracts.jsonl": (1422, 0), "arxiv.jsonl": (11, 0), "unarxive-2212-fulltext.jsonl": (35, 0)},
    "sft": {"*": (4647, 0)},
    "zh_bulk": {"chinese_poetry.jsonl": (8146, 0), "manpages_zh.jsonl": (746, 0), "fortunes_zh.jsonl": (484, 0),
                "debian_reference_zh_cn.jsonl": (14, 0), "linux_doc_zh_cn.jsonl": (230, 0)},
    "zh_web/chinesewebtext": {"cc-2021-43-cleared1.jsonl": (100, 0)},
    "zh_web/raw_html": {"*": (3, 0)},
    "zh_web/reviews": {"ChnSentiCorp_htl_all.jsonl": (7765, 0), "online_shopping_10_cats.jsonl": (62773, 0),
                       "waimai_10k.jsonl": (11987, 0)},
    "zh_web/sogou": {"news_sohusite_xml.smarty.dat": (200, 0), "news_sohusite_smarty.jsonl": (200, 0)},
    "zh_web/thucnews": {"thucnews.jsonl": (690, 0)},
}


def _per_pattern(files: list[dict], pattern: str) -> tuple[int, int]:
    from fnmatch import fnmatch

    chosen = [f for f in files if fnmatch(f["file"].rsplit("/", 1)[-1], pattern)]
    assert chosen, pattern
    return sum(f["num_docs"] for f in chosen), sum(f["num_skipped"] for f in chosen)


@pytest.mark.parametrize("directory", sorted(EXPECTED))
def test_sample_ingests_with_pinned_counts(corpora, tmp_path, directory):
    manifest = ingest([corpora / directory], tmp_path / "out", IngestOptions(source="sample"), SerialExecutor())
    assert manifest["num_quarantined"] == 0, manifest["counts"]
    for pattern, expected in EXPECTED[directory].items():
        assert _per_pattern(manifest["files"], pattern) == expected, pattern
    rows = sum(t.num_rows for t in read_documents(tmp_path / "out"))
    assert rows == manifest["num_docs"] == sum(d for d, _ in EXPECTED[directory].values()) or "*" in EXPECTED[directory]
    assert manifest["num_in"] == manifest["num_docs"] + manifest["num_skipped"]
    for shard in list_shards(tmp_path / "out"):
        assert pq.read_schema(shard).remove_metadata() == DOCUMENT_SCHEMA


def test_archive_records_that_are_not_documents_say_why(corpora, tmp_path):
    manifest = ingest([corpora / "en_web/arc"], tmp_path / "out", IngestOptions(source="cc_old"), SerialExecutor())
    counts = manifest["counts"]["cc_old"]
    # 153 ARC records: 130 HTML pages with status 200; the rest are redirects, errors and PDFs.
    assert counts["documents"] == 130
    assert counts["skipped:http_status_404"] == 5
    assert counts["skipped:not_html:application/pdf"] == 6
    assert counts["skipped:http_status_301"] + counts["skipped:http_status_302"] == 6
    skipped = pq.read_table(tmp_path / "out/skipped").to_pylist()
    assert len(skipped) == manifest["num_skipped"] == 25
    assert all(row["reason"] and row["file"].endswith(".arc.gz") for row in skipped)


def test_fields_map_onto_the_schema(corpora, tmp_path):
    ingest([corpora / "code/stack_shaped.jsonl", corpora / "zh_web/chinesewebtext"], tmp_path / "out",
           IngestOptions(source="mixed"), SerialExecutor())
    rows = [r for t in read_documents(tmp_path / "out") for r in t.to_pylist()]
    code = [r for r in rows if r["lang"] == "code"]
    assert len(code) == 1562 and code[0]["id"] == "33f47449c11d241e36c83d7f95d819bbe56e2c8f"
    assert json.loads(code[0]["meta"])["lang"] == "Python"
    ccnet = [r for r in rows if r["lang"] == "zh"]
    assert len(ccnet) == 100 and all(r["url"].startswith("http") for r in ccnet)
    assert "title" in json.loads(ccnet[0]["meta"]) and ccnet[0]["id"].startswith("sha1:")
    assert Counter(r["source"] for r in rows) == {"mixed": 1662}


def test_warc_pages_keep_html_headers_and_charset(corpora, tmp_path):
    ingest([corpora / "en_web/warc/resiliparse__clueweb-quirk.warc.gz"], tmp_path / "out",
           IngestOptions(source="clueweb"), SerialExecutor())
    rows = next(read_documents(tmp_path / "out")).to_pylist()
    meta = json.loads(rows[0]["meta"])
    assert rows[0]["url"].startswith("http://www.uraharajuku.st/")
    assert meta["encoding"] in ("euc-jp", "euc_jp") and meta["http_status"] == 200
    assert "<html" in rows[0]["text"].lower() and "\ufffd" not in rows[0]["text"][:2000]
