"""Rejected rows keep their text: line removal and PII masks reach kept documents only."""

import json

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from clean_samples import jsonl_table, write_documents

from curation.clean.job import clean_batch, clean_directory
from curation.clean.normalize import normalize_text
from curation.clean.pii import PLACEHOLDERS
from curation.clean.profile import load_profile
from curation.documents import documents_table, read_documents
from curation.parallel import SerialExecutor


def _by_id(table: pa.Table) -> dict[str, dict]:
    return {row["id"]: row for row in table.to_pylist()}


def _outputs(out_dir) -> tuple[dict[str, dict], dict[str, dict]]:
    return (_by_id(pa.concat_tables(read_documents(out_dir / "kept"))),
            _by_id(pa.concat_tables(read_documents(out_dir / "rejected"))))


def test_c4_line_removal_edits_kept_pages_and_leaves_rejected_ones_whole(tmp_path):
    pytest.importorskip("curation.clean.english")
    documents = pa.concat_tables([
        jsonl_table("en_web/redpajama_samples/redpajama-cc-2023-06-refined.jsonl", "redpajama_cc"),
        jsonl_table("en_web/dolma/multiple_files__cc_en_head-0091.jsonl", "dolma"),
        jsonl_table("en_web/dolma/multiple_files__cc_en_head-0174.jsonl", "dolma")])
    inputs = {row["id"]: row["text"] for row in documents.to_pylist()}
    clean_directory(write_documents(documents, tmp_path / "in"), tmp_path / "out",
                    load_profile("configs/clean/web_en.yaml"), SerialExecutor())
    kept, rejected = _outputs(tmp_path / "out")
    # Every rejected page goes out as it came in, up to normalization (whitespace, encoding).
    assert rejected and all(row["text"] == normalize_text(inputs[i]) for i, row in rejected.items())
    # Pages that C4 would have cut lines from: rejected ones keep every line, byte for byte ...
    cut_rejected = [i for i, row in rejected.items() if row["quality_c4_removed_lines"] > 0]
    assert len(cut_rejected) >= 4
    assert all(rejected[i]["text"] == inputs[i] for i in cut_rejected)
    # ... kept ones lose exactly the lines C4 counted.
    cut_kept = [i for i, row in kept.items() if row["quality_c4_removed_lines"] > 0]
    assert len(cut_kept) >= 8
    for i in cut_kept:
        lines = normalize_text(inputs[i]).splitlines()
        kept_lines = kept[i]["text"].split("\n")
        assert len(kept_lines) == len(lines) - kept[i]["quality_c4_removed_lines"]
        assert set(kept_lines) <= {line.strip() for line in lines}


def test_boilerplate_removal_and_pii_masks_reach_kept_pages_only(tmp_path):
    documents = pa.concat_tables([
        jsonl_table("zh_web/chinesewebtext/cc-2021-43-cleared1.jsonl", "cc_zh", text_key="raw_content"),
        jsonl_table("zh_bulk/manpages_zh.jsonl", "manpages_zh", limit=60)])
    inputs = {row["id"]: row["text"] for row in documents.to_pylist()}
    manifest = clean_directory(write_documents(documents, tmp_path / "in"), tmp_path / "out",
                               load_profile("configs/clean/cc_zh.yaml"), SerialExecutor())
    kept, rejected = _outputs(tmp_path / "out")
    pii = [c for c in next(iter(kept.values())) if c.startswith("pii_")]
    assert all(row["text"] == normalize_text(inputs[i]) for i, row in rejected.items())
    boilerplate = [i for i, row in rejected.items() if row["quality_boilerplate_lines"] > 0]
    personal = [i for i, row in rejected.items() if sum(row[c] for c in pii) > 0]
    assert len(boilerplate) >= 5 and len(personal) >= 1
    assert all(rejected[i]["text"] == inputs[i] for i in boilerplate + personal)
    assert not any(p in rejected[i]["text"] for i in personal for p in PLACEHOLDERS.values())
    # Kept pages are edited: their boilerplate lines are gone and their PII is masked.
    edited = [i for i, row in kept.items() if row["quality_boilerplate_lines"] > 0]
    assert len(edited) >= 10 and all(kept[i]["text"] != inputs[i] for i in edited)
    masked = [i for i, row in kept.items() if row["pii_email"] > 0]
    assert len(masked) >= 20 and all(kept[i]["text"].count("<EMAIL>") >= kept[i]["pii_email"] for i in masked)
    # The manifest counts what was masked: kept rows only.
    for source in ("cc_zh", "manpages_zh"):
        for c in pii:
            expected = sum(row[c] for row in kept.values() if row["source"] == source)
            assert manifest["counts"][source][f"pii:{c[len('pii_'):]}"] == expected


def test_a_page_with_nothing_to_extract_keeps_the_page():
    page = "<html><head><title>x</title></head><body><script>var a = 1;</script></body></html>"
    documents = documents_table(["p"], [page], "zh_html", metas=[json.dumps({"content_type": "text/html"})])
    cleaned = clean_batch(documents, load_profile("configs/clean/cc_zh.yaml"))
    assert cleaned["reject_reason"].to_pylist() == ["extraction_empty"]
    assert cleaned["text"].to_pylist() == [page]
    assert pc.all(pc.equal(cleaned["id"], "p")).as_py()
