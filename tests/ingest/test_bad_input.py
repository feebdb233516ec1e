"""Bad input never crashes a run and never disappears: quarantine with file, offset and reason, or a repair."""

import gzip
import json

import pyarrow.parquet as pq
import pytest

from curation.documents import read_documents
from curation.ingest.job import IngestError, IngestOptions, ingest
from curation.parallel import SerialExecutor


def _run(paths, out, **options):
    return ingest(paths, out, IngestOptions(source="t", **options), SerialExecutor())


def _docs(out):
    return [r for t in read_documents(out) for r in t.to_pylist()]


def _quarantine(out):
    return pq.read_table(out / "quarantine").to_pylist()


def _real_lines(corpora, n):
    with open(corpora / "zh_web/thucnews/thucnews.jsonl", "rb") as f:
        return [f.readline() for _ in range(n)]


def test_broken_json_line_is_quarantined_with_offset(corpora, tmp_path):
    lines = _real_lines(corpora, 3)
    broken = lines[1][: len(lines[1]) // 2] + b"\n"
    path = tmp_path / "in.jsonl"
    path.write_bytes(lines[0] + broken + lines[2])
    manifest = _run([path], tmp_path / "out")
    assert manifest["num_docs"] == 2 and manifest["num_quarantined"] == 1
    [row] = _quarantine(tmp_path / "out")
    assert row["reason"] == "broken_json" and row["offset"] == len(lines[0]) and row["raw"] == broken
    assert row["file"] == str(path)


def test_invalid_utf8_and_nul_bytes_are_repaired_and_noted(corpora, tmp_path):
    line = _real_lines(corpora, 1)[0]
    record = json.loads(line)
    bad_utf8 = line[:40] + b"\xff" + line[40:]  # inside the text value: a stray byte, invalid UTF-8
    with_nul = json.dumps({"id": "nul", "text": "a\x00b"}).encode() + b"\n"
    raw_nul = b'{"id": "rawnul", "text": "c\x00d"}\n'
    path = tmp_path / "in.jsonl"
    path.write_bytes(bad_utf8 + with_nul + raw_nul)
    manifest = _run([path], tmp_path / "out")
    assert manifest["num_docs"] == 3 and manifest["num_quarantined"] == 0
    docs = {d["id"]: d for d in _docs(tmp_path / "out")}
    assert "invalid_utf8_replaced" in json.loads(docs[record["id"]]["meta"])["_repairs"]
    assert "\ufffd" in docs[record["id"]]["text"]
    assert docs["nul"]["text"] == "ab" and json.loads(docs["nul"]["meta"])["_repairs"] == ["nul_removed"]
    assert docs["rawnul"]["text"] == "cd"


def test_truncated_gzip_keeps_what_was_read_and_quarantines_the_rest(corpora, tmp_path):
    data = (corpora / "zh_web/thucnews/thucnews.jsonl").read_bytes()
    packed = gzip.compress(data)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    manifest = _run([path], tmp_path / "out")
    reasons = [r["reason"] for r in _quarantine(tmp_path / "out")]
    assert "truncated_archive" in reasons
    assert 100 < manifest["num_docs"] < 690


def test_truncated_warc_is_reported_not_fatal(corpora, tmp_path):
    data = (corpora / "en_web/dolma/warc__sample-0000.warc.gz").read_bytes()
    path = tmp_path / "cut.warc.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    manifest = _run([path], tmp_path / "out")
    assert 0 < manifest["num_docs"] < 22
    assert [r["reason"] for r in _quarantine(tmp_path / "out")] == ["truncated_archive"]


def test_empty_and_unknown_files_are_counted(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in/empty.jsonl").write_bytes(b"")
    (tmp_path / "in/notes.bin").write_bytes(b"\x00\x01binary garbage")
    manifest = _run([tmp_path / "in"], tmp_path / "out")
    assert manifest["num_docs"] == 0
    assert sorted(r["reason"] for r in _quarantine(tmp_path / "out")) == ["empty_file", "unknown_format"]


def test_giant_document_is_quarantined_whole(tmp_path):
    big = "长" * (50 * 1024 * 1024 // 3 + 10)  # a 50 MB single document
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps({"id": "big", "text": big}, ensure_ascii=False) + "\n" +
                    json.dumps({"id": "small", "text": "小"}) + "\n", encoding="utf-8")
    manifest = _run([path], tmp_path / "out", max_doc_bytes=16 * 1024 * 1024)
    assert manifest["num_docs"] == 1
    [row] = _quarantine(tmp_path / "out")
    assert row["reason"] == "document_too_large" and len(row["raw"]) > 50 * 1024 * 1024


def test_strict_mode_stops_with_one_line_naming_file_offset_and_reason(corpora, tmp_path):
    lines = _real_lines(corpora, 2)
    path = tmp_path / "in.jsonl"
    path.write_bytes(lines[0] + b"{not json\n" + lines[1])
    with pytest.raises(IngestError) as error:
        _run([path], tmp_path / "out", strict=True)
    message = str(error.value)
    assert "\n" not in message and str(path) in message and f"offset {len(lines[0])}" in message
    assert "broken_json" in message


def test_format_is_detected_from_content_not_name(corpora, tmp_path):
    disguised = tmp_path / "pages.txt"
    disguised.write_bytes((corpora / "en_web/dolma/warc__sample-0001.warc.gz").read_bytes())
    manifest = _run([disguised], tmp_path / "out")
    assert manifest["files"][0]["format"] == "warc" and manifest["num_docs"] == 15


def test_zstd_jsonl(corpora, tmp_path):
    import zstandard

    data = (corpora / "en_wiki/wikitext2_tokens_valid.jsonl").read_bytes()
    path = tmp_path / "wiki.jsonl.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(data))
    assert _run([path], tmp_path / "out")["num_docs"] == 60
